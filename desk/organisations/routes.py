"""The signatory's own space at /organisation: login by email link, people, declarations.

Thin: parse, authorise (`require_member`: every query is filtered by the member's signatory),
call a service, render the page as it now stands.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import complaints
from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.organisations import inbox, services
from desk.organisations.auth import (
    require_member,
)
from desk.organisations.models import MemberRole, OrganisationMember
from desk.partners import services as answer_forms
from desk.registry import declarations
from desk.registry.models import Declaration
from desk.registry.services import CHARTER_STATUS_LABELS, LEGAL_BASIS_LABELS, get_signatory
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import DENIAL_REASONS, OPEN_STATES
from desk.residents.views import kind_label, state_label
from desk.web.bodies import BodyTooLarge
from desk.web.forms import read_form_with_file
from desk.web.limits import ascii_id
from desk.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
ROLE_LABELS: dict[str, str] = {
    MemberRole.DPO: N_("délégué à la protection des données (DPO)"),
    MemberRole.EDITOR: N_("rédacteur"),
}
HELPERS: dict[str, Any] = {
    "ROLE_LABELS": ROLE_LABELS,
    "CHARTER_STATUS_LABELS": CHARTER_STATUS_LABELS,
    "LEGAL_BASIS_LABELS": LEGAL_BASIS_LABELS,
    "FIELD_LABELS": declarations.FIELD_LABELS,
}
FLASH = "org_flash"


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    member: OrganisationMember | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {"member": member, "flash_org": request.session.pop(FLASH, ""), **HELPERS, **context},
        status_code=status_code,
        headers=PRIVATE_HEADERS,
    )


# --- home and people ------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    member = await require_member(request)
    signatory = await get_signatory(slug=member.signatory.slug)
    assert signatory is not None  # the member's own signatory: a foreign key
    return _page(
        request,
        "organisation/home.html",
        {
            "signatory": signatory,
            "members": await services.list_members(signatory_id=signatory.id),
            "history": list(signatory.status_changes),
            "invite": {"email": "", "display_name": "", "role": "editor"},
            "invite_error": "",
        },
        member=member,
    )


async def invite(request: Request) -> Response:
    member = await require_member(request, MemberRole.DPO)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("email", "display_name", "role")}
    try:
        await services.invite_member(
            inviter=member,
            email=values["email"],
            display_name=values["display_name"],
            role=values["role"],
        )
    except DeskError as exc:
        signatory = await get_signatory(slug=member.signatory.slug)
        assert signatory is not None
        return _page(
            request,
            "organisation/home.html",
            {
                "signatory": signatory,
                "members": await services.list_members(signatory_id=signatory.id),
                "history": list(signatory.status_changes),
                "invite": values,
                "invite_error": exc.message,
            },
            member=member,
            status_code=status_of(exc, default=422),
        )
    request.session[FLASH] = N_(
        "Accès donné. La personne se connecte avec son adresse, sur la page de connexion des "
        "organisations."
    )
    return RedirectResponse("/organisation#membres", status_code=303)


async def remove(request: Request) -> Response:
    member = await require_member(request, MemberRole.DPO)
    target = ascii_id(str(request.path_params["member_id"]))
    try:
        if target is None:
            raise DeskError("", code="not_found")
        await services.remove_member(remover=member, member_id=target)
    except DeskError as exc:
        raise HTTPException(404, N_("Cette personne n'a pas d'accès actif à retirer.")) from exc
    request.session[FLASH] = N_("Accès retiré.")
    return RedirectResponse("/organisation#membres", status_code=303)


# --- declarations ---------------------------------------------------------------------------------

FORM_FIELDS = tuple(
    name for name in declarations.DeclarationForm.__dataclass_fields__ if name != "errors"
)


def _declaration_form(
    request: Request,
    member: OrganisationMember,
    form: declarations.DeclarationForm,
    *,
    declaration: Declaration | None,
    status_code: int = 200,
) -> Response:
    return _page(
        request,
        "organisation/declaration_form.html",
        {"form": form, "declaration": declaration},
        member=member,
        status_code=status_code,
    )


async def _read_form(request: Request) -> declarations.DeclarationForm:
    data = await request.form()
    return declarations.DeclarationForm(**{k: str(data.get(k) or "") for k in FORM_FIELDS})


async def new_declaration(request: Request) -> Response:
    member = await require_member(request)
    return _declaration_form(request, member, declarations.DeclarationForm(), declaration=None)


async def create_declaration(request: Request) -> Response:
    member = await require_member(request)
    form = await _read_form(request)
    try:
        await declarations.create_declaration(
            signatory_id=member.signatory.id, form=form, actor=f"member:{member.id}"
        )
    except declarations.DeclarationInvalid as exc:
        form.errors = exc.errors
        return _declaration_form(request, member, form, declaration=None, status_code=422)
    request.session[FLASH] = N_("Déclaration publiée sur le registre.")
    return RedirectResponse("/organisation#declarations", status_code=303)


async def _own_declaration(member: OrganisationMember, raw: str) -> Declaration:
    found = ascii_id(raw)
    declaration = (
        await Declaration.filter(id=found, signatory_id=member.signatory.id).first()
        if found is not None
        else None
    )
    if declaration is None:
        raise HTTPException(404, declarations.MSG_NOT_FOUND)
    return declaration


async def edit_declaration_page(request: Request) -> Response:
    member = await require_member(request)
    declaration = await _own_declaration(member, str(request.path_params["declaration_id"]))
    form = declarations.DeclarationForm.of(declaration)
    return _declaration_form(request, member, form, declaration=declaration)


async def edit_declaration(request: Request) -> Response:
    member = await require_member(request)
    declaration = await _own_declaration(member, str(request.path_params["declaration_id"]))
    form = await _read_form(request)
    form.code = declaration.code
    try:
        await declarations.edit_declaration(
            signatory_id=member.signatory.id,
            declaration_id=declaration.id,
            form=form,
            actor=f"member:{member.id}",
        )
    except declarations.DeclarationInvalid as exc:
        form.errors = exc.errors
        return _declaration_form(request, member, form, declaration=declaration, status_code=422)
    except DeskError as exc:
        form.errors = {"": exc.message}
        return _declaration_form(
            request, member, form, declaration=declaration, status_code=status_of(exc)
        )
    request.session[FLASH] = N_(
        "Déclaration modifiée : la nouvelle version est publiée, l'ancienne reste dans son "
        "historique."
    )
    return RedirectResponse("/organisation#declarations", status_code=303)


async def retire_declaration(request: Request) -> Response:
    member = await require_member(request)
    declaration = await _own_declaration(member, str(request.path_params["declaration_id"]))
    try:
        await declarations.retire_declaration(
            signatory_id=member.signatory.id,
            declaration_id=declaration.id,
            actor=f"member:{member.id}",
        )
    except DeskError as exc:
        raise HTTPException(status_of(exc), exc.message) from exc
    request.session[FLASH] = N_("Déclaration retirée : elle reste publique, avec son historique.")
    return RedirectResponse("/organisation#declarations", status_code=303)


# --- inbox ----------------------------------------------------------------------------------------


async def inbox_page(request: Request) -> Response:
    member = await require_member(request)
    filters = inbox.InboxFilters.parse(dict(request.query_params))
    deliveries = await inbox.list_inbox(signatory_id=member.signatory.id, filters=filters)
    return _page(
        request,
        "organisation/inbox.html",
        {
            "deliveries": deliveries,
            "filters": filters,
            "states": [s.value for s in DeliveryState],
            "kinds": [k.value for k in RequestKind],
            "state_label": state_label,
            "kind_label": kind_label,
            "open_states": {s.value for s in OPEN_STATES},
            "now": clock.now(),
        },
        member=member,
    )


def _delivery_id(request: Request) -> int:
    found = ascii_id(str(request.path_params["delivery_id"]))
    if found is None:
        raise HTTPException(
            404, "Cette demande n'existe pas, ou n'est pas adressée à votre organisation."
        )
    return found


def _answer(
    request: Request,
    member: OrganisationMember,
    page: Any,
    *,
    status: int = 200,
    error: str | None = None,
    fields: dict[str, list[str]] | None = None,
    failed_action: str | None = None,
) -> Response:
    ok = request.query_params.get("ok") if status == 200 else None
    fields = fields or {}
    return _page(
        request,
        "partner/answer.html",
        {
            "in_space": True,
            "page": page,
            "ok": ok if ok in answer_forms.PARTNER_ACTIONS else None,
            "error": error,
            "failed_action": failed_action,
            "values": {name: values[0] for name, values in fields.items() if values},
            "multi": fields,
            "denial_reasons": DENIAL_REASONS,
            "kept_rows": range(1, answer_forms.KEPT_ROWS_SHOWN + 1),
            "max_upload": answer_forms.human_size(request.app.state.settings.upload_max_bytes),
            "action_url": f"/organisation/demandes/{page.delivery.id}",
        },
        member=member,
        status_code=status,
    )


async def delivery_page(request: Request) -> Response:
    member = await require_member(request)
    page = await inbox.answer_page(
        member=member, delivery_id=_delivery_id(request), runtime=request.app.state.runtime
    )
    return _answer(request, member, page)


async def delivery_answer(request: Request) -> Response:
    member = await require_member(request)
    delivery_id = _delivery_id(request)
    runtime = request.app.state.runtime
    page = await inbox.answer_page(member=member, delivery_id=delivery_id, runtime=runtime)
    settings = request.app.state.settings
    max_bytes = settings.upload_max_bytes
    try:
        fields, upload, form = await read_form_with_file(
            request,
            limit=max_bytes + answer_forms.FORM_OVERHEAD_BYTES,
            text_field_max_bytes=answer_forms.TEXT_FIELD_MAX_BYTES,
        )
    except BodyTooLarge:
        too_large = answer_forms.UploadTooLarge(max_bytes).message
        return _answer(request, member, page, status=413, error=too_large, failed_action="fulfil")
    try:
        action = answer_forms.parse_action(fields)
        uploaded = await answer_forms.accept_upload(upload, max_bytes=max_bytes)
        await inbox.answer(
            member=member,
            delivery_id=delivery_id,
            fields=fields,
            upload=uploaded,
            runtime=runtime,
            download_max_age=settings.download_link_max_age,
        )
    except DeskError as exc:
        status = status_of(exc, default=400)
        if status == 404:
            raise
        # The page as it is now (another answer may have landed meanwhile, by mail or API).
        page = await inbox.answer_page(member=member, delivery_id=delivery_id, runtime=runtime)
        return _answer(
            request,
            member,
            page,
            status=status,
            error=exc.message,
            fields=fields,
            failed_action=fields.get("action", [""])[0],
        )
    finally:
        await form.close()
    return RedirectResponse(f"/organisation/demandes/{delivery_id}?ok={action}", status_code=303)


# --- the committee's questions -------------------------------------------------------------------


async def _complaints_page(
    request: Request, member: OrganisationMember, *, status: int = 200, error: str = "",
    error_id: int = 0,
) -> Response:  # fmt: skip
    found = await complaints.complaints_for_signatory(signatory_id=member.signatory.id)
    # One answer form on the page (its field has one id): the chosen complaint, else the one
    # that failed, else the oldest waiting.
    asked = [c.id for c in found if c.status == "asked"]
    chosen = ascii_id(request.query_params.get("reclamation", ""))
    answering = error_id or (chosen if chosen in asked else (asked[-1] if asked else 0))
    return _page(
        request,
        "organisation/complaints.html",
        {
            "complaints": found,
            "error": error,
            "error_id": error_id,
            "answering": answering,
            "STATUS_LABELS": complaints.STATUS_LABELS,
            "OUTCOMES": complaints.OUTCOMES,
        },
        member=member,
        status_code=status,
    )


async def complaints_page(request: Request) -> Response:
    member = await require_member(request)
    return await _complaints_page(request, member)


async def complaint_answer(request: Request) -> Response:
    member = await require_member(request)
    complaint_id = ascii_id(str(request.path_params["complaint_id"]))
    if complaint_id is None:
        raise HTTPException(404, complaints.MSG_COMPLAINT_NOT_FOUND)
    form = await request.form()
    try:
        await complaints.answer_as_signatory(
            complaint_id=complaint_id,
            signatory_id=member.signatory.id,
            answer=str(form.get("answer") or ""),
            actor=f"member:{member.id}",
        )
    except DeskError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from exc
        return await _complaints_page(
            request, member, status=status_of(exc), error=exc.message, error_id=complaint_id
        )
    request.session[FLASH] = N_("Votre réponse est transmise au comité d'éthique.")
    return RedirectResponse("/organisation/reclamations", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisation/reclamations", complaints_page, methods=["GET"], name="org:complaints"),
    Route(
        "/organisation/reclamations/{complaint_id}",
        complaint_answer,
        methods=["POST"],
        name="org:complaint_answer",
    ),
    Route("/organisation/demandes", inbox_page, methods=["GET"], name="org:inbox"),
    Route(
        "/organisation/demandes/{delivery_id}",
        delivery_page,
        methods=["GET"],
        name="org:delivery",
    ),
    Route(
        "/organisation/demandes/{delivery_id}",
        delivery_answer,
        methods=["POST"],
        name="org:answer",
    ),
    Route("/organisation", home, methods=["GET"], name="org:home"),
    Route("/organisation/membres", invite, methods=["POST"], name="org:invite"),
    Route("/organisation/membres/{member_id}/retirer", remove, methods=["POST"], name="org:remove"),
    Route(
        "/organisation/declarations/nouvelle",
        new_declaration,
        methods=["GET"],
        name="org:declaration_new",
    ),
    Route(
        "/organisation/declarations/nouvelle",
        create_declaration,
        methods=["POST"],
        name="org:declaration_create",
    ),
    Route(
        "/organisation/declarations/{declaration_id}",
        edit_declaration_page,
        methods=["GET"],
        name="org:declaration",
    ),
    Route(
        "/organisation/declarations/{declaration_id}",
        edit_declaration,
        methods=["POST"],
        name="org:declaration_edit",
    ),
    Route(
        "/organisation/declarations/{declaration_id}/retirer",
        retire_declaration,
        methods=["POST"],
        name="org:declaration_retire",
    ),
]
