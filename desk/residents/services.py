"""Residents: filing and withdrawing their requests, one-time downloads.

Their login by email link is the one flow of desk.identity.login (the resident's audience:
desk.residents.login); the address checks live in desk.core.emails.

Plain keyword-only async functions; no HTTP objects. Errors carry a French message.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core.emails import InvalidEmail, normalise_email
from desk.core.errors import DeskError
from desk.db_rows import placeholder
from desk.identity import login_links
from desk.identity.login import Audience
from desk.identity.login_links import THROTTLE_MAX, THROTTLE_WINDOW, LoginLinkError
from desk.receipts.keys import Keyring
from desk.registry.models import CharterStatus, Signatory
from desk.requests import queries, transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.requests.transitions import AlreadyAnswered
from desk.residents import copies
from desk.residents.models import Resident
from desk.residents.standing import Standing, Status, standings
from desk.retention import rules as retention

log = logging.getLogger("desk.residents")

SUBMISSION_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


# --- login (the one flow of desk.identity.login) ------------------------------------------------


def login_path(token: str) -> str:
    return login_links.link_path(login_links.RESIDENT, token)


async def _resident_for(email: str, conn: BaseDBAsyncClient, now: datetime) -> Resident:
    """The resident an address names, their account created at their first login."""
    resident = await Resident.filter(email=email).using_db(conn).first()
    if resident is None:
        resident = await Resident.create(
            email=email, pseudonym=secrets.token_hex(16), last_login_at=now, using_db=conn
        )
        log.info("resident %s created", resident.id)
        return resident
    resident.last_login_at = now
    await resident.save(using_db=conn, update_fields=["last_login_at"])
    return resident


async def _mail_anyone(emails: Sequence[str]) -> dict[str, dict[str, Any]]:
    # Everyone gets a link: following it opens the account, or creates it.
    return {email: {} for email in emails}


AUDIENCE: Audience[Resident] = Audience(
    link=login_links.RESIDENT,
    person=_resident_for,
    actor=lambda resident: f"resident:{resident.id}",
    login_action="resident.login",
    login_detail={"method": "email"},
    mail_template="login_link",
    mail_contexts=_mail_anyone,
    mail_in_reader_locale=True,
)


async def get_resident(*, resident_id: int) -> Resident | None:
    return await Resident.filter(id=resident_id).first()


async def purge_expired(*, now: datetime, login_max_age: int = 600) -> tuple[int, int]:
    """Delete old login challenges and the content of expired access copies.

    Returns (challenges deleted, copies emptied). Cheap enough to run on every login.
    """
    challenges = await login_links.purge_challenges(now=now, max_age=login_max_age)
    # The rule (7 days at most) lives with the other retention rules.
    copies = await retention.purge_access_copies(now=now)
    return challenges, copies


# --- requests ----------------------------------------------------------------------------------


def parse_kind(raw: str | None) -> RequestKind:
    value = (raw or "").strip()
    try:
        return RequestKind(value)
    except ValueError as exc:
        raise DeskError(
            "Type de demande inconnu : choisissez savoir qui détient vos données, obtenir une "
            "copie, supprimer vos données ou vous opposer à leur utilisation."
        ) from exc


def check_submission_key(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if not SUBMISSION_KEY_RE.match(raw):
        raise DeskError("Le formulaire est incomplet. Rechargez la page et recommencez.")
    return raw


async def signatory_ids_for(slugs: list[str]) -> list[int] | None:
    """Ids of the named signatories (None when no name was given: every signatory)."""
    wanted = sorted({s.strip() for s in slugs if s.strip()})
    if not wanted:
        return None
    # Hand-written: the query set built its SQL with pypika at every filing (a sixth of a
    # filing's CPU on PostgreSQL to 40 signatories, bench/concurrent_load.py).
    slug_field = Signatory._meta.fields_map["slug"]
    for slug in wanted:
        # What the query set checked: a name longer than the column is a clear 422.
        slug_field.validate(slug)
    db = Signatory._choose_db()
    column = Signatory._meta.fields_db_projection
    marks = ",".join(placeholder(db, n + 2) for n in range(len(wanted)))
    sql = (
        f'SELECT "{column["slug"]}","{column["id"]}" FROM "{Signatory._meta.db_table}" '
        f'WHERE "{column["charter_status"]}"={placeholder(db, 1)} '
        f'AND "{column["slug"]}" IN ({marks})'
    )
    _, found = await db.execute_query(sql, [CharterStatus.SIGNED.value, *wanted])
    by_slug = {str(row[0]): int(row[1]) for row in found}
    if len(by_slug) != len(wanted):
        raise DeskError(
            "Un des organismes choisis n'est pas (ou plus) signataire de la charte. "
            "Revenez à votre espace et choisissez à nouveau."
        )
    return [by_slug[s] for s in wanted]


async def file_for_resident(
    *,
    resident_id: int,
    kind: RequestKind,
    signatory_slugs: list[str],
    submission_key: str | None,
    auth_method: object = "email",
) -> RightsRequest:
    ids = await signatory_ids_for(signatory_slugs)
    # What partners are told about the filer's identity: how this session was opened.
    assurance = "franceconnect" if auth_method == "franceconnect" else "email"
    request = await file_request(
        resident_id=resident_id,
        kind=kind,
        signatory_ids=ids,
        submission_key=submission_key,
        assurance=assurance,
        signatories_checked=ids is not None,
    )
    log.info("resident %s filed request %s (%s)", resident_id, request.id, kind.value)
    return request


async def resident_standings(*, resident_id: int) -> dict[int, Standing]:
    """signatory id → what it last said about this resident (two queries)."""
    deliveries = await Delivery.filter(request__resident_id=resident_id).select_related("request")
    return standings(deliveries)


@dataclass(frozen=True)
class PlanEntry:
    signatory: Signatory
    standing: Standing
    # The receipt of the answer that says so (erased, nothing held), to link to it.
    receipt_id: str | None = None


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure confirmation page names: who will be asked, who is left out and why."""

    # Will be asked: said they hold data, then those that may (not answered, not asked).
    holders: list[PlanEntry]
    unanswered: list[PlanEntry]
    # Left out: said they hold nothing; already erased; an erasure already awaited.
    nothing: list[PlanEntry]
    erased: list[PlanEntry]
    erasing: list[PlanEntry]
    everyone: bool
    # Whether the resident ever asked who holds their data (the page says so when not).
    discovered: bool

    @property
    def signatories(self) -> list[Signatory]:
        return [e.signatory for e in self.holders + self.unanswered]


