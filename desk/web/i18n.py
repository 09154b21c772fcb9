"""French first, English available: templates write French and look up the English wording.

The English wording lives in one standard gettext catalogue,
`locales/en/LC_MESSAGES/messages.po` (msgid: the French source, msgstr: the English), kept up
to date with Babel's own tools (`pybabel extract` with `babel.cfg`, then `pybabel update`; see
docs/translation.md) and edited with Poedit or any PO editor. It is compiled when the process
first needs it: read once into a dictionary (about 50 ms), so there is no `.mo` file to keep in
step with the `.po`. A missing entry falls back to French, so a page is never blank, and
`tests/desk/web/test_i18n.py` lists what is untranslated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
CATALOG_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def po_path(locale: str, directory: Path = CATALOG_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr of a .po file: translated, non-fuzzy, singular entries only."""
    from babel.messages.pofile import read_po

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


def _render(template: str, locale: str, values: Mapping[str, object]) -> str:
    translated = catalog(locale).get(template, template) if locale != DEFAULT_LOCALE else template
    if not values:
        return translated
    ready = {k: v.in_locale(locale) if isinstance(v, Message) else v for k, v in values.items()}
    return translated.format(**ready)


def translate(text: str, locale: str, **values: object) -> str:
    if isinstance(text, Message) and not values:
        return text.in_locale(locale)
    return _render(text, locale, values)


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """Language ranges of an Accept-Language header, most wanted first (RFC 9110 §12.5.4).

    Malformed parts are skipped; q=0 means "not this one"; equal weights keep header order.
    """
    ranges: list[tuple[str, float, int]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or len(tag) > 35:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = -1.0
        if 0 < weight <= 1:
            ranges.append((tag, weight, position))
    ranges.sort(key=lambda item: (-item[1], item[2]))
    return [(tag, weight) for tag, weight, _ in ranges]


def negotiate(header: str | None) -> str:
    """The first of our languages the browser asks for, by preference; French otherwise."""
    for tag, _ in parse_accept_language(header or ""):
        primary = tag.split("-", 1)[0]
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE


def locale_of(conn: HTTPConnection) -> str:
    """?lang= wins, then the `lang` cookie, then the browser's Accept-Language, then French."""
    for asked in (conn.query_params.get("lang"), conn.cookies.get("lang")):
        if asked in LOCALES:
            return str(asked)
    return negotiate(conn.headers.get("accept-language"))


# Keys of a JSON document whose text people read (the open-data Table Schemas' title and
# description, shown through `_()` on /donnees-ouvertes/).
JSON_TEXT_KEYS = ("title", "description")


def extract_json(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A `pybabel extract` method for JSON files (babel.cfg: `[desk.web.i18n.extract_json: …]`).

    Yields the top-level `title` and `description` strings, with the line they are on.
    """
    text = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    document = json.loads(text)
    if not isinstance(document, dict):
        return
    for key in JSON_TEXT_KEYS:
        value = document.get(key)
        if isinstance(value, str) and value:
            marker = f"{json.dumps(key)}:"
            position = text.find(marker)
            yield (text.count("\n", 0, position) + 1 if position >= 0 else 1), None, value, []
