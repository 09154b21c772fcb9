"""A mediator's help point is a choice from the directory, and follows the directory's renames.

What is stored: the directory entry's NAME, on the staff account (`StaffMember.help_point`) and
on each mandate (`Mandate.help_point`), not the entry's id. Why names: a mandate, a filing and a
downloaded copy keep the help point *as it was then* (a dated proof printed on letters), accounts
created before the directory existed hold free text that matches no entry and must keep working,
and the shared view (desk.mediation.shared) compares the two texts. So instead of a migration to
ids, two rules keep the names exact:

- an account's help point can only be set to the name of a PUBLISHED entry (`checked_name`);
- renaming an entry (desk.helppoints.services.update_help_point) carries the new name over to
  the staff accounts and the LIVE mandates (not revoked, not expired) that named the old one, in
  the same transaction (`carry_rename`; the mandates' part is registered by
  desk.mediation.shared through `follow_renames`). Revoked or expired mandates, filings, copies
  and the contacts' "file created at" keep the old name: they record what was true that day.

An old free-text value that names no published entry keeps working (the shared view still pairs
the account with the mandates given under it); `accounts` flags it for the staff's list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.helppoints.models import HelpPoint
from desk.staff.models import StaffMember, StaffRole

log = logging.getLogger("desk.helppoints")

# Who else names a help point and follows its renames: (old, new, now, connection) → rows
# changed. desk.mediation.shared registers the live mandates' (mediation sits above the
# directory: importing it from here would close a cycle between the two packages).
RenameFollower = Callable[[str, str, datetime, BaseDBAsyncClient], Awaitable[int]]
RENAME_FOLLOWERS: dict[str, RenameFollower] = {}

# The directory's and the accounts' column width (desk.helppoints.models, desk.staff.models).
NAME_MAX = 200

STAFF_NOT_FOUND = N_("Ce compte de l'équipe est introuvable.")
UNKNOWN = N_(
    "Ce point d'aide n'est pas dans l'annuaire : choisissez un point d'aide publié dans la "
    "liste, ou ajoutez-le d'abord à l'annuaire (back office, « Annuaire des points d'aide »)."
)
# For the `desk staff` command: where to add a point, in words a person at a terminal can follow.
HOW_TO_ADD = N_(
    "Pour ajouter un point d'aide : back office → « Annuaire des points d'aide » → « Ajouter un "
    "point d'aide » (/back-office/points-d-aide/nouveau), puis relancez la commande avec son nom "
    "exact."
)


async def published_names() -> list[str]:
    """The names a mediator's help point may take, by town then name."""
    points = await HelpPoint.filter(published=True).order_by("city", "name", "id")
    return [p.name for p in points]


async def checked_name(raw: str) -> str:
    """`raw` as the exact name of a published entry, "" for none; DeskError (422) otherwise."""
    name = " ".join(raw.split())
    if not name:
        return ""
    # No entry's name is longer than the column (and the ORM refuses to compare a longer one).
    if len(name) > NAME_MAX or not await HelpPoint.filter(name=name, published=True).exists():
        raise DeskError(UNKNOWN, code="invalid")
    return name


def follow_renames(name: str, follower: RenameFollower) -> None:
    """Register `follower` (once per `name`) to run inside every rename's transaction."""
    RENAME_FOLLOWERS[name] = follower


async def carry_rename(
    *, old: str, new: str, now: datetime, connection: BaseDBAsyncClient
) -> dict[str, int]:
    """Give the new name to the accounts, and to what followers keep, that named the old one."""
    if not old or old == new:
        return {}
    carried = {
        "staff": await StaffMember.filter(help_point=old)
        .using_db(connection)
        .update(help_point=new)
    }
    for name, follower in sorted(RENAME_FOLLOWERS.items()):
        carried[name] = await follower(old, new, now, connection)
    return carried


async def set_help_point(*, staff_id: int, help_point: str, actor: str) -> StaffMember:
    """An administrator chooses a mediator's help point from the directory ("" for none)."""
    name = await checked_name(help_point)
    async with in_transaction() as conn:
        updated = await StaffMember.filter(id=staff_id).using_db(conn).update(help_point=name)
        member = await StaffMember.filter(id=staff_id).using_db(conn).first()
        if not updated or member is None:
            raise DeskError(STAFF_NOT_FOUND, code="not_found")
        await record_action(
            action="staff.help_point", actor=actor, subject=f"staff:{member.id}",
            detail={"listed": bool(name)}, connection=conn,
        )  # fmt: skip
    log.info("staff %s help point set by %s", member.id, actor)
    return member


@dataclass(frozen=True)
class MediatorPlace:
    staff: StaffMember
    # False when the account's help point names no published entry of the directory.
    listed: bool


async def accounts() -> list[MediatorPlace]:
    """Active mediators and their help point, those absent from the directory first."""
    names = set(await published_names())
    members = await StaffMember.filter(active=True, role=StaffRole.MEDIATOR).order_by(
        "display_name", "id"
    )
    places = [MediatorPlace(staff=m, listed=m.help_point in names) for m in members]
    return sorted(places, key=lambda p: p.listed)


async def is_listed(name: str) -> bool:
    """Whether a help point's name is a published entry of the directory."""
    if not name or len(name) > NAME_MAX:
        return False
    return await HelpPoint.filter(name=name, published=True).exists()
