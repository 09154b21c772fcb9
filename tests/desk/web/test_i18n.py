"""English available everywhere a person reads: the catalogue is complete and pages switch."""

from __future__ import annotations

import html
import re
import string
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from desk.core.i18n import CATALOG_DIR, Message, load_catalog, po_path, translate
from desk.demo.seed import seed_demo
from desk.mail.render import render_email
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery
from desk.residents.models import Resident
from desk.web.templating import build_environment, deadline_words
from tests.desk.residents.helpers import log_in, post_form
from tests.factories import make_signatory

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = po_path("en")
# The commands of docs/translation.md, without their input and output paths.
EXTRACT_OPTIONS = ["--no-wrap", "--no-location", "--sort-output"]
UPDATE_OPTIONS = ["-l", "en", "--no-wrap", "--no-fuzzy-matching", "--ignore-obsolete"]


def pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(root: Path, pot: Path) -> None:
    """`pybabel extract` as docs/translation.md runs it, from `root` into `pot`."""
    pybabel("extract", "-F", str(root / "babel.cfg"), *EXTRACT_OPTIONS, "-o", str(pot), str(root))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The msgids of messages.pot as `pybabel extract` writes it from today's sources."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    extract(ROOT, pot)
    return [str(m.id) for m in _po_entries(pot)]


@pytest.fixture(scope="module")
def catalogue() -> dict[str, str]:
    return load_catalog("en")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_extractor_finds_template_strings_and_python_labels(extracted: list[str]) -> None:
    assert "Le guichet des données" in extracted  # templates/base.html
    assert "{count} déclarations" in extracted  # a string with a placeholder
    assert "Page introuvable" in extracted  # desk/web/errors.py TITLES_FR, shown by _(title)
    assert "Bailleur social" in extracted  # desk/registry/services.py KIND_LABELS
    assert "Cette demande est introuvable." in extracted  # a DeskError message
    assert "Vous êtes déconnecté. À bientôt !" in extracted  # a flash message
    assert "Déclarations des signataires" in extracted  # an open-data schema's title (JSON)
    assert "Mois de réception" in extracted  # N_() inside a call
    assert "Cette demande est introuvable dans votre espace." in extracted  # N_() on a constant
    assert "expired" not in extracted  # LoginLinkError("expired") is a code, not a message
    assert "state" not in extracted  # and so is FranceConnectError("state")


def test_every_string_people_read_has_an_english_translation(
    extracted: list[str], catalogue: dict[str, str]
) -> None:
    missing = [s for s in extracted if not catalogue.get(s, "").strip()]
    assert not missing, (
        f"{len(missing)} French strings have no English entry in messages.po "
        "(docs/translation.md: pybabel extract, pybabel update, then translate):\n"
        + "\n".join(missing)
    )


def test_translations_keep_the_placeholders_of_their_source(catalogue: dict[str, str]) -> None:
    wrong = {
        source: english
        for source, english in catalogue.items()
        if _fields(source) != _fields(english)
    }
    assert not wrong, "placeholders differ:\n" + "\n".join(
        f"{s!r} → {e!r}" for s, e in wrong.items()
    )


def test_catalogue_is_plain_text_without_html(catalogue: dict[str, str]) -> None:
    with_markup = [e for e in catalogue.values() if "<" in e or ">" in e.replace("→", "")]
    assert not with_markup


async def test_home_in_english_and_the_choice_is_remembered(client: httpx.AsyncClient) -> None:
    response = await client.get("/?lang=en")

    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="en">' in text
    assert "The data desk" in text
    assert "Your personal data, within reach" in text
    assert "Vos données personnelles, à portée de main" not in text
    assert "Accessibility: partially compliant" in text
    assert 'hreflang="fr"' in text  # the way back to French
    assert "lang=en" in response.headers.get("set-cookie", "")
    assert client.cookies.get("lang") == "en"

    again = await client.get("/")

    assert '<html lang="en">' in again.text
    assert "Your personal data, within reach" in _text(again)


async def test_back_to_french(client: httpx.AsyncClient) -> None:
    await client.get("/?lang=en")

    response = await client.get("/?lang=fr")

    assert '<html lang="fr">' in response.text
    assert "Vos données personnelles, à portée de main" in _text(response)
    assert client.cookies.get("lang") == "fr"


