"""Which language a visitor gets: `?lang=`, then the `lang` cookie, then Accept-Language.

The translatable `Message` and the catalogue lookup are in desk.core.i18n (domains use them
without any HTTP); this module only chooses the locale of a connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.types import Scope

from desk.core.i18n import DEFAULT_LOCALE, LOCALES
from desk.web.cookies import cookies_of

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


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


def locale_of_scope(scope: Scope) -> tuple[str, str | None]:
    """`locale_of` for a middleware, without building a connection: the locale, and the
    `?lang=` asked for, if any (most requests have none: their query is not parsed)."""
    query: bytes = scope.get("query_string", b"")
    # A percent-encoded name ("l%61ng") still counts, as it did through the parsed query.
    asked = QueryParams(query).get("lang") if b"lang" in query or b"%" in query else None
    if asked in LOCALES:
        return str(asked), asked
    cookie = cookies_of(scope).get("lang")
    if cookie in LOCALES:
        return str(cookie), asked
    for name, value in scope.get("headers") or []:
        if name == b"accept-language":
            return negotiate(value.decode("latin-1")), asked
    return DEFAULT_LOCALE, asked


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
