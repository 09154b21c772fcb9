"""Which requests a mediator filed for a resident: read by the resident's own pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.mediation.models import AssistedFiling


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
