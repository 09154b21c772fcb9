"""The `fulfil` arrow for many deliveries at once: what a batch of polls answered with a final
outcome records (simulated signatories, partners' own rights APIs).

The same rows as desk.requests.transitions.fulfil, delivery by delivery — the state, the outcome
and completion time, one audit event chained to that delivery's last one, a signed receipt, the
resident told — written in one transaction of a few statements instead of one transaction of
about ten per delivery:

- the deliveries are read and locked together with what their receipts state (PostgreSQL:
  `FOR UPDATE OF delivery`, in id order; SQLite: the transaction's write lock), each one's state
  checked: a delivery answered or withdrawn meanwhile is left as it is, as the transition would
  have refused it;
- states, events and receipts are written with one `executemany` each;
- the receipts ask the log's sequencer for themselves with one job (its one run appends every
  receipt not yet logged);
- each receipt feeds its request's digest mail in this transaction (desk.residents.digest), where
  one answer alone enqueues a notification job that feeds it afterwards: the resident gets the
  same mail, one job sooner.

An answer carrying a file (an access copy) goes through its own transition, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.chain import GENESIS
from desk.core.errors import DeskError
from desk.db_rows import placeholder
from desk.receipts.keys import Keyring
from desk.receipts.services import Answered, Signed, log_job, sign, store_receipts
from desk.registry.models import Signatory
from desk.requests import audit, outcomes
from desk.requests.audit import event_digest, with_salts
from desk.requests.effects import JobSpec, enqueue_specs, resident_notice
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.models import RightsRequest as Request
from desk.requests.pause import resumed_due
from desk.requests.states import FINAL_STATES, TRANSITIONS

log = logging.getLogger("desk.dispatch")

ACTION = "fulfil"


@dataclass(frozen=True)
class Fulfilment:
    """One delivery's final outcome, as its partner gave it (no file)."""

    delivery_id: int
    actor: str
    outcome: Mapping[str, Any]
    jobs: Sequence[JobSpec] = ()


# (column, model, field): what the batch reads of each delivery, converted as the field does.
_COLUMNS: tuple[tuple[str, type[Any], str], ...] = (
    ("d.id", Delivery, "id"),
    ("d.state", Delivery, "state"),
    ("d.due_at", Delivery, "due_at"),
    ("d.paused_since", Delivery, "paused_since"),
    ("d.received_at", Delivery, "received_at"),
    ("d.request_id", Delivery, "id"),
    ("r.kind", Request, "kind"),
    ("r.reference", Request, "reference"),
    ("r.scope", Request, "scope"),
    ("r.consent_withdrawal", Request, "consent_withdrawal"),
    ("r.resident_id", Request, "id"),
    ("p.pseudonym", Request, "reference"),  # text, as the resident's pseudonym
    ("p.email", Request, "submission_key"),  # nullable text, as the resident's email
    ("s.slug", Signatory, "slug"),
    ("s.name", Signatory, "name"),
)


@dataclass(frozen=True)
class _Row:
    id: int
    state: DeliveryState
    due_at: datetime
    paused_since: datetime | None
    received_at: datetime
    request_id: int
    kind: RequestKind
    reference: str
    scope: dict[str, Any] | None
    consent_withdrawal: bool
    resident_id: int
    pseudonym: str
    email: str | None
    slug: str
    name: str


async def _locked(conn: BaseDBAsyncClient, ids: list[int]) -> dict[int, _Row]:
    """The deliveries `ids` that `fulfil` may still leave, locked until the transaction ends."""
    marks = ", ".join(placeholder(conn, n) for n in range(1, len(ids) + 1))
    lock = " FOR UPDATE OF d" if conn.capabilities.dialect == "postgres" else ""
    _, rows = await conn.execute_query(
        f"SELECT {', '.join(c for c, _, _ in _COLUMNS)} FROM delivery d "  # noqa: S608
        "JOIN rights_request r ON r.id = d.request_id "
        "JOIN resident p ON p.id = r.resident_id "
        "JOIN signatory s ON s.id = d.signatory_id "
        f"WHERE d.id IN ({marks}) ORDER BY d.id{lock}",
        ids,
    )
    converters = [model._meta.fields_map[name].to_python_value for _, model, name in _COLUMNS]
    sources = TRANSITIONS[ACTION].sources
    found = (_Row(*[convert(raw[n]) for n, convert in enumerate(converters)]) for raw in rows)
    return {row.id: row for row in found if row.state in sources}


