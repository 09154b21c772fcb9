"""The organisation's inbox: every delivery addressed to it, answered with the same services as
the emailed answer page and the partner API (desk.organisations.inbox)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.organisations import inbox, pages
from desk.organisations.auth import require_member
from desk.organisations.models import OrganisationMember
from desk.partners import services as answer_forms
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import OPEN_STATES
from desk.residents.views import kind_label, state_label
from desk.web.bodies import BodyTooLarge
from desk.web.forms import read_form_with_file
from desk.web.limits import ascii_id


async def inbox_page(request: Request) -> Response:
    member = await require_member(request)
    filters = inbox.InboxFilters.parse(dict(request.query_params))
    deliveries = await inbox.list_inbox(signatory_id=member.signatory.id, filters=filters)
    return pages.page(
        request,
        "organisation/inbox.html",
        {
            "deliveries": deliveries,
            "filters": filters,
            "states": [s.value for s in DeliveryState],
            "kinds": [k.value for k in RequestKind],
            "state_label": state_label,
            "kind_label": kind_label,
            "open_states": {s.value for s in OPEN_STATES},
            "now": clock.now(),
        },
        member=member,
    )


def _delivery_id(request: Request) -> int:
    found = ascii_id(str(request.path_params["delivery_id"]))
    if found is None:
        raise HTTPException(
            404, "Cette demande n'existe pas, ou n'est pas adressée à votre organisation."
        )
    return found


def _answer(
    request: Request,
    member: OrganisationMember,
    page: Any,
    *,
    status: int = 200,
    error: str | None = None,
    fields: dict[str, list[str]] | None = None,
    failed_action: str | None = None,
) -> Response:
    ok = request.query_params.get("ok") if status == 200 else None
    context = answer_forms.answer_form_context(
        page=page,
        ok=ok,
        error=error,
        failed_action=failed_action,
        fields=fields,
        upload_max_bytes=request.app.state.settings.upload_max_bytes,
        action_url=f"/organisation/demandes/{page.delivery.id}",
    )
    return pages.page(
        request,
        "partner/answer.html",
        {"in_space": True, **context},
        member=member,
        status_code=status,
    )


async def delivery_page(request: Request) -> Response:
    member = await require_member(request)
    page = await inbox.answer_page(
        member=member, delivery_id=_delivery_id(request), runtime=request.app.state.runtime
    )
    return _answer(request, member, page)


async def delivery_answer(request: Request) -> Response:
    member = await require_member(request)
    delivery_id = _delivery_id(request)
    runtime = request.app.state.runtime
    page = await inbox.answer_page(member=member, delivery_id=delivery_id, runtime=runtime)
    settings = request.app.state.settings
    max_bytes = settings.upload_max_bytes
    try:
        fields, upload, form = await read_form_with_file(
            request,
            limit=max_bytes + answer_forms.FORM_OVERHEAD_BYTES,
            text_field_max_bytes=answer_forms.TEXT_FIELD_MAX_BYTES,
        )
    except BodyTooLarge:
        too_large = answer_forms.UploadTooLarge(max_bytes).message
        return _answer(request, member, page, status=413, error=too_large, failed_action="fulfil")
    try:
        action = answer_forms.parse_action(fields)
        uploaded = await answer_forms.accept_upload(upload, max_bytes=max_bytes)
        await inbox.answer(
            member=member,
            delivery_id=delivery_id,
            fields=fields,
            upload=uploaded,
            runtime=runtime,
            download_max_age=settings.download_link_max_age,
        )
    except DeskError as exc:
        status = status_of(exc, default=400)
        if status == 404:
            raise
        # The page as it is now (another answer may have landed meanwhile, by mail or API).
        page = await inbox.answer_page(member=member, delivery_id=delivery_id, runtime=runtime)
        return _answer(
            request,
            member,
            page,
            status=status,
            error=exc.message,
            fields=fields,
            failed_action=fields.get("action", [""])[0],
        )
    finally:
        await form.close()
    return RedirectResponse(f"/organisation/demandes/{delivery_id}?ok={action}", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisation/demandes", inbox_page, methods=["GET"], name="org:inbox"),
    Route(
        "/organisation/demandes/{delivery_id}",
        delivery_page,
        methods=["GET"],
        name="org:delivery",
    ),
    Route(
        "/organisation/demandes/{delivery_id}",
        delivery_answer,
        methods=["POST"],
        name="org:answer",
    ),
]