async def erasure_plan(*, resident_id: int, slug: str | None, all_holders: bool) -> ErasurePlan:
    """Erase everywhere means every signatory that holds or may hold data about the resident:
    those that said yes and those that have not answered (or were never asked); those that
    said "nothing held", already erased, or are answering an erasure are left out and named."""
    known = await resident_standings(resident_id=resident_id)
    if all_holders:
        signed = list(
            await Signatory.filter(charter_status=CharterStatus.SIGNED).order_by("name", "id")
        )
    else:
        wanted = (slug or "").strip()
        # A slug is 64 characters at most: a longer one names nobody (the ORM refuses to
        # compare it).
        one = (
            await Signatory.filter(slug=wanted, charter_status=CharterStatus.SIGNED).first()
            if 0 < len(wanted) <= 64
            else None
        )
        if one is None:
            raise DeskError("Ce signataire est introuvable.", code="not_found")
        signed = [one]
    answered = [s.delivery.id for s in known.values() if s.delivery is not None]
    receipts = await queries.receipts_for(delivery_ids=answered)
    groups: dict[str, list[PlanEntry]] = {
        "holders": [], "unanswered": [], "nothing": [], "erased": [], "erasing": []
    }  # fmt: skip
    for signatory in signed:
        st = known.get(signatory.id, Standing(Status.NOT_ASKED))
        receipt = receipts.get(st.delivery.id) if st.delivery is not None else None
        entry = PlanEntry(signatory, st, receipt.id if receipt else None)
        if st.status == Status.HOLDS or not all_holders:
            # One signatory named by the resident: asked whatever it said before.
            groups["holders"].append(entry)
        elif st.may_hold:
            groups["unanswered"].append(entry)
        elif st.status == Status.NOTHING:
            groups["nothing"].append(entry)
        elif st.status == Status.ERASING:
            groups["erasing"].append(entry)
        else:
            groups["erased"].append(entry)
    discovered = await RightsRequest.filter(
        resident_id=resident_id, kind=RequestKind.DISCOVERY
    ).exists()
    return ErasurePlan(everyone=all_holders, discovered=discovered, **groups)


async def withdraw(
    *,
    resident_id: int,
    reference: str,
    delivery_id: int,
    keyring: Keyring,
    issuer: str,
    actor: str = "resident",
) -> Delivery:
    """The resident withdraws one delivery of their own request, before it is answered.

    A mediator withdrawing it for them (at the help point, under their mandate) passes its own
    actor, so the delivery's history names who really did it."""
    owned = await Delivery.filter(
        id=delivery_id, request__reference=reference, request__resident_id=resident_id
    ).exists()
    if not owned:
        raise DeskError("Cette demande est introuvable.", code="not_found")
    try:
        return await transitions.withdraw(delivery_id=delivery_id, actor=actor)
    except AlreadyAnswered as exc:
        raise DeskError(
            "Cette demande ne peut plus être retirée : l'organisme y a déjà répondu, "
            "ou vous l'avez déjà retirée.",
            code="conflict",
        ) from exc


# --- access copies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    content: bytes


async def check_own_request(
    *, resident_id: int, reference: str, delivery_id: int | None = None
) -> None:
    """Someone else's request (or delivery) is "not found", checked before any form field is
    judged, so a stranger learns nothing from the answer."""
    query = (
        Delivery.filter(id=delivery_id, request__reference=reference).filter(
            request__resident_id=resident_id
        )
        if delivery_id is not None
        else RightsRequest.filter(reference=reference, resident_id=resident_id)
    )
    if not await query.exists():
        raise DeskError("Cette demande est introuvable.", code="not_found")


async def take_copy(*, resident_id: int, copy_id: str, now: datetime | None = None) -> Download:
    """Hand over an access copy once, then forget its content (a mediator at the help point).

    Another resident's copy is "not found" (no hint that it exists); a used or expired one is
    gone. The resident's own pages give a short retry window to their browser (copies.take).
    """
    taken = await copies.take(resident_id=resident_id, copy_id=copy_id, key=None, now=now)
    return Download(filename=taken.filename, content_type=taken.content_type, content=taken.content)


def new_submission_key() -> str:
    """A fresh key for one form, so a double click on it files one request."""
    return secrets.token_urlsafe(16)


__all__ = [
    "AUDIENCE",
    "Download",
    "ErasurePlan",
    "PlanEntry",
    "InvalidEmail",
    "LoginLinkError",
    "check_submission_key",
    "erasure_plan",
    "file_for_resident",
    "get_resident",
    "THROTTLE_MAX",
    "THROTTLE_WINDOW",
    "login_path",
    "new_submission_key",
    "normalise_email",
    "parse_kind",
    "purge_expired",
    "resident_standings",
    "take_copy",
    "withdraw",
]
