"""Charter pages for everyone: the charter's text and versions, suggestions to improve it, the
committee's composition and decisions, each signatory's alerts and self-evaluations.

Every page module of the charter puts its routes in `routes` below (app.py takes this list).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import (
    alerts,
    committee,
    committee_admin_routes,
    committee_routes,
    complaint_routes,
    composition,
    contests,
    pages,
    partner_routes,
    selfeval,
    suggestions,
    text,
)
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.web.limits import digits
from desk.web.templating import render

SELF_EVAL_NOT_FOUND_FR = N_("Ce signataire n'a pas publié d'auto-évaluation pour cette année.")
FLASH_SUGGESTION = N_(
    "Merci : votre proposition est transmise au comité d'éthique. Elle sera publiée ici avec "
    "sa réponse."
)


async def alerts_page(request: Request) -> Response:
    signatory = await pages.signatory_of(request)
    rows = await alerts.alerts_of(signatory_id=signatory.id)
    decisions = await committee.decisions_of(signatory_id=signatory.id)
    by_alert = {d.alert_id: d for d in decisions}  # type: ignore[attr-defined]
    return render(
        request,
        "charter/alerts.html",
        {
            "signatory": signatory,
            "alerts": rows,
            "decisions": by_alert,
            "contests": await contests.contests_of(signatory_id=signatory.id),
            "CONTEST_OUTCOMES": contests.OUTCOME_LABELS,
            **pages.labels(),
        },
    )


async def alerts_json(request: Request) -> Response:
    signatory = await pages.signatory_of(request)
    rows = await alerts.alerts_of(signatory_id=signatory.id)
    decisions = await committee.decisions_of(signatory_id=signatory.id)
    by_alert = await contests.contests_of(signatory_id=signatory.id)
    return JSONResponse(
        {
            "signatory": signatory.slug,
            "charter_status": signatory.charter_status.value,
            "alerts": [
                alerts.alert_document(a)
                | {
                    "contests": [
                        {
                            "filed_at": c.filed_at.isoformat().replace("+00:00", "Z"),
                            "outcome": c.outcome or None,
                            "reasoning": c.reasoning or None,
                            "decided_at": (
                                c.decided_at.isoformat().replace("+00:00", "Z")
                                if c.decided_at
                                else None
                            ),
                        }
                        for c in by_alert.get(a.id, [])
                    ]
                }
                for a in rows
            ],
            "decisions": [
                {
                    "alert_id": d.alert_id,  # type: ignore[attr-defined]
                    "outcome": d.outcome.value,
                    "reasoning": d.reasoning,
                    "conditions": d.conditions,
                    "decided_at": d.decided_at.isoformat().replace("+00:00", "Z"),
                }
                for d in decisions
            ],
        },
        headers=pages.OPEN_DATA_HEADERS,
    )


async def self_evaluations_page(request: Request) -> Response:
    signatory = await pages.signatory_of(request)
    rows = await selfeval.evaluations_of(signatory_id=signatory.id)
    return render(
        request,
        "charter/selfeval_list.html",
        {"signatory": signatory, "evaluations": rows, **pages.labels()},
    )


async def self_evaluation_page(request: Request) -> Response:
    signatory = await pages.signatory_of(request)
    raw = str(request.path_params["year"])
    row = None
    if digits(raw) and len(raw) == 4:
        row = await selfeval.evaluation(signatory_id=signatory.id, year=int(raw))
    if row is None:
        raise HTTPException(404, SELF_EVAL_NOT_FOUND_FR)
    return render(
        request,
        "charter/selfeval.html",
        {"signatory": signatory, "evaluation": row, **pages.labels()},
    )


# --- the charter itself ----------------------------------------------------------------------


async def charter_page(request: Request) -> Response:
    return render(
        request,
        "charter/text.html",
        {
            "principles": text.PRINCIPLES,
            "current": text.CURRENT,
            "versions": text.VERSIONS,
            "official_url": text.OFFICIAL_TEXT_URL,
            "signatories": await text.signed_versions(),
        },
    )


async def _suggestions_page(
    request: Request, *, status: int = 200, error: str = "", values: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "charter/suggestions.html",
        {
            "principles": text.PRINCIPLES,
            "published": await suggestions.published(),
            "OUTCOMES": suggestions.OUTCOMES,
            "error": error,
            "values": values or {},
            "flash": request.session.pop("flash", None) if status == 200 else None,
        },
        status_code=status,
    )


async def suggestions_page(request: Request) -> Response:
    return await _suggestions_page(request)


async def suggestion_submit(request: Request) -> Response:
    form = await request.form()
    values = {k: pages.field(form, k) for k in ("text", "principle", "email")}
    try:
        await suggestions.submit_suggestion(
            text=values["text"], principle=values["principle"], email=values["email"],
            now=clock.now(),
        )  # fmt: skip
    except DeskError as exc:
        return await _suggestions_page(request, status=422, error=exc.message, values=values)
    request.session["flash"] = FLASH_SUGGESTION
    return RedirectResponse("/charte/ameliorations", status_code=303)


async def committee_public_page(request: Request) -> Response:
    members, former = await composition.composition()
    return render(
        request,
        "charter/committee_public.html",
        {
            "members": members,
            "former": former,
            "decisions": await composition.published_decisions(),
            "COLLEGE_LABELS": composition.COLLEGE_LABELS,
            "KIND_LABELS": composition.KIND_LABELS,
        },
    )


routes: list[BaseRoute] = [
    Route("/signataires/{slug}/alertes", alerts_page, name="charter:alerts"),
    Route("/signataires/{slug}/alertes.json", alerts_json, name="charter:alerts_json"),
    Route(
        "/signataires/{slug}/auto-evaluation",
        self_evaluations_page,
        name="charter:self_evaluations",
    ),
    Route(
        "/signataires/{slug}/auto-evaluation/{year}",
        self_evaluation_page,
        name="charter:self_evaluation",
    ),
    Route("/charte", charter_page, name="charter:text"),
    Route("/charte/ameliorations", suggestions_page, name="charter:suggestions"),
    Route(
        "/charte/ameliorations",
        suggestion_submit,
        methods=["POST"],
        name="charter:suggestion_submit",
    ),
    Route("/charte/comite", committee_public_page, name="charter:committee_public"),
    *committee_routes.routes,
    *committee_admin_routes.routes,
    *complaint_routes.routes,
    *partner_routes.routes,
]
