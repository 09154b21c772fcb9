"""The worker's dispatch of several deliveries at once (one batch of `delivery.dispatch` jobs).

- The deliveries are read in one query, as rows (with their request, resident and signatory
  columns), the declarations of every signatory of the batch in one more.
- Each channel's adapter is made once per signatory's settings (decrypted, and checked by the
  adapter, once) and kept for the next batches while those settings do not change.
- The partners' HTTP requests go out together over their kept connections.
- The `send` transitions of every delivery handed over are recorded in one transaction
  (desk.requests.sending); a delivery whose channel failed gets its own error, so its job is
  retried or parked as dead exactly as when it ran alone.

A worker stopped between the hand-overs and their recording leaves the deliveries pending and
the jobs running: the leases lapse, the jobs run again and the partners get the same message
again with the same idempotency key (`webhook-id`), which tells them it is the one they have.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.base import Envelope, PermanentAdapterError
from desk.outbox.lanes import current_batch
from desk.outbox.models import OutboxJob
from desk.outbox.worker import PermanentJobError
from desk.registry.models import Declaration, Signatory
from desk.requests import sending
from desk.requests.dispatch import envelope_of, new_adapter, poll_job, scope_from
from desk.requests.identifiers import known_identifiers_many
from desk.requests.models import Delivery, DeliveryState, RightsRequest
from desk.runtime import Runtime

log = logging.getLogger("desk.dispatch")

# (column, model, field): what a batch reads of each delivery, in the query's order; a column
# is converted as its model's field converts it (dates, enums, JSON, booleans per dialect).
_COLUMNS: tuple[tuple[str, type[Any], str], ...] = (
    ("d.id", Delivery, "id"),
    ("d.state", Delivery, "state"),
    ("d.received_at", Delivery, "received_at"),
    ("d.due_at", Delivery, "due_at"),
    ("d.dispatch_ref", Delivery, "dispatch_ref"),
    ("d.channel", Delivery, "channel"),
    ("d.signatory_id", Delivery, "id"),
    ("r.reference", RightsRequest, "reference"),
    ("r.kind", RightsRequest, "kind"),
    ("r.assurance", RightsRequest, "assurance"),
    ("r.filed_via", RightsRequest, "filed_via"),
    ("r.scope", RightsRequest, "scope"),
    ("r.consent_withdrawal", RightsRequest, "consent_withdrawal"),
    ("r.resident_id", RightsRequest, "id"),
    ("p.email", RightsRequest, "submission_key"),  # nullable text, as the resident's email
    ("s.slug", Signatory, "slug"),
    ("s.name", Signatory, "name"),
    ("s.accepted_identifiers", Signatory, "accepted_identifiers"),
    ("s.adapter", Signatory, "adapter"),
    ("s.dpo_email", Signatory, "dpo_email"),
)
# Read raw: the adapter's key (decoded only when the signatory's adapter is made).
_SETTINGS_COLUMN = "s.adapter_settings"
# PostgreSQL: the row's version and its trail's end, so the batch's `send`s are written in one
# statement while neither has changed (desk.requests.sending.Seen).
_SEEN_COLUMNS = (
    "d.xmin::text",
    "(SELECT e.digest FROM delivery_event e WHERE e.delivery_id = d.id ORDER BY e.id DESC LIMIT 1)",
    # And the signatory's declarations (as `declarations_of` reads them), in the same query:
    # their own query was one more round trip per batch.
    "(SELECT json_agg(json_build_array(x.code, x.title, x.data_categories, x.recipients) "
    "ORDER BY x.id) FROM declaration x WHERE x.signatory_id = d.signatory_id)",
)


# Not frozen: a frozen dataclass sets each of its 23 fields through object.__setattr__, 16 rows
# a batch (3 % of the worker's samples, bench/fanout.py); nothing changes a row once read.
@dataclass(slots=True)
class Row:
    """A delivery as its dispatch needs it."""

    id: int
    state: DeliveryState
    received_at: datetime
    due_at: datetime
    dispatch_ref: str | None
    channel: str | None
    signatory_id: int
    reference: str
    kind: Any
    assurance: str
    filed_via: str
    scope: dict[str, Any] | None
    consent_withdrawal: bool
    resident_id: int
    email: str | None
    slug: str
    name: str
    accepted_identifiers: list[str] | None
    adapter: str
    dpo_email: str
    adapter_settings: Any
    seen: sending.Seen | None = None
    declarations: list[dict[str, Any]] | None = None

    @property
    def used_channel(self) -> str:
        return self.channel or self.adapter


def _mark(dialect: str, n: int) -> str:
    return f"${n}" if dialect == "postgres" else "?"


async def read_rows(ids: Sequence[int]) -> dict[int, Row]:
    """The deliveries `ids` (those that exist), in one query."""
    if not ids:
        return {}
    db = Delivery._choose_db()
    dialect = db.capabilities.dialect
    seen = dialect == "postgres"
    columns = ", ".join(
        [c for c, _, _ in _COLUMNS] + [_SETTINGS_COLUMN] + list(_SEEN_COLUMNS if seen else ())
    )
    marks = ", ".join(_mark(dialect, n) for n in range(1, len(ids) + 1))
    _, rows = await db.execute_query(
        f"SELECT {columns} FROM delivery d "  # noqa: S608
        "JOIN rights_request r ON r.id = d.request_id "
        "JOIN resident p ON p.id = r.resident_id "
        "JOIN signatory s ON s.id = d.signatory_id "
        f"WHERE d.id IN ({marks})",
        list(ids),
    )
    converters = [model._meta.fields_map[name].to_python_value for _, model, name in _COLUMNS]
    found: dict[int, Row] = {}
    for raw in rows:
        values = [convert(raw[n]) for n, convert in enumerate(converters)]
        n = len(_COLUMNS)
        version = sending.Seen(str(raw[n + 1]), raw[n + 2] or None) if seen else None
        declared = _declarations(raw[n + 3]) if seen else None
        row = Row(*[*values, raw[n], version, declared])
        found[row.id] = row
    return found


def _declarations(aggregated: Any) -> list[dict[str, Any]]:
    """The declarations `json_agg` gave (None: the signatory has none)."""
    if aggregated is None:
        return []
    items = json.loads(aggregated) if isinstance(aggregated, str) else aggregated
    return [
        {"code": code, "title": title, "data_categories": categories, "recipients": recipients}
        for code, title, categories, recipients in items
    ]


async def declarations_of(signatory_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """Each signatory's declarations as the envelope carries them, in one query (written here:
    Tortoise built the same SELECT again at every batch, a twelfth of the worker's time)."""
    found: dict[int, list[dict[str, Any]]] = {sid: [] for sid in signatory_ids}
    if not signatory_ids:
        return found
    db = Declaration._choose_db()
    dialect = db.capabilities.dialect
    marks = ", ".join(_mark(dialect, n) for n in range(1, len(signatory_ids) + 1))
    _, rows = await db.execute_query(
        "SELECT signatory_id, code, title, data_categories, recipients FROM declaration "  # noqa: S608
        f"WHERE signatory_id IN ({marks}) ORDER BY id",
        sorted(signatory_ids),
    )
    fields = Declaration._meta.fields_map
    categories_of = fields["data_categories"].to_python_value
    recipients_of = fields["recipients"].to_python_value
    for sid, code, title, categories, recipients in rows:
        found[int(sid)].append(
            {
                "code": code,
                "title": title,
                "data_categories": categories_of(categories),
                "recipients": recipients_of(recipients),
            }
        )
    return found


