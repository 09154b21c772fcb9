"""A person's own sessions: list them, end one (ASVS 3.3.4).

A row's id is the SHA-256 of its cookie, so it never leaves the server. Each listed session
gets a handle instead: an HMAC, under the desk's secret, of the viewing session's id and the
listed one's. The handle means something only to the session that was shown it: another
browser of the same person, or anyone else, cannot use it, and it names no row by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from tortoise.queryset import QuerySet

from desk.core import clock
from desk.identity.models import WebSession
from desk.identity.sessions import DEVICE_KEY, SCOPE_SESSION_ID

HANDLE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Owner:
    """Whose sessions: one resident or one staff member (a browser may hold both)."""

    resident_id: int | None = None
    staff_id: int | None = None


@dataclass(frozen=True)
class ListedSession:
    created_at: datetime
    last_seen_at: datetime
    browser: str
    system: str
    current: bool
    # Empty for the current session: it is ended by logging out, not from the list.
    handle: str


def current_session_id(request: Request) -> str | None:
    value = request.scope.get(SCOPE_SESSION_ID)
    return value if isinstance(value, str) else None


def session_handle(*, secret_key: str, viewer_id: str, listed_id: str) -> str:
    message = f"session-handle\0{viewer_id}\0{listed_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _of(owner: Owner) -> QuerySet[WebSession] | None:
    if owner.resident_id is not None:
        return WebSession.filter(resident_id=owner.resident_id)
    if owner.staff_id is not None:
        return WebSession.filter(staff_id=owner.staff_id)
    return None


def _device(data: object) -> tuple[str, str]:
    device = data.get(DEVICE_KEY) if isinstance(data, dict) else None
    if not isinstance(device, dict):
        return "", ""
    browser, system = device.get("browser"), device.get("system")
    return (
        browser if isinstance(browser, str) else "",
        system if isinstance(system, str) else "",
    )


async def list_sessions(
    *, owner: Owner, viewer_id: str | None, secret_key: str, idle_timeout: int
) -> list[ListedSession]:
    """The owner's live sessions, the current one first, then the most recently used."""
    query = _of(owner)
    if query is None:
        return []
    now = clock.now()
    # Rows past their end wait for the periodic purge; they open nothing, so they are not shown.
    query = query.filter(expires_at__gt=now, last_seen_at__gt=now - timedelta(seconds=idle_timeout))
    rows = await query.order_by("-last_seen_at").values("id", "created_at", "last_seen_at", "data")
    listed = []
    for row in rows:
        current = row["id"] == viewer_id
        browser, system = _device(row["data"])
        handle = (
            ""
            if current or viewer_id is None
            else session_handle(secret_key=secret_key, viewer_id=viewer_id, listed_id=row["id"])
        )
        listed.append(
            ListedSession(
                created_at=row["created_at"],
                last_seen_at=row["last_seen_at"],
                browser=browser,
                system=system,
                current=current,
                handle=handle,
            )
        )
    listed.sort(key=lambda s: not s.current)
    return listed


async def end_listed_session(
    *, owner: Owner, viewer_id: str | None, handle: str, secret_key: str
) -> bool:
    """End the owner's session this handle names, shown to this viewer; False if none."""
    query = _of(owner)
    if query is None or viewer_id is None or not HANDLE.match(handle):
        return False
    ids = await query.exclude(id=viewer_id).values_list("id", flat=True)
    for listed_id in ids:
        expected = session_handle(
            secret_key=secret_key, viewer_id=viewer_id, listed_id=str(listed_id)
        )
        if hmac.compare_digest(expected, handle):
            ended = await query.filter(id=str(listed_id)).delete()
            return ended > 0
    return False
