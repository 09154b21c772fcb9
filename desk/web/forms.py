"""Reading answer forms that may carry a file, with the body's size bounded while it streams."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from desk.web.bodies import BodyTooLarge, limited_receive
from desk.web.inputguard import MESSAGE as NUL_MESSAGE
from desk.web.inputguard import has_nul
from desk.web.limits import first_too_long, too_long

MAX_FIELDS = 200


async def read_form_with_file(
    request: Request, *, limit: int, text_field_max_bytes: int
) -> tuple[dict[str, list[str]], UploadFile | None, Any]:
    """(text fields, the uploaded file or None, the form to close); BodyTooLarge past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()  # refused on the header alone: the body is never read
    limited = Request(request.scope, receive=limited_receive(request.receive, limit))
    try:
        form = await limited.form(
            max_files=1, max_fields=MAX_FIELDS, max_part_size=text_field_max_bytes
        )
    except HTTPException as exc:
        raise HTTPException(
            400, "Le formulaire reçu est incomplet ou mal formé : rechargez la page et recommencez."
        ) from exc
    fields: dict[str, list[str]] = {}
    upload: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, str):
            if has_nul(value):
                await form.close()
                raise HTTPException(400, NUL_MESSAGE)
            fields.setdefault(name, []).append(value)
        elif value.filename:  # a file input left empty arrives with no file name
            upload = value
    # The input guard does not read upload bodies: their text fields meet the same maxima here.
    longest = first_too_long([(name, v) for name, values in fields.items() for v in values])
    if longest is not None:
        await form.close()
        raise HTTPException(400, too_long(longest))
    return fields, upload, form


async def read_upload(upload: UploadFile, *, max_bytes: int) -> tuple[str, str, bytes]:
    """(file name, declared type, content), reading at most one byte past `max_bytes` so an
    oversized file is recognised without being read whole."""
    content = await upload.read(max_bytes + 1)
    return upload.filename or "", upload.content_type or "", content
