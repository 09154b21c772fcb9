"""Charter pages: public alerts and self-evaluations, the ethics committee, residents'
complaints, and the signatory's signed-link page (answers to alerts, self-evaluation)."""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import alerts, committee, complaints, selfeval, text
from desk.charter.jobs import CNIL_COMPLAINT_URL
from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.registry.models import Signatory
from desk.residents.auth import require_resident
from desk.staff.auth import require_staff
from desk.staff.models import StaffRole
from desk.web.limits import ascii_id, digits
from desk.web.templating import render

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
NOT_FOUND_FR = N_(
    "Aucun signataire de la charte ne correspond à cette adresse. "
    "Retrouvez tous les signataires sur la page « Signataires »."
)
SELF_EVAL_NOT_FOUND_FR = N_("Ce signataire n'a pas publié d'auto-évaluation pour cette année.")
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
OPEN_DATA_HEADERS = {"access-control-allow-origin": "*", "cache-control": "public, max-age=300"}
FLASH_COMPLAINT = N_("Votre réclamation a été transmise au comité d'éthique de la charte.")
FLASH_DECISION = N_("La décision du comité est enregistrée et publiée.")
FLASH_RESPONSE = "Votre réponse est enregistrée et publiée avec l'alerte."
FLASH_SELF_EVAL = "Votre auto-évaluation est enregistrée et publiée."


def _labels() -> dict[str, Any]:
    return {
        "LEVEL_LABELS": alerts.LEVEL_LABELS,
        "LEVEL_EXPLANATIONS": alerts.LEVEL_EXPLANATIONS,
        "OUTCOME_LABELS": committee.OUTCOME_LABELS,
        "QUESTIONS": selfeval.QUESTIONS,
        "ANSWER_LABELS": selfeval.ANSWER_LABELS,
        "COMPLAINT_STATUS_LABELS": complaints.STATUS_LABELS,
        "COMPLAINT_OUTCOMES": complaints.OUTCOMES,
    }


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _int_param(request: Request, name: str) -> int:
    raw = str(request.path_params.get(name, ""))
    if not digits(raw) or len(raw) > 10:
        raise HTTPException(404, "Page introuvable.")
    return int(raw)


async def _signatory(request: Request) -> Signatory:
    slug = str(request.path_params["slug"])
    signatory = await Signatory.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if signatory is None:
        raise HTTPException(404, NOT_FOUND_FR)
    return signatory


# --- public ---------------------------------------------------------------------------------


async def alerts_page(request: Request) -> Response:
    signatory = await _signatory(request)
    rows = await alerts.alerts_of(signatory_id=signatory.id)
    decisions = await committee.decisions_of(signatory_id=signatory.id)
    by_alert = {d.alert_id: d for d in decisions}  # type: ignore[attr-defined]
    return render(
        request,
        "charter/alerts.html",
        {"signatory": signatory, "alerts": rows, "decisions": by_alert, **_labels()},
    )


