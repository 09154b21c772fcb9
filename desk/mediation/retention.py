"""Forgetting the name and address of residents without email once nothing needs them."""

from __future__ import annotations

import logging
from datetime import datetime

from desk.core import clock
from desk.mediation.models import (
    Mandate,
    ResidentContact,
)
from desk.mediation.rules import RETENTION_MONTHS
from desk.requests.models import (
    Delivery,
)
from desk.requests.states import FINAL_STATES

log = logging.getLogger("desk.mediation")

# --- retention -----------------------------------------------------------------------------------


async def purge_contacts(
    *, now: datetime | None = None, retention_months: int = RETENTION_MONTHS
) -> int:
    """Delete the name and address of residents without email once nothing needs them.

    Kept while a request is open or a mandate is valid; deleted `retention_months` after the
    last request closed and the last mandate ended. The resident row stays (their requests and
    receipts point at it) but nothing in it names the person.
    """
    moment = now or clock.now()
    purged = 0
    for contact in await ResidentContact.all():
        rid = contact.resident_id  # type: ignore[attr-defined]
        if (
            await Delivery.filter(request__resident_id=rid)
            .exclude(state__in=list(FINAL_STATES))
            .exists()
        ):
            continue
        last = contact.created_at
        mandate = await Mandate.filter(resident_id=rid).order_by("-valid_until").first()
        if mandate is not None:
            last = max(last, mandate.valid_until)
        closed = (
            await Delivery.filter(request__resident_id=rid, completed_at__isnull=False)
            .order_by("-completed_at")
            .first()
        )
        if closed is not None and closed.completed_at is not None:
            last = max(last, closed.completed_at)
        updated = await Delivery.filter(request__resident_id=rid).order_by("-updated_at").first()
        if updated is not None:
            last = max(last, updated.updated_at)
        if clock.add_months(last, retention_months) <= moment:
            await ResidentContact.filter(id=contact.id).delete()
            purged += 1
            log.info("contact of resident %s deleted (retention over)", rid)
    return purged
