"""What the resident's own pages read from mediation: requests a mediator filed for them, copies
a mediator downloaded for them, and mediators waiting for their consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.core import clock
from desk.mediation.models import AssistedFiling, AssistedSession, Consent, CopyTaken, Mandate


@dataclass(frozen=True)
class FiledBy:
    mediator_name: str
    help_point: str
    filed_at: datetime


async def filed_by(*, request_ids: list[int]) -> dict[int, FiledBy]:
    """request id → who filed it, for the requests a mediator filed (one query)."""
    if not request_ids:
        return {}
    rows = await AssistedFiling.filter(request_id__in=request_ids).select_related("mediator")
    return {
        row.request_id: FiledBy(  # type: ignore[attr-defined]
            mediator_name=row.mediator.display_name,
            help_point=row.help_point,
            filed_at=row.filed_at,
        )
        for row in rows
    }


@dataclass(frozen=True)
class TakenBy:
    mediator_name: str
    help_point: str
    taken_at: datetime


async def copies_taken(*, copy_ids: list[str]) -> dict[str, TakenBy]:
    """copy id → the mediator who downloaded it for the resident (one query)."""
    if not copy_ids:
        return {}
    rows = await CopyTaken.filter(copy_id__in=copy_ids).select_related("mediator")
    return {
        row.copy_id: TakenBy(  # type: ignore[attr-defined]
            mediator_name=row.mediator.display_name,
            help_point=row.help_point,
            taken_at=row.taken_at,
        )
        for row in rows
    }


async def copies_taken_by_request(*, request_ids: list[int]) -> dict[int, list[TakenBy]]:
    """request id → the copies of its answers a mediator downloaded (one query)."""
    if not request_ids:
        return {}
    rows = (
        await CopyTaken.filter(copy__delivery__request_id__in=request_ids)
        .select_related("mediator", "copy__delivery")
        .order_by("taken_at")
    )
    found: dict[int, list[TakenBy]] = {}
    for row in rows:
        found.setdefault(row.copy.delivery.request_id, []).append(
            TakenBy(
                mediator_name=row.mediator.display_name,
                help_point=row.help_point,
                taken_at=row.taken_at,
            )
        )
    return found


@dataclass(frozen=True)
class AskingMediator:
    session_id: int
    mediator_name: str
    help_point: str
    opened_at: datetime
    # When the request lapses (the dashboard stops showing it then).
    closes_at: datetime | None = None


async def asking(*, resident_id: int) -> list[AskingMediator]:
    """Mediators waiting, today, for this resident's consent (shown in their space)."""
    rows = await AssistedSession.filter(
        resident_id=resident_id, consent=Consent.AWAITING, closes_at__gt=clock.now()
    ).select_related("mediator")
    return [
        AskingMediator(
            session_id=s.id,
            mediator_name=s.mediator.display_name,
            help_point=s.mediator.help_point,
            opened_at=s.opened_at,
            closes_at=s.closes_at,
        )
        for s in rows
    ]


@dataclass(frozen=True)
class LiveMandate:
    id: int
    mediator_name: str
    help_point: str
    kinds: list[str]
    signatory_ids: list[int] | None
    valid_until: datetime
    created_at: datetime


async def live_mandates(*, resident_id: int) -> list[LiveMandate]:
    """The mandates in effect for this resident (their space lists them, each revocable)."""
    rows = await Mandate.filter(
        resident_id=resident_id, revoked_at__isnull=True, valid_until__gt=clock.now()
    ).select_related("mediator")
    return [
        LiveMandate(
            id=m.id,
            mediator_name=m.mediator.display_name,
            help_point=m.mediator.help_point,
            kinds=list(m.kinds),
            signatory_ids=m.signatory_ids,
            valid_until=m.valid_until,
            created_at=m.created_at,
        )
        for m in rows
    ]
