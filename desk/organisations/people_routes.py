"""The space's home page and its people: the DPO invites colleagues and closes their access."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.holdings.services import holdings_status
from desk.organisations import services
from desk.organisations.auth import require_member
from desk.organisations.models import MemberRole
from desk.organisations.pages import FLASH, page
from desk.registry.services import get_signatory
from desk.web.limits import ascii_id


async def home(request: Request) -> Response:
    member = await require_member(request)
    signatory = await get_signatory(slug=member.signatory.slug)
    assert signatory is not None  # the member's own signatory: a foreign key
    return page(
        request,
        "organisation/home.html",
        {
            "signatory": signatory,
            "members": await services.list_members(signatory_id=signatory.id),
            "history": list(signatory.status_changes),
            "holdings": await holdings_status(signatory_id=signatory.id),
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
        return page(
            request,
            "organisation/home.html",
            {
                "signatory": signatory,
                "members": await services.list_members(signatory_id=signatory.id),
                "history": list(signatory.status_changes),
                "holdings": await holdings_status(signatory_id=signatory.id),
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
            raise DeskError(N_("Cette personne n'a pas d'accès actif à retirer."), code="not_found")
        await services.remove_member(remover=member, member_id=target)
    except DeskError as exc:
        raise HTTPException(404, N_("Cette personne n'a pas d'accès actif à retirer.")) from exc
    request.session[FLASH] = N_("Accès retiré.")
    return RedirectResponse("/organisation#membres", status_code=303)


routes: list[BaseRoute] = [
    Route("/organisation", home, methods=["GET"], name="org:home"),
    Route("/organisation/membres", invite, methods=["POST"], name="org:invite"),
    Route("/organisation/membres/{member_id}/retirer", remove, methods=["POST"], name="org:remove"),
]
