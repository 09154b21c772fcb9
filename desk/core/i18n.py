"""French first, English available: templates write French and look up the English wording.

The English wording lives in one standard gettext catalogue,
`desk/web/locales/en/LC_MESSAGES/messages.po` (msgid: the French source, msgstr: the English),
kept up to date with Babel's own tools (`pybabel extract` with `babel.cfg`, then `pybabel
update`; see docs/translation.md) and edited with Poedit or any PO editor. It is compiled when
the process first needs it: read once into a dictionary (about 50 ms), so there is no `.mo`
file to keep in step with the `.po`. A missing entry falls back to French, so a page is never
blank, and `tests/desk/web/test_i18n.py` lists what is untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
# The catalogues stay beside the web layer that serves them; the lookup is the floor's.
CATALOG_DIR = Path(__file__).resolve().parent.parent / "web" / "locales"
DOMAIN = "messages"


def po_path(locale: str, directory: Path = CATALOG_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr of a .po file: translated, non-fuzzy, singular entries only."""

    if not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, ignore_obsolete=True)
    return {
        message.id: message.string
        for message in po
        if message.id
        and isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }


def load_catalog(locale: str, directory: Path = CATALOG_DIR) -> dict[str, str]:
    """The catalogue of a language: French is the source, so its catalogue is empty."""
    if locale == DEFAULT_LOCALE:
        return {}
    return read_po_entries(po_path(locale, directory))


@cache
def catalog(locale: str) -> dict[str, str]:
    return load_catalog(locale)


class Message(str):
    """A French sentence built from a catalogue template, translatable later.

    It reads as French wherever it is printed as is, and `translate()` (or `_()` in a
    template) renders it in another language: the template is translated first, then the
    values are put in (values that are Messages themselves are translated the same way).
    """

    template: str
    values: Mapping[str, object]

    def __new__(cls, template: str, /, **values: object) -> Message:
        text = super().__new__(cls, _render(template, DEFAULT_LOCALE, values))
        text.template = template
        text.values = values
        return text

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.template, dict(self.values)))

    def in_locale(self, locale: str) -> str:
        return _render(self.template, locale, self.values)


def _rebuild(template: str, values: dict[str, object]) -> Message:
    return Message(template, **values)


# French elides "de" and "que" before a vowel or a mute h: "auprès d'Eau du Ponant", never
# "auprès de Eau du Ponant". Templates write "de {name}"; the value decides.
_ELIDABLE = re.compile(r"(?<![\w'])([Dd]e|[Qq]ue) \{(\w+)\}")
_VOWEL_START = re.compile(r"[aeiouyàâäéèêëîïôöùûüœæh]", re.IGNORECASE)


def elide(template: str, values: Mapping[str, object]) -> str:
    """`template` with "de {x}" written "d'{x}" where the value of x starts with a vowel or h."""

    def one(match: re.Match[str]) -> str:
        word, name = match.group(1), match.group(2)
        value = str(values.get(name, ""))
        if value and _VOWEL_START.match(value):
            return f"{word[:-1]}'{{{name}}}"
        return match.group(0)

    return _ELIDABLE.sub(one, template) if "{" in template else template


def _render(template: str, locale: str, values: Mapping[str, object]) -> str:
    translated = catalog(locale).get(template, template) if locale != DEFAULT_LOCALE else template
    if not values:
        return translated
    ready = {k: v.in_locale(locale) if isinstance(v, Message) else v for k, v in values.items()}
    if locale == DEFAULT_LOCALE or translated == template:
        translated = elide(translated, ready)
    return translated.format(**ready)


def translate(text: str, locale: str, **values: object) -> str:
    if isinstance(text, Message) and not values:
        return text.in_locale(locale)
    return _render(text, locale, values)
