"""The rows a filing writes, built alike by every way of writing them (desk.requests.filing).

A filing is a request, one delivery per signatory it names, the first event of each delivery's
trail and its dispatch job. Nothing here touches the database: the writers run the statements
(on the caller's transaction, or on SQLite in one trip to the connection's thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desk.core import clock
from desk.outbox.services import new_job_rows
from desk.requests.audit import first_event_rows
from desk.requests.models import DeliveryState, RightsRequest

DISPATCH = "delivery.dispatch"
# A filing's first event on each delivery's trail: its action, and the state it leaves.
FIRST_ACTION = "file"
FIRST_STATE = DeliveryState.PENDING.value
# What every delivery of a filing starts with.
DELIVERY_SHARED: dict[str, Any] = {"state": DeliveryState.PENDING}


@dataclass
class Filing:
    """One request to write, its values all known before the transaction."""

    request: dict[str, Any]  # RightsRequest's fields (reference, resident_id, kind, ...)
    targets: list[int]  # signatory ids, sorted
    received: datetime
    actor: str
    actor_detail: dict[str, Any] = field(default_factory=dict)


def request_rows(filings: Iterable[Filing]) -> list[dict[str, Any]]:
    return [{**f.request, "created_at": f.received} for f in filings]


def kept_filings(filings: Iterable[Filing], ids: Mapping[str, int]) -> list[tuple[Filing, int]]:
    """The filings whose request was written (`ids`: request id by reference), with its id."""
    return [(f, ids[f.request["reference"]]) for f in filings if f.request["reference"] in ids]


def delivery_rows(kept: Iterable[tuple[Filing, int]]) -> list[dict[str, Any]]:
    rows = []
    for f, request_id in kept:
        due = clock.add_months(f.received, 1)
        rows += [
            {
                "request_id": request_id, "signatory_id": sid, "received_at": f.received,
                "due_at": due, "updated_at": f.received,
            }
            for sid in f.targets
        ]  # fmt: skip
    return rows


def events_and_jobs(
    kept: Iterable[tuple[Filing, int]], created: Iterable[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The deliveries' first events and dispatch jobs, from the rows the delivery insert
    returned (`id`, `request_id`): each filing's in delivery id order."""
    by_request: dict[int, list[int]] = {}
    for row in created:
        by_request.setdefault(int(row["request_id"]), []).append(int(row["id"]))
    events: list[dict[str, Any]] = []
    delivery_ids: list[int] = []
    for f, request_id in kept:
        mine = sorted(by_request.get(request_id, []))
        delivery_ids += mine
        events += first_event_rows(
            delivery_ids=mine, action=FIRST_ACTION, actor=f.actor,
            state=FIRST_STATE, detail=f.actor_detail, at=f.received,
        )  # fmt: skip
    jobs = new_job_rows(DISPATCH, [(f"dispatch-{i}", {"delivery_id": i}) for i in delivery_ids])
    return events, jobs


def answers(filings: Iterable[Filing], ids: Mapping[str, int]) -> list[RightsRequest | None]:
    """For each filing, its request as `RightsRequest.create` would have returned it, or None
    when its row was skipped (its submission key or reference is taken)."""
    results: list[RightsRequest | None] = []
    for f in filings:
        pk = ids.get(f.request["reference"])
        if pk is None:
            results.append(None)
            continue
        request = RightsRequest(**f.request, created_at=f.received)
        request.id = pk
        request._saved_in_db = True
        results.append(request)
    return results