# Adapters kept between batches, per runtime, by (channel, signatory, DPO mailbox, raw
# settings): settings changed in the back office give another key, hence a new adapter.
_ADAPTERS: dict[int, tuple[weakref.ref[Runtime], dict[tuple[Any, ...], object]]] = {}
_MAX_ADAPTERS = 512


def adapter_for(row: Row, rt: Runtime) -> object:
    kept = _ADAPTERS.get(id(rt))
    if kept is None or kept[0]() is not rt or len(kept[1]) >= _MAX_ADAPTERS:
        for gone in [k for k, (ref, _) in _ADAPTERS.items() if ref() is None]:
            del _ADAPTERS[gone]
        kept = _ADAPTERS[id(rt)] = (weakref.ref(rt), {})
    adapters = kept[1]
    key = (row.used_channel, row.signatory_id, row.dpo_email, str(row.adapter_settings))
    adapter = adapters.get(key)
    if adapter is None:
        settings_field = Signatory._meta.fields_map["adapter_settings"]
        adapter = adapters[key] = new_adapter(
            channel=row.used_channel,
            dpo_email=row.dpo_email,
            raw_settings=settings_field.to_python_value(row.adapter_settings) or {},
            rt=rt,
        )
    return adapter


async def _nothing_known(residents: set[int]) -> dict[int, dict[str, str]]:
    return {rid: {} for rid in residents}


