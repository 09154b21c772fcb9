"""The back office pages (roles back_office and admin): thin, the rules are in services."""

from __future__ import annotations

from email.utils import parseaddr
from functools import partial
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.backoffice import dashboard, deliveries, postal, services
from desk.core.errors import DeskError, status_of
from desk.core.i18n import translate
from desk.core.translatable import N_
from desk.partners import services as answers
from desk.partners.channels import parse_assignments
from desk.receipts.qr import qr_svg
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import DENIAL_REASONS
from desk.residents.views import kind_label
from desk.staff.auth import require_staff
from desk.staff.models import StaffMember, StaffRole
from desk.staff.pages import staff_page
from desk.web.bodies import BodyTooLarge
from desk.web.forms import read_form_with_file
from desk.web.limits import row_id

ROLES = (StaffRole.BACK_OFFICE, StaffRole.ADMIN)

STATE_LABELS: dict[str, str] = {
    "pending": N_("en cours d'envoi"),
    "sent": N_("envoyée"),
    "acknowledged": N_("réception confirmée"),
    "extended": N_("délai prolongé"),
    "awaiting_info": N_("question posée à la personne"),
    "fulfilled": N_("traitée"),
    "denied": "refusée",
    "withdrawn": N_("retirée"),
    "failed": N_("envoi en échec"),
}


def state_label(state: DeliveryState | str) -> str:
    return STATE_LABELS.get(str(state), str(state))


async def _staff(request: Request) -> StaffMember:
    return await require_staff(request, *ROLES)


# What the back office templates use, besides the staff member and the time.
PAGE_HELPERS: dict[str, Any] = {"state_label": state_label, "kind_label": kind_label}
_page = partial(staff_page, helpers=PAGE_HELPERS)


def _int_param(request: Request, name: str) -> int:
    value = row_id(str(request.path_params.get(name, "")))
    if value is None:
        raise DeskError("Cette page est introuvable.", code="not_found")
    return value


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _form_field(request: Request, name: str) -> str:
    form = await request.form()
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- overview and lists -------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    staff = await _staff(request)
    model = await dashboard.overview()
    return _page(request, "backoffice/overview.html", staff, {"o": model})


async def retry_job(request: Request) -> Response:
    staff = await _staff(request)
    job_id = _int_param(request, "job_id")
    runtime = request.app.state.runtime
    await services.retry_job(
        job_id=job_id, staff_id=staff.id, keyring=runtime.keyring, issuer=runtime.issuer
    )
    request.session["flash"] = N_(
        "La tâche est relancée : le guichet va réessayer dans un instant."
    )
    return _redirect("/back-office")


async def signatory_page(request: Request) -> Response:
    staff = await _staff(request)
    params = request.query_params
    view = await dashboard.signatory_view(
        slug=request.path_params["slug"],
        state=params.get("etat") or None,
        kind=params.get("type") or None,
        late_only=params.get("en_retard") == "1",
    )
    return _page(
        request,
        "backoffice/signatory.html",
        staff,
        {"v": view, "states": services.STATE_ORDER, "kinds": [k.value for k in RequestKind]},
    )


# --- one delivery -------------------------------------------------------------------------------


def _delivery_page(
    request: Request,
    staff: StaffMember,
    view: deliveries.DeliveryView,
    *,
    status: int = 200,
    error: str | None = None,
    failed_action: str | None = None,
    fields: dict[str, list[str]] | None = None,
    generated_secrets: list[str] | None = None,
) -> Response:
    fields = fields or {}
    return _page(
        request,
        "backoffice/delivery.html",
        staff,
        {
            "v": view,
            "d": view.delivery,
            "error": error,
            "failed_action": failed_action,
            "values": {name: values[0] for name, values in fields.items() if values},
            "multi": fields,
            "denial_reasons": DENIAL_REASONS,
            "kept_rows": range(1, answers.KEPT_ROWS_SHOWN + 1),
            "max_upload": answers.human_size(request.app.state.settings.upload_max_bytes),
            "generated_secrets": generated_secrets or [],
        },
        status_code=status,
    )


async def delivery_page(request: Request) -> Response:
    staff = await _staff(request)
    view = await deliveries.delivery_view(delivery_id=_int_param(request, "delivery_id"))
    return _delivery_page(request, staff, view)


async def retry_delivery(request: Request) -> Response:
    staff = await _staff(request)
    delivery_id = _int_param(request, "delivery_id")
    runtime = request.app.state.runtime
    await services.retry_delivery(
        delivery_id=delivery_id, staff_id=staff.id, keyring=runtime.keyring, issuer=runtime.issuer
    )
    request.session["flash"] = N_("L'envoi est relancé.")
    return _redirect(f"/back-office/envois/{delivery_id}")


