"""A coarse label for the browser of a session ("Firefox", "Linux"), from its User-Agent.

Only the browser family and the system family are kept: enough for a person to recognise
"the phone" or "the library computer" among their sessions, too little to tell one device
from another of the same kind. The User-Agent itself and the network address are never stored.
"""

from __future__ import annotations

from starlette.types import Scope

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
# Android and ChromeOS before Linux, iOS before macOS (iPads and iPhones say "like Mac OS X").
_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
# Longer than any real User-Agent worth reading; the rest is not looked at.
_READ_AT_MOST = 512


def _first(user_agent: str, table: tuple[tuple[str, str], ...]) -> str:
    for marker, name in table:
        if marker in user_agent:
            return name
    return ""


def device_label(user_agent: str) -> dict[str, str]:
    """{"browser": ..., "system": ...}; an empty string where the family is not recognised."""
    head = user_agent[:_READ_AT_MOST]
    return {"browser": _first(head, _BROWSERS), "system": _first(head, _SYSTEMS)}


def device_of(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers") or []:
        if name == b"user-agent":
            return device_label(value.decode("latin-1"))
    return device_label("")
