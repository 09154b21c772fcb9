"""The `send` and `acknowledge` arrows for many deliveries at once: what a batch of dispatch
jobs, or of polls answered "acknowledged", records.

The same rows as desk.requests.transitions.send (or acknowledge), delivery by delivery (the
state, the dispatch reference for `send`, the modification time, one audit event chained to that
delivery's last one, the follow-up jobs), written in one transaction of a few statements instead
of one transaction of about five per delivery. Each delivery row is still locked (PostgreSQL:
`FOR UPDATE`, in id order; SQLite: the transaction's write lock) and its state checked: a
delivery that moved on meanwhile (answered early, withdrawn) is left as it is, as the transition
would have refused it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.chain import GENESIS
from desk.db_rows import placeholder
from desk.outbox import services
from desk.outbox.models import OutboxJob
from desk.requests import audit
from desk.requests.audit import event_digest, with_salts
from desk.requests.effects import JobSpec, enqueue_specs
from desk.requests.models import Delivery, DeliveryEvent
from desk.requests.pause import resumed_due
from desk.requests.states import TRANSITIONS

log = logging.getLogger("desk.dispatch")

ACTION = "send"
ACKNOWLEDGE = "acknowledge"
_EVENT_COLUMNS = (
    "delivery_id",
    "at",
    "actor",
    "action",
    "from_state",
    "to_state",
    "detail",
    "prev_digest",
    "digest",
)


@dataclass(frozen=True)
class Sent:
    """One delivery its channel handed over: what `send` records for it."""

    delivery_id: int
    actor: str
    dispatch_ref: str | None
    jobs: Sequence[JobSpec] = ()


@dataclass(frozen=True)
class Seen:
    """PostgreSQL: a pending delivery as the batch read it before its hand-over, so its `send`
    can be written without reading it again: its row version (`xmin`) and its trail's end."""

    version: str
    last_digest: str | None


def _marks(db: BaseDBAsyncClient, count: int, start: int = 1) -> list[str]:
    return [placeholder(db, n) for n in range(start, start + count)]


async def _pending(
    conn: BaseDBAsyncClient, ids: list[int], action: str = ACTION
) -> dict[int, tuple[Any, Any, str]]:
    """Of `ids`, those `action` may still leave, with their (due_at, paused_since, state),
    locked until the transaction ends."""
    sources = {state.value for state in TRANSITIONS[action].sources}
    marks = ", ".join(_marks(conn, len(ids)))
    lock = " FOR UPDATE" if conn.capabilities.dialect == "postgres" else ""
    _, rows = await conn.execute_query(
        f"SELECT id, state, due_at, paused_since FROM delivery WHERE id IN ({marks}) "  # noqa: S608
        f"ORDER BY id{lock}",
        list(ids),
    )
    return {int(r[0]): (r[2], r[3], str(r[1])) for r in rows if r[1] in sources}


def _event_row(
    action: str, sent: Sent, source: str, prev: str, at: datetime, detail: dict[str, Any]
) -> list[Any]:
    actor = sent.actor[:100]
    target = TRANSITIONS[action].target.value
    detail = with_salts(action, detail)
    digest = event_digest(
        prev=prev,
        delivery_id=sent.delivery_id,
        at=at,
        actor=actor,
        action=action,
        from_state=source,
        to_state=target,
        detail=detail,
    )
    values = (sent.delivery_id, at, actor, action, source, target, detail, prev, digest)
    fields = DeliveryEvent._meta.fields_map
    return [
        fields[column].to_db_value(value, DeliveryEvent)
        for column, value in zip(_EVENT_COLUMNS, values, strict=True)
    ]


async def send_many(
    *,
    sends: Sequence[Sent],
    done: Sequence[OutboxJob] = (),
    seen: Mapping[int, Seen] | None = None,
) -> list[int]:
    """Record `send` for each delivery still pending, in one transaction; the ids recorded.

    A delivery that moved on is skipped (logged), as `transitions.send` refuses it. `done`: jobs
    marked done in the same transaction (the worker's lanes then skip their own statement and
    commit: one commit per batch instead of two). `seen` (PostgreSQL): every delivery as read
    before its hand-over; while none has changed since, all is written in one statement."""
    if seen is not None and await _send_at_once(sends, done, seen):
        return [s.delivery_id for s in sends]
    return await _record_many(ACTION, sends, done)


async def acknowledge_many(*, acks: Sequence[Sent]) -> list[int]:
    """Record `acknowledge` for each delivery still pending or sent, in one transaction (their
    `dispatch_ref` is not used); the ids recorded. A delivery that moved on is skipped (logged),
    as `transitions.acknowledge` refuses it."""
    return await _record_many(ACKNOWLEDGE, acks)


