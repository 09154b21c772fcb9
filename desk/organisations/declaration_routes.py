"""The organisation's declarations: create, edit, retire; every version public."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.organisations.auth import require_member
from desk.organisations.models import OrganisationMember
from desk.organisations.pages import FLASH, page
from desk.registry import declarations
from desk.registry.models import Declaration
from desk.web.limits import ascii_id

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
    return page(
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


routes: list[BaseRoute] = [
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