async def test_signatories_page_in_english_shows_english_labels(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo()

    response = await client.get("/signataires?lang=en")

    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="en">' in text
    assert "The charter's signatories" in text
    assert "Local authority or public body" in text  # KIND_LABELS through _()
    assert "Public service operator" in text
    assert "Social housing provider" in text
    assert "by email to the data protection officer" in text  # CHANNEL_LABELS
    assert "automatically (demonstration)" in text
    assert "3 declarations" in text
    assert "13 October 2022" in text  # dates follow the language too
    assert "Collectivité ou organisme public" not in text
    assert "par courriel au délégué" not in text


async def test_not_found_page_in_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/nulle-part?lang=en")

    assert response.status_code == 404
    text = _text(response)
    assert '<html lang="en">' in text
    assert "Page not found" in text
    assert "The address you asked for does not exist" in text
    assert "Page introuvable" not in text


async def test_error_detail_raised_in_french_is_shown_in_english(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/signataires/personne-inconnue?lang=en")

    assert response.status_code == 404
    text = _text(response)
    assert "No signatory of the charter matches this address." in text
    assert "Aucun signataire" not in text


def test_email_in_the_residents_language() -> None:
    env = build_environment()
    context = {"link": "http://testserver/connexion/abc", "minutes": 10}

    english = render_email(env, "login_link", context, locale="en")
    french = render_email(env, "login_link", context, locale="fr")

    assert english.subject == "Your sign-in link for the data desk"
    assert "The link works for 10 minutes, once only." in english.text
    assert english.html is not None and '<html lang="en">' in english.html
    assert french.subject == "Votre lien de connexion au guichet des données"


# --- the gettext catalogue (desk/web/locales/en/LC_MESSAGES/messages.po) -------------------------


def _po_entries(path: Path) -> list[Any]:
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def test_every_msgid_of_the_po_catalogue_has_an_english_msgstr() -> None:
    entries = _po_entries(CATALOGUE)

    assert len(entries) > 500
    untranslated = [m.id for m in entries if not m.string or not str(m.string).strip()]
    fuzzy = [m.id for m in entries if m.fuzzy]
    assert not untranslated, "msgids without msgstr in messages.po:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy entries in messages.po:\n" + "\n".join(fuzzy)
    wrong = [m.id for m in entries if _fields(m.id) != _fields(m.string)]
    assert not wrong, "placeholders differ in messages.po:\n" + "\n".join(wrong)


def test_no_msgid_of_the_po_catalogue_is_obsolete(extracted: list[str]) -> None:
    # A sentence reworded or removed in the sources leaves its old msgid behind:
    # `pybabel update --ignore-obsolete` drops it.
    obsolete = sorted({str(m.id) for m in _po_entries(CATALOGUE)} - set(extracted))
    assert not obsolete, "msgids no source uses any more:\n" + "\n".join(obsolete)


def test_one_catalogue_per_language_and_no_side_catalogue() -> None:
    files = sorted(p.relative_to(CATALOG_DIR).as_posix() for p in CATALOG_DIR.rglob("*.*"))
    assert files == ["en/LC_MESSAGES/messages.po"]


def test_pybabel_update_adds_new_strings_untranslated_and_keeps_translations(
    tmp_path: Path,
) -> None:
    po = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(CATALOGUE.read_bytes())
    (tmp_path / "babel.cfg").write_text("[python: **.py]\nkeywords = N_\n", encoding="utf-8")
    (tmp_path / "labels.py").write_text(
        'HOME = N_("Accueil")\nNEW = N_("Une phrase toute neuve pour {name}")\n',
        encoding="utf-8",
    )
    pot = tmp_path / "messages.pot"
    extract(tmp_path, pot)
    pybabel("update", "-i", str(pot), "-d", str(tmp_path), *UPDATE_OPTIONS)

    by_id = {m.id: m for m in _po_entries(po)}
    assert set(by_id) == {"Accueil", "Une phrase toute neuve pour {name}"}
    fresh = by_id["Une phrase toute neuve pour {name}"]
    assert fresh.string == ""
    assert not fresh.fuzzy
    assert "python-brace-format" in fresh.flags
    assert by_id["Accueil"].string == "Home"
    assert load_catalog("en", tmp_path) == {"Accueil": "Home"}


# --- Accept-Language --------------------------------------------------------------------------


async def test_a_browser_preferring_english_gets_english_without_a_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})

    text = _text(response)
    assert '<html lang="en">' in text
    assert "Your personal data, within reach" in text
    assert "set-cookie" not in response.headers or "lang=" not in response.headers["set-cookie"]
    assert client.cookies.get("lang") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr;q=0.4, en;q=0.8", "en"),
        ("en;q=0.3, fr", "fr"),
        ("de-DE, en;q=0.5", "en"),
        ("de-DE, fr;q=0.9, en;q=0.8", "fr"),
        ("en;q=0, de", "fr"),
        ("*", "fr"),
        ("en-US;q=garbage, en;q=0.1", "en"),
        ("", "fr"),
    ],
)
async def test_accept_language_weights_are_respected(
    client: httpx.AsyncClient, header: str, expected: str
) -> None:
    response = await client.get("/", headers={"Accept-Language": header})

    assert f'<html lang="{expected}">' in response.text


async def test_the_lang_cookie_wins_over_the_browser_header(client: httpx.AsyncClient) -> None:
    await client.get("/?lang=fr")

    response = await client.get("/", headers={"Accept-Language": "en"})

    assert '<html lang="fr">' in response.text
    assert "Vos données personnelles, à portée de main" in _text(response)


