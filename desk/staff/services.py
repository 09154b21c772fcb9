"""Staff accounts and their login by email link.

The link works like the residents' (single use, 10 minutes, itsdangerous) but is signed with
its own salt and its challenge carries audience="staff": a staff link pasted on the residents'
login page is refused, and a resident link never opens the back office.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk import clock
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.requests.errors import RequestError
from desk.residents.models import LoginChallenge
from desk.residents.services import (
    THROTTLE_MAX,
    THROTTLE_WINDOW,
    LoginLinkError,
    login_token,
    normalise_email,
    read_login_token,
)
from desk.runtime import Runtime
from desk.staff.models import StaffMember, StaffRole

log = logging.getLogger("desk.staff")

STAFF_LOGIN_SALT = "desk.staff-login"
AUDIENCE = "staff"
MAIL_JOB_KIND = "mail.staff_login"
MAIL_TEMPLATE = "staff_login_link"


# --- tokens ------------------------------------------------------------------------------------


def staff_login_token(secret: str, challenge_id: str) -> str:
    return login_token(secret, challenge_id, salt=STAFF_LOGIN_SALT)


def staff_login_path(token: str) -> str:
    return f"/equipe/connexion/{token}"


def read_staff_login_token(secret: str, token: str, *, max_age: int) -> str:
    """The challenge id a staff token names, or LoginLinkError("expired" | "invalid")."""
    return read_login_token(secret, token, max_age=max_age, salt=STAFF_LOGIN_SALT)


# --- login -------------------------------------------------------------------------------------


async def request_staff_login(*, email: str, now: datetime | None = None) -> LoginChallenge | None:
    """A login challenge and its mail job, for an active staff member only.

    Returns None for an unknown or inactive address, or when too many links were asked for
    recently: the caller shows the same page in every case.
    """
    address = normalise_email(email)
    moment = now or clock.now()
    staff = await StaffMember.filter(email=address, active=True).first()
    if staff is None:
        return None
    recent = await LoginChallenge.filter(
        email=address, audience=AUDIENCE, created_at__gte=moment - THROTTLE_WINDOW
    ).count()
    if recent >= THROTTLE_MAX:
        log.info("staff login link throttled for staff %s", staff.id)
        return None
    challenge_id = secrets.token_urlsafe(32)
    async with in_transaction() as conn:
        challenge = await LoginChallenge.create(
            id=challenge_id, email=address, audience=AUDIENCE, using_db=conn
        )
        await enqueue(
            kind=MAIL_JOB_KIND,
            payload={"challenge_id": challenge_id},
            idempotency_key=f"staff-login-{challenge_id}",
            connection=conn,
        )
    return challenge


async def check_staff_login(*, secret: str, token: str, max_age: int) -> LoginChallenge:
    """The unused, unexpired staff challenge a link names, or LoginLinkError."""
    challenge_id = read_staff_login_token(secret, token, max_age=max_age)
    challenge = await LoginChallenge.filter(id=challenge_id, audience=AUDIENCE).first()
    if challenge is None:
        raise LoginLinkError("invalid")
    if challenge.used_at is not None:
        raise LoginLinkError("used")
    if challenge.created_at < clock.now() - timedelta(seconds=max_age):
        raise LoginLinkError("expired")
    return challenge


async def confirm_staff_login(*, secret: str, token: str, max_age: int) -> StaffMember:
    """Use a staff link (once); the member must still be active when the link is used."""
    challenge = await check_staff_login(secret=secret, token=token, max_age=max_age)
    email = challenge.email
    now = clock.now()
    async with in_transaction() as conn:
        won = (
            await LoginChallenge.filter(id=challenge.id, used_at__isnull=True, audience=AUDIENCE)
            .using_db(conn)
            .update(used_at=now, email=None)
        )
        if not won or not email:
            raise LoginLinkError("used")
        staff = await StaffMember.filter(email=email, active=True).using_db(conn).first()
        if staff is None:
            # Deactivated between the mail and the click.
            raise LoginLinkError("invalid")
        staff.last_login_at = now
        await staff.save(using_db=conn, update_fields=["last_login_at"])
    log.info("staff %s logged in", staff.id)
    return staff


async def get_active_staff(*, staff_id: int) -> StaffMember | None:
    return await StaffMember.filter(id=staff_id, active=True).first()


async def send_staff_login_link(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.staff_login"."""
    challenge = await LoginChallenge.filter(
        id=str(job.payload.get("challenge_id", "")), audience=AUDIENCE
    ).first()
    max_age = rt.settings.login_link_max_age
    if challenge is None or challenge.used_at is not None or not challenge.email:
        return
    if challenge.created_at < clock.now() - timedelta(seconds=max_age):
        return  # the worker was late: a dead link helps nobody
    if not await StaffMember.filter(email=challenge.email, active=True).exists():
        return  # deactivated meanwhile
    token = staff_login_token(rt.settings.secret_key, challenge.id)
    await rt.send_mail(
        to=challenge.email,
        template=MAIL_TEMPLATE,
        context={
            "link": rt.settings.url(staff_login_path(token)),
            "minutes": max(1, max_age // 60),
        },
        idempotency_key=job.idempotency_key,
    )
    log.info("staff login link sent (job %s)", job.id)


# --- accounts (the `desk staff` command) ---------------------------------------------------------


def parse_role(raw: str | StaffRole) -> StaffRole:
    try:
        return StaffRole(str(raw).strip())
    except ValueError as exc:
        raise RequestError(
            "Rôle inconnu : choisissez back_office (back office), mediator (médiation), "
            "committee (comité d'éthique) ou admin (administration)."
        ) from exc


async def add_staff(
    *, email: str, display_name: str, role: str | StaffRole, help_point: str = ""
) -> StaffMember:
    """Create a staff account, or reactivate and update the one with this address."""
    address = normalise_email(email)
    name = display_name.strip()
    if not name:
        raise RequestError("Indiquez le nom de la personne.")
    staff_role = parse_role(role)
    values: dict[str, Any] = {
        "display_name": name[:200],
        "role": staff_role,
        "help_point": help_point.strip()[:200],
        "active": True,
    }
    existing = await StaffMember.filter(email=address).first()
    if existing is not None:
        await StaffMember.filter(id=existing.id).update(**values)
        await existing.refresh_from_db()
        log.info("staff %s updated", existing.id)
        return existing
    try:
        staff = await StaffMember.create(email=address, **values)
    except IntegrityError:
        # Created concurrently: update that one.
        return await add_staff(
            email=address, display_name=name, role=staff_role, help_point=help_point
        )
    log.info("staff %s created (%s)", staff.id, staff_role.value)
    return staff


async def deactivate_staff(*, email: str) -> bool:
    """Close a staff account (kept for the audit trail); False when no active account matched."""
    address = normalise_email(email)
    updated = await StaffMember.filter(email=address, active=True).update(active=False)
    # Unused links of that address die with the account.
    await LoginChallenge.filter(email=address, audience=AUDIENCE, used_at__isnull=True).delete()
    return bool(updated)


__all__ = [
    "STAFF_LOGIN_SALT",
    "add_staff",
    "check_staff_login",
    "confirm_staff_login",
    "deactivate_staff",
    "get_active_staff",
    "parse_role",
    "read_staff_login_token",
    "request_staff_login",
    "send_staff_login_link",
    "staff_login_path",
    "staff_login_token",
]
