"""The mediators' pages that open a session: the form, the resident's consent, the mandate."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.mediation import consent, revocation, services
from desk.mediation.forms import blank_session_form, field, parse_session, read_session_form
from desk.mediation.models import Consent, IdentityCheck
from desk.mediation.pages import int_param, mediator, page, redirect
from desk.staff.models import StaffMember
from desk.web.limits import digits

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
    return page(
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
    staff = await mediator(request)
    return await _session_form(request, staff, blank_session_form())


async def renew_session_form(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    resident = await services.known_resident(mediator=staff, resident_id=rid)
    contact = await services.contact_of(resident_id=resident.id)
    return await _session_form(
        request, staff, blank_session_form(), resident_id=rid, contact=contact
    )


async def open_session(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid") if "rid" in request.path_params else None
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
        return redirect(f"/mediation/habitants/{resident_id}/consentement")
    request.session["flash"] = N_("La séance est ouverte et le mandat est enregistré.")
    return redirect(f"/mediation/habitants/{resident_id}")


# --- the resident's consent ----------------------------------------------------------------------


async def _consent_page(
    request: Request, staff: StaffMember, rid: int, *, error: str | None = None, status: int = 200
) -> Response:
    waiting = await consent.pending(mediator=staff, resident_id=rid)
    return page(
        request,
        "mediation/consent.html",
        staff,
        {"c": waiting, "rid": rid, "error": error, "minutes": consent.CODE_MINUTES},
        status_code=status,
    )


async def consent_page(request: Request) -> Response:
    staff = await mediator(request)
    return await _consent_page(request, staff, int_param(request, "rid"))


async def consent_submit(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
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
    return redirect(f"/mediation/habitants/{rid}")


async def consent_resend(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
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
    return redirect(f"/mediation/habitants/{rid}/consentement")


async def mandate_print(request: Request) -> Response:
    staff = await mediator(request)
    sheet = await services.mandate_sheet(
        mediator=staff,
        resident_id=int_param(request, "rid"),
        mandate_id=int_param(request, "mid"),
    )
    return page(request, "mediation/mandate.html", staff, {"m": sheet})


async def mandate_signed(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    await services.record_paper_signed(
        mediator=staff, resident_id=rid, mandate_id=int_param(request, "mid")
    )
    request.session["flash"] = N_("La signature du mandat papier est enregistrée.")
    return redirect(f"/mediation/habitants/{rid}")


async def mandate_revoke(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    mid = int_param(request, "mid")
    await revocation.revoke_by_mediator(mediator=staff, resident_id=rid, mandate_id=mid)
    request.session["flash"] = N_(
        "Le mandat est retiré : vous ne voyez plus le dossier de cette personne. Imprimez "
        "l'accusé de retrait et remettez-le-lui."
    )
    return redirect(f"/mediation/habitants/{rid}/mandats/{mid}/retrait")


async def revocation_print(request: Request) -> Response:
    staff = await mediator(request)
    sheet = await revocation.revocation_sheet_for_mediator(
        mediator=staff,
        resident_id=int_param(request, "rid"),
        mandate_id=int_param(request, "mid"),
    )
    return page(request, "mediation/revocation.html", staff, {"s": sheet, "back": "/mediation"})
