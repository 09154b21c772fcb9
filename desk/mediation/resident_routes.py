"""The mediators' pages about one followed resident: their file, requests, news, letters."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.helppoints import services as helppoints
from desk.mediation import answers, holders, revocation, services, shared
from desk.mediation.forms import field, values_of
from desk.mediation.pages import KINDS, int_param, mediator, page, receipt_qrs, redirect
from desk.mediation.rules import ConsentPending
from desk.requests.models import RequestKind
from desk.residents.downloads import one_time_download
from desk.residents.services import check_submission_key
from desk.web.limits import digits


async def home(request: Request) -> Response:
    staff = await mediator(request)
    model = await services.home(mediator=staff)
    return page(request, "mediation/home.html", staff, {"h": model})


# --- one resident --------------------------------------------------------------------------------


async def resident_page(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    try:
        model = await services.resident_file(mediator=staff, resident_id=rid)
    except ConsentPending:
        return redirect(f"/mediation/habitants/{rid}/consentement")
    return page(
        request,
        "mediation/resident.html",
        staff,
        {"r": model, "new_key": secrets.token_urlsafe(16)},
    )


async def file_request(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
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
    return redirect(f"/mediation/habitants/{rid}/demandes/{filed.reference}/accuse")


async def acknowledgement(request: Request) -> Response:
    staff = await mediator(request)
    ack = await services.acknowledgement(
        mediator=staff,
        resident_id=int_param(request, "rid"),
        reference=str(request.path_params["reference"]),
    )
    return page(request, "mediation/acknowledgement.html", staff, {"a": ack})


async def download_copy(request: Request) -> Response:
    staff = await mediator(request)
    copy_id = str(request.path_params["copy_id"])
    resident_id = int_param(request, "rid")
    return await one_time_download(
        request,
        lambda: services.take_copy_for(mediator=staff, resident_id=resident_id, copy_id=copy_id),
    )


async def mark_told(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    await services.mark_told(
        mediator=staff, resident_id=rid, event_id=int_param(request, "event_id")
    )
    request.session["flash"] = N_("C'est noté : la personne est au courant.")
    back = (
        "/mediation"
        if field(await request.form(), "back") == "home"
        else f"/mediation/habitants/{rid}"
    )
    return redirect(back)


async def answer_question(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
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
    return redirect(f"/mediation/habitants/{rid}")


async def withdraw_request(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
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
    return redirect(f"/mediation/habitants/{rid}/demandes/{reference}/retrait")


async def withdrawal_print(request: Request) -> Response:
    staff = await mediator(request)
    sheet = await revocation.withdrawal_sheet(
        mediator=staff,
        resident_id=int_param(request, "rid"),
        reference=str(request.path_params["reference"]),
    )
    return page(request, "mediation/withdrawal.html", staff, {"s": sheet})


async def letter_page(request: Request) -> Response:
    staff = await mediator(request)
    model = await services.letter(mediator=staff, resident_id=int_param(request, "rid"))
    return page(
        request,
        "mediation/letter.html",
        staff,
        {
            "l": model,
            "qrs": receipt_qrs(request, [c.receipt_id for c in model.changes]),
            "place": await helppoints.by_name(name=staff.help_point),
        },
    )


async def letter_posted(request: Request) -> Response:
    staff = await mediator(request)
    rid = int_param(request, "rid")
    await services.letter_posted(mediator=staff, resident_id=rid)
    request.session["flash"] = N_(
        "C'est noté : la lettre est postée, ses nouvelles sont transmises."
    )
    return redirect(f"/mediation/habitants/{rid}")


async def help_point_page(request: Request) -> Response:
    staff = await mediator(request)
    view = await shared.help_point_view(mediator=staff)
    return page(request, "mediation/help_point.html", staff, {"v": view})


async def holders_print(request: Request) -> Response:
    staff = await mediator(request)
    sheet = await holders.holders_sheet(mediator=staff, resident_id=int_param(request, "rid"))
    return page(
        request,
        "mediation/holders.html",
        staff,
        {
            "s": sheet,
            "qrs": receipt_qrs(request, [h.receipt_id for h in sheet.holders]),
            "place": await helppoints.by_name(name=staff.help_point),
        },
    )