@dataclass
class _Done:
    """One delivery the batch fulfils: its row, what is written, its event's detail."""

    row: _Row
    fulfilment: Fulfilment
    stored: dict[str, Any]
    due_at: datetime | None  # moved by a pause that ends here
    detail: dict[str, Any]


def _checked(row: _Row, fulfilment: Fulfilment, now: datetime) -> _Done | None:
    try:
        clean = outcomes.validate(row.kind, dict(fulfilment.outcome), has_file=False)
    except DeskError as exc:
        # As the transition refuses it: the answer is not recorded, the poll is done.
        log.warning("delivery %s: polled answer fulfil refused: %s", row.id, exc.code)
        return None
    stored = clean.stored()
    detail: dict[str, Any] = {"outcome": stored}
    due_at = None
    if row.paused_since is not None:
        due_at = resumed_due(row.due_at, row.paused_since, now)
        detail["due_at"] = due_at.isoformat()
    return _Done(row, fulfilment, stored, due_at, detail)


_EVENT_COLUMNS = (
    "delivery_id", "at", "actor", "action", "from_state", "to_state", "detail", "prev_digest",
    "digest",
)  # fmt: skip


def _event_row(done: _Done, prev: str, at: datetime) -> list[Any]:
    actor = done.fulfilment.actor[:100]
    source, target = done.row.state.value, DeliveryState.FULFILLED.value
    detail = with_salts(ACTION, done.detail)
    digest = event_digest(
        prev=prev,
        delivery_id=done.row.id,
        at=at,
        actor=actor,
        action=ACTION,
        from_state=source,
        to_state=target,
        detail=detail,
    )
    values = (done.row.id, at, actor, ACTION, source, target, detail, prev, digest)
    fields = DeliveryEvent._meta.fields_map
    return [
        fields[column].to_db_value(value, DeliveryEvent)
        for column, value in zip(_EVENT_COLUMNS, values, strict=True)
    ]


async def fulfil_many(
    *,
    fulfilments: Sequence[Fulfilment],
    keyring: Keyring,
    issuer: str,
    digest_quiet: float,
) -> list[int]:
    """Record `fulfil` for each delivery still open, in one transaction; the ids recorded.

    A delivery that moved on, or whose outcome is refused, is skipped (logged), as
    `transitions.fulfil` refuses it. `digest_quiet`: how long a request's receipt digest waits
    for the request's other answers (settings.receipt_digest_quiet)."""
    if not fulfilments:
        return []
    by_id = {f.delivery_id: f for f in fulfilments}
    ids = sorted(by_id)
    async with in_transaction() as conn:
        rows = await _locked(conn, ids)
        for delivery_id in ids:
            if delivery_id not in rows:
                log.info("delivery %s moved on before fulfil was recorded", delivery_id)
        now = clock.now()
        checked = (_checked(rows[i], by_id[i], now) for i in ids if i in rows)
        done = [d for d in checked if d is not None]
        if not done:
            return []
        await _write_states(conn, done, now)
        last = await audit.last_digests(conn, [d.row.id for d in done])
        # Stored with microseconds, so the digest of what is read back is the one computed here.
        at = clock.now()
        marks = ", ".join(placeholder(conn, n) for n in range(1, len(_EVENT_COLUMNS) + 1))
        await conn.execute_many(
            f"INSERT INTO delivery_event ({', '.join(_EVENT_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            [_event_row(d, last.get(d.row.id, GENESIS), at) for d in done],
        )
        receipts = [_sign(d, now, keyring, issuer) for d in done]
        await store_receipts(receipts, connection=conn, with_log_job=False)
        # The receipts' log job, the residents' new digests and the next polls: one INSERT
        # (three were three round trips per batch).
        jobs = [log_job(receipts), *await _tell_residents(conn, done, receipts, digest_quiet)]
        jobs += [s for d in done for s in d.fulfilment.jobs]
        await enqueue_specs(jobs, connection=conn)
    return [d.row.id for d in done]


