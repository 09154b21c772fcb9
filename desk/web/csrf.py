"""CSRF protection for forms: an origin check, then a signed token in a cookie repeated in a
hidden form field.

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

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl

from itsdangerous import BadSignature, URLSafeSerializer
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.web.bodies import BodyTooLarge, buffer_body, limited_receive, replay

COOKIE = "csrftoken"
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
        self.failed = failed
        self.exempt_prefixes = exempt_prefixes
        self.cookie_secure = cookie_secure

    def _cookie_token(self, scope: Scope) -> str | None:
        raw = dict(scope.get("headers") or []).get(b"cookie")
        if not raw:
            return None
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(raw.decode("latin-1"))
        except Exception:
            return None
        morsel = cookie.get(COOKIE)
        if morsel is None:
            return None
        try:
            self.signer.loads(morsel.value)
        except BadSignature:
            return None
        return morsel.value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        existing = self._cookie_token(scope)
        token = existing or self.signer.dumps(secrets.token_urlsafe(24))
        scope["csrftoken"] = lambda: token

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and existing is None:
                flags = "; Secure" if self.cookie_secure else ""
                cookie = f"{COOKIE}={token}; Path=/; SameSite=Lax; HttpOnly{flags}"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        path: str = scope["path"]
        if scope["method"] in SAFE_METHODS or path.startswith(self.exempt_prefixes):
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
        if existing is None:
            await self.failed(scope, send, 403, "missing_cookie")
            return
        header_token = headers.get(HEADER, b"").decode("latin-1")
        if header_token and secrets.compare_digest(header_token, existing):
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
        if found is None or not secrets.compare_digest(found, existing):
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
