"""The audit trail of deliveries, hash-chained per delivery so an edit shows.

Each event names the digest of the delivery's previous event; the delivery's own state must be
the last event's. `verify_events` recomputes every chain: an edited, deleted or reordered row,
or a state changed behind the trail's back, is reported (`desk audit verify`).

Free text in an event (a reason, a question, an answer, an error, a note: `FREE_TEXT`) is
covered by a salted SHA-256 commitment, not by the text itself: retention
(desk.retention.reduction) replaces the text and its salt by that commitment, and the chain
still verifies. Without the salt the commitment tells nothing, even about a short text.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core import clock
from desk.core.chain import (
    CONTENT,
    GENESIS,
    LINK,
    Verifier,
    canonical_json,
    link_digest,
    moment,
    rows_by_id,
)
from desk.db_rows import insert_rows, placeholder
from desk.requests.models import Delivery, DeliveryEvent

# Where each action's event keeps free text someone typed: (key, nested key, ...).
FREE_TEXT: dict[str, tuple[tuple[str, ...], ...]] = {
    "extend": (("reason",),),
    "need_info": (("question",),),
    "provide_info": (("answer",),),
    "fail": (("error",),),
    "fulfil": (("outcome", "note"),),
}
SALTS_KEY = "_salt"
REMOVED_KEY = "_removed"


def _text_parent(detail: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = detail
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def with_salts(action: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail to store: a random salt beside each free text it holds."""
    salts = {
        ".".join(path): secrets.token_hex(16)
        for path in FREE_TEXT.get(action, ())
        if isinstance((_text_parent(detail, path) or {}).get(path[-1]), str)
    }
    return {**detail, SALTS_KEY: salts} if salts else detail


