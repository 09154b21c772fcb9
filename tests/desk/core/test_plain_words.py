"""French typography in printed sentences: elision and file sizes (issue 17, item 8)."""

from __future__ import annotations

from desk.core.i18n import Message, translate
from desk.web.templating import format_size


def test_de_and_que_are_elided_before_a_vowel_or_a_mute_h() -> None:
    assert translate("auprès de {name}", "fr", name="Eau du Ponant") == "auprès d'Eau du Ponant"
    assert translate("le reçu de {name}", "fr", name="Habitat 29") == "le reçu d'Habitat 29"
    assert translate("plus que {name}", "fr", name="Ouest Énergie") == "plus qu'Ouest Énergie"
    assert translate("auprès de {name}", "fr", name="Bibus") == "auprès de Bibus"
    assert (
        str(Message("Mes données de {name}", name="Île-de-Brest")) == "Mes données d'Île-de-Brest"
    )
    # Only the word "de" itself, and only before a placeholder.
    assert translate("monde {name}", "fr", name="Eau") == "monde Eau"
    assert translate("de {count} signataires", "fr", count=3) == "de 3 signataires"


def test_sizes_are_written_as_people_write_them() -> None:
    assert format_size(2048) == "2,0\u00a0Ko"
    assert format_size(1536, "en") == "1.5\u00a0KB"
    assert format_size(3 * 1024 * 1024) == "3,0\u00a0Mo"
