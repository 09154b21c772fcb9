"""Server-side sessions: the cookie holds a random 256-bit value, the table only its SHA-256.

`ServerSessionMiddleware` gives routes the same `request.session` dict Starlette's signed-cookie
sessions gave, but the data stays on the server, so a session can be ended from the outside
(logout, "log out everywhere", staff deactivation) and an old cookie replayed later opens
nothing. Rules:

- no row for an empty session (an anonymous visit writes nothing);
- the row is written only when the dict changed, and `last_seen_at` at most once a minute;
- a new id whenever the person in the session changes (login, logout): the value a browser
  held before logging in never names a logged-in session (session fixation);
- a session ends after `session_idle_timeout` without a request, and at `expires_at` whatever
  the activity: login time + `session_max_age` (residents) or `staff_session_max_age` (staff).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.core import clock
from desk.identity.devices import device_of
from desk.identity.models import WebSession
from desk.identity.session_rows import SCOPE_RESIDENT, session_and_resident
from desk.runtime import Runtime
from desk.settings import Settings
from desk.staff.auth import NOTICE_KEY
from desk.web.cookies import cookies_of
from desk.web.csrf import SCOPE_BINDING

log = logging.getLogger("desk.security")

COOKIE = "desk_session"
# The __Host- prefix makes the browser refuse the cookie unless Secure, Path=/ and no Domain.
SECURE_COOKIE = "__Host-desk_session"
TOUCH_INTERVAL = timedelta(minutes=1)
# Sessions whose last touch a process remembers (forgotten all at once beyond this).
MAX_TOUCHED = 10_000
# Not worth a database query: static files never read the session.
SKIPPED_PREFIXES = ("/static/",)
# secrets.token_urlsafe(32): 43 URL-safe base64 characters.
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Kept in the row's data but never in `request.session`: routes cannot read or overwrite it.
# The coarse device label ("Firefox", "Linux") taken from the User-Agent when the row is made,
# so "Mes connexions" can name each session without storing the User-Agent itself.
DEVICE_KEY = "__device"
# Where the middleware leaves the current row's id for the pages that list sessions.
SCOPE_SESSION_ID = "desk.session_id"


def session_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if settings.https_only else COOKIE


def _int_id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def identity_of(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """(resident_id, staff_id) named by a session's data."""
    return _int_id(data.get("resident_id")), _int_id(data.get("staff_id"))


def member_of(data: dict[str, Any]) -> int | None:
    """The organisation member (desk.organisations) a session's data names, if any."""
    return _int_id(data.get("member_id"))


def anyone_in(data: dict[str, Any]) -> bool:
    return any(identity_of(data)) or member_of(data) is not None


def login_key(data: dict[str, Any]) -> tuple[object, ...]:
    """Who is logged in and since when: a new value means a login or a logout, hence a new id."""
    return (
        *identity_of(data),
        member_of(data),
        _int_id(data.get("auth_at")),
        _int_id(data.get("staff_auth_at")),
        _int_id(data.get("member_auth_at")),
    )


def _auth_moment(value: object, now: datetime) -> datetime:
    moment = _int_id(value)
    if moment is None:
        return now
    return min(datetime.fromtimestamp(moment, UTC), now)


def expiry_for(data: dict[str, Any], *, settings: Settings, now: datetime) -> datetime:
    """The absolute end of a session: the shortest life among the people logged in it."""
    resident_id, staff_id = identity_of(data)
    ends = []
    if resident_id is not None:
        start = _auth_moment(data.get("auth_at"), now)
        ends.append(start + timedelta(seconds=settings.session_max_age))
    if staff_id is not None:
        start = _auth_moment(data.get("staff_auth_at"), now)
        ends.append(start + timedelta(seconds=settings.staff_session_max_age))
    if member_of(data) is not None:
        # An organisation's people see residents' requests, like staff: staff's shorter life.
        start = _auth_moment(data.get("member_auth_at"), now)
        ends.append(start + timedelta(seconds=settings.staff_session_max_age))
    if not ends:
        # Anonymous data (a flash message, the page to go back to): a resident's life is plenty.
        ends.append(now + timedelta(seconds=settings.session_max_age))
    return min(ends)


