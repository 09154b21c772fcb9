"""The audit trail of deliveries, hash-chained per delivery so an edit shows.

Each event names the digest of the delivery's previous event; the delivery's own state must be
the last event's. `verify_events` recomputes every chain: an edited, deleted or reordered row,
or a state changed behind the trail's back, is reported (`desk audit verify`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk import clock
from desk.requests.models import Delivery, DeliveryEvent

GENESIS = "0" * 64


def event_digest(
    *,
    prev: str,
    delivery_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_state: str,
    to_state: str,
    detail: dict[str, Any],
) -> str:
    # Microseconds since the epoch: the same on SQLite and PostgreSQL, whatever the tz object.
    moment = round(at.timestamp() * 1_000_000)
    body = [prev, delivery_id, moment, actor, action, from_state, to_state, detail]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def record_event(
    *,
    delivery_id: int,
    action: str,
    actor: str,
    from_state: str,
    to_state: str,
    detail: dict[str, Any],
    connection: BaseDBAsyncClient | None = None,
) -> DeliveryEvent:
    """Append an event to a delivery's trail (inside the caller's transaction when given)."""
    last = (
        await DeliveryEvent.filter(delivery_id=delivery_id)
        .using_db(connection)
        .order_by("-id")
        .first()
    )
    prev = last.digest if last is not None and last.digest else GENESIS
    # Stored with microseconds, so the digest of what is read back is the one computed here.
    at = clock.now()
    actor = actor[:100]
    digest = event_digest(
        prev=prev,
        delivery_id=delivery_id,
        at=at,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail,
    )
    return await DeliveryEvent.create(
        delivery_id=delivery_id,
        at=at,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail,
        prev_digest=prev,
        digest=digest,
        using_db=connection,
    )


@dataclass(frozen=True)
class TrailProblem:
    delivery_id: int
    event_id: int | None
    reason_fr: str


async def verify_events(*, batch: int = 2000) -> tuple[int, list[TrailProblem]]:
    """(events checked, problems) over every delivery's trail."""
    problems: list[TrailProblem] = []
    checked = 0
    states = dict(await Delivery.all().values_list("id", "state"))
    last_to: dict[int, str] = {}
    prev_of: dict[int, str] = {}
    after = 0
    while True:
        events = await DeliveryEvent.filter(id__gt=after).order_by("id").limit(batch)
        if not events:
            break
        for event in events:
            checked += 1
            did: int = event.delivery_id  # type: ignore[attr-defined]
            expected_prev = prev_of.get(did, GENESIS)
            if event.prev_digest != expected_prev:
                problems.append(
                    TrailProblem(
                        did,
                        event.id,
                        "Maillon manquant ou déplacé : cet événement ne suit pas le précédent.",
                    )
                )
            recomputed = event_digest(
                prev=event.prev_digest or "",
                delivery_id=did,
                at=event.at,
                actor=event.actor,
                action=event.action,
                from_state=event.from_state,
                to_state=event.to_state,
                detail=event.detail,
            )
            if event.digest != recomputed:
                problems.append(
                    TrailProblem(did, event.id, "Événement modifié après son enregistrement.")
                )
            prev_of[did] = event.digest or ""
            last_to[did] = event.to_state
        after = events[-1].id
    for did, state in states.items():
        value = state.value if hasattr(state, "value") else str(state)
        if did not in last_to:
            problems.append(TrailProblem(did, None, "Envoi sans aucun événement dans le journal."))
        elif last_to[did] != value:
            problems.append(
                TrailProblem(
                    did,
                    None,
                    "L'état de l'envoi ne correspond pas au dernier événement du journal : "
                    "un changement n'a pas été journalisé, ou un événement a été supprimé.",
                )
            )
    return checked, problems
