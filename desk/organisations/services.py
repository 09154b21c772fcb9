"""The people of a signatory's space: its DPO, made when the team accepts an application, the
colleagues the DPO invites, and their login by email link.

Accepting an application makes the signatory (desk.registry.joining) and its DPO's account in
one transaction: the DPO can log in at /organisation as soon as the acceptance mail arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter import selfeval
from desk.core import clock
from desk.core.emails import normalise_email
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.identity import login_links
from desk.identity.login import Audience, mail_batch_handler, mail_handler
from desk.organisations.models import MemberRole, OrganisationMember
from desk.registry import joining
from desk.registry.models import CharterApplication, Signatory


async def accept_application(
    *, application_id: int, reason: str, actor: str
) -> tuple[CharterApplication, Signatory]:
    """The applicant becomes a candidate on the register, and its DPO a member of its space."""
    async with in_transaction() as conn:
        application, signatory = await joining.accept(
            application_id=application_id, reason=reason, actor=actor, connection=conn
        )
        await add_dpo(signatory=signatory, display_name=signatory.dpo_name, actor=actor,
                      connection=conn)  # fmt: skip
    return application, signatory


async def add_dpo(
    *, signatory: Signatory, display_name: str, actor: str, connection: BaseDBAsyncClient
) -> OrganisationMember | None:
    """The signatory's DPO as the first member of its space, logging in with the register's
    DPO address (in the caller's transaction). One address opens one space: a DPO already
    serving another organisation keeps it (None), and the team invites this one's DPO under
    another address."""
    if await OrganisationMember.filter(email=signatory.dpo_email).using_db(connection).exists():
        return None
    member = await OrganisationMember.create(
        signatory=signatory,
        email=signatory.dpo_email,
        display_name=display_name[:200],
        role=MemberRole.DPO,
        using_db=connection,
    )
    await record_action(
        action="organisation.member_added",
        actor=actor,
        subject=f"member:{member.id}",
        detail={"signatory": signatory.id, "role": MemberRole.DPO.value},
        connection=connection,
    )
    return member


# --- login by email link (the one flow of desk.identity.login, audience "organisation") --------


async def _active_member(
    email: str, conn: BaseDBAsyncClient, now: datetime
) -> OrganisationMember | None:
    member = await OrganisationMember.filter(email=email, active=True).using_db(conn).first()
    if member is not None:
        member.last_login_at = now
        await member.save(using_db=conn, update_fields=["last_login_at"])
    return member


async def _mail_if_active(emails: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The mail names the organisation; nobody active at an address gets no mail."""
    active = await OrganisationMember.filter(email__in=list(emails), active=True).values_list(
        "email", "signatory__name"
    )
    return {str(email): {"organisation": name} for email, name in active}


# The same work for every address when asking (no enumeration): the worker mails only an
# active member.
AUDIENCE: Audience[OrganisationMember] = Audience(
    link=login_links.ORGANISATION,
    person=_active_member,
    actor=lambda member: f"member:{member.id}",
    login_action="organisation.login",
    mail_template="organisation_login_link",
    mail_contexts=_mail_if_active,
)
# Outbox handler for "mail.organisation_login".
send_member_login_link = mail_handler(AUDIENCE)
send_member_login_links = mail_batch_handler(AUDIENCE)


# --- people -------------------------------------------------------------------------------------

MSG_NAME = N_("Indiquez le nom de la personne.")
MSG_TAKEN = N_(
    "Cette adresse a déjà un accès à l'espace d'une organisation : une adresse ne sert "
    "qu'à une organisation."
)
MSG_ROLE = N_("Choisissez le rôle : DPO ou rédacteur.")


async def list_members(*, signatory_id: int) -> list[OrganisationMember]:
    return list(
        await OrganisationMember.filter(signatory_id=signatory_id).order_by("-active", "email")
    )


async def invite_member(
    *, inviter: OrganisationMember, email: str, display_name: str, role: str
) -> OrganisationMember:
    """The DPO gives a colleague access to the organisation's space (they log in by link)."""
    address = normalise_email(email)
    name = " ".join(display_name.split())
    if not name or len(name) > 200:
        raise DeskError(MSG_NAME)
    try:
        member_role = MemberRole(role)
    except ValueError as exc:
        raise DeskError(MSG_ROLE) from exc
    async with in_transaction() as conn:
        existing = await OrganisationMember.filter(email=address).using_db(conn).first()
        if existing is not None and existing.signatory_id != inviter.signatory_id:  # type: ignore[attr-defined]
            raise DeskError(MSG_TAKEN, code="conflict")
        if existing is not None:
            existing.active = True
            existing.role = member_role
            existing.display_name = name
            await existing.save(using_db=conn, update_fields=["active", "role", "display_name"])
            member = existing
        else:
            member = await OrganisationMember.create(
                signatory_id=inviter.signatory_id,  # type: ignore[attr-defined]
                email=address,
                display_name=name,
                role=member_role,
                using_db=conn,
            )
        await record_action(
            action="organisation.member_invited",
            actor=f"member:{inviter.id}",
            subject=f"member:{member.id}",
            detail={"role": member_role.value},
            connection=conn,
        )
    return member


async def remove_member(*, remover: OrganisationMember, member_id: int) -> None:
    """Close a colleague's access (kept for the audit trail). A DPO cannot remove themselves,
    so an organisation never locks itself out."""
    async with in_transaction() as conn:
        member = (
            await OrganisationMember.filter(
                id=member_id,
                signatory_id=remover.signatory_id,  # type: ignore[attr-defined]
                active=True,
            )
            .using_db(conn)
            .first()
        )
        if member is None or member.id == remover.id:
            raise DeskError(N_("Cette personne n'a pas d'accès actif à retirer."), code="not_found")
        await OrganisationMember.filter(id=member.id).using_db(conn).update(active=False)
        await record_action(
            action="organisation.member_removed",
            actor=f"member:{remover.id}",
            subject=f"member:{member.id}",
            connection=conn,
        )


# --- self-evaluations from the space -------------------------------------------------------------


async def file_self_evaluation(
    *, member: OrganisationMember, answers: dict[str, dict[str, str]]
) -> None:
    """This year's self-evaluation, through the same function as the emailed charter link
    (desk.charter.selfeval.submit), audited with the member who filed it."""
    now = clock.now()
    year = clock.local(now).year
    row, created = await selfeval.submit(
        signatory_id=member.signatory_id,  # type: ignore[attr-defined]
        year=year,
        answers=answers,
        now=now,
    )
    await record_action(
        action="charter.self_evaluation_filed",
        actor=f"member:{member.id}",
        subject=f"self_evaluation:{row.id}",
        detail={"year": year, "replaced": not created},
    )