def _snapshot(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


class ServerSessionMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cookie = cookie_name(settings)
        self.idle = timedelta(seconds=settings.session_idle_timeout)
        # Session id → when this process last wrote its last_seen_at: requests of one session
        # arriving together write it once, not once each (each write waits for SQLite's lock).
        self._touched: dict[str, datetime] = {}

    def _raw_cookie(self, scope: Scope) -> str | None:
        return cookies_of(scope).get(self.cookie)

    async def _load(
        self, raw: str | None, now: datetime, scope: Scope
    ) -> tuple[WebSession | None, bool]:
        """The live row the cookie names; and True when it named a staff session that timed out.
        The resident it names is read with it, for desk.residents.auth (`SCOPE_RESIDENT`)."""
        if raw is None or not _COOKIE_VALUE.match(raw):
            return None, False
        row, resident = await session_and_resident(session_digest(raw))
        if row is None:
            return None, False
        if row.expires_at <= now or row.last_seen_at + self.idle <= now:
            await WebSession.filter(id=row.id).delete()
            log.info(
                "session ended by timeout (resident %s, staff %s)", row.resident_id, row.staff_id
            )
            return None, row.staff_id is not None
        if row.resident_id is not None:
            scope[SCOPE_RESIDENT] = (row.resident_id, resident)
        return row, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SKIPPED_PREFIXES):
            if scope["type"] in ("http", "websocket"):
                scope["session"] = {}
            await self.app(scope, receive, send)
            return
        raw = self._raw_cookie(scope)
        row, staff_timed_out = await self._load(raw, clock.now(), scope)
        data: dict[str, Any] = dict(row.data) if row is not None else {}
        device = data.pop(DEVICE_KEY, None)
        scope[SCOPE_SESSION_ID] = row.id if row is not None else None
        before = _snapshot(data)
        if staff_timed_out:
            # The staff login page then says the session expired rather than nothing.
            data[NOTICE_KEY] = "expired"
        scope["session"] = data
        first_login = login_key(data) if row is not None else None
        logged_in = anyone_in(data)
        # The value of the session this request will create (a login), chosen as soon as a
        # page asks for its CSRF token, so forms rendered now carry the new session's token.
        pending: list[str] = []

        def csrf_binding() -> str | None:
            """The id the logged-in session will have when this request ends; None if nobody
            is logged in (the same rule `_commit` follows)."""
            current = scope["session"]
            if not anyone_in(current):
                return None
            if row is not None and login_key(current) == first_login:
                return row.id
            if not pending:
                pending.append(secrets.token_urlsafe(32))
            return session_digest(pending[0])

        scope[SCOPE_BINDING] = csrf_binding

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookie = await self._commit(
                    row=row,
                    data=scope["session"],
                    before=before,
                    login=first_login,
                    device=device,
                    scope=scope,
                    pending=pending[0] if pending else None,
                )
                if cookie is None and raw is not None and row is None and not scope["session"]:
                    cookie = self._clear_cookie()
                if cookie is not None:
                    headers.append("set-cookie", cookie)
                if logged_in or anyone_in(scope["session"]):
                    # A page shown to a logged-in person is theirs alone: no cache keeps it.
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_session)

    async def _commit(
        self,
        *,
        row: WebSession | None,
        data: dict[str, Any],
        before: str,
        login: tuple[object, ...] | None,
        device: object,
        scope: Scope,
        pending: str | None = None,
    ) -> str | None:
        """Save what changed; the Set-Cookie header value to send, if any."""
        now = clock.now()
        if not data:
            if row is not None:
                await WebSession.filter(id=row.id).delete()
                return self._clear_cookie()
            return None
        if row is None or login_key(data) != login:
            if row is not None:
                # Logged in or out: the old value must open nothing any more.
                await WebSession.filter(id=row.id).delete()
            return await self._create(data, now, device=device_of(scope), raw=pending)
        if _snapshot(data) != before:
            stored = {**data, DEVICE_KEY: device} if device is not None else data
            # update(), not save(): a row ended meanwhile (log out everywhere) stays ended.
            await WebSession.filter(id=row.id).update(data=stored, last_seen_at=now)
        elif now - max(row.last_seen_at, self._touched.get(row.id, row.last_seen_at)) >= (
            TOUCH_INTERVAL
        ):
            if len(self._touched) >= MAX_TOUCHED:
                self._touched.clear()
            self._touched[row.id] = now
            await WebSession.filter(id=row.id).update(last_seen_at=now)
        return None

    async def _create(
        self, data: dict[str, Any], now: datetime, *, device: dict[str, str], raw: str | None
    ) -> str:
        raw = raw or secrets.token_urlsafe(32)
        resident_id, staff_id = identity_of(data)
        expires_at = expiry_for(data, settings=self.settings, now=now)
        await WebSession.create(
            id=session_digest(raw),
            data={**data, DEVICE_KEY: device},
            resident_id=resident_id,
            staff_id=staff_id,
            last_seen_at=now,
            expires_at=expires_at,
        )
        max_age = max(1, int((expires_at - now).total_seconds()))
        return self._cookie_header(raw, max_age)

    def _cookie_header(self, value: str, max_age: int) -> str:
        header = f"{self.cookie}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        if self.settings.https_only:
            header += "; Secure"
        return header

    def _clear_cookie(self) -> str:
        return self._cookie_header("", 0) + "; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


# --- ending sessions from the outside -----------------------------------------------------------


async def end_sessions(*, resident_id: int | None = None, staff_id: int | None = None) -> int:
    """Delete every session of one resident or one staff member; how many there were."""
    if resident_id is None and staff_id is None:
        return 0
    query = WebSession.all()
    if resident_id is not None:
        query = query.filter(resident_id=resident_id)
    if staff_id is not None:
        query = query.filter(staff_id=staff_id)
    return await query.delete()


async def purge_expired_sessions(runtime: Runtime) -> None:
    """Periodic task: rows past their absolute end or idle too long (their cookies open nothing)."""
    now = clock.now()
    idle_since = now - timedelta(seconds=runtime.settings.session_idle_timeout)
    ended = await WebSession.filter(expires_at__lte=now).delete()
    ended += await WebSession.filter(last_seen_at__lte=idle_since).delete()
    if ended:
        log.info("%s expired sessions purged", ended)