async def test_refused_form_page_speaks_the_browsers_language(client: httpx.AsyncClient) -> None:
    await client.get("/")  # the CSRF cookie, but no token in the form

    response = await client.post(
        "/connexion", data={"email": "a@exemple.fr"}, headers={"Accept-Language": "en"}
    )

    assert response.status_code == 403
    text = _text(response)
    assert '<html lang="en">' in text
    assert "Form expired or incomplete" in text
    assert "Back to the home page" in text
    assert "Formulaire expiré" not in text


# --- sentences built at run time --------------------------------------------------------------


def test_a_message_reads_french_and_translates_with_its_values() -> None:
    why = Message("motif non précisé")
    line = Message("{name} a refusé votre demande : {why}.", name="Bibus", why=why)

    assert line == "Bibus a refusé votre demande : motif non précisé."
    assert translate(line, "en") == "Bibus refused your request: reason not given."
    rendered = build_environment().from_string("{{ _(line) }}").render(line=line, locale="en")
    assert rendered == "Bibus refused your request: reason not given."


def test_upload_and_outcome_errors_are_translated_after_formatting() -> None:
    from desk.partners.services import UploadTooLarge, check_upload
    from desk.requests.models import RequestKind
    from desk.requests.outcomes import InvalidAnswer, validate

    too_large = UploadTooLarge(5 * 1024 * 1024).message
    assert too_large.startswith("Le fichier est trop volumineux : 5 Mo au plus.")
    assert translate(too_large, "en").startswith("The file is too large: 5 MB at most.")

    with pytest.raises(Exception) as refused:
        check_upload(filename="copie.pdf", content_type="", content=b"%PDF-1.4", max_bytes=99)
    assert "(unknown)" in translate(refused.value.message, "en")  # type: ignore[attr-defined]

    with pytest.raises(InvalidAnswer) as invalid:
        validate(RequestKind.DISCOVERY, {"holds_data": True, "categories": 3}, has_file=False)
    assert translate(invalid.value.message, "en") == (
        "The field “data categories” must be a list of texts."
    )


# --- deadlines in words -------------------------------------------------------------------------


TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("due", "french", "english"),
    [
        (date(2026, 3, 10), "aujourd'hui", "today"),
        (date(2026, 3, 11), "demain", "tomorrow"),
        (date(2026, 3, 22), "dans 12 jours", "in 12 days"),
        (date(2026, 3, 9), "en retard d'un jour", "one day overdue"),
        (date(2026, 3, 7), "en retard de 3 jours", "3 days overdue"),
        # 23:30 UTC on 10 March is already 11 March in Brest: calendar days are Paris days.
        (datetime(2026, 3, 10, 23, 30, tzinfo=UTC), "demain", "tomorrow"),
        (datetime(2026, 3, 9, 23, 30, tzinfo=UTC), "aujourd'hui", "today"),
    ],
)
def test_deadline_in_words(due: date, french: str, english: str) -> None:
    assert deadline_words(due, "fr", today=TODAY) == french
    assert deadline_words(due, "en", today=TODAY) == english


def test_deadline_filter_takes_the_date_from_the_context() -> None:
    template = build_environment().from_string("{{ due|deadline }}")

    assert template.render(due=date(2026, 3, 22), today=TODAY, locale="fr") == "dans 12 jours"
    assert template.render(due=date(2026, 3, 7), today=TODAY, locale="en") == "3 days overdue"
    assert template.render(due=None, today=TODAY) == ""


# --- the resident's language reaches the emails -------------------------------------------------


async def test_an_english_resident_gets_english_pages_and_emails(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await client.get("/?lang=en")
    await log_in(client, worker, mail_sink, "robin@example.org")

    resident = await Resident.get(email="robin@example.org")
    assert resident.locale == "en"

    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "discovery", "submission_key": "cle-anglaise-1"}
    )
    assert filed.status_code == 303
    waiting = _text(await client.get("/mon-espace"))
    assert "in 1 month" not in waiting
    assert re.search(r"\(in \d+ days\)", waiting)

    delivery = await Delivery.filter(request__resident_id=resident.id).get()
    rt = app.state.runtime
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner",
        keyring=rt.keyring,
        issuer=rt.issuer,
        outcome={"holds_data": True, "declarations": [], "categories": ["coordonnées"]},
    )
    await worker.run_until_idle()

    page = _text(await client.get("/mon-espace"))
    assert "Eau du Ponant holds data about you." in page
    assert "Kinds of data: coordonnées." in page  # the partner's own words stay as written
    assert "détient des données sur vous" not in page
    mails = mail_sink.to("robin@example.org")
    notification = mails[-1]
    assert notification.subject == translate(
        "Tous les signataires ont répondu : qui détient vos données", "en"
    )
    assert notification.subject != "Tous les signataires ont répondu : qui détient vos données"
