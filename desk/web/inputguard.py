"""Refuse input no person types before any route runs: the NUL character, values longer than
their field's maximum (desk.web.limits), digits other than 0-9 in an address.

PostgreSQL text cannot hold NUL (SQLite can), so without this a "%00" in a slug or a form field
reached the database and came back as a 500. Refused here once for every route: a 404 for an
address (no such page), a 400 for a query or a body, in French (or problem+json).

Bodies are scanned whole (urlencoded forms, JSON, multipart), except on the routes that take
an uploaded file, whose binary content may hold NUL bytes (their text fields are checked by
desk.web.forms.read_form_with_file and the API's fulfil parser). A body too large to be scanned
is refused with a 413 anywhere else: only an uploaded file can be that large.

Lengths: each form field, query parameter and JSON string is held to its maximum
(desk.web.limits), so a value pasted a thousand times over gets a clear 422 (a French page,
or problem+json on the API) instead of travelling to the ORM; an address with an over-long
segment, or with digits such as "１" that int() would read as 1, is no page of the desk (404).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desk.core.translatable import N_
from desk.web.bodies import buffer_body, replay
from desk.web.errors import error_page
from desk.web.limits import (
    JSON_STRING_MAX,
    PATH_MAX,
    PATH_SEGMENT_MAX,
    SHORT_MAX,
    first_too_long,
    has_foreign_digit,
    too_long,
)

MESSAGE = N_(
    "Votre demande contient un caractère invisible interdit (le caractère nul). Retapez le "
    "texte plutôt que de le coller, puis réessayez."
)
TOO_LONG_JSON = (
    "Un texte de votre envoi est plus long que ce que le guichet accepte : voir les "
    "longueurs maximales (maxLength) dans le document OpenAPI."
)
TOO_LARGE = N_("Votre envoi est trop volumineux pour être accepté : raccourcissez-le et réessayez.")
# No body but an uploaded file's is larger than this; those are not scanned here (the upload
# routes bound them and check their text fields themselves).
MAX_SCANNED = 8 * 1024 * 1024
UPLOAD_PATHS = re.compile(
    r"^/(partenaires/reponse/[^/]+|back-office/envois/\d+/reponse|api/v1/deliveries/[^/]+/fulfil)$"
)
# The OAuth token endpoint answers in RFC 6749's error format: it checks NUL itself.
OWN_ERROR_FORMAT = ("/oauth/",)
JSON_CHECKED_BYTES = 64 * 1024
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


def _path_refused(path: str) -> bool:
    if "\x00" in path or len(path) > PATH_MAX or has_foreign_digit(path):
        return True
    return any(len(segment) > PATH_SEGMENT_MAX for segment in path.split("/"))


def _query_too_long(query: bytes) -> str | None:
    items = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return first_too_long(items, query=True)


def _json_too_long(body: bytes) -> bool:
    """A string (or key) in a JSON body longer than any field of the desk takes."""
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON the route will accept: it says so itself
    pending = [document]
    while pending:  # a loop, not recursion: nesting depth is the sender's choice
        node = pending.pop()
        if isinstance(node, str):
            if len(node) > JSON_STRING_MAX:
                return True
        elif isinstance(node, dict):
            if any(len(key) > SHORT_MAX for key in node):
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


async def _multipart_too_long(
    scope: Scope, messages: list[Message], receive: Receive
) -> str | None:
    """The first text field of a multipart form (no upload route) longer than its maximum."""
    request = Request(scope, replay(list(messages), receive))
    try:
        form = await request.form(max_files=1, max_fields=200, max_part_size=MAX_SCANNED)
    except (HTTPException, ValueError):
        return None  # unreadable: the route refuses it in its own words
    try:
        items = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
        return first_too_long(items)
    finally:
        await form.close()


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
        if _path_refused(path):
            await self._refuse(scope, receive, send, 404)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await self._refuse(scope, receive, send, 400)
            return
        field = _query_too_long(query)
        if field is not None:
            await self._refuse(scope, receive, send, 422, too_long(field, query=True))
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
        if complete and not upload:
            refusal = await self._too_long(scope, body, content_type, messages, receive)
            if refusal is not None:
                status, detail = refusal
                await self._refuse(scope, receive, send, status, detail)
                return
        await self.app(scope, replay(messages, receive), send)

    async def _too_long(
        self,
        scope: Scope,
        body: bytes,
        content_type: bytes,
        messages: list[Message],
        receive: Receive,
    ) -> tuple[int, str] | None:
        """(status, French message) for a body holding a value longer than allowed."""
        if content_type.startswith(b"application/x-www-form-urlencoded"):
            items = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
            field = first_too_long(items)
            return None if field is None else (422, too_long(field))
        if content_type.startswith(b"application/json") or b"+json" in content_type:
            # Larger JSON bodies are past every API route's own size limit (a 413 from the
            # route, in its words) or the holdings upload, whose schema bounds each string.
            if len(body) > JSON_CHECKED_BYTES:
                return None
            return (422, TOO_LONG_JSON) if _json_too_long(body) else None
        if content_type.startswith(b"multipart/form-data"):
            field = await _multipart_too_long(scope, messages, receive)
            return None if field is None else (422, too_long(field))
        return None

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str | None = None
    ) -> None:
        request = Request(scope, receive)
        if detail is None:
            detail = {400: MESSAGE, 413: TOO_LARGE}.get(status, "Cette page est introuvable.")
        response = error_page(request, status, detail)
        await response(scope, receive, send)