async def _write_states(conn: BaseDBAsyncClient, done: list[_Done], now: datetime) -> None:
    fields = Delivery._meta.fields_map
    moment = fields["updated_at"].to_db_value(now, Delivery)
    marks = [placeholder(conn, n) for n in range(1, 6)]
    await conn.execute_many(
        f"UPDATE delivery SET state = {marks[0]}, outcome = {marks[1]}, "  # noqa: S608
        f"completed_at = {marks[2]}, updated_at = {marks[3]} WHERE id = {marks[4]}",
        [
            [
                DeliveryState.FULFILLED.value,
                fields["outcome"].to_db_value(d.stored, Delivery),
                moment,
                moment,
                d.row.id,
            ]
            for d in done
        ],
    )
    # A pause that ends here (none in practice: a question about identity is answered by the
    # resident first) moves the deadline, as desk.requests.pause.resume does in every transition.
    for d in done:
        if d.due_at is not None:
            await conn.execute_query(
                f"UPDATE delivery SET due_at = {marks[0]}, paused_since = NULL "  # noqa: S608
                f"WHERE id = {marks[1]}",
                [fields["due_at"].to_db_value(d.due_at, Delivery), d.row.id],
            )


def _sign(done: _Done, now: datetime, keyring: Keyring, issuer: str) -> Signed:
    row = done.row
    return sign(
        delivery=Answered(
            delivery_id=row.id,
            reference=row.reference,
            slug=row.slug,
            name=row.name,
            pseudonym=row.pseudonym,
            kind=row.kind.value,
            state=DeliveryState.FULFILLED,
            outcome=done.stored,
            denial_reason=None,
            received_at=row.received_at,
            completed_at=now,
            scope=row.scope,
            consent_withdrawal=row.consent_withdrawal,
        ),
        keyring=keyring,
        issuer=issuer,
    )


# Feeds receipts issued together to their requests' digest mails, in the transaction that
# issues them: (request id, receipt id) pairs, the digest's quiet period, the transaction; the
# digest jobs to open, for the caller to write with its others.
ReceiptFeed = Callable[
    [Sequence[tuple[int, str]], float, BaseDBAsyncClient], Awaitable[Sequence[JobSpec]]
]
_FEEDS: list[ReceiptFeed] = []


def register_receipt_feed(feed: ReceiptFeed) -> None:
    """Set by the worker's wiring (desk/jobs.py): the residents' digest, which `requests` may not
    import. Without it, each receipt enqueues its notification job, as one answer alone does."""
    _FEEDS[:] = [feed]


async def open_requests(ids: Sequence[int], *, connection: BaseDBAsyncClient) -> set[int]:
    """Of the requests `ids`, those with a delivery not yet in a final state, in one query."""
    if not ids:
        return set()
    finals = sorted(state.value for state in FINAL_STATES)
    marks = [placeholder(connection, n) for n in range(1, len(ids) + len(finals) + 1)]
    _, rows = await connection.execute_query(
        "SELECT DISTINCT request_id FROM delivery "  # noqa: S608
        f"WHERE request_id IN ({', '.join(marks[: len(ids)])}) "
        f"AND state NOT IN ({', '.join(marks[len(ids) :])})",
        [*ids, *finals],
    )
    return {int(r[0]) for r in rows}


async def _tell_residents(
    conn: BaseDBAsyncClient, done: list[_Done], receipts: list[Signed], quiet: float
) -> list[JobSpec]:
    """What `transitions.fulfil` tells the resident, per kind (access copies aside): erasure and
    objection, the receipt (its request's digest); discovery, once every signatory answered.
    The jobs to write, for the caller to write with its others."""
    told = [
        (d, r)
        for d, r in zip(done, receipts, strict=True)
        if d.row.kind in (RequestKind.ERASURE, RequestKind.OBJECTION)
    ]
    jobs: list[JobSpec] = []
    if _FEEDS:
        # Assisted residents without email hear from their mediator (desk.residents.jobs).
        feeds = [(d.row.request_id, r.id) for d, r in told if d.row.email]
        jobs += await _FEEDS[0](feeds, quiet, conn)
    else:
        jobs += [
            resident_notice(
                resident_id=d.row.resident_id,
                delivery_id=d.row.id,
                template="receipt",
                context={"receipt_id": r.id},
            )
            for d, r in told
        ]
    discovery = {d.row.request_id: d for d in done if d.row.kind == RequestKind.DISCOVERY}
    if not discovery:
        return jobs
    still_open = await open_requests(sorted(discovery), connection=conn)
    jobs += [
        resident_notice(
            resident_id=d.row.resident_id,
            delivery_id=d.row.id,
            template="discovery_complete",
            context={"request_reference": d.row.reference},
            key=f"mail-discovery_complete-request-{request_id}",
        )
        for request_id, d in discovery.items()
        if request_id not in still_open
    ]
    return jobs
