"""How the organisation keeps its word, seen from its space: its yearly self-evaluations (the
very function the emailed charter link uses, desk.charter.selfeval.submit) and its own
statistics (desk.statistics.figures, the figures of /statistiques for this organisation alone).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import selfeval
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.organisations import services
from desk.organisations.auth import require_member
from desk.organisations.models import OrganisationMember
from desk.organisations.pages import FLASH, page
from desk.statistics.figures import KINDS, compute_overview, last_twelve_months, year_bounds

SELF_EVALUATIONS = "/organisation/auto-evaluations"
KIND_LABELS: dict[str, str] = {
    "discovery": N_("savoir ce qui est détenu"),
    "access": N_("copie"),
    "erasure": N_("effacement"),
    "objection": N_("opposition"),
}


async def _self_evaluations(
    request: Request,
    member: OrganisationMember,
    *,
    status: int = 200,
    error: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    year = clock.local(clock.now()).year
    found = await selfeval.evaluations_of(signatory_id=member.signatory.id)
    return page(
        request,
        "organisation/self_evaluations.html",
        {
            "evaluations": [(row, selfeval.readable_answers(row)) for row in found],
            "current": next((row for row in found if row.year == year), None),
            "year": year,
            "QUESTIONS": selfeval.QUESTIONS,
            "ANSWER_LABELS": selfeval.ANSWER_LABELS,
            "error": error,
            "values": values or {},
        },
        member=member,
        status_code=status,
    )


async def self_evaluations_page(request: Request) -> Response:
    return await _self_evaluations(request, await require_member(request))


async def file_self_evaluation(request: Request) -> Response:
    member = await require_member(request)
    form = await request.form()
    answers: dict[str, dict[str, str]] = {}
    values: dict[str, str] = {}
    for key, _label in selfeval.QUESTIONS:
        answer = str(form.get(key) or "")
        comment = str(form.get(f"{key}_comment") or "")
        values[key], values[f"{key}_comment"] = answer, comment
        answers[key] = {"answer": answer, "comment": comment}
    try:
        await services.file_self_evaluation(member=member, answers=answers)
    except DeskError as exc:
        return await _self_evaluations(
            request, member, status=422, error=exc.message, values=values
        )
    request.session[FLASH] = N_("Votre auto-évaluation est enregistrée et publiée.")
    return RedirectResponse(SELF_EVALUATIONS, status_code=303)


async def statistics_page(request: Request) -> Response:
    member = await require_member(request)
    now = clock.now()
    this_year = clock.local(now).year
    raw = request.query_params.get("annee", "")
    year = int(raw) if raw.isascii() and raw.isdigit() and 2022 <= int(raw) <= this_year else None
    start, end = year_bounds(year) if year else last_twelve_months(now)
    overview = await compute_overview(start=start, end=end, now=now)
    mine: Any = next((s for s in overview.signatories if s.slug == member.signatory.slug), None)
    return page(
        request,
        "organisation/statistics.html",
        {
            "stats": mine,
            "year": year,
            "years": list(range(this_year, 2021, -1)),
            "start": start,
            "end": end,
            "KINDS": KINDS,
            "KIND_LABELS": KIND_LABELS,
        },
        member=member,
    )


routes: list[BaseRoute] = [
    Route(SELF_EVALUATIONS, self_evaluations_page, methods=["GET"], name="org:self_evaluations"),
    Route(SELF_EVALUATIONS, file_self_evaluation, methods=["POST"], name="org:self_evaluate"),
    Route("/organisation/statistiques", statistics_page, methods=["GET"], name="org:statistics"),
]
