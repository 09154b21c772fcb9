"""What each signatory holds about a resident, as far as the desk knows: what it last said.

A discovery answer ("I hold data") is not the end of the story: an erasure answered later
("erased", "nothing held", "partly erased") or a copy request ("nothing held") says something
newer. The dashboard, the signatory card and the erase-everywhere page all read this one
function, so they never disagree (issue 17: the dashboard kept saying "holds data" after the
erasure receipt had arrived).

Pure functions over deliveries already loaded: no query here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.states import OPEN_STATES


class Status(StrEnum):
    HOLDS = "holds"  # said it holds data (discovery or copy), nothing erased since
    ERASED = "erased"  # answered an erasure: erased
    PARTLY_ERASED = "partly_erased"  # erased what the law allows, said what it keeps and why
    NOTHING = "nothing"  # said it holds nothing (discovery, copy or erasure)
    ERASING = "erasing"  # an erasure request is awaited
    WAITING = "waiting"  # a discovery request is awaited
    REFUSED = "refused"  # refused the discovery request
    FAILED = "failed"  # the discovery request could not be sent (the back office handles it)
    NOT_ASKED = "not_asked"  # never asked (or the question was withdrawn)


# Those the resident may still ask to erase: they hold data, or may (no answer yet).
MAY_HOLD = frozenset(
    {Status.HOLDS, Status.WAITING, Status.REFUSED, Status.FAILED, Status.NOT_ASKED}
)


@dataclass(frozen=True)
class Standing:
    status: Status
    # The delivery whose answer (or awaited answer) says so; its receipt is the proof.
    delivery: Delivery | None = None

    @property
    def since(self) -> datetime | None:
        return self.delivery.completed_at if self.delivery is not None else None

    @property
    def due_at(self) -> datetime | None:
        return self.delivery.due_at if self.delivery is not None else None

    @property
    def may_hold(self) -> bool:
        return self.status in MAY_HOLD


def _kind(delivery: Delivery) -> RequestKind:
    return RequestKind(delivery.request.kind)


def _said(delivery: Delivery) -> Status | None:
    """What a fulfilled answer says about holdings, or None when it says nothing about them."""
    out = delivery.outcome or {}
    kind = _kind(delivery)
    if kind in (RequestKind.DISCOVERY, RequestKind.ACCESS):
        return Status.HOLDS if out.get("holds_data") else Status.NOTHING
    if kind == RequestKind.ERASURE:
        result = out.get("result")
        if result == "nothing_held":
            return Status.NOTHING
        if result == "partial":
            return Status.PARTLY_ERASED
        return Status.ERASED
    return None  # an objection stops a use, it erases nothing


def _order(delivery: Delivery) -> tuple[datetime, int]:
    return (delivery.completed_at or delivery.received_at, delivery.id)


def standing(deliveries: Iterable[Delivery]) -> Standing:
    """One signatory's standing from all of the resident's deliveries to it (each with its
    request loaded, or its kind set as `request`)."""
    answers: list[tuple[Delivery, Status]] = []
    open_erasure: Delivery | None = None
    latest_discovery: Delivery | None = None
    for d in deliveries:
        kind = _kind(d)
        if d.state == DeliveryState.FULFILLED:
            said = _said(d)
            if said is not None:
                answers.append((d, said))
        if kind == RequestKind.ERASURE and d.state in OPEN_STATES:
            if open_erasure is None or d.id > open_erasure.id:
                open_erasure = d
        if kind == RequestKind.DISCOVERY and (
            latest_discovery is None or d.id > latest_discovery.id
        ):
            latest_discovery = d
    if open_erasure is not None:
        return Standing(Status.ERASING, open_erasure)
    last = max(answers, key=lambda pair: _order(pair[0]), default=None)
    # A discovery asked again after the last answer is awaited: that is the news.
    if latest_discovery is not None and (last is None or latest_discovery.id > last[0].id):
        if latest_discovery.state in OPEN_STATES:
            return Standing(Status.WAITING, latest_discovery)
        if latest_discovery.state == DeliveryState.DENIED:
            return Standing(Status.REFUSED, latest_discovery)
        if latest_discovery.state == DeliveryState.FAILED:
            return Standing(Status.FAILED, latest_discovery)
    if last is not None:
        return Standing(last[1], last[0])
    return Standing(Status.NOT_ASKED)


def standings(deliveries: Iterable[Delivery]) -> dict[int, Standing]:
    """signatory id → standing, for every signatory the resident ever asked."""
    grouped: dict[int, list[Delivery]] = {}
    for d in deliveries:
        grouped.setdefault(d.signatory_id, []).append(d)  # type: ignore[attr-defined]
    return {sid: standing(ds) for sid, ds in grouped.items()}
