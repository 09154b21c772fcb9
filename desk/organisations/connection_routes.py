"""How the organisation is connected to the desk, set by its DPO: the identifiers it accepts,
its channel (the rules of `desk partners configure`), its partner API clients and their secrets
(as the CLI does: a secret is shown once, two live during a rotation), and its holdings status.

DPO only; every change is audited with the member who made it (desk.partners.channels and
desk.partners.clients write the audit record). A secret is shown in the answer to the POST that
made it, never kept in the session nor shown again.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.holdings.services import holdings_status
from desk.organisations.auth import require_member
from desk.organisations.models import MemberRole, OrganisationMember
from desk.organisations.pages import FLASH, page
from desk.partners import channels, clients
from desk.registry.models import Signatory

PATH = "/organisation/raccordement"
CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
PREFIX = re.compile(r"[A-Za-z0-9_-]{1,12}")
MSG_NO_CLIENT = N_("Ce client n'existe pas, ou il est déjà révoqué.")


async def _page(
    request: Request,
    member: OrganisationMember,
    *,
    status: int = 200,
    error: str = "",
    failed: str = "",
    values: dict[str, Any] | None = None,
    shown_secret: clients.NewCredential | None = None,
    generated: list[str] | None = None,
) -> Response:
    signatory = await Signatory.get(id=member.signatory.id)
    return page(
        request,
        "organisation/connection.html",
        {
            "signatory": signatory,
            "IDENTIFIER_LABELS": channels.IDENTIFIER_LABELS,
            "adapters": channels.space_adapter_choices(signatory.adapter),
            "settings_shown": channels.shown_settings(signatory),
            "clients": await clients.list_clients(signatory_id=signatory.id),
            "holdings": await holdings_status(signatory_id=signatory.id),
            "error": error,
            "failed": failed,
            "values": values or {},
            "shown_secret": shown_secret,
            "generated": generated or [],
        },
        member=member,
        status_code=status,
    )


async def _dpo(request: Request) -> OrganisationMember:
    return await require_member(request, MemberRole.DPO)


def _done(request: Request, message: str) -> Response:
    request.session[FLASH] = message
    return RedirectResponse(PATH, status_code=303)


async def connection_page(request: Request) -> Response:
    return await _page(request, await _dpo(request))


async def identifiers(request: Request) -> Response:
    member = await _dpo(request)
    form = await request.form()
    chosen = [str(v) for v in form.getlist("identifiers")]
    try:
        await channels.set_accepted_identifiers(
            signatory_id=member.signatory.id, identifiers=chosen, actor=f"member:{member.id}"
        )
    except DeskError as exc:
        return await _page(
            request, member, status=status_of(exc, default=422), error=exc.message,
            failed="identifiers", values={"identifiers": chosen},
        )  # fmt: skip
    return _done(request, N_("Identifiants acceptés enregistrés."))


async def channel(request: Request) -> Response:
    member = await _dpo(request)
    form = await request.form()
    values = {
        "channel": str(form.get("channel") or ""),
        "settings": str(form.get("settings") or ""),
        "rotate": bool(form.get("rotate")),
    }
    settings = request.app.state.settings
    try:
        if values["channel"] not in channels.space_adapter_choices(member.signatory.adapter):
            raise channels.ChannelError(N_("Choisissez le canal dans la liste proposée."))
        result = await channels.configure_channel(
            slug=member.signatory.slug,
            adapter=values["channel"],
            settings=channels.parse_assignments(
                [line for line in str(values["settings"]).splitlines() if line.strip()]
            ),
            secret_key=settings.secret_key,
            rotate=bool(values["rotate"]),
            actor=f"member:{member.id}",
            allowed_networks=settings.partner_networks,
        )
    except DeskError as exc:
        return await _page(
            request, member, status=status_of(exc, default=422), error=exc.message,
            failed="channel", values=values,
        )  # fmt: skip
    if result.generated:
        # A signing secret your software does not know yet: shown once, in this answer only.
        return await _page(request, member, generated=result.generated)
    return _done(request, N_("Canal enregistré : les prochaines demandes passeront par lui."))


async def create_client(request: Request) -> Response:
    member = await _dpo(request)
    form = await request.form()
    label = str(form.get("label") or "")
    try:
        credential = await clients.create_client(
            slug=member.signatory.slug, label=clients.clean_label(label),
            actor=f"member:{member.id}",
        )  # fmt: skip
    except DeskError as exc:
        return await _page(
            request, member, status=status_of(exc, default=422), error=exc.message,
            failed="client", values={"label": label},
        )  # fmt: skip
    return await _page(request, member, shown_secret=credential)


def _client_id(request: Request) -> str:
    raw = str(request.path_params["client_id"])
    if not CLIENT_ID.fullmatch(raw):
        raise HTTPException(404, MSG_NO_CLIENT)
    return raw


async def rotate(request: Request) -> Response:
    member = await _dpo(request)
    try:
        credential = await clients.rotate_secret(
            client_id=_client_id(request), signatory_id=member.signatory.id,
            actor=f"member:{member.id}",
        )  # fmt: skip
    except LookupError as exc:
        raise HTTPException(404, MSG_NO_CLIENT) from exc
    return await _page(request, member, shown_secret=credential)


async def revoke_client(request: Request) -> Response:
    member = await _dpo(request)
    try:
        await clients.revoke_client(
            client_id=_client_id(request), signatory_id=member.signatory.id,
            actor=f"member:{member.id}",
        )  # fmt: skip
    except DeskError as exc:
        raise HTTPException(404, exc.message) from exc
    return _done(request, N_("Client révoqué : ses secrets et ses jetons ne sont plus acceptés."))


async def revoke_secret(request: Request) -> Response:
    member = await _dpo(request)
    prefix = str(request.path_params["prefix"])
    if not PREFIX.fullmatch(prefix) or not await clients.revoke_secret(
        client_id=_client_id(request), prefix=prefix, signatory_id=member.signatory.id,
        actor=f"member:{member.id}",
    ):  # fmt: skip
        raise HTTPException(404, N_("Ce secret n'existe pas, ou il est déjà révoqué."))
    return _done(request, N_("Secret révoqué : les jetons obtenus avec lui ne sont plus acceptés."))


routes: list[BaseRoute] = [
    Route(PATH, connection_page, methods=["GET"], name="org:connection"),
    Route(f"{PATH}/identifiants", identifiers, methods=["POST"], name="org:identifiers"),
    Route(f"{PATH}/canal", channel, methods=["POST"], name="org:channel"),
    Route(f"{PATH}/clients", create_client, methods=["POST"], name="org:client_create"),
    Route(f"{PATH}/clients/{{client_id}}/secret", rotate, methods=["POST"], name="org:rotate"),
    Route(
        f"{PATH}/clients/{{client_id}}/revoquer",
        revoke_client,
        methods=["POST"],
        name="org:client_revoke",
    ),
    Route(
        f"{PATH}/clients/{{client_id}}/secrets/{{prefix}}/revoquer",
        revoke_secret,
        methods=["POST"],
        name="org:secret_revoke",
    ),
]
