"""French first, English available: templates write French and look up the English wording.

The catalogue maps French source strings to English; a missing entry falls back to French,
so a page is never blank, and `tests/desk/web/test_i18n.py` lists what is untranslated.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.requests import HTTPConnection

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
_CATALOG_DIR = Path(__file__).parent / "locales"


@cache
def catalog(locale: str) -> dict[str, str]:
    """`<locale>.json` merged with every `<locale>-<part>.json` (one file per area of the desk)."""
    if locale == DEFAULT_LOCALE:
        return {}
    merged: dict[str, str] = {}
    for path in sorted(_CATALOG_DIR.glob(f"{locale}*.json")):
        if path.stem == locale or path.stem.startswith(f"{locale}-"):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(text: str, locale: str, **values: object) -> str:
    translated = catalog(locale).get(text, text) if locale != DEFAULT_LOCALE else text
    return translated.format(**values) if values else translated


def locale_of(conn: HTTPConnection) -> str:
    """?lang= wins, then the `lang` cookie, then French."""
    asked = conn.query_params.get("lang") or conn.cookies.get("lang")
    return asked if asked in LOCALES else DEFAULT_LOCALE
