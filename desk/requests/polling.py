"""The worker's polls of several deliveries at once (one batch of `delivery.poll` jobs).

- The deliveries are read in one query, as rows, with their envelopes and adapters made as a
  dispatch batch makes them (desk.requests.batch).
- The partners are asked together.
- The acknowledgements of the batch are recorded in one transaction
  (desk.requests.sending.acknowledge_many) with each delivery's next poll, and so are its
  fulfilments with their signed receipts (desk.requests.fulfilling.fulfil_many); "no news yet"
  answers enqueue their next polls in one transaction; every other answer (a fulfilment with a
  file, a denial, an extension, a question) goes through its own transition, as before.

A delivery the batch finds answered meanwhile by another path (the API, the answer page) is
left as that answer put it. A worker stopped before the batch's answers are recorded leaves its
jobs running: the leases lapse and the polls run again, once each; an answer already recorded
is then refused by the delivery's state, so nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tortoise.transactions import in_transaction

from adapters.base import Answer, Envelope
from desk.core.errors import DeskError
from desk.outbox.models import OutboxJob
from desk.registry.models import Signatory
from desk.requests import fulfilling, partner_answer, sending
from desk.requests.batch import Row, adapter_for, envelopes_of, job_error, read_rows
from desk.requests.dispatch import MAX_POLLS, interval_of, poll_job, polled_answer
from desk.requests.effects import JobSpec, UploadedFile, enqueue_specs
from desk.requests.models import DeliveryState
from desk.runtime import Runtime

log = logging.getLogger("desk.dispatch")

# The states a poll asks the partner about; in any other, the poll has nothing to do.
POLLED = frozenset({DeliveryState.SENT, DeliveryState.ACKNOWLEDGED, DeliveryState.EXTENDED})


async def poll_deliveries(jobs: Sequence[OutboxJob], rt: Runtime) -> list[Exception | None]:
    """Poll a batch's deliveries and record their answers; for each job, None (done) or the
    error its retry or parking is decided by.

    Two polls of one delivery in a batch run one after the other (in rounds), as two jobs
    would: the second sees what the first recorded."""
    outcomes: list[Exception | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    while pending:
        seen: set[int] = set()
        round_: list[int] = []
        later: list[int] = []
        for n in pending:
            delivery_id = int(jobs[n].payload["delivery_id"])
            (later if delivery_id in seen else round_).append(n)
            seen.add(delivery_id)
        errors = await _poll_round([jobs[n] for n in round_], rt)
        for n, error in zip(round_, errors, strict=True):
            outcomes[n] = error
        pending = later
    return outcomes


async def _poll_round(jobs: Sequence[OutboxJob], rt: Runtime) -> list[Exception | None]:
    """Jobs of distinct deliveries."""
    delivery_of = [int(job.payload["delivery_id"]) for job in jobs]
    attempt_of = {
        int(job.payload["delivery_id"]): int(job.payload.get("attempt", 1)) for job in jobs
    }
    rows = await read_rows(sorted(delivery_of))
    todo = [rows[i] for i in delivery_of if i in rows and rows[i].state in POLLED]
    errors: dict[int, Exception] = {}
    if not todo:
        return [None] * len(jobs)
    envelopes = await envelopes_of(todo, rt)
    answers = await asyncio.gather(
        *(_poll(adapter_for(row, rt), env) for row, env in zip(todo, envelopes, strict=True)),
        return_exceptions=True,
    )
    settings_field = Signatory._meta.fields_map["adapter_settings"]
    waiting: list[JobSpec] = []
    acks: list[sending.Sent] = []
    fulfils: list[fulfilling.Fulfilment] = []
    others: list[tuple[Row, Answer, list[JobSpec]]] = []
    for row, answer in zip(todo, answers, strict=True):
        if isinstance(answer, BaseException):
            errors[row.id] = job_error(answer)
            continue
        attempt = attempt_of[row.id]
        settings = settings_field.to_python_value(row.adapter_settings)
        delay = interval_of(row.used_channel, settings, rt)
        next_poll = [poll_job(row.id, attempt + 1, delay)] if attempt < MAX_POLLS else []
        if answer is None:
            waiting.extend(next_poll)
        elif answer.action == "acknowledge":
            acks.append(
                sending.Sent(
                    delivery_id=row.id,
                    actor=f"adapter:{row.used_channel}",
                    dispatch_ref=None,
                    jobs=[] if answer.final else next_poll,
                )
            )
        elif answer.action == "fulfil" and answer.file is None:
            fulfils.append(
                fulfilling.Fulfilment(
                    delivery_id=row.id,
                    actor=f"adapter:{row.used_channel}",
                    outcome=answer.outcome,
                    jobs=[] if answer.final else next_poll,
                )
            )
        else:
            others.append((row, answer, [] if answer.final else next_poll))
    if waiting:
        try:
            async with in_transaction() as conn:
                await enqueue_specs(waiting, connection=conn)
        except Exception as exc:
            errors.update(dict.fromkeys((int(s.payload["delivery_id"]) for s in waiting), exc))
    try:
        await sending.acknowledge_many(acks=acks)
    except Exception as exc:
        # Nothing recorded: these polls run again.
        errors.update(dict.fromkeys((a.delivery_id for a in acks), exc))
    try:
        await fulfilling.fulfil_many(
            fulfilments=fulfils,
            keyring=rt.keyring,
            issuer=rt.issuer,
            digest_quiet=rt.settings.receipt_digest_quiet,
        )
    except Exception as exc:
        # Nothing recorded: these polls run again, and the partners answer them again.
        errors.update(dict.fromkeys((f.delivery_id for f in fulfils), exc))
    for row, answer, next_jobs in others:
        try:
            await _record(row, answer, next_jobs, rt)
        except Exception as exc:
            errors[row.id] = exc
    return [errors.get(delivery_id) for delivery_id in delivery_of]


async def _poll(adapter: object, envelope: Envelope) -> Answer | None:
    answer: Answer | None = await adapter.poll(envelope)  # type: ignore[attr-defined]
    return answer


async def _record(row: Row, answer: Answer, jobs: list[JobSpec], rt: Runtime) -> None:
    """An answer other than an acknowledgement, through its own transition."""
    upload = (
        UploadedFile(answer.file.filename, answer.file.content_type, answer.file.content)
        if answer.file
        else None
    )
    try:
        await partner_answer.answer(
            delivery_id=row.id,
            answer=polled_answer(answer, upload),
            actor=f"adapter:{row.used_channel}",
            keyring=rt.keyring,
            issuer=rt.issuer,
            download_max_age=rt.settings.download_link_max_age,
            jobs=jobs,
        )
    except DeskError as exc:
        log.warning("delivery %s: polled answer %s refused: %s", row.id, answer.action, exc.code)


async def poll_delivery(job: OutboxJob, rt: Runtime) -> None:
    """One poll job alone (`desk worker --once`, tests): a batch of one; the worker's lanes run
    them in batches (JobRegistry.batches)."""
    [error] = await poll_deliveries([job], rt)
    if error is not None:
        raise error