async def _record_many(
    action: str, sends: Sequence[Sent], done: Sequence[OutboxJob] = ()
) -> list[int]:
    if not sends and not done:
        return []
    ids = sorted({s.delivery_id for s in sends})
    async with in_transaction() as conn:
        pending = await _pending(conn, ids, action) if ids else {}
        chosen = [s for s in sends if s.delivery_id in pending]
        for sent in sends:
            if sent.delivery_id not in pending:
                log.info("delivery %s moved on before %s was recorded", sent.delivery_id, action)
        now = clock.now()
        details = {s.delivery_id: await _resume(conn, s.delivery_id, pending, now) for s in chosen}
        last = await audit.last_digests(conn, [s.delivery_id for s in chosen]) if chosen else {}
        # Stored with microseconds, so the digest of what is read back is the one computed here.
        at = clock.now()
        events = [
            _event_row(
                action,
                s,
                pending[s.delivery_id][2],
                last.get(s.delivery_id, GENESIS),
                at,
                details[s.delivery_id],
            )
            for s in chosen
        ]
        if conn.capabilities.dialect == "postgres":
            completed = await _write_postgres(conn, action, chosen, now, events, done)
        else:
            await _write(conn, action, chosen, now, events)
            completed = await services.complete_many(jobs=done, connection=conn)
        if completed < len(done):
            log.warning(
                "%s done jobs had been taken over by another worker meanwhile",
                len(done) - completed,
            )
        await enqueue_specs([spec for sent in chosen for spec in sent.jobs], connection=conn)
    return [s.delivery_id for s in chosen]


async def _write(
    conn: BaseDBAsyncClient,
    action: str,
    chosen: Sequence[Sent],
    now: datetime,
    events: list[list[Any]],
) -> None:
    """The states and the events, one `executemany` each."""
    if not chosen:
        return
    target = TRANSITIONS[action].target.value
    fields = Delivery._meta.fields_map
    updated = fields["updated_at"].to_db_value(now, Delivery)
    if action == ACTION:
        marks = _marks(conn, 4)
        await conn.execute_many(
            f"UPDATE delivery SET state = {marks[0]}, dispatch_ref = {marks[1]}, "  # noqa: S608
            f"updated_at = {marks[2]} WHERE id = {marks[3]}",
            [
                [
                    target,
                    fields["dispatch_ref"].to_db_value(s.dispatch_ref, Delivery),
                    updated,
                    s.delivery_id,
                ]
                for s in chosen
            ],
        )
    else:
        marks = _marks(conn, 3)
        await conn.execute_many(
            f"UPDATE delivery SET state = {marks[0]}, updated_at = {marks[1]} "  # noqa: S608
            f"WHERE id = {marks[2]}",
            [[target, updated, s.delivery_id] for s in chosen],
        )
    event_marks = ", ".join(_marks(conn, len(_EVENT_COLUMNS)))
    await conn.execute_many(
        f"INSERT INTO delivery_event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
        f"VALUES ({event_marks})",
        events,
    )


# PostgreSQL: the events, the states and the jobs done in one statement (arrays unnested), where
# they were three round trips, each a wait of the worker's (bench/fanout.py).
_EVENT_TYPES = ("int", "timestamptz", "text", "text", "text", "text", "jsonb", "text", "text")
_EVENTS_POSTGRES = (
    f"events AS (INSERT INTO delivery_event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
    "SELECT * FROM unnest("
    + ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(_EVENT_TYPES, start=1))
    + ") RETURNING 1)"
)
_FIRST = len(_EVENT_TYPES) + 1  # the states' parameters follow the events'
_STATES_POSTGRES = {
    ACTION: f"states AS (UPDATE delivery d SET state = ${_FIRST}, updated_at = ${_FIRST + 1}, "
    f"dispatch_ref = v.ref FROM unnest(${_FIRST + 2}::int[], ${_FIRST + 3}::text[]) AS v(id, ref) "
    "WHERE d.id = v.id RETURNING 1)",
    ACKNOWLEDGE: f"states AS (UPDATE delivery d SET state = ${_FIRST}, "
    f"updated_at = ${_FIRST + 1} WHERE d.id = ANY(${_FIRST + 2}::int[]) RETURNING 1)",
}


async def _write_postgres(
    conn: BaseDBAsyncClient,
    action: str,
    chosen: Sequence[Sent],
    now: datetime,
    events: list[list[Any]],
    done: Sequence[OutboxJob],
) -> int:
    """`_write` and `services.complete_many` in one statement; how many jobs were marked done."""
    fields = Delivery._meta.fields_map
    values: list[Any] = [list(column) for column in zip(*events, strict=True)] or [
        [] for _ in _EVENT_TYPES
    ]
    values += [TRANSITIONS[action].target.value, fields["updated_at"].to_db_value(now, Delivery)]
    values.append([s.delivery_id for s in chosen])
    if action == ACTION:
        values.append(
            [fields["dispatch_ref"].to_db_value(s.dispatch_ref, Delivery) for s in chosen]
        )
    finished, finished_values = services.completion_postgres(done, first=len(values) + 1)
    values += finished_values
    rows = await conn.execute_query_dict(
        f"WITH {_EVENTS_POSTGRES}, {_STATES_POSTGRES[action]}, finished AS ({finished}) "
        "SELECT (SELECT count(*) FROM states) AS states, (SELECT count(*) FROM events) AS events, "
        "(SELECT count(*) FROM finished) AS finished",
        values,
    )
    return int(rows[0]["finished"])


