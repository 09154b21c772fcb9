"""The request's cookies, parsed once for every middleware that reads one (sessions, CSRF,
locale) and kept in the ASGI scope."""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import Scope

SCOPE_KEY = "desk.cookies"


def cookies_of(scope: Scope) -> dict[str, str]:
    """Name → value; with several Cookie headers, the first one naming a cookie gives it."""
    found = scope.get(SCOPE_KEY)
    if isinstance(found, dict):
        return found
    jar: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            for key, item in cookie_parser(value.decode("latin-1")).items():
                jar.setdefault(key, item)
    scope[SCOPE_KEY] = jar
    return jar
