"""Handing over an access copy as a file download (resident space and mediation)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from desk.requests.services import MAX_UPLOAD_TYPES
from desk.residents.services import Download


def _disposition(filename: str) -> str:
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename).strip("._") or "copie"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def one_time_download(request: Request, take: Callable[[], Awaitable[Download]]) -> Response:
    """Run `take` (which uses the copy up) only for a real GET.

    A HEAD — link previews, mail scanners, download managers probing first — would otherwise
    spend the only download and leave the person with nothing.
    """
    if request.method != "GET":
        return Response(status_code=405, headers={"Allow": "GET", "Cache-Control": "no-store"})
    download = await take()
    return file_response(download.filename, download.content_type, download.content)


def file_response(filename: str, content_type: str, content: bytes) -> Response:
    """A copy as a file to save: a known type or octet-stream, never sniffed nor cached."""
    media_type = content_type if content_type in MAX_UPLOAD_TYPES else "application/octet-stream"
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": _disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