async def _resume(
    conn: BaseDBAsyncClient,
    delivery_id: int,
    pending: dict[int, tuple[Any, Any, str]],
    now: datetime,
) -> dict[str, Any]:
    """A paused deadline moves by the pause, as desk.requests.pause.resume does in every
    transition (none is paused in practice: only a question to the resident pauses, and it is
    answered before the delivery is pending or sent again); the event's detail says so."""
    due_at, since, _ = pending[delivery_id]
    if since is None:
        return {}
    fields = Delivery._meta.fields_map
    since_at = fields["paused_since"].to_python_value(since)
    due = resumed_due(fields["due_at"].to_python_value(due_at), since_at, now)
    marks = _marks(conn, 2)
    await conn.execute_query(
        f"UPDATE delivery SET due_at = {marks[0]}, paused_since = NULL "  # noqa: S608
        f"WHERE id = {marks[1]}",
        [fields["due_at"].to_db_value(due, Delivery), delivery_id],
    )
    return {"due_at": due.isoformat()}


# PostgreSQL, the batch's sends in one statement and its own transaction: BEGIN, the rows
# locked, their trails' ends read, the writes and COMMIT were five round trips, each a wait and
# a tenth of the worker's CPU (bench/fanout.py). The rows are locked in id order and kept only
# if still the version the batch read (`xmin`): every change of a delivery's state, and every
# event added to a pending delivery, writes its row (desk.requests.transitions), so an unchanged
# version means an unchanged state and trail. The writes are made only if every row passed
# (`whole`), otherwise nothing is and the batch is recorded the careful way.
_SEEN_FIRST = _FIRST + 4  # after the events', the states' and the dispatch references'
_AT_ONCE = (
    "WITH locked AS (SELECT d.id FROM delivery d "
    f"JOIN unnest(${_FIRST + 2}::int[], ${_SEEN_FIRST}::text[]) AS v(id, seen) ON v.id = d.id "
    "WHERE d.state = 'pending' AND d.paused_since IS NULL AND d.xmin::text = v.seen "
    "ORDER BY d.id FOR UPDATE OF d), "
    f"whole AS (SELECT count(*) = ${_SEEN_FIRST + 1} AS ok FROM locked), "
    + _EVENTS_POSTGRES.replace(") RETURNING 1)", ") WHERE (SELECT ok FROM whole) RETURNING 1)")
    + ", "
    + _STATES_POSTGRES[ACTION].replace(
        "WHERE d.id = v.id", "WHERE d.id = v.id AND (SELECT ok FROM whole)"
    )
)


async def _send_at_once(
    sends: Sequence[Sent], done: Sequence[OutboxJob], seen: Mapping[int, Seen]
) -> bool:
    """`send_many` in one statement, if every delivery is as `seen` and no follow-up job is
    due (a webhook's sends); False when nothing was written."""
    ids = [s.delivery_id for s in sends]
    if (
        not sends
        or len(set(ids)) != len(ids)
        or any(s.jobs or s.delivery_id not in seen for s in sends)
    ):
        return False
    db = OutboxJob._meta.db
    if db.capabilities.dialect != "postgres":
        return False
    at = clock.now()
    events = [
        _event_row(ACTION, s, "pending", seen[s.delivery_id].last_digest or GENESIS, at, {})
        for s in sends
    ]
    fields = Delivery._meta.fields_map
    values: list[Any] = [list(column) for column in zip(*events, strict=True)]
    values += [TRANSITIONS[ACTION].target.value, fields["updated_at"].to_db_value(at, Delivery)]
    values.append(ids)
    values.append([fields["dispatch_ref"].to_db_value(s.dispatch_ref, Delivery) for s in sends])
    values += [[seen[i].version for i in ids], len(ids)]
    finished, finished_values = services.completion_postgres(
        done, first=len(values) + 1, guard="(SELECT ok FROM whole)"
    )
    values += finished_values
    rows = await db.execute_query_dict(
        f"{_AT_ONCE}, finished AS ({finished}) SELECT (SELECT ok FROM whole) AS ok, "
        "(SELECT count(*) FROM states) AS states, (SELECT count(*) FROM events) AS events, "
        "(SELECT count(*) FROM finished) AS finished",
        values,
    )
    if not rows[0]["ok"]:
        return False
    if int(rows[0]["finished"]) < len(done):
        log.warning(
            "%s done jobs had been taken over by another worker meanwhile",
            len(done) - int(rows[0]["finished"]),
        )
    return True
