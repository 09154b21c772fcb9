"""CSRF protection for forms: an origin check, then a token bound to the session, repeated in
a hidden form field.

The token: for a logged-in session, an HMAC of the session's id (the SHA-256 the session table
keeps), so a token works only with the session it was made for: an attacker's own valid token
cannot be replayed with a victim's session, even with a cookie planted in the victim's browser.
Anonymous pages are bound to a pre-session cookie (a signed random value, double submit); a
login gives a new session id, hence a new token. The cookie always carries the current token
(a copy: scripts and tests read it there); over https it is `__Host-csrftoken` (Secure, Path=/,
no Domain), which no other site, not even a sibling subdomain, can set.

The origin check: a browser names where an unsafe request comes from (`Origin`, or
`Sec-Fetch-Site` for the same purpose); a request that says it comes from another site is
refused before its body is read. Requests that name no origin (older clients, tests) still
need the token, which alone suffices.

Written for the desk rather than taken from asgi-csrf, whose multipart scanner breaks with
current python-multipart and whose body parsing answers malformed input with a 500. Every
unsafe request outside the machine API (bearer tokens) must carry the token, in the
`x-csrftoken` header or as the form's first field; the body is replayed untouched to the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from itsdangerous import BadSignature, URLSafeSerializer
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.web.bodies import BodyTooLarge, buffer_body, limited_receive, replay
from desk.web.cookies import cookies_of

COOKIE = "csrftoken"
# Over https: the browser accepts a __Host- cookie only if Secure, Path=/ and without Domain.
SECURE_COOKIE = "__Host-csrftoken"
# Where the session middleware (outside this one) leaves a callable: the id of the logged-in
# session this request ends with (a login in this request gives the new one), or None.
SCOPE_BINDING = "desk.csrf_binding"
# Session-bound tokens start with this; anonymous ones are itsdangerous values (no "s." start).
SESSION_PREFIX = "s."
FIELD = "csrftoken"
HEADER = b"x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# A urlencoded form larger than this is refused before it reaches a route.
MAX_FORM_BYTES = 256 * 1024
# The token is the first field of a multipart form: give up if it is not within this much.
MAX_MULTIPART_SCAN = 64 * 1024
# Room for a form's other fields around its largest allowed file; more than the answer forms'
# own allowance (desk.partners.services), so their own, more precise refusal answers first.
FORM_OVERHEAD_BYTES = 512 * 1024

Failure = Callable[[Scope, Send, int, str], Awaitable[None]]
Binding = Callable[[], str | None]


class _Found(Exception):
    pass


class _FileFirst(Exception):
    pass


class CSRFMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str,
        failed: Failure,
        exempt_prefixes: tuple[str, ...] = ("/api/", "/oauth/"),
        cookie_secure: bool = False,
        max_upload: int = 10 * 1024 * 1024,
        trusted_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        # The public address (DESK_BASE_URL), besides the address the request itself was sent to.
        self.trusted_origins = {o.rstrip("/").lower() for o in trusted_origins}
        # No form body may be larger than the largest file a form takes, plus its fields:
        # refused on its Content-Length, or once it streams past that.
        self.max_body = max_upload + FORM_OVERHEAD_BYTES
        self.signer = URLSafeSerializer(secret, salt="desk.csrf")
        # Its own key: a session-bound token is no valid signature of anything else.
        self.session_key = hmac.new(secret.encode(), b"desk.csrf.session", hashlib.sha256).digest()
        self.failed = failed
        self.exempt_prefixes = exempt_prefixes
        self.cookie_secure = cookie_secure
        self.cookie = SECURE_COOKIE if cookie_secure else COOKIE

    def _cookie_value(self, scope: Scope) -> str | None:
        return cookies_of(scope).get(self.cookie)

    def _anonymous(self, value: str | None) -> str | None:
        """The cookie's value if it is a pre-session token signed with our key."""
        if not value or value.startswith(SESSION_PREFIX):
            return None
        try:
            self.signer.loads(value)
        except BadSignature:
            return None
        return value

    def session_token(self, session_id: str) -> str:
        mac = hmac.new(self.session_key, session_id.encode("ascii"), hashlib.sha256).digest()
        return SESSION_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = self._cookie_value(scope)
        anonymous = self._anonymous(sent)
        found_binding = scope.get(SCOPE_BINDING)
        binding: Binding | None = found_binding if callable(found_binding) else None
        made: list[str] = []

        def current() -> str:
            """The token for the session as it stands now (forms rendered after a login in
            this request already carry the new session's token)."""
            bound = binding() if binding is not None else None
            if bound is not None:
                return self.session_token(bound)
            if anonymous is not None:
                return anonymous
            if not made:
                made.append(self.signer.dumps(secrets.token_urlsafe(24)))
            return made[0]

        scope["csrftoken"] = current

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = current()
                # Without a session layer (static files) only a missing cookie is set, so a
                # stylesheet never replaces a logged-in session's token with an anonymous one.
                if token != sent and (binding is not None or sent is None):
                    flags = "; Secure" if self.cookie_secure else ""
                    cookie = f"{self.cookie}={token}; Path=/; SameSite=Lax; HttpOnly{flags}"
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"set-cookie", cookie.encode()),
                    ]
            await send(message)

        path: str = scope["path"]
        if path.startswith(self.exempt_prefixes):
            # Bearer-token APIs have no forms: no token to check, no cookie to hand out.
            await self.app(scope, receive, send)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send_with_cookie)
            return
        headers = dict(scope.get("headers") or [])
        if not _same_origin(scope, headers, self.trusted_origins):
            await self.failed(scope, send, 403, "cross_origin")
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await self.failed(scope, send, 413, "too_large")
            return
        bound = binding() if binding is not None else None
        # Logged in: the token of this session, whatever cookie the browser sent (an
        # attacker's own valid pair planted in it proves nothing). Anonymous: the cookie's.
        expected = self.session_token(bound) if bound is not None else anonymous
        if expected is None:
            await self.failed(scope, send, 403, "missing_cookie")
            return
        header_token = headers.get(HEADER, b"").decode("latin-1")
        if header_token and _same(header_token, expected):
            await self._bounded(scope, receive, send_with_cookie)
            return
        content_type, options = parse_options_header(headers.get(b"content-type", b""))
        if content_type == b"application/x-www-form-urlencoded":
            result = await _scan_urlencoded(receive)
        elif content_type == b"multipart/form-data" and options.get(b"boundary"):
            result = await _scan_multipart(options[b"boundary"], receive)
        else:
            await self.failed(scope, send, 403, "no_form")
            return
        status, found, replay = result
        if status != 200:
            await self.failed(scope, send, status, "too_large" if status == 413 else "bad_form")
            return
        if found is None or not _same(found, expected):
            await self.failed(scope, send, 403, "mismatch")
            return
        await self._bounded(scope, replay, send_with_cookie)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app on a body cut at max_body (a stream without Content-Length, or lying)."""
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive(receive, self.max_body), watch)
        except BodyTooLarge:
            if started:
                raise
            await self.failed(scope, send, 413, "too_large")


def _same(given: str, expected: str) -> bool:
    # On bytes: compare_digest refuses str with non-ASCII characters (a 500 otherwise).
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _same_origin(scope: Scope, headers: dict[bytes, bytes], trusted: set[str]) -> bool:
    """False when the browser says the request comes from another site."""
    origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
    # "null" says nothing: browsers send it for same-site posts from a page whose
    # Referrer-Policy is no-referrer (the login confirmation page), and from sandboxed frames.
    if origin and origin != "null":
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        own = f"{scope.get('scheme', 'http')}://{host}"
        return origin == own or origin in trusted
    # Fetch metadata: sent by every current browser, even where Origin is left out.
    return headers.get(b"sec-fetch-site", b"").lower() != b"cross-site"


async def _scan_urlencoded(receive: Receive) -> tuple[int, str | None, Receive]:
    body, messages, complete = await buffer_body(receive, MAX_FORM_BYTES)
    if messages and messages[-1]["type"] != "http.request":
        return 400, None, receive
    if not complete:
        return 413, None, receive
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return 400, None, receive
    return 200, fields.get(FIELD), replay(messages, receive)


@dataclass
class _Part:
    name: bytes | None = None
    is_file: bool = False
    value: bytes = b""
    header_field: bytes = b""
    header_value: bytes = b""


async def _scan_multipart(boundary: bytes, receive: Receive) -> tuple[int, str | None, Receive]:
    messages: list[Message] = []
    part = _Part()

    def on_part_begin() -> None:
        part.name, part.is_file, part.value = None, False, b""

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value += data[start:end]

    def on_header_end() -> None:
        if part.header_field.lower() == b"content-disposition":
            _, opts = parse_options_header(part.header_value)
            part.name = opts.get(b"name")
            part.is_file = b"filename" in opts
        part.header_field, part.header_value = b"", b""

    def on_headers_finished() -> None:
        if part.is_file:
            raise _FileFirst

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.name == FIELD.encode():
            part.value += data[start:end]

    def on_part_end() -> None:
        if part.name == FIELD.encode():
            raise _Found(part.value.decode("utf-8", "replace"))

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    seen = 0
    more = True
    try:
        while more and seen <= MAX_MULTIPART_SCAN:
            message = await receive()
            if message["type"] != "http.request":
                return 400, None, receive
            messages.append(message)
            chunk = message.get("body", b"")
            seen += len(chunk)
            parser.write(chunk)
            more = message.get("more_body", False)
    except _Found as found:
        return 200, str(found.args[0]), replay(messages, receive)
    except _FileFirst:
        return 403, None, receive
    except Exception:
        return 400, None, receive
    return 200, None, replay(messages, receive)