async def change_channel(request: Request) -> Response:
    staff = await _staff(request)
    delivery_id = _int_param(request, "delivery_id")
    channel = await _form_field(request, "channel")
    typed = await _form_field(request, "settings")
    runtime = request.app.state.runtime
    try:
        switch = await deliveries.change_channel(
            delivery_id=delivery_id,
            channel=channel,
            staff_id=staff.id,
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            secret_key=request.app.state.settings.secret_key,
            settings=parse_assignments([line for line in typed.splitlines() if line.strip()]),
            allowed_networks=request.app.state.settings.partner_networks,
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        view = await deliveries.delivery_view(delivery_id=delivery_id)
        return _delivery_page(
            request,
            staff,
            view,
            status=status_of(exc, default=422),
            error=exc.message,
            failed_action="channel",
        )
    if switch.generated:
        # A secret the partner does not know yet: shown once, never kept in the session.
        view = await deliveries.delivery_view(delivery_id=delivery_id)
        return _delivery_page(request, staff, view, generated_secrets=switch.generated)
    request.session["flash"] = "Le canal d'envoi est changé et l'envoi est relancé."
    return _redirect(f"/back-office/envois/{delivery_id}")


async def _answer_form(
    request: Request, max_bytes: int
) -> tuple[dict[str, list[str]], UploadFile | None, Any]:
    try:
        return await read_form_with_file(
            request,
            limit=max_bytes + answers.FORM_OVERHEAD_BYTES,
            text_field_max_bytes=answers.TEXT_FIELD_MAX_BYTES,
        )
    except BodyTooLarge as exc:
        raise answers.UploadTooLarge(max_bytes) from exc


async def paper_answer(request: Request) -> Response:
    staff = await _staff(request)
    delivery_id = _int_param(request, "delivery_id")
    settings = request.app.state.settings
    runtime = request.app.state.runtime
    max_bytes = settings.upload_max_bytes
    fields: dict[str, list[str]] = {}
    form: Any = None
    try:
        fields, upload, form = await _answer_form(request, max_bytes)
        uploaded = await answers.accept_upload(upload, max_bytes=max_bytes)
        action = answers.parse_action(fields)
        await deliveries.record_paper_answer(
            delivery_id=delivery_id,
            staff_id=staff.id,
            fields=fields,
            upload=uploaded,
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            download_max_age=settings.download_link_max_age,
        )
    except DeskError as exc:
        status = status_of(exc, default=422)
        if status == 404:
            raise
        view = await deliveries.delivery_view(delivery_id=delivery_id)
        return _delivery_page(
            request,
            staff,
            view,
            status=status,
            error=exc.message,
            failed_action=(fields.get("action") or [""])[0],
            fields=fields,
        )
    finally:
        if form is not None:
            await form.close()
    if action == "acknowledge":
        request.session["flash"] = N_("La réception de la demande par l'organisme est enregistrée.")
    elif action == "extend":
        request.session["flash"] = N_(
            "La prolongation du délai est enregistrée ; la personne est prévenue."
        )
    elif action == "fulfil":
        request.session["flash"] = N_(
            "La réponse reçue par courrier est enregistrée ; la personne reçoit son reçu."
        )
    else:
        request.session["flash"] = N_(
            "Le refus reçu par courrier est enregistré ; la personne reçoit son reçu."
        )
    return _redirect(f"/back-office/envois/{delivery_id}")


# --- postal letters ----------------------------------------------------------------------------


async def postal_queue(request: Request) -> Response:
    staff = await _staff(request)
    queue = await postal.postal_queue()
    return _page(request, "backoffice/postal_queue.html", staff, {"q": queue})


async def postal_letter(request: Request) -> Response:
    staff = await _staff(request)
    model = await postal.letter(
        delivery_id=_int_param(request, "delivery_id"), runtime=request.app.state.runtime
    )
    runtime = request.app.state.runtime
    return _page(
        request,
        "postal/letter.html",
        staff,
        {
            "letter": model,
            "base_url": runtime.issuer,
            "contact": parseaddr(runtime.settings.mail_from)[1],
            "qr": qr_svg(
                model.answer_url,
                label=translate(
                    "Répondre en ligne à cette demande", getattr(request.state, "locale", "fr")
                ),
            ),
        },
    )


async def mark_printed(request: Request) -> Response:
    staff = await _staff(request)
    delivery_id = _int_param(request, "delivery_id")
    await postal.mark_printed(delivery_id=delivery_id, staff_id=staff.id)
    request.session["flash"] = N_(
        "C'est noté : la lettre est imprimée. Saisissez la réponse quand elle arrive par courrier."
    )
    return _redirect("/back-office/courriers")


routes: list[BaseRoute] = [
    Route("/back-office", overview, methods=["GET"], name="backoffice"),
    Route(
        "/back-office/taches/{job_id}/relancer",
        retry_job,
        methods=["POST"],
        name="backoffice_retry_job",
    ),
    Route(
        "/back-office/signataires/{slug}",
        signatory_page,
        methods=["GET"],
        name="backoffice_signatory",
    ),
    Route(
        "/back-office/envois/{delivery_id}",
        delivery_page,
        methods=["GET"],
        name="backoffice_delivery",
    ),
    Route(
        "/back-office/envois/{delivery_id}/relancer",
        retry_delivery,
        methods=["POST"],
        name="backoffice_retry_delivery",
    ),
    Route(
        "/back-office/envois/{delivery_id}/canal",
        change_channel,
        methods=["POST"],
        name="backoffice_change_channel",
    ),
    Route(
        "/back-office/envois/{delivery_id}/reponse",
        paper_answer,
        methods=["POST"],
        name="backoffice_paper_answer",
    ),
    Route("/back-office/courriers", postal_queue, methods=["GET"], name="backoffice_postal"),
    Route(
        "/back-office/courriers/{delivery_id}",
        postal_letter,
        methods=["GET"],
        name="backoffice_letter",
    ),
    Route(
        "/back-office/courriers/{delivery_id}/imprime",
        mark_printed,
        methods=["POST"],
        name="backoffice_letter_printed",
    ),
]
