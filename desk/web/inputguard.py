"""Refuse input no person types: the NUL character, in an address, a query or a form.

PostgreSQL text cannot hold it (SQLite can), so without this a "%00" in a slug or a form field
reached the database and came back as a 500. Refused here once for every route: a 404 for an
address (no such page), a 400 for a query or a body, in French (or problem+json).

Bodies are scanned whole (urlencoded forms, JSON, multipart), except on the routes that take
an uploaded file, whose binary content may hold NUL bytes (their text fields are checked by
desk.web.forms.read_form_with_file and the API's fulfil parser). A body too large to be scanned
is refused with a 413 anywhere else: only an uploaded file can be that large.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from desk.web.bodies import buffer_body, replay
from desk.web.errors import error_page

MESSAGE = (
    "Votre demande contient un caractère invisible interdit (le caractère nul). Retapez le "
    "texte plutôt que de le coller, puis réessayez."
)
TOO_LARGE = "Votre envoi est trop volumineux pour être accepté : raccourcissez-le et réessayez."
# No body but an uploaded file's is larger than this; those are not scanned here (the upload
# routes bound them and check their text fields themselves).
MAX_SCANNED = 8 * 1024 * 1024
UPLOAD_PATHS = re.compile(
    r"^/(partenaires/reponse/[^/]+|back-office/envois/\d+/reponse|api/v1/deliveries/[^/]+/fulfil)$"
)
# The OAuth token endpoint answers in RFC 6749's error format: it checks NUL itself.
OWN_ERROR_FORMAT = ("/oauth/",)
JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def has_nul(text: str) -> bool:
    """A text field holding NUL, or JSON text that would decode to it."""
    return "\x00" in text or "\\u0000" in text


def _has_nul(body: bytes, content_type: bytes, path: str) -> bool:
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return b"\x00" in body or b"%00" in body
    if content_type.startswith(b"application/json") or b"+json" in content_type:
        return b"\x00" in body or JSON_NUL.search(body) is not None
    if content_type.startswith(b"multipart/"):
        return not UPLOAD_PATHS.match(path) and b"\x00" in body
    return False


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(OWN_ERROR_FORMAT):
            await self.app(scope, receive, send)
            return
        if "\x00" in path:
            await self._refuse(scope, receive, send, 404)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await self._refuse(scope, receive, send, 400)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").lower()
        if scope["method"] in ("GET", "HEAD") or not content_type:
            await self.app(scope, receive, send)
            return
        # Only the upload routes take bodies past MAX_SCANNED (and bound them themselves).
        upload = UPLOAD_PATHS.match(path) is not None
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_SCANNED:
            if upload:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send, 413)
            return
        body, messages, complete = await buffer_body(receive, MAX_SCANNED)
        if not complete and not upload:
            await self._refuse(scope, receive, send, 413)
            return
        if _has_nul(body, content_type, path):
            await self._refuse(scope, receive, send, 400)
            return
        await self.app(scope, replay(messages, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        request = Request(scope, receive)
        detail = {400: MESSAGE, 413: TOO_LARGE}.get(status, "Cette page est introuvable.")
        response = error_page(request, status, detail)
        await response(scope, receive, send)