async def alerts_json(request: Request) -> Response:
    signatory = await _signatory(request)
    rows = await alerts.alerts_of(signatory_id=signatory.id)
    decisions = await committee.decisions_of(signatory_id=signatory.id)
    return JSONResponse(
        {
            "signatory": signatory.slug,
            "charter_status": signatory.charter_status.value,
            "alerts": [alerts.alert_document(a) for a in rows],
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
        headers=OPEN_DATA_HEADERS,
    )


async def self_evaluations_page(request: Request) -> Response:
    signatory = await _signatory(request)
    rows = await selfeval.evaluations_of(signatory_id=signatory.id)
    return render(
        request,
        "charter/selfeval_list.html",
        {"signatory": signatory, "evaluations": rows, **_labels()},
    )


async def self_evaluation_page(request: Request) -> Response:
    signatory = await _signatory(request)
    raw = str(request.path_params["year"])
    row = None
    if digits(raw) and len(raw) == 4:
        row = await selfeval.evaluation(signatory_id=signatory.id, year=int(raw))
    if row is None:
        raise HTTPException(404, SELF_EVAL_NOT_FOUND_FR)
    return render(
        request,
        "charter/selfeval.html",
        {"signatory": signatory, "evaluation": row, **_labels()},
    )


# --- the charter itself ----------------------------------------------------------------------


async def charter_page(request: Request) -> Response:
    return render(
        request,
        "charter/text.html",
        {
            "principles": text.PRINCIPLES,
            "version": text.CURRENT_CHARTER_VERSION,
            "adopted_on": text.CHARTER_ADOPTED_ON,
            "signatories": await text.signed_versions(),
        },
    )


# --- the ethics committee -------------------------------------------------------------------


async def _committee_page(
    request: Request, *, status: int = 200, error: str | None = None, error_alert: int = 0
) -> Response:
    await require_staff(request, StaffRole.COMMITTEE)
    return render(
        request,
        "charter/committee.html",
        {
            "proposals": await committee.proposals(),
            "complaints": await committee.complaints(),
            "flash": request.session.pop("flash", None) if status == 200 else None,
            "error": error,
            "error_alert": error_alert,
            **_labels(),
        },
        status_code=status,
        headers=PRIVATE_HEADERS,
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
            **_labels(),
        },
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


async def committee_complaint(request: Request) -> Response:
    await require_staff(request, StaffRole.COMMITTEE)
    return await _complaint_committee_page(request, _complaint_id(request))


async def committee_complaint_step(request: Request) -> Response:
    member = await require_staff(request, StaffRole.COMMITTEE)
    complaint_id = _complaint_id(request)
    form = await request.form()
    action = _field(form, "action")
    try:
        if action == "acknowledge":
            await complaints.acknowledge_complaint(complaint_id=complaint_id, member_id=member.id)
        elif action == "ask":
            await complaints.ask_signatory(
                complaint_id=complaint_id, member_id=member.id, question=_field(form, "question")
            )
        elif action == "decide":
            await complaints.decide_complaint(
                complaint_id=complaint_id,
                member_id=member.id,
                outcome=_field(form, "outcome"),
                reasoning=_field(form, "reasoning"),
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
    alert_id = _int_param(request, "alert_id")
    form = await request.form()
    try:
        await committee.decide(
            alert_id=alert_id,
            member_id=member.id,
            outcome=committee.parse_outcome(_field(form, "outcome")),
            reasoning=_field(form, "reasoning"),
            conditions=_field(form, "conditions"),
            now=clock.now(),
        )
    except DeskError as exc:
        if exc.code in ("not_found", "conflict"):
            raise
        return await _committee_page(request, status=422, error=exc.message, error_alert=alert_id)
    request.session["flash"] = FLASH_DECISION
    return RedirectResponse("/comite", status_code=303)


# --- residents' complaints ------------------------------------------------------------------


async def _complaint_page(
    request: Request, *, status: int = 200, error: str | None = None, text: str = ""
) -> Response:
    resident = await require_resident(request)
    delivery_id = _int_param(request, "delivery_id")
    delivery = await complaints.delivery_of_resident(
        resident_id=resident.id, delivery_id=delivery_id
    )
    filed = await complaints.complaints_of(resident_id=resident.id, delivery_id=delivery.id)
    return render(
        request,
        "charter/complaint.html",
        {
            "delivery": delivery,
            "filed": filed,
            "error": error,
            "text": text,
            "now": clock.now(),
            "cnil_url": CNIL_COMPLAINT_URL,
            "flash": request.session.pop("flash", None) if status == 200 else None,
        },
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


async def complaint_form(request: Request) -> Response:
    return await _complaint_page(request)


async def complaint_submit(request: Request) -> Response:
    resident = await require_resident(request)
    delivery_id = _int_param(request, "delivery_id")
    form = await request.form()
    text = _field(form, "text")
    try:
        await complaints.file_complaint(
            resident_id=resident.id, delivery_id=delivery_id, text=text, now=clock.now()
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _complaint_page(request, status=422, error=exc.message, text=text[:5000])
    request.session["flash"] = FLASH_COMPLAINT
    return RedirectResponse(f"/mon-espace/reclamations/{delivery_id}", status_code=303)


# --- the signatory's signed-link page -------------------------------------------------------


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
            headers=PRIVATE_HEADERS,
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
        raise HTTPException(404, NOT_FOUND_FR)
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
            **_labels(),
        },
        status_code=status,
        headers=PRIVATE_HEADERS,
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
    alert_id = _int_param(request, "alert_id")
    form = await request.form()
    values = {"explanation": _field(form, "explanation"), "plan": _field(form, "plan")}
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
        answer, comment = _field(form, key), _field(form, f"{key}_comment")
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
    Route("/mon-espace/reclamations/{delivery_id}", complaint_form, name="charter:complaint"),
    Route(
        "/mon-espace/reclamations/{delivery_id}",
        complaint_submit,
        methods=["POST"],
        name="charter:complaint_submit",
    ),
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
