"""The ethics committee's own pages (role `committee`): exclusion proposals, residents'
complaints, signatories' contests of alerts, and suggestions to improve the charter."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import committee, complaints, contests, pages, suggestions
from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.staff.auth import require_staff
from desk.staff.models import StaffRole
from desk.web.limits import ascii_id
from desk.web.templating import render

FLASH_DECISION = N_("La décision du comité est enregistrée et publiée.")
FLASH_CONTEST = N_(
    "La décision est enregistrée, publiée, et le signataire est prévenu par courriel."
)
FLASH_SUGGESTION = N_("La réponse du comité est publiée avec la proposition.")


async def _committee_page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    error_alert: int = 0,
    error_contest: int = 0,
) -> Response:
    await require_staff(request, StaffRole.COMMITTEE)
    return render(
        request,
        "charter/committee.html",
        {
            "proposals": await committee.proposals(),
            "complaints": await committee.complaints(),
            "contests": await contests.all_contests(),
            "CONTEST_OUTCOMES": contests.OUTCOME_LABELS,
            "waiting_suggestions": await suggestions.waiting(),
            "error_contest": error_contest,
            "flash": request.session.pop("flash", None) if status == 200 else None,
            "error": error,
            "error_alert": error_alert,
            **pages.labels(),
        },
        status_code=status,
        headers=pages.PRIVATE_HEADERS,
    )


async def committee_page(request: Request) -> Response:
    return await _committee_page(request)


def _complaint_id(request: Request) -> int:
    found = ascii_id(str(request.path_params["complaint_id"]))
    if found is None:
        raise HTTPException(404, complaints.MSG_COMPLAINT_NOT_FOUND)
    return found


async def _complaint_committee_page(
    request: Request, complaint_id: int, *, status: int = 200, error: str = ""
) -> Response:
    try:
        complaint = await complaints.get_complaint(complaint_id=complaint_id)
    except DeskError as exc:
        raise HTTPException(404, exc.message) from exc
    return render(
        request,
        "charter/committee_complaint.html",
        {
            "complaint": complaint,
            "error": error,
            "flash": request.session.pop("flash", None) if status == 200 else None,
            "OUTCOMES": complaints.OUTCOMES,
            **pages.labels(),
        },
        status_code=status,
        headers=pages.PRIVATE_HEADERS,
    )


async def committee_complaint(request: Request) -> Response:
    await require_staff(request, StaffRole.COMMITTEE)
    return await _complaint_committee_page(request, _complaint_id(request))


async def committee_complaint_step(request: Request) -> Response:
    member = await require_staff(request, StaffRole.COMMITTEE)
    complaint_id = _complaint_id(request)
    form = await request.form()
    action = pages.field(form, "action")
    try:
        if action == "acknowledge":
            await complaints.acknowledge_complaint(complaint_id=complaint_id, member_id=member.id)
        elif action == "ask":
            await complaints.ask_signatory(
                complaint_id=complaint_id,
                member_id=member.id,
                question=pages.field(form, "question"),
            )
        elif action == "decide":
            await complaints.decide_complaint(
                complaint_id=complaint_id,
                member_id=member.id,
                outcome=pages.field(form, "outcome"),
                reasoning=pages.field(form, "reasoning"),
            )
        else:
            raise DeskError(complaints.MSG_NOT_NOW)
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _complaint_committee_page(
            request, complaint_id, status=status_of(exc, default=422), error=exc.message
        )
    request.session["flash"] = N_("C'est enregistré : la personne est prévenue par courriel.")
    return RedirectResponse(f"/comite/reclamations/{complaint_id}", status_code=303)


async def committee_decide(request: Request) -> Response:
    member = await require_staff(request, StaffRole.COMMITTEE)
    alert_id = pages.int_param(request, "alert_id")
    form = await request.form()
    try:
        await committee.decide(
            alert_id=alert_id,
            member_id=member.id,
            outcome=committee.parse_outcome(pages.field(form, "outcome")),
            reasoning=pages.field(form, "reasoning"),
            conditions=pages.field(form, "conditions"),
            now=clock.now(),
        )
    except DeskError as exc:
        if exc.code in ("not_found", "conflict"):
            raise
        return await _committee_page(request, status=422, error=exc.message, error_alert=alert_id)
    request.session["flash"] = FLASH_DECISION
    return RedirectResponse("/comite", status_code=303)


async def contest_decide(request: Request) -> Response:
    member = await require_staff(request, StaffRole.COMMITTEE)
    contest_id = pages.int_param(request, "contest_id")
    form = await request.form()
    try:
        await contests.decide_contest(
            contest_id=contest_id,
            member_id=member.id,
            outcome=pages.field(form, "outcome"),
            reasoning=pages.field(form, "reasoning"),
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _committee_page(
            request, status=status_of(exc, default=422), error=exc.message,
            error_contest=contest_id,
        )  # fmt: skip
    request.session["flash"] = FLASH_CONTEST
    return RedirectResponse("/comite#contestations", status_code=303)


def _suggestion_id(request: Request) -> int:
    found = ascii_id(str(request.path_params["suggestion_id"]))
    if found is None:
        raise HTTPException(404, suggestions.MSG_NOT_FOUND)
    return found


async def _suggestion_page(
    request: Request, suggestion_id: int, *, status: int = 200, error: str = "",
    values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    try:
        suggestion = await suggestions.get(suggestion_id=suggestion_id)
    except DeskError as exc:
        raise HTTPException(404, exc.message) from exc
    return render(
        request,
        "charter/committee_suggestion.html",
        {
            "suggestion": suggestion,
            "OUTCOMES": suggestions.OUTCOMES,
            "error": error,
            "values": values or {},
        },
        status_code=status,
        headers=pages.PRIVATE_HEADERS,
    )


async def suggestion_page(request: Request) -> Response:
    await require_staff(request, StaffRole.COMMITTEE)
    return await _suggestion_page(request, _suggestion_id(request))


async def suggestion_answer(request: Request) -> Response:
    member = await require_staff(request, StaffRole.COMMITTEE)
    suggestion_id = _suggestion_id(request)
    form = await request.form()
    values = {k: pages.field(form, k) for k in ("outcome", "answer", "text")}
    try:
        await suggestions.answer_suggestion(
            suggestion_id=suggestion_id, member_id=member.id, outcome=values["outcome"],
            answer=values["answer"], public_text=values["text"],
        )  # fmt: skip
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _suggestion_page(
            request, suggestion_id, status=status_of(exc, default=422), error=exc.message,
            values=values,
        )  # fmt: skip
    request.session["flash"] = FLASH_SUGGESTION
    return RedirectResponse("/comite#ameliorations", status_code=303)


routes: list[BaseRoute] = [
    Route("/comite", committee_page, name="charter:committee"),
    Route(
        "/comite/propositions/{alert_id}/decision",
        committee_decide,
        methods=["POST"],
        name="charter:decide",
    ),
    Route(
        "/comite/reclamations/{complaint_id}",
        committee_complaint,
        methods=["GET"],
        name="charter:committee_complaint",
    ),
    Route(
        "/comite/reclamations/{complaint_id}",
        committee_complaint_step,
        methods=["POST"],
        name="charter:committee_complaint_step",
    ),
    Route(
        "/comite/contestations/{contest_id}",
        contest_decide,
        methods=["POST"],
        name="charter:contest_decide",
    ),
    Route(
        "/comite/ameliorations/{suggestion_id}",
        suggestion_page,
        methods=["GET"],
        name="charter:committee_suggestion",
    ),
    Route(
        "/comite/ameliorations/{suggestion_id}",
        suggestion_answer,
        methods=["POST"],
        name="charter:suggestion_answer",
    ),
]
