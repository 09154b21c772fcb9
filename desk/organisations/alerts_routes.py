"""The charter's alerts in the organisation's space: see them, answer them, contest one.

Any member reads the organisation's alerts and answers them (the same service as the emailed
signed link: desk.charter.alerts.respond); only the DPO contests an alert, with a reason, and
the ethics committee decides (desk.charter.contests). Every query is filtered by the member's
own signatory: another organisation's alert is "not found", like a missing one.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.charter import alerts, contests
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.organisations.auth import require_member
from desk.organisations.models import MemberRole, OrganisationMember
from desk.web.limits import ascii_id
from desk.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
ROLE_LABELS: dict[str, str] = {
    MemberRole.DPO: N_("délégué à la protection des données (DPO)"),
    MemberRole.EDITOR: N_("rédacteur"),
}
FLASH = "org_flash"
FLASH_ANSWER = N_("Votre réponse est enregistrée et publiée avec l'alerte.")
FLASH_CONTEST = N_(
    "Votre contestation est transmise au comité d'éthique. Vous recevrez sa décision par courriel."
)


async def _page(
    request: Request, member: OrganisationMember, *, status: int = 200, error: str = "",
    error_id: int = 0, error_form: str = "", values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    signatory_id = member.signatory.id
    return render(
        request,
        "organisation/alerts.html",
        {
            "member": member,
            "signatory": member.signatory,
            "alerts": await alerts.alerts_of(signatory_id=signatory_id),
            "contests": await contests.contests_of(signatory_id=signatory_id),
            "LEVEL_LABELS": alerts.LEVEL_LABELS,
            "LEVEL_EXPLANATIONS": alerts.LEVEL_EXPLANATIONS,
            "CONTEST_OUTCOMES": contests.OUTCOME_LABELS,
            "ROLE_LABELS": ROLE_LABELS,
            "flash_org": request.session.pop(FLASH, "") if status == 200 else "",
            "error": error,
            "error_id": error_id,
            "error_form": error_form,
            "values": values or {},
        },
        status_code=status,
        headers=PRIVATE_HEADERS,
    )


def _alert_id(request: Request) -> int:
    found = ascii_id(str(request.path_params["alert_id"]))
    if found is None:
        raise HTTPException(404, alerts.MSG_ALERT_NOT_FOUND)
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def alerts_page(request: Request) -> Response:
    member = await require_member(request)
    return await _page(request, member)


async def alert_answer(request: Request) -> Response:
    member = await require_member(request)
    alert_id = _alert_id(request)
    form = await request.form()
    values = {"explanation": _text(form.get("explanation")), "plan": _text(form.get("plan"))}
    try:
        await alerts.respond(
            alert_id=alert_id,
            signatory_id=member.signatory.id,
            explanation=values["explanation"],
            corrective_plan=values["plan"],
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _page(
            request, member, status=status_of(exc, default=422), error=exc.message,
            error_id=alert_id, error_form="answer", values=values,
        )  # fmt: skip
    await record_action(
        action="charter.alert_answered", actor=f"member:{member.id}", subject=f"alert:{alert_id}"
    )
    request.session[FLASH] = FLASH_ANSWER
    return RedirectResponse(f"/organisation/alertes#alerte-{alert_id}", status_code=303)


async def alert_contest(request: Request) -> Response:
    member = await require_member(request, MemberRole.DPO)
    alert_id = _alert_id(request)
    form = await request.form()
    values = {"reason": _text(form.get("reason"))}
    try:
        await contests.contest_alert(
            alert_id=alert_id,
            signatory_id=member.signatory.id,
            reason=values["reason"],
            actor=f"member:{member.id}",
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _page(
            request, member, status=status_of(exc, default=422), error=exc.message,
            error_id=alert_id, error_form="contest", values=values,
        )  # fmt: skip
    request.session[FLASH] = FLASH_CONTEST
    return RedirectResponse(f"/organisation/alertes#alerte-{alert_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisation/alertes", alerts_page, methods=["GET"], name="org:alerts"),
    Route(
        "/organisation/alertes/{alert_id}/reponse",
        alert_answer,
        methods=["POST"],
        name="org:alert_answer",
    ),
    Route(
        "/organisation/alertes/{alert_id}/contestation",
        alert_contest,
        methods=["POST"],
        name="org:alert_contest",
    ),
]
