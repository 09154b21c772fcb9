"""The signatory's signed-link page (from the alert mails): answers to alerts, self-evaluation."""

from __future__ import annotations

from email.utils import parseaddr

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import alerts, pages, selfeval
from desk.core import clock
from desk.core.errors import DeskError
from desk.registry.models import Signatory
from desk.web.templating import render


def _link_signatory_id(request: Request) -> int | Response:
    settings = request.app.state.settings
    try:
        return alerts.read_signatory_token(
            settings.secret_key,
            str(request.path_params["token"]),
            max_age=settings.answer_link_max_age,
        )
    except alerts.SignatoryLinkInvalid as exc:
        return render(
            request,
            "partner/link_invalid.html",
            {"expired": exc.expired, "contact": parseaddr(settings.mail_from)[1]},
            status_code=410 if exc.expired else 404,
            headers=pages.PRIVATE_HEADERS,
        )


async def _partner_page(
    request: Request,
    signatory_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    error_target: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    signatory = await Signatory.filter(id=signatory_id).first()
    if signatory is None:
        raise HTTPException(404, pages.NOT_FOUND_FR)
    now = clock.now()
    year = clock.local(now).year
    current = await selfeval.evaluation(signatory_id=signatory.id, year=year)
    return render(
        request,
        "charter/partner.html",
        {
            "signatory": signatory,
            "alerts": await alerts.alerts_of(signatory_id=signatory.id),
            "year": year,
            "current": current,
            "token": str(request.path_params["token"]),
            "error": error,
            "error_target": error_target,
            "values": values or {},
            "ok": request.query_params.get("ok") if status == 200 else None,
            **pages.labels(),
        },
        status_code=status,
        headers=pages.PRIVATE_HEADERS,
    )


async def partner_page(request: Request) -> Response:
    found = _link_signatory_id(request)
    if isinstance(found, Response):
        return found
    return await _partner_page(request, found)


async def partner_respond(request: Request) -> Response:
    found = _link_signatory_id(request)
    if isinstance(found, Response):
        return found
    alert_id = pages.int_param(request, "alert_id")
    form = await request.form()
    values = {"explanation": pages.field(form, "explanation"), "plan": pages.field(form, "plan")}
    try:
        await alerts.respond(
            alert_id=alert_id,
            signatory_id=found,
            explanation=values["explanation"],
            corrective_plan=values["plan"],
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _partner_page(
            request,
            found,
            status=422,
            error=exc.message,
            error_target=f"alerte-{alert_id}",
            values=values,
        )
    token = str(request.path_params["token"])
    return RedirectResponse(f"{alerts.signatory_path(token)}?ok=reponse", status_code=303)


async def partner_self_evaluation(request: Request) -> Response:
    found = _link_signatory_id(request)
    if isinstance(found, Response):
        return found
    form = await request.form()
    answers: dict[str, dict[str, str]] = {}
    values: dict[str, str] = {}
    for key, _label in selfeval.QUESTIONS:
        answer, comment = pages.field(form, key), pages.field(form, f"{key}_comment")
        values[key], values[f"{key}_comment"] = answer, comment
        answers[key] = {"answer": answer, "comment": comment}
    now = clock.now()
    try:
        await selfeval.submit(
            signatory_id=found, year=clock.local(now).year, answers=answers, now=now
        )
    except DeskError as exc:
        return await _partner_page(
            request,
            found,
            status=422,
            error=exc.message,
            error_target="auto-evaluation",
            values=values,
        )
    token = str(request.path_params["token"])
    return RedirectResponse(f"{alerts.signatory_path(token)}?ok=auto-evaluation", status_code=303)


routes: list[BaseRoute] = [
    Route("/partenaires/charte/{token}", partner_page, name="charter:partner"),
    Route(
        "/partenaires/charte/{token}/alertes/{alert_id}",
        partner_respond,
        methods=["POST"],
        name="charter:partner_respond",
    ),
    Route(
        "/partenaires/charte/{token}/auto-evaluation",
        partner_self_evaluation,
        methods=["POST"],
        name="charter:partner_self_evaluation",
    ),
]
