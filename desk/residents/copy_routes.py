"""The resident's access copies: the readable page, its PDF, and the machine file.

Each opening goes through desk.residents.copies.take with this browser session's key: the
first one takes the copy, the same session may open it again for a short while, and a copy
that is gone answers a French page (410) that says why and offers to ask for a new one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from desk.residents import copies, readable
from desk.residents.auth import require_resident
from desk.residents.downloads import file_response
from desk.residents.services import new_submission_key
from desk.web.pdf import document
from desk.web.templating import format_date, render, translator

NO_STORE = {"Cache-Control": "no-store"}


def _not_get(request: Request) -> Response | None:
    # A HEAD (link previews, download managers probing first) must not take the copy.
    if request.method != "GET":
        return Response(status_code=405, headers={"Allow": "GET", **NO_STORE})
    return None


async def _open(
    request: Request, then: Callable[[copies.Taken], Awaitable[Response] | Response]
) -> Response:
    refused = _not_get(request)
    if refused is not None:
        return refused
    resident = await require_resident(request)
    try:
        taken = await copies.take(
            resident_id=resident.id,
            copy_id=str(request.path_params["copy_id"]),
            key=copies.browser_key(request.session),
        )
    except copies.CopyGone as exc:
        return render(
            request,
            "resident/copy_gone.html",
            {"gone": exc, "submission_key": new_submission_key()},
            status_code=410,
            headers=NO_STORE,
        )
    answer = then(taken)
    return answer if isinstance(answer, Response) else await answer


async def _readable(taken: copies.Taken) -> readable.ReadableCopy:
    declarations, named = await copies.declarations_for(taken.delivery)
    return readable.ReadableCopy(
        copy_id=taken.copy_id,
        signatory_name=taken.delivery.signatory.name,
        signatory_slug=taken.delivery.signatory.slug,
        reference=taken.delivery.request.reference,
        filename=taken.filename,
        content_type=taken.content_type,
        received_at=taken.delivery.completed_at or taken.delivery.received_at,
        declarations=readable.declaration_texts(declarations),
        named=named,
        data=readable.read_content(taken.content, taken.content_type),
    )


async def download_copy(request: Request) -> Response:
    """The file as the signatory sent it (JSON, CSV or PDF): for software, or another body."""
    return await _open(request, lambda t: file_response(t.filename, t.content_type, t.content))


async def read_copy(request: Request) -> Response:
    """The copy as a page: the data in headed fields and tables, beside the declarations."""

    async def page(taken: copies.Taken) -> Response:
        return render(
            request,
            "resident/copy.html",
            {"c": await _readable(taken), "until": taken.retry_until},
            headers=NO_STORE,
        )

    return await _open(request, page)


async def copy_pdf(request: Request) -> Response:
    """The readable copy as a PDF document, to keep or print."""
    locale = request.state.locale

    async def pdf(taken: copies.Taken) -> Response:
        model = await _readable(taken)
        t = translator(locale)
        title = t("Copie de vos données chez {name}", name=model.signatory_name)
        body = document(
            title=title,
            blocks=readable.pdf_blocks(model, t, lambda d: format_date(d, locale)),
            lang="en-GB" if locale == "en" else "fr-FR",
        )
        slug = re.sub(r"[^a-z0-9-]", "-", model.signatory_slug)
        return file_response(f"copie-{slug}.pdf", "application/pdf", body)

    return await _open(request, pdf)


routes: list[BaseRoute] = [
    Route("/mon-espace/copies/{copy_id}", download_copy, methods=["GET"], name="download_copy"),
    Route("/mon-espace/copies/{copy_id}/lire", read_copy, methods=["GET"], name="read_copy"),
    Route("/mon-espace/copies/{copy_id}/pdf", copy_pdf, methods=["GET"], name="copy_pdf"),
]
