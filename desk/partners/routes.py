"""The partner's answer page, reached from the signed link of the email: no account needed."""

from __future__ import annotations

from email.utils import parseaddr

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.partners import answer_page as answering
from desk.partners import services
from desk.requests.links import LinkInvalid, answer_path, read_answer_token
from desk.requests.transitions import AlreadyAnswered
from desk.web.bodies import BodyTooLarge
from desk.web.forms import read_form_with_file
from desk.web.templating import render

# The page names a person and their request: keep it out of caches and search engines.
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}


def _token_ids(request: Request) -> tuple[int, int] | Response:
    settings = request.app.state.settings
    try:
        return read_answer_token(
            settings.secret_key, request.path_params["token"], max_age=settings.answer_link_max_age
        )
    except LinkInvalid as exc:
        status = 410 if exc.expired else 404
        return render(
            request,
            "partner/link_invalid.html",
            {"expired": exc.expired, "contact": parseaddr(settings.mail_from)[1]},
            status_code=status,
            headers=PRIVATE_HEADERS,
        )


def _render(
    request: Request,
    page: answering.AnswerPage,
    *,
    status: int = 200,
    error: str | None = None,
    fields: dict[str, list[str]] | None = None,
    failed_action: str | None = None,
) -> Response:
    ok = request.query_params.get("ok") if status == 200 else None
    return render(
        request,
        "partner/answer.html",
        services.answer_form_context(
            page=page,
            ok=ok,
            error=error,
            failed_action=failed_action,
            fields=fields,
            upload_max_bytes=request.app.state.settings.upload_max_bytes,
            action_url=answer_path(request.path_params["token"]),
        ),
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


async def _load(request: Request, ids: tuple[int, int]) -> answering.AnswerPage:
    return await answering.load_answer_page(
        delivery_id=ids[0], signatory_id=ids[1], runtime=request.app.state.runtime
    )


async def answer_page(request: Request) -> Response:
    ids = _token_ids(request)
    if isinstance(ids, Response):
        return ids
    return _render(request, await _load(request, ids))


async def submit_answer(request: Request) -> Response:
    ids = _token_ids(request)
    if isinstance(ids, Response):
        return ids
    page = await _load(request, ids)
    settings = request.app.state.settings
    max_bytes = settings.upload_max_bytes
    limit = max_bytes + services.FORM_OVERHEAD_BYTES
    too_large = services.UploadTooLarge(max_bytes).message
    try:
        fields, upload, form = await read_form_with_file(
            request, limit=limit, text_field_max_bytes=services.TEXT_FIELD_MAX_BYTES
        )
    except BodyTooLarge:
        return _render(request, page, status=413, error=too_large, failed_action="fulfil")
    try:
        action = services.parse_action(fields)
        if page.final:
            raise AlreadyAnswered(page.delivery.state)
        uploaded = await services.accept_upload(upload, max_bytes=max_bytes)
        runtime = request.app.state.runtime
        await answering.submit_answer(
            delivery_id=ids[0],
            signatory_id=ids[1],
            fields=fields,
            upload=uploaded,
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            download_max_age=settings.download_link_max_age,
        )
    except DeskError as exc:
        status = status_of(exc, default=400)
        if status == 404:
            raise
        # Show the page as it is now (another answer may have landed meanwhile).
        return _render(
            request,
            await _load(request, ids),
            status=status,
            error=exc.message,
            fields=fields,
            failed_action=fields.get("action", [""])[0],
        )
    finally:
        await form.close()
    return RedirectResponse(
        f"{answer_path(request.path_params['token'])}?ok={action}", status_code=303
    )


routes: list[BaseRoute] = [
    Route("/partenaires/reponse/{token}", answer_page, methods=["GET"], name="partner_answer"),
    Route(
        "/partenaires/reponse/{token}",
        submit_answer,
        methods=["POST"],
        name="partner_answer_submit",
    ),
]
