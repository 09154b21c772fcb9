"""The organisation's declarations: create, edit, retire; every version public.

The form is multipart (the impact study may come as a PDF, 5 MB at most): the body is bounded
while it streams, and a refusal re-shows the form with a French message (413 or 422), never 500.
Recipients are chosen from the register of organisations; free text typed before the register
existed can be kept or dropped, not added to.
"""

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
from desk.partners import services as answer_forms
from desk.registry import declarations, organisations
from desk.registry.models import Declaration
from desk.web.bodies import BodyTooLarge
from desk.web.forms import read_form_with_file, read_upload
from desk.web.limits import ascii_id

TEXT_FIELDS = tuple(
    name
    for name in declarations.DeclarationForm.__dataclass_fields__
    if name not in ("errors", "dpia_pdf", "recipients", "recipient_refs")
)


class _TooLarge(Exception):
    """The whole body is over the limit: it was not read, nothing typed can be shown back."""


async def _declaration_form(
    request: Request,
    member: OrganisationMember,
    form: declarations.DeclarationForm,
    *,
    declaration: Declaration | None,
    status_code: int = 200,
) -> Response:
    legacy = organisations.legacy_recipients(declaration) if declaration else []
    return page(
        request,
        "organisation/declaration_form.html",
        {
            "form": form,
            "declaration": declaration,
            "entries": await organisations.register_entries(),
            "chosen": set(form.recipient_refs.split()),
            "legacy": legacy,
            "kept": set(form.recipients.splitlines()),
            "pdf_max_mb": declarations.PDF_MAX_BYTES // (1024 * 1024),
        },
        member=member,
        status_code=status_code,
    )


async def _read_form(request: Request, *, new: bool) -> declarations.DeclarationForm:
    limit = declarations.PDF_MAX_BYTES + answer_forms.FORM_OVERHEAD_BYTES
    try:
        fields, upload, raw = await read_form_with_file(
            request, limit=limit, text_field_max_bytes=answer_forms.TEXT_FIELD_MAX_BYTES
        )
    except BodyTooLarge as exc:
        raise _TooLarge() from exc
    try:
        content = None
        if upload is not None:
            _name, _type, content = await read_upload(upload, max_bytes=declarations.PDF_MAX_BYTES)
    finally:
        await raw.close()
    form = declarations.DeclarationForm(
        **{name: (fields.get(name) or [""])[0] for name in TEXT_FIELDS},
        recipient_refs="\n".join(fields.get("recipient_refs", [])),
        # Free text: only the lines kept from before the register, never new ones.
        recipients="" if new else "\n".join(fields.get("legacy_recipients", [])),
        dpia_pdf=content,
    )
    return form


def _too_large(form: declarations.DeclarationForm) -> declarations.DeclarationForm:
    form.errors = {"dpia_pdf": declarations.MSG_PDF_TOO_LARGE}
    return form


async def new_declaration(request: Request) -> Response:
    member = await require_member(request)
    return await _declaration_form(
        request, member, declarations.DeclarationForm(), declaration=None
    )


async def create_declaration(request: Request) -> Response:
    member = await require_member(request)
    try:
        form = await _read_form(request, new=True)
    except _TooLarge:
        form = _too_large(declarations.DeclarationForm())
        return await _declaration_form(request, member, form, declaration=None, status_code=413)
    try:
        await declarations.create_declaration(
            signatory_id=member.signatory.id, form=form, actor=f"member:{member.id}"
        )
    except declarations.DeclarationInvalid as exc:
        form.errors = exc.errors
        return await _declaration_form(
            request, member, form, declaration=None, status_code=status_of(exc)
        )
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
    return await _declaration_form(request, member, form, declaration=declaration)


async def edit_declaration(request: Request) -> Response:
    member = await require_member(request)
    declaration = await _own_declaration(member, str(request.path_params["declaration_id"]))
    try:
        form = await _read_form(request, new=False)
    except _TooLarge:
        form = _too_large(declarations.DeclarationForm.of(declaration))
        return await _declaration_form(
            request, member, form, declaration=declaration, status_code=413
        )
    form.code = declaration.code
    try:
        await declarations.edit_declaration(
            signatory_id=member.signatory.id,
            declaration_id=declaration.id,
            form=form,
            actor=f"member:{member.id}",
        )
    except DeskError as exc:
        form.errors = (
            exc.errors if isinstance(exc, declarations.DeclarationInvalid) else {"": exc.message}
        )
        return await _declaration_form(
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