def sealed_detail(action: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail with each free text (and its salt) replaced by its commitment.

    What the digest covers, and what a reduced event keeps: sealing is idempotent.
    """
    if not FREE_TEXT.get(action) and SALTS_KEY not in detail:
        return detail
    sealed = copy.deepcopy(detail)
    salts = sealed.pop(SALTS_KEY, None)
    salts = salts if isinstance(salts, dict) else {}
    removed = sealed.pop(REMOVED_KEY, None)
    removed = dict(removed) if isinstance(removed, dict) else {}
    for path in FREE_TEXT.get(action, ()):
        parent = _text_parent(sealed, path)
        if parent is not None and isinstance(parent.get(path[-1]), str):
            name = ".".join(path)
            text = parent.pop(path[-1])
            salted = f"{salts.get(name, '')}\n{text}".encode()
            removed[name] = hashlib.sha256(salted).hexdigest()
    if removed:
        sealed[REMOVED_KEY] = removed
    return sealed


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
    sealed_text: bool = True,
) -> str:
    """`sealed_text=False`: the digest of events written before free text was sealed."""
    sealed = sealed_detail(action, detail) if sealed_text else detail
    return link_digest(prev, delivery_id, moment(at), actor, action, from_state, to_state, sealed)


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
    detail = with_salts(action, detail)
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


async def record_first_events(
    *,
    delivery_ids: list[int],
    action: str,
    actor: str,
    state: str,
    detail: dict[str, Any],
    connection: BaseDBAsyncClient,
) -> None:
    """The first event of each of many new deliveries, in one statement.

    The same rows `record_event` writes for a delivery with no trail yet (previous digest:
    GENESIS), without looking for a previous event that cannot exist.
    """
    rows = first_event_rows(
        delivery_ids=delivery_ids, action=action, actor=actor, state=state, detail=detail,
        at=clock.now(),
    )  # fmt: skip
    await insert_rows(DeliveryEvent, shared={}, rows=rows, connection=connection)


# The canonical JSON of the first link of every trail, as its events' digests encode it.
GENESIS_JSON = canonical_json(GENESIS)


def first_event_tail(
    *, action: str, actor: str, state: str, detail: dict[str, Any], at: datetime
) -> str | None:
    """What a first event's digest encodes after its delivery id: the canonical JSON of its
    content as `[...]`, the same for every delivery of a filing; or None when the detail holds
    free text (each event then has salts of its own). The digest is the SHA-256 of
    `[GENESIS_JSON,<delivery id>,` followed by the tail without its `[` (link_digest's
    encoding, an int as its decimal digits): PostgreSQL computes it so for a group of filings
    (desk.requests.filing_pg)."""
    if with_salts(action, detail) is not detail:
        return None
    content = [moment(at), actor[:100], action, state, state, sealed_detail(action, detail)]
    return canonical_json(content)


def first_event_rows(
    *,
    delivery_ids: list[int],
    action: str,
    actor: str,
    state: str,
    detail: dict[str, Any],
    at: datetime,
) -> list[dict[str, Any]]:
    """The rows of `record_first_events`, for a caller writing several filings' events in one
    statement (desk.requests.filing). `at` is stored with microseconds, so the digest of what
    is read back is the one computed here."""
    actor = actor[:100]
    rows = []
    # The events differ only by their delivery when their detail holds no free text: the
    # canonical JSON after the delivery id is encoded once (to 40 signatories, 40 encodings of
    # the same detail per filing).
    tail = first_event_tail(action=action, actor=actor, state=state, detail=detail, at=at)
    for delivery_id in delivery_ids:
        if tail is not None:
            stored = detail
            canonical = f"[{GENESIS_JSON},{int(delivery_id)},{tail[1:]}"
            digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        else:
            stored = with_salts(action, detail)
            digest = event_digest(
                prev=GENESIS,
                delivery_id=delivery_id,
                at=at,
                actor=actor,
                action=action,
                from_state=state,
                to_state=state,
                detail=stored,
            )
        rows.append(
            {
                "delivery_id": delivery_id, "detail": stored, "digest": digest, "at": at,
                "actor": actor, "action": action, "from_state": state, "to_state": state,
                "prev_digest": GENESIS,
            }
        )  # fmt: skip
    return rows


def digest_matches(event: DeliveryEvent, *, legacy: bool = True) -> bool:
    """Whether the event's stored digest is the one its content gives.

    `legacy`: also accept the digest of an event written before free text was sealed.
    """
    common: dict[str, Any] = {
        "prev": event.prev_digest or "",
        "delivery_id": event.delivery_id,  # type: ignore[attr-defined]
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "detail": event.detail,
    }
    if event.digest == event_digest(**common):
        return True
    return legacy and event.digest == event_digest(**common, sealed_text=False)


@dataclass(frozen=True)
class TrailProblem:
    delivery_id: int
    event_id: int | None
    reason_fr: str


async def verify_events(*, batch: int = 2000) -> tuple[int, list[TrailProblem]]:
    """(events checked, problems) over every delivery's trail."""
    problems: list[TrailProblem] = []
    states = dict(await Delivery.all().values_list("id", "state"))
    last_to: dict[int, str] = {}
    verifier: Verifier[DeliveryEvent] = Verifier(
        digest_matches,
        chain_of=lambda event: event.delivery_id,  # type: ignore[attr-defined]
    )

    async def page(after: int, size: int) -> list[DeliveryEvent]:
        return await DeliveryEvent.filter(id__gt=after).order_by("id").limit(size)

    checked = 0
    async for event in rows_by_id(page, batch=batch):
        checked += 1
        did: int = event.delivery_id  # type: ignore[attr-defined]
        problems += [TrailProblem(did, event.id, _REASONS[kind]) for kind in verifier.check(event)]
        last_to[did] = event.to_state
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


_REASONS = {
    LINK: "Maillon manquant ou déplacé : cet événement ne suit pas le précédent.",
    CONTENT: "Événement modifié après son enregistrement.",
}


async def last_digests(conn: BaseDBAsyncClient, ids: list[int]) -> dict[int, str]:
    """Each delivery's last audit event's digest (its trail's end, as `record_event` reads), for
    many deliveries in one query: a batch's new events chain to these."""
    if not ids:
        return {}
    if conn.capabilities.dialect == "postgres":
        # Each trail's end found through the (delivery_id, id) index, one array parameter for
        # any number of deliveries. The IN (SELECT MAX …) form (SQLite's, below) was planned
        # on each connection while the tables were small, and the plan kept: two sequential
        # scans of every event at each batch, 7.6 ms a call on a database minutes old
        # (bench/README.md, eighth pass). This one is planned on the index from the first rows.
        _, rows = await conn.execute_query(
            "SELECT k.id, (SELECT e.digest FROM delivery_event e WHERE e.delivery_id = k.id "
            "ORDER BY e.id DESC LIMIT 1) FROM unnest($1::bigint[]) AS k(id)",
            [list(ids)],
        )
    else:
        marks = ", ".join(placeholder(conn, n) for n in range(1, len(ids) + 1))
        _, rows = await conn.execute_query(
            "SELECT delivery_id, digest FROM delivery_event WHERE id IN ("  # noqa: S608
            f"SELECT MAX(id) FROM delivery_event WHERE delivery_id IN ({marks}) "
            "GROUP BY delivery_id)",
            list(ids),
        )
    return {int(r[0]): str(r[1]) for r in rows if r[1]}
