"""PostgreSQL: a group of filings written by ONE statement, committed on its own.

The group transaction of desk.requests.filing took seven round trips (BEGIN, four INSERTs,
the NOTIFY, COMMIT), each waiting for a busy event loop, while the groups are written one after
the other: its wall time bounded the filings per second ("erase everywhere" to 40 signatories:
about 20 ms per group). Here data-modifying CTEs write the requests, their deliveries, the
deliveries' first events and dispatch jobs, and NOTIFY the workers, in one statement, atomic
as any statement (autocommit). Python sends per filing only its request's fields, its
signatories and the canonical JSON its events' digests share (desk.requests.audit
first_event_tail); PostgreSQL builds the 121 rows of a filing to 40 signatories from them.
bench/concurrent_load.py --mode everywhere --requests 500 --worker-after, pairs on a box at
load 3-4: desk serve 2.46-2.92 -> 1.24-1.50 ms CPU per filing, PostgreSQL 1.80-2.10 -> 1.34-1.58
ms, 0.19-0.30x -> 0.29-0.31x the bare app, p99 152-196 -> 103-159 ms.

The rows are those the transaction path writes (tests/desk/requests/test_filing_pg.py compares
them): a request skipped by ON CONFLICT DO NOTHING gets no delivery; within a filing the
deliveries take ascending ids in signatory order, and their events and jobs follow the same
order; the digest is the SHA-256 of the same bytes. The statement's text is the same for any
group, so each connection prepares it once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from desk.core import clock
from desk.core.chain import GENESIS
from desk.db_rows import column_arrays, columns_of, default_literal, postgres_type
from desk.outbox.intake import INTAKE
from desk.outbox.models import OutboxJob
from desk.outbox.services import DEFAULT_MAX_ATTEMPTS, WAKE_CHANNEL
from desk.requests.audit import GENESIS_JSON, first_event_tail
from desk.requests.filing_rows import (
    DISPATCH,
    FIRST_ACTION,
    FIRST_STATE,
    Filing,
    request_rows,
)
from desk.requests.models import Delivery, DeliveryEvent, RightsRequest


def event_tails(filings: Sequence[Filing], connection: BaseDBAsyncClient) -> list[str] | None:
    """Each filing's events' shared tail, or None when the group must take the transaction
    path: SQLite, or a filing whose event detail holds free text (salted per event)."""
    if connection.capabilities.dialect != "postgres":
        return None
    tails = []
    for f in filings:
        tail = first_event_tail(
            action=FIRST_ACTION,
            actor=f.actor,
            state=FIRST_STATE,
            detail=f.actor_detail,
            at=f.received,
        )
        if tail is None:
            return None
        tails.append(tail)
    return tails


async def write_group(
    filings: Sequence[Filing], tails: list[str], connection: BaseDBAsyncClient
) -> dict[str, int]:
    """Write the filings; the id of each request written, by reference (a request whose
    submission key or reference is taken is not written, nor anything of its filing)."""
    columns = columns_of(RightsRequest, connection)
    requests = column_arrays(RightsRequest, columns, {}, request_rows(filings))
    due = Delivery._meta.fields_map["due_at"]
    actor = DeliveryEvent._meta.fields_map["actor"]
    detail = DeliveryEvent._meta.fields_map["detail"]
    per_filing: list[list[Any]] = [
        [due.to_db_value(clock.add_months(f.received, 1), Delivery) for f in filings],
        [actor.to_db_value(f.actor[:100], DeliveryEvent) for f in filings],
        [detail.to_db_value(f.actor_detail, DeliveryEvent) for f in filings],
        tails,
    ]
    filing_of: list[int] = []
    signatories: list[int] = []
    for n, f in enumerate(filings, start=1):
        filing_of += [n] * len(f.targets)
        signatories += f.targets
    now: datetime = OutboxJob._meta.fields_map["run_after"].to_db_value(clock.now(), OutboxJob)
    sql = _statement(
        columns,
        columns_of(Delivery, connection),
        columns_of(DeliveryEvent, connection),
        columns_of(OutboxJob, connection),
    )
    values = [*requests, *per_filing, filing_of, signatories, now]
    rows = await connection.execute_query_dict(sql, values)
    return {str(row["reference"]): int(row["id"]) for row in rows}


def _insert(model: type[Model], columns: tuple[str, ...], given: dict[str, str]) -> str:
    """`INSERT INTO table (every column) SELECT <expression of each>`: a column `given` no
    expression takes its field's default, so a field added to a model is written as
    `insert_rows` writes it, or fails here if it has none."""
    projection = model._meta.fields_db_projection
    unknown = set(given) - set(columns)
    if unknown:
        raise ValueError(f"{model._meta.db_table}: no columns {sorted(unknown)}")
    names = ",".join(f'"{projection[name]}"' for name in columns)
    values = ",".join(given.get(name) or default_literal(model, name) for name in columns)
    return f'INSERT INTO "{model._meta.db_table}" ({names}) SELECT {values}'


@functools.cache
def _statement(
    request_columns: tuple[str, ...],
    delivery_columns: tuple[str, ...],
    event_columns: tuple[str, ...],
    job_columns: tuple[str, ...],
) -> str:
    projection = RightsRequest._meta.fields_db_projection
    arrays = [f"{postgres_type(RightsRequest, name)}[]" for name in request_columns]
    arrays += ["TIMESTAMPTZ[]", f"{postgres_type(DeliveryEvent, 'actor')}[]", "JSONB[]", "TEXT[]"]
    f_arrays = ",".join(f"${n}::{kind}" for n, kind in enumerate(arrays, start=1))
    f_names = ",".join(
        [*(f'"{projection[name]}"' for name in request_columns), "due", "actor", "detail", "tail"]
    )
    targets, signatories, now = len(arrays) + 1, len(arrays) + 2, len(arrays) + 3
    requests = _insert(
        RightsRequest,
        request_columns,
        {name: f'f."{projection[name]}"' for name in request_columns},
    )
    deliveries = _insert(
        Delivery,
        delivery_columns,
        {
            "request_id": "r.id", "signatory_id": "t.signatory_id", "state": f"'{FIRST_STATE}'",
            "received_at": "f.created_at", "due_at": "f.due", "updated_at": "f.created_at",
        },
    )  # fmt: skip
    # `'[' || genesis || ',' || id || ',' || the tail after its '['`: link_digest's canonical
    # JSON of the event, an int as its decimal digits, as Python encodes it (audit.py).
    digest = (
        f"encode(sha256(convert_to('[{GENESIS_JSON},' || d.id || ',' || substr(f.tail, 2),"
        " 'UTF8')), 'hex')"
    )
    events = _insert(
        DeliveryEvent,
        event_columns,
        {
            "delivery_id": "d.id", "at": "f.created_at", "actor": "f.actor",
            "action": f"'{FIRST_ACTION}'", "from_state": f"'{FIRST_STATE}'",
            "to_state": f"'{FIRST_STATE}'",
            "detail": "f.detail", "prev_digest": f"'{GENESIS}'", "digest": digest,
        },
    )  # fmt: skip
    jobs = _insert(
        OutboxJob,
        job_columns,
        {
            "kind": f"'{DISPATCH}'", "payload": "jsonb_build_object('delivery_id', d.id)",
            "idempotency_key": "'dispatch-' || d.id", "state": "'pending'",
            "max_attempts": str(DEFAULT_MAX_ATTEMPTS), "run_after": f"${now}::TIMESTAMPTZ",
            "created_at": f"${now}::TIMESTAMPTZ",
        },
    )  # fmt: skip
    # The deliveries take their ids in the order their rows are sorted (PostgreSQL evaluates
    # nextval() after the sort): a filing's in signatory order, as the transaction path.
    # The NOTIFY is wake_workers', with the payload that tells workers residents are filing
    # (desk.outbox.intake), once, and only when something was written: an uncorrelated subquery
    # is evaluated at the first row it is needed for.
    return (
        f"WITH f AS (SELECT * FROM unnest({f_arrays}) WITH ORDINALITY AS f({f_names},n)),"  # noqa: S608
        f" r AS ({requests} FROM f ORDER BY f.n ON CONFLICT DO NOTHING"
        ' RETURNING "id","reference"),'
        f" d AS ({deliveries} FROM unnest(${targets}::INT[],${signatories}::INT[])"
        " WITH ORDINALITY AS t(filing,signatory_id,n) JOIN f ON f.n=t.filing"
        ' JOIN r ON r."reference"=f."reference" ORDER BY t.n RETURNING "id","request_id"),'
        f' e AS ({events} FROM d JOIN r ON r."id"=d."request_id"'
        ' JOIN f ON f."reference"=r."reference" ORDER BY d.id),'
        f" j AS ({jobs} FROM d ORDER BY d.id)"
        ' SELECT r."id",r."reference",'
        f" (SELECT count(*) FROM (SELECT pg_notify('{WAKE_CHANNEL}','{INTAKE}') FROM d LIMIT 1) w)"
        " AS woken FROM r"
    )
