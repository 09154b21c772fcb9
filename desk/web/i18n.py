"""Which language a visitor gets: `?lang=`, then the `lang` cookie, then Accept-Language.

The translatable `Message` and the catalogue lookup are in desk.core.i18n (domains use them
without any HTTP); this module only chooses the locale of a connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desk.core.i18n import DEFAULT_LOCALE, LOCALES

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