async def envelopes_of(rows: list[Row], rt: Runtime) -> list[Envelope]:
    residents = {row.resident_id for row in rows}
    if all(row.email and set(row.accepted_identifiers or ()) <= {"email"} for row in rows):
        # The envelopes carry no identifier but the row's own email (what signatories accept
        # by default): the other domains' identifiers would be read for nothing, one query.
        identifiers: Awaitable[dict[int, dict[str, str]]] = _nothing_known(residents)
    else:
        identifiers = known_identifiers_many(residents)
    if all(row.declarations is not None for row in rows):
        # PostgreSQL: read with the rows.
        declarations = {row.signatory_id: row.declarations or [] for row in rows}
        known = await identifiers
    else:
        # Both reads at once, not one after the other.
        declarations, known = await asyncio.gather(
            declarations_of({row.signatory_id for row in rows}), identifiers
        )
    return [
        envelope_of(
            rt,
            delivery_id=row.id,
            signatory_id=row.signatory_id,
            state=row.state.value,
            received_at=row.received_at,
            due_at=row.due_at,
            dispatch_ref=row.dispatch_ref,
            reference=row.reference,
            kind=row.kind.value,
            assurance=row.assurance,
            filed_via=row.filed_via,
            scope=scope_from(row.scope, consent_withdrawal=row.consent_withdrawal),
            slug=row.slug,
            name=row.name,
            accepted=row.accepted_identifiers,
            known=known[row.resident_id],
            email=row.email,
            declarations=declarations[row.signatory_id],
        )
        for row in rows
    ]


def job_error(exc: BaseException) -> Exception:
    if isinstance(exc, PermanentAdapterError):
        permanent = PermanentJobError(str(exc))
        permanent.__cause__ = exc
        return permanent
    if isinstance(exc, Exception):
        return exc
    raise exc  # cancelled, or the process is stopping


async def dispatch_deliveries(jobs: Sequence[OutboxJob], rt: Runtime) -> list[Exception | None]:
    """Hand a batch's deliveries over to their channels and record their `send`s; for each job,
    None (done) or the error its retry or parking is decided by."""
    delivery_of = [int(job.payload["delivery_id"]) for job in jobs]
    rows = await read_rows(sorted(set(delivery_of)))
    # Withdrawn, answered early, or sent by an earlier attempt: nothing to do.
    todo = [rows[i] for i in dict.fromkeys(delivery_of) if i in rows]
    todo = [row for row in todo if row.state == DeliveryState.PENDING]
    errors: dict[int, Exception] = {}
    run = current_batch()
    if todo:
        envelopes = await envelopes_of(todo, rt)
        adapters = [adapter_for(row, rt) for row in todo]
        results = await asyncio.gather(
            *(
                _deliver(adapter, envelope)
                for adapter, envelope in zip(adapters, envelopes, strict=True)
            ),
            return_exceptions=True,
        )
        if run is not None:
            # Only the recording is left: the worker claims its next batch meanwhile.
            run.answered()
        sends: list[sending.Sent] = []
        handed: list[str] = []
        for row, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                errors[row.id] = job_error(result)
                continue
            reference, poll_after = result
            handed.append(f"{row.id} ({row.slug}, {reference[:40]})")
            sends.append(
                sending.Sent(
                    delivery_id=row.id,
                    actor=f"adapter:{row.used_channel}",
                    dispatch_ref=reference[:200],
                    jobs=[poll_job(row.id, 1, poll_after)] if poll_after is not None else [],
                )
            )
        if handed:
            # One line per batch: a line per delivery (the webhook adapter's) was a twentieth of
            # the worker's CPU (bench/fanout.py).
            log.info("%s deliveries handed over: %s", len(handed), ", ".join(handed))
        # Run by the worker's lanes, the jobs are marked done with their `send`s (one commit).
        done = [job for job, d in zip(jobs, delivery_of, strict=True) if d not in errors]
        if run is None or not sends:
            done = []
        try:
            seen = {row.id: row.seen for row in todo if row.seen is not None}
            await sending.send_many(sends=sends, done=done, seen=seen or None)
        except Exception as exc:
            # Nothing recorded: these jobs run again, and their partners get the same keys.
            errors.update(dict.fromkeys((s.delivery_id for s in sends), exc))
        else:
            if run is not None:
                run.recorded.update(job.id for job in done)
    return [errors.get(delivery_id) for delivery_id in delivery_of]


async def _deliver(adapter: object, envelope: Envelope) -> tuple[str, float | None]:
    dispatch = await adapter.deliver(envelope)  # type: ignore[attr-defined]
    return str(dispatch.reference), dispatch.poll_after


async def dispatch_delivery(job: OutboxJob, rt: Runtime) -> None:
    """One dispatch job alone (`desk worker --once`, tests): a batch of one; the worker's
    lanes run them in batches (JobRegistry.batches)."""
    [error] = await dispatch_deliveries([job], rt)
    if error is not None:
        raise error
