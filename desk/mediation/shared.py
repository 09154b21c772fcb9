"""A help point's shared view: the people its mediators follow there, for every one of them.

The mandate rules do not change: a person is listed only while a live mandate given AT THIS HELP
POINT covers them (not revoked, not expired, consent given when needed). A revoked or expired
mandate drops the person from the view; a mediator of another help point sees nothing of them;
a mediator whose account names no help point shares nothing. The account's help point is a
directory entry's name (desk.helppoints.assignment keeps accounts and live mandates in step
when the entry is renamed), so mandates given there pair with it exactly. The view reads: who
the person is, who holds the mandate until when, their requests' progress and the news still to
tell. Filing, letters and copies stay with the mediator who holds the mandate
(desk.mediation.access).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core import clock
from desk.helppoints.assignment import follow_renames, is_listed
from desk.mediation.access import audit
from desk.mediation.followup import FollowedResident, changes_of
from desk.mediation.models import EFFECTIVE_CONSENTS, Mandate, ResidentContact
from desk.requests import queries
from desk.residents.models import Resident
from desk.staff.models import StaffMember


async def _carry_to_live_mandates(
    old: str, new: str, now: datetime, connection: BaseDBAsyncClient
) -> int:
    """A renamed help point: live mandates given there take the new name, so the view still
    pairs them with the accounts (renamed in the same transaction). Ended ones keep theirs."""
    return (
        await Mandate.filter(help_point=old, revoked_at__isnull=True, valid_until__gt=now)
        .using_db(connection)
        .update(help_point=new)
    )


# The directory sits below mediation: it calls this in every rename's transaction.
follow_renames("mandates", _carry_to_live_mandates)


@dataclass
class SharedResident:
    followed: FollowedResident
    # Display names of the mediators holding a live mandate here, the viewer's own flagged.
    holders: list[str]
    mine: bool


@dataclass
class HelpPointView:
    help_point: str
    # False when the account's help point (old free text) names no published directory entry:
    # the view still works, the page asks for an administrator to choose the entry.
    listed: bool = True
    residents: list[SharedResident] = field(default_factory=list)

    @property
    def colleagues_count(self) -> int:
        return len({h for r in self.residents for h in r.holders})


async def help_point_view(*, mediator: StaffMember) -> HelpPointView:
    """Everyone followed at this mediator's help point, under a live mandate given there."""
    place = mediator.help_point.strip()
    view = HelpPointView(help_point=place, listed=await is_listed(place))
    if not place:
        await audit(mediator, "view_help_point", outcome="refused", detail={"code": "no_place"})
        return view
    mandates = (
        await Mandate.filter(
            help_point=place,
            valid_until__gt=clock.now(),
            revoked_at__isnull=True,
            session__consent__in=list(EFFECTIVE_CONSENTS),
        )
        .order_by("-created_at", "-id")
        .select_related("mediator")
    )
    latest: dict[int, Mandate] = {}
    holders: dict[int, dict[str, None]] = {}
    mine: set[int] = set()
    for m in mandates:
        rid: int = m.resident_id  # type: ignore[attr-defined]
        latest.setdefault(rid, m)
        holders.setdefault(rid, {})[m.mediator.display_name] = None
        if m.mediator.id == mediator.id:
            mine.add(rid)
    ids = list(latest)
    residents = {r.id: r for r in await Resident.filter(id__in=ids)}
    contacts = {c.resident_id: c for c in await ResidentContact.filter(resident_id__in=ids)}  # type: ignore[attr-defined]
    changes = await changes_of(ids, None)
    for rid in ids:
        followed = FollowedResident(
            resident=residents[rid],
            contact=contacts.get(rid),
            mandate=latest[rid],
            requests=await queries.resident_requests(resident_id=rid),
            changes=changes.get(rid, []),
        )
        view.residents.append(
            SharedResident(followed=followed, holders=list(holders[rid]), mine=rid in mine)
        )
    view.residents.sort(
        key=lambda r: (not r.followed.to_tell, -r.followed.mandate.created_at.timestamp())
    )
    await audit(mediator, "view_help_point", detail={"residents": ids})
    return view
