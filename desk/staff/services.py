"""Staff accounts and their login by email link.

The login is the one flow of desk.identity.login (hashed, single use, 10 minutes, bound to the
browser that asked) with the staff's `AUDIENCE`: its challenges carry audience="staff", so a
staff link pasted on the residents' login page is refused, and a resident link never opens the
back office.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from desk.audit.log import record_action
from desk.core.emails import normalise_email
from desk.core.errors import DeskError
from desk.identity import login_links
from desk.identity.login import Audience, mail_batch_handler, mail_handler
from desk.identity.models import LoginChallenge
from desk.identity.sessions import end_sessions
from desk.staff.models import StaffMember, StaffRole

log = logging.getLogger("desk.staff")

MAIL_TEMPLATE = "staff_login_link"


def staff_login_path(token: str) -> str:
    return login_links.link_path(login_links.STAFF, token)


# --- login (the one flow of desk.identity.login) -------------------------------------------------


async def _active_member(email: str, conn: BaseDBAsyncClient, now: datetime) -> StaffMember | None:
    """The member must still be active when the link is used."""
    staff = await StaffMember.filter(email=email, active=True).using_db(conn).first()
    if staff is not None:
        staff.last_login_at = now
        await staff.save(using_db=conn, update_fields=["last_login_at"])
    return staff


async def _mail_if_active(emails: Sequence[str]) -> dict[str, dict[str, Any]]:
    # Not a member, or deactivated meanwhile: no mail (the page said the same to everyone).
    active = await StaffMember.filter(email__in=list(emails), active=True).values_list(
        "email", flat=True
    )
    return {str(email): {} for email in active}


# Asking does the same work for every well-formed address (one challenge, one mail job), so
# neither the page nor its timing tells whether it belongs to an active member: the worker
# looks the member up and mails only an active one.
AUDIENCE: Audience[StaffMember] = Audience(
    link=login_links.STAFF,
    person=_active_member,
    actor=lambda staff: f"staff:{staff.id}",
    login_action="staff.login",
    login_detail={"method": "email"},
    mail_template=MAIL_TEMPLATE,
    mail_contexts=_mail_if_active,
)
MAIL_JOB_KIND = login_links.STAFF.mail_job
# Outbox handler for "mail.staff_login".
send_staff_login_link = mail_handler(AUDIENCE)
send_staff_login_links = mail_batch_handler(AUDIENCE)


async def get_active_staff(*, staff_id: int) -> StaffMember | None:
    return await StaffMember.filter(id=staff_id, active=True).first()


# --- accounts (the `desk staff` command) ---------------------------------------------------------


def parse_role(raw: str | StaffRole) -> StaffRole:
    try:
        return StaffRole(str(raw).strip())
    except ValueError as exc:
        raise DeskError(
            "Rôle inconnu : choisissez back_office (back office), mediator (médiation), "
            "committee (comité d'éthique), register (registre des signataires) ou admin "
            "(administration)."
        ) from exc


async def add_staff(
    *, email: str, display_name: str, role: str | StaffRole, help_point: str = ""
) -> StaffMember:
    """Create a staff account, or reactivate and update the one with this address.

    `help_point` is a published directory entry's exact name, checked by the caller with
    desk.helppoints.assignment.checked_name (the directory sits above the staff accounts).
    """
    address = normalise_email(email)
    name = display_name.strip()
    if not name:
        raise DeskError("Indiquez le nom de la personne.")
    staff_role = parse_role(role)
    values: dict[str, Any] = {
        "display_name": name[:200],
        "role": staff_role,
        "help_point": help_point.strip()[:200],
        "active": True,
    }
    existing = await StaffMember.filter(email=address).first()
    if existing is not None:
        was_active = existing.active
        await StaffMember.filter(id=existing.id).update(**values)
        await existing.refresh_from_db()
        await record_action(
            action="staff.update" if was_active else "staff.reactivate",
            actor="system",
            subject=f"staff:{existing.id}",
            detail={"role": staff_role.value},
        )
        log.info("staff %s updated", existing.id)
        return existing
    try:
        staff = await StaffMember.create(email=address, **values)
    except IntegrityError:
        # Created concurrently: update that one.
        return await add_staff(
            email=address, display_name=name, role=staff_role, help_point=help_point
        )
    await record_action(
        action="staff.add",
        actor="system",
        subject=f"staff:{staff.id}",
        detail={"role": staff_role.value},
    )
    log.info("staff %s created (%s)", staff.id, staff_role.value)
    return staff


async def deactivate_staff(*, email: str) -> bool:
    """Close a staff account (kept for the audit trail); False when no active account matched."""
    address = normalise_email(email)
    members = await StaffMember.filter(email=address, active=True)
    staff_ids = [member.id for member in members]
    updated = await StaffMember.filter(id__in=staff_ids, active=True).update(active=False)
    for staff_id in staff_ids:
        # Desks where the member is logged in are closed now, not when their sessions expire.
        ended = await end_sessions(staff_id=staff_id)
        await record_action(
            action="staff.deactivate",
            actor="system",
            subject=f"staff:{staff_id}",
            detail={"sessions_ended": ended},
        )
    # Unused links of that address die with the account.
    await LoginChallenge.filter(
        email=address, audience=AUDIENCE.name, used_at__isnull=True
    ).delete()
    return bool(updated)


__all__ = [
    "AUDIENCE",
    "MAIL_JOB_KIND",
    "add_staff",
    "deactivate_staff",
    "get_active_staff",
    "parse_role",
    "send_staff_login_link",
    "send_staff_login_links",
    "staff_login_path",
]
