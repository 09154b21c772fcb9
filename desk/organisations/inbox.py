"""The organisation's inbox: every delivery addressed to it, and its answers.

Answers go through the very function the emailed answer page uses
(desk.partners.answer_page.submit_answer, which calls desk.requests.transitions), so an answer given
here is the same, with the same checks, receipts and notices, as one given from the mail or the
partner API. Every call into the state machine made by the organisation's space is in this one
module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from desk.audit.log import record_action
from desk.core import clock
from desk.organisations.models import OrganisationMember
from desk.partners import answer_page as answering
from desk.partners import services as answers
from desk.requests.effects import UploadedFile
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.states import OPEN_STATES
from desk.runtime import Runtime

# "Due soon": the deadline falls within this many days.
DUE_SOON = timedelta(days=7)
DUE_FILTERS = ("soon", "overdue")


@dataclass(frozen=True)
class InboxFilters:
    state: str = ""
    kind: str = ""
    due: str = ""

    @classmethod
    def parse(cls, query: dict[str, str]) -> InboxFilters:
        """Unknown values are dropped (a filter never fails: it shows everything)."""
        state = query.get("etat", "")
        kind = query.get("type", "")
        due = query.get("echeance", "")
        return cls(
            state=state if state in {s.value for s in DeliveryState} else "",
            kind=kind if kind in {k.value for k in RequestKind} else "",
            due=due if due in DUE_FILTERS else "",
        )


async def list_inbox(*, signatory_id: int, filters: InboxFilters) -> list[Delivery]:
    """This signatory's deliveries, the most urgent open ones first."""
    query = Delivery.filter(signatory_id=signatory_id).select_related("request")
    if filters.state:
        query = query.filter(state=filters.state)
    if filters.kind:
        query = query.filter(request__kind=filters.kind)
    now = clock.now()
    if filters.due:
        query = query.filter(state__in=list(OPEN_STATES))
        if filters.due == "overdue":
            # Not while paused for the resident's answer about identity (requests.pause).
            query = query.filter(due_at__lt=now, paused_since__isnull=True)
        else:
            query = query.filter(due_at__gte=now, due_at__lt=now + DUE_SOON)
    found = list(await query.order_by("due_at", "id").limit(500))
    # Open first (by deadline), then the answered ones, newest first.
    open_ones = [d for d in found if d.state in OPEN_STATES]
    closed = sorted(
        (d for d in found if d.state not in OPEN_STATES), key=lambda d: d.id, reverse=True
    )
    return open_ones + closed


async def answer_page(*, member: OrganisationMember, delivery_id: int, runtime: Runtime) -> Any:
    """The answer page's content for one of the member's organisation's deliveries (404 else)."""
    return await answering.load_answer_page(
        delivery_id=delivery_id,
        signatory_id=member.signatory_id,  # type: ignore[attr-defined]
        runtime=runtime,
    )


async def answer(
    *,
    member: OrganisationMember,
    delivery_id: int,
    fields: dict[str, list[str]],
    upload: UploadedFile | None,
    runtime: Runtime,
    download_max_age: int,
) -> Delivery:
    """Answer a delivery as the emailed page does; the audit log names who in the organisation."""
    delivery = await answering.submit_answer(
        delivery_id=delivery_id,
        signatory_id=member.signatory_id,  # type: ignore[attr-defined]
        fields=fields,
        upload=upload,
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        download_max_age=download_max_age,
    )
    await record_action(
        action="organisation.answer",
        actor=f"member:{member.id}",
        subject=f"delivery:{delivery.id}",
        detail={"action": answers.parse_action(fields), "state": delivery.state.value},
    )
    return delivery
