"""The ethics committee's questions to the organisation, and its answers."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import complaints
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.organisations.auth import require_member
from desk.organisations.models import OrganisationMember
from desk.organisations.pages import FLASH, page
from desk.web.limits import ascii_id


async def _complaints_page(
    request: Request, member: OrganisationMember, *, status: int = 200, error: str = "",
    error_id: int = 0,
) -> Response:  # fmt: skip
    found = await complaints.complaints_for_signatory(signatory_id=member.signatory.id)
    # One answer form on the page (its field has one id): the chosen complaint, else the one
    # that failed, else the oldest waiting.
    asked = [c.id for c in found if c.status == "asked"]
    chosen = ascii_id(request.query_params.get("reclamation", ""))
    answering = error_id or (chosen if chosen in asked else (asked[-1] if asked else 0))
    return page(
        request,
        "organisation/complaints.html",
        {
            "complaints": found,
            "error": error,
            "error_id": error_id,
            "answering": answering,
            "STATUS_LABELS": complaints.STATUS_LABELS,
            "OUTCOMES": complaints.OUTCOMES,
        },
        member=member,
        status_code=status,
    )


async def complaints_page(request: Request) -> Response:
    member = await require_member(request)
    return await _complaints_page(request, member)


async def complaint_answer(request: Request) -> Response:
    member = await require_member(request)
    complaint_id = ascii_id(str(request.path_params["complaint_id"]))
    if complaint_id is None:
        raise HTTPException(404, complaints.MSG_COMPLAINT_NOT_FOUND)
    form = await request.form()
    try:
        await complaints.answer_as_signatory(
            complaint_id=complaint_id,
            signatory_id=member.signatory.id,
            answer=str(form.get("answer") or ""),
            actor=f"member:{member.id}",
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _complaints_page(
            request, member, status=status_of(exc), error=exc.message, error_id=complaint_id
        )
    request.session[FLASH] = N_("Votre réponse est transmise au comité d'éthique.")
    return RedirectResponse("/organisation/reclamations", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisation/reclamations", complaints_page, methods=["GET"], name="org:complaints"),
    Route(
        "/organisation/reclamations/{complaint_id}",
        complaint_answer,
        methods=["POST"],
        name="org:complaint_answer",
    ),
]
