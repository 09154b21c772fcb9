"""The mediators' pages (role mediator; administrators too): thin, the rules are in services."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.explain.topics import topic_path
from desk.mediation import answers, consent, revocation, services
from desk.mediation.forms import (
    blank_session_form,
    field,
    parse_session,
    read_session_form,
    values_of,
)
from desk.mediation.models import Consent, IdentityCheck
from desk.mediation.rules import ConsentPending
from desk.requests.models import RequestKind
from desk.residents.downloads import one_time_download
from desk.residents.services import check_submission_key
from desk.residents.views import answer_lines, kind_label, state_label
from desk.staff.auth import require_staff
from desk.staff.models import StaffMember, StaffRole
from desk.staff.pages import staff_page
from desk.web.limits import digits

ROLES = (StaffRole.MEDIATOR, StaffRole.ADMIN)
KINDS = [k.value for k in RequestKind]
# The printable "Comprendre mes données" sheet of each request kind (desk/explain).
SHEET_TOPICS = {
    RequestKind.DISCOVERY: "savoir-qui-detient",
    RequestKind.ACCESS: "copie",
    RequestKind.ERASURE: "effacement",
    RequestKind.OBJECTION: "opposition",
}
SHEETS = {kind.value: topic_path(slug) for kind, slug in SHEET_TOPICS.items()}


async def _mediator(request: Request) -> StaffMember:
    # require_staff reloads the member on every request: a deactivated account stops at once.
    return await require_staff(request, *ROLES)


# What the mediation templates use, besides the staff member and the time.
PAGE_HELPERS: dict[str, Any] = {
    "state_label": state_label,
    "kind_label": kind_label,
    "answer_lines": answer_lines,
    "identity_labels": services.IDENTITY_LABELS,
    "kinds": KINDS,
    "sheets": SHEETS,
    "add_months": clock.add_months,
}
_page = partial(staff_page, helpers=PAGE_HELPERS)


def _int_param(request: Request, name: str) -> int:
    raw = str(request.path_params.get(name, ""))
    # Ids fit a 32-bit integer column (PostgreSQL): longer ones cannot exist.
    if not digits(raw) or len(raw) > 9:
        raise DeskError("Cette page est introuvable.", code="not_found")
    return int(raw)


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def home(request: Request) -> Response:
    staff = await _mediator(request)
    model = await services.home(mediator=staff)
    return _page(request, "mediation/home.html", staff, {"h": model})


# --- opening a session ---------------------------------------------------------------------------


async def _session_form(
    request: Request,
    staff: StaffMember,
    values: dict[str, Any],
    *,
    resident_id: int | None = None,
    contact: Any = None,
    error: str | None = None,
    duplicates: list[Any] | None = None,
    status: int = 200,
) -> Response:
    return _page(
        request,
        "mediation/session_form.html",
        staff,
        {
            "f": values,
            "resident_id": resident_id,
            "contact": contact,
            "error": error,
            "duplicates": duplicates or [],
            "duplicate_contacts": {
                r.id: await services.contact_of(resident_id=r.id) for r in duplicates or []
            },
            "signatories": await services.signed_signatories(),
            "identity_checks": [c.value for c in IdentityCheck],
            "months_choices": services.MANDATE_MONTHS,
        },
        status_code=status,
    )


async def new_session_form(request: Request) -> Response:
    staff = await _mediator(request)
    return await _session_form(request, staff, blank_session_form())


async def renew_session_form(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    resident = await services.known_resident(mediator=staff, resident_id=rid)
    contact = await services.contact_of(resident_id=resident.id)
    return await _session_form(
        request, staff, blank_session_form(), resident_id=rid, contact=contact
    )


async def open_session(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid") if "rid" in request.path_params else None
    if rid is not None:
        # Before anything is read or shown: the form re-rendered on an error names the person.
        await services.known_resident(mediator=staff, resident_id=rid)
    form = await request.form()
    values = read_session_form(form)
    contact = await services.contact_of(resident_id=rid) if rid is not None else None
    existing = field(form, "use_existing")
    try:
        check, mandate = parse_session(values)
        kwargs: dict[str, Any] = {}
        if rid is not None:
            kwargs["resident_id"] = rid
        elif values["mode"] == "email":
            if not values["email"]:
                raise DeskError("Indiquez l'adresse électronique de la personne.")
            kwargs["email"] = values["email"]
        else:
            kwargs["contact"] = services.ContactInput(
                full_name=values["full_name"],
                street=values["street"],
                street_more=values["street_more"],
                postcode=values["postcode"],
                city=values["city"],
                reached_at_help_point=values["help_point_only"],
            )
            kwargs["use_existing_id"] = (
                int(existing) if digits(existing) and len(existing) < 10 else None
            )
            kwargs["homonym_confirmed"] = field(form, "homonym") == "1"
        session, _ = await services.open_session(
            mediator=staff,
            identity_check=check,
            mandate=mandate,
            secret_key=request.app.state.settings.secret_key,
            **kwargs,
        )
    except services.DuplicateResident as exc:
        return await _session_form(
            request, staff, values, error=exc.message, duplicates=exc.existing, status=409
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _session_form(
            request, staff, values, resident_id=rid, contact=contact, error=exc.message,
            status=status_of(exc, default=422),
        )  # fmt: skip
    resident_id: int = session.resident_id  # type: ignore[attr-defined]
    if session.consent == Consent.AWAITING:
        request.session["flash"] = N_(
            "Cette personne a déjà un compte en ligne : un code lui a été envoyé par courriel. "
            "Demandez-lui de vous le lire pour ouvrir la séance."
        )
        return _redirect(f"/mediation/habitants/{resident_id}/consentement")
    request.session["flash"] = N_("La séance est ouverte et le mandat est enregistré.")
    return _redirect(f"/mediation/habitants/{resident_id}")


# --- one resident --------------------------------------------------------------------------------


async def resident_page(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    try:
        model = await services.resident_file(mediator=staff, resident_id=rid)
    except ConsentPending:
        return _redirect(f"/mediation/habitants/{rid}/consentement")
    return _page(
        request,
        "mediation/resident.html",
        staff,
        {"r": model, "new_key": secrets.token_urlsafe(16)},
    )


# --- the resident's consent ----------------------------------------------------------------------


async def _consent_page(
    request: Request, staff: StaffMember, rid: int, *, error: str | None = None, status: int = 200
) -> Response:
    waiting = await consent.pending(mediator=staff, resident_id=rid)
    return _page(
        request,
        "mediation/consent.html",
        staff,
        {"c": waiting, "rid": rid, "error": error, "minutes": consent.CODE_MINUTES},
        status_code=status,
    )


async def consent_page(request: Request) -> Response:
    staff = await _mediator(request)
    return await _consent_page(request, staff, _int_param(request, "rid"))


async def consent_submit(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    form = await request.form()
    try:
        await consent.confirm_code(
            mediator=staff,
            resident_id=rid,
            typed=field(form, "code")[:32],
            secret_key=request.app.state.settings.secret_key,
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _consent_page(
            request, staff, rid, error=exc.message, status=status_of(exc, default=422)
        )
    request.session["flash"] = N_(
        "La personne a donné son accord : la séance est ouverte et le mandat est enregistré. "
        "Elle en est prévenue par courriel."
    )
    return _redirect(f"/mediation/habitants/{rid}")


async def consent_resend(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    try:
        await consent.resend_code(
            mediator=staff, resident_id=rid, secret_key=request.app.state.settings.secret_key
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise
        return await _consent_page(
            request, staff, rid, error=exc.message, status=status_of(exc, default=422)
        )
    request.session["flash"] = N_("Un nouveau code a été envoyé à la personne par courriel.")
    return _redirect(f"/mediation/habitants/{rid}/consentement")


async def mandate_print(request: Request) -> Response:
    staff = await _mediator(request)
    sheet = await services.mandate_sheet(
        mediator=staff,
        resident_id=_int_param(request, "rid"),
        mandate_id=_int_param(request, "mid"),
    )
    return _page(request, "mediation/mandate.html", staff, {"m": sheet})


async def mandate_signed(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    await services.record_paper_signed(
        mediator=staff, resident_id=rid, mandate_id=_int_param(request, "mid")
    )
    request.session["flash"] = N_("La signature du mandat papier est enregistrée.")
    return _redirect(f"/mediation/habitants/{rid}")


async def file_request(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    # Someone else's resident is a 404 whatever the form says: nothing about them leaks.
    await services.known_resident(mediator=staff, resident_id=rid, action="file_request")
    form = await request.form()
    raw_kind = field(form, "kind")
    if raw_kind not in KINDS:
        raise DeskError("Choisissez le type de demande.")
    raw_ids = values_of(form, "signatory")
    if not raw_ids:
        raise DeskError("Cochez au moins un organisme à qui adresser la demande.")
    if not all(digits(v) and len(v) < 10 for v in raw_ids):
        raise DeskError("Un des organismes choisis est inconnu.")
    key = check_submission_key(field(form, "submission_key"))
    filed = await services.file_for_resident(
        mediator=staff,
        resident_id=rid,
        kind=RequestKind(raw_kind),
        signatory_ids=[int(v) for v in raw_ids],
        submission_key=key,
    )
    request.session["flash"] = N_(
        "La demande est déposée. Imprimez l'accusé de réception et remettez-le à la personne."
    )
    return _redirect(f"/mediation/habitants/{rid}/demandes/{filed.reference}/accuse")


async def acknowledgement(request: Request) -> Response:
    staff = await _mediator(request)
    ack = await services.acknowledgement(
        mediator=staff,
        resident_id=_int_param(request, "rid"),
        reference=str(request.path_params["reference"]),
    )
    return _page(request, "mediation/acknowledgement.html", staff, {"a": ack})


async def download_copy(request: Request) -> Response:
    staff = await _mediator(request)
    copy_id = str(request.path_params["copy_id"])
    resident_id = _int_param(request, "rid")
    return await one_time_download(
        request,
        lambda: services.take_copy_for(mediator=staff, resident_id=resident_id, copy_id=copy_id),
    )


async def mark_told(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    await services.mark_told(
        mediator=staff, resident_id=rid, event_id=_int_param(request, "event_id")
    )
    request.session["flash"] = N_("C'est noté : la personne est au courant.")
    back = (
        "/mediation"
        if field(await request.form(), "back") == "home"
        else f"/mediation/habitants/{rid}"
    )
    return _redirect(back)


async def answer_question(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    # Someone else's resident is a 404 whatever the form says.
    await services.known_resident(mediator=staff, resident_id=rid, action=answers.ACTION)
    form = await request.form()
    raw = field(form, "delivery")
    if not digits(raw) or len(raw) > 9:
        raise DeskError("Indiquez à quelle question la personne répond.", code="invalid")
    runtime = request.app.state.runtime
    await answers.answer_question(
        mediator=staff,
        resident_id=rid,
        delivery_id=int(raw),
        answer=field(form, "answer"),
        keyring=runtime.keyring,
        issuer=runtime.issuer,
    )
    request.session["flash"] = N_("La réponse de la personne est transmise à l'organisme.")
    return _redirect(f"/mediation/habitants/{rid}")


async def mandate_revoke(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    mid = _int_param(request, "mid")
    await revocation.revoke_by_mediator(mediator=staff, resident_id=rid, mandate_id=mid)
    request.session["flash"] = N_(
        "Le mandat est retiré : vous ne voyez plus le dossier de cette personne. Imprimez "
        "l'accusé de retrait et remettez-le-lui."
    )
    return _redirect(f"/mediation/habitants/{rid}/mandats/{mid}/retrait")


async def revocation_print(request: Request) -> Response:
    staff = await _mediator(request)
    sheet = await revocation.revocation_sheet_for_mediator(
        mediator=staff,
        resident_id=_int_param(request, "rid"),
        mandate_id=_int_param(request, "mid"),
    )
    return _page(request, "mediation/revocation.html", staff, {"s": sheet, "back": "/mediation"})


async def withdraw_request(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    reference = str(request.path_params["reference"])[:32]
    runtime = request.app.state.runtime
    await revocation.withdraw_filed(
        mediator=staff,
        resident_id=rid,
        reference=reference,
        keyring=runtime.keyring,
        issuer=runtime.issuer,
    )
    request.session["flash"] = N_(
        "La demande est retirée auprès de chaque organisme qui n'avait pas encore répondu. "
        "Imprimez l'accusé de retrait et remettez-le à la personne."
    )
    return _redirect(f"/mediation/habitants/{rid}/demandes/{reference}/retrait")


async def withdrawal_print(request: Request) -> Response:
    staff = await _mediator(request)
    sheet = await revocation.withdrawal_sheet(
        mediator=staff,
        resident_id=_int_param(request, "rid"),
        reference=str(request.path_params["reference"]),
    )
    return _page(request, "mediation/withdrawal.html", staff, {"s": sheet})


async def letter_page(request: Request) -> Response:
    staff = await _mediator(request)
    model = await services.letter(mediator=staff, resident_id=_int_param(request, "rid"))
    return _page(request, "mediation/letter.html", staff, {"l": model})


async def letter_posted(request: Request) -> Response:
    staff = await _mediator(request)
    rid = _int_param(request, "rid")
    await services.letter_posted(mediator=staff, resident_id=rid)
    request.session["flash"] = N_(
        "C'est noté : la lettre est postée, ses nouvelles sont transmises."
    )
    return _redirect(f"/mediation/habitants/{rid}")


routes: list[BaseRoute] = [
    Route("/mediation", home, methods=["GET"], name="mediation_home"),
    Route("/mediation/seance", new_session_form, methods=["GET"], name="mediation_new"),
    Route("/mediation/seance", open_session, methods=["POST"], name="mediation_open"),
    Route("/mediation/habitants/{rid}", resident_page, methods=["GET"], name="mediation_resident"),
    Route(
        "/mediation/habitants/{rid}/seance",
        renew_session_form,
        methods=["GET"],
        name="mediation_renew",
    ),
    Route(
        "/mediation/habitants/{rid}/seance",
        open_session,
        methods=["POST"],
        name="mediation_renew_submit",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement",
        consent_page,
        methods=["GET"],
        name="mediation_consent",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement",
        consent_submit,
        methods=["POST"],
        name="mediation_consent_submit",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement/code",
        consent_resend,
        methods=["POST"],
        name="mediation_consent_resend",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}",
        mandate_print,
        methods=["GET"],
        name="mediation_mandate",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/signe",
        mandate_signed,
        methods=["POST"],
        name="mediation_mandate_signed",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/retirer",
        mandate_revoke,
        methods=["POST"],
        name="mediation_mandate_revoke",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/retrait",
        revocation_print,
        methods=["GET"],
        name="mediation_mandate_revoked",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/retirer",
        withdraw_request,
        methods=["POST"],
        name="mediation_withdraw",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/retrait",
        withdrawal_print,
        methods=["GET"],
        name="mediation_withdrawn",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes",
        file_request,
        methods=["POST"],
        name="mediation_file",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/accuse",
        acknowledgement,
        methods=["GET"],
        name="mediation_ack",
    ),
    Route(
        "/mediation/habitants/{rid}/copies/{copy_id}",
        download_copy,
        methods=["GET"],
        name="mediation_copy",
    ),
    Route(
        "/mediation/habitants/{rid}/nouvelles/{event_id}/dite",
        mark_told,
        methods=["POST"],
        name="mediation_told",
    ),
    Route(
        "/mediation/habitants/{rid}/reponse",
        answer_question,
        methods=["POST"],
        name="mediation_answer_question",
    ),
    Route(
        "/mediation/habitants/{rid}/lettre", letter_page, methods=["GET"], name="mediation_letter"
    ),
    Route(
        "/mediation/habitants/{rid}/lettre",
        letter_posted,
        methods=["POST"],
        name="mediation_letter_posted",
    ),
]
