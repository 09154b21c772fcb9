"""Staff accounts and their login by email link.

The link is the residents' (desk.identity.login_links: hashed, single use, 10 minutes, bound to
the browser that asked) but its challenge carries audience="staff": a staff link pasted on the
residents' login page is refused, and a resident link never opens the back office.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.identity import login_links
from desk.identity.login_links import LoginLinkError
from desk.identity.sessions import end_sessions
from desk.outbox.models import OutboxJob
from desk.residents.models import LoginChallenge
from desk.residents.services import normalise_email
from desk.runtime import Runtime
from desk.staff.models import StaffMember, StaffRole

log = logging.getLogger("desk.staff")

AUDIENCE = login_links.STAFF.audience
MAIL_JOB_KIND = login_links.STAFF.mail_job
MAIL_TEMPLATE = "staff_login_link"


def staff_login_path(token: str) -> str:
    return login_links.link_path(login_links.STAFF, token)


# --- login -------------------------------------------------------------------------------------


async def request_staff_login(
    *, email: str, browser: str, secret_key: str, now: datetime | None = None
) -> LoginChallenge | None:
    """A login challenge bound to this browser and its mail job, whoever the address is.

    The same work for every well-formed address (one challenge, one mail job, in one
    transaction), so neither the page nor its timing tells whether the address belongs to an
    active member: the worker looks the member up and mails only an active one
    (`send_staff_login_link`). None when the address asked for too many links recently: the
    caller shows the same page in every case.
    """
    address = normalise_email(email)
    challenge = await login_links.create_link(
        kind=login_links.STAFF, email=address, browser=browser, secret_key=secret_key, now=now
    )
    if challenge is None:
        log.info("staff login link throttled")
    return challenge


async def check_staff_login(*, token: str, browser: str | None, max_age: int) -> LoginChallenge:
    """The unused, unexpired staff challenge a link names, asked from this browser."""
    return await login_links.check_link(
        kind=login_links.STAFF, token=token, browser=browser, max_age=max_age
    )


async def confirm_staff_login(*, token: str, browser: str | None, max_age: int) -> StaffMember:
    """Use a staff link (once); the member must still be active when the link is used."""
    challenge = await check_staff_login(token=token, browser=browser, max_age=max_age)
    now = clock.now()
    async with in_transaction() as conn:
        email = await login_links.use_link(challenge, conn=conn)
        staff = await StaffMember.filter(email=email, active=True).using_db(conn).first()
        if staff is None:
            # Deactivated between the mail and the click.
            raise LoginLinkError("invalid")
        staff.last_login_at = now
        await staff.save(using_db=conn, update_fields=["last_login_at"])
        await record_action(
            action="staff.login",
            actor=f"staff:{staff.id}",
            detail={"method": "email"},
            connection=conn,
        )
    log.info("staff %s logged in", staff.id)
    return staff


async def get_active_staff(*, staff_id: int) -> StaffMember | None:
    return await StaffMember.filter(id=staff_id, active=True).first()


async def send_staff_login_link(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.staff_login"."""
    mailed = await login_links.link_to_mail(
        job,
        kind=login_links.STAFF,
        secret_key=rt.settings.secret_key,
        max_age=rt.settings.login_link_max_age,
    )
    if mailed is None:
        return
    if not await StaffMember.filter(email=mailed.email, active=True).exists():
        # Not a member, or deactivated meanwhile: no mail, and the job forgets the token.
        # The challenge (and its address) goes with the other old ones (`purge_challenges`).
        await login_links.forget_mailed_token(job)
        log.info("staff login link not sent: no active member (job %s)", job.id)
        return
    await rt.send_mail(
        to=mailed.email,
        template=MAIL_TEMPLATE,
        context={
            "link": rt.settings.url(mailed.url_path),
            "minutes": max(1, rt.settings.login_link_max_age // 60),
        },
        idempotency_key=job.idempotency_key,
    )
    await login_links.forget_mailed_token(job)
    log.info("staff login link sent (job %s)", job.id)


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
    """Create a staff account, or reactivate and update the one with this address."""
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
    await LoginChallenge.filter(email=address, audience=AUDIENCE, used_at__isnull=True).delete()
    return bool(updated)


__all__ = [
    "add_staff",
    "check_staff_login",
    "confirm_staff_login",
    "deactivate_staff",
    "get_active_staff",
    "parse_role",
    "request_staff_login",
    "send_staff_login_link",
    "staff_login_path",
]
