"""A group of filings written by one statement on PostgreSQL (desk.requests.filing_pg), by a
transaction on SQLite: the same rows either way. Each filing whole, its deliveries' ids in its
signatories' order with their events and jobs in the same order, digests Python recomputes, a
taken submission key skipping only its filing, a bad filing failing only itself, the workers
notified and the jobs theirs to claim."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette
from tortoise import connections

from desk.core import clock
from desk.outbox import intake, services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.wakeup import listen_dsn
from desk.requests import filing, filing_pg
from desk.requests.audit import digest_matches, first_event_rows, verify_events
from desk.requests.filing import GROUP
from desk.requests.filing_rows import Filing
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind, RightsRequest
from desk.requests.services import new_reference
from tests.factories import make_resident, make_signatory

# Free of FREE_TEXT but not of what JSON escapes or UTF-8 encodes on several bytes.
ACTOR = 'médiatrice « Kérinou » \\ "accueil" 🙂 ' + "x" * 100
DETAIL: dict[str, Any] = {"lieu": "Maison du numérique", "z": [1, "é"], "a": {"b": None}}


def _filing(resident_id: int, targets: list[int], **request: Any) -> Filing:
    values = {
        "resident_id": resident_id, "kind": RequestKind.ERASURE, "filed_via": "assisted",
        "submission_key": None, "assurance": "in_person", "declaration_id": None,
        "scope": None, "consent_withdrawal": False, "reference": new_reference(),
    }  # fmt: skip
    return Filing(
        request={**values, **request},
        targets=sorted(targets),
        received=clock.now(),
        actor=ACTOR,
        actor_detail=DETAIL,
    )


async def _whole(f: Filing, request_id: int) -> None:
    """The filing's rows are those the transaction path writes, ids in signatory order."""
    request = await RightsRequest.get(id=request_id)
    assert (request.reference, request.created_at) == (f.request["reference"], f.received)
    deliveries = await Delivery.filter(request_id=request_id).order_by("id")
    assert [d.signatory_id for d in deliveries] == f.targets  # type: ignore[attr-defined]
    for d in deliveries:
        assert (d.state, d.received_at, d.updated_at) == (DeliveryState.PENDING,) + (
            f.received,
        ) * 2
        assert d.due_at == clock.add_months(f.received, 1)
        assert (d.outcome, d.completed_at, d.channel, d.info_identity) == (None, None, None, False)
    ids = [d.id for d in deliveries]
    events = await DeliveryEvent.filter(delivery_id__in=ids).order_by("id")
    assert [e.delivery_id for e in events] == ids  # type: ignore[attr-defined]
    expected = first_event_rows(
        delivery_ids=ids, action="file", actor=f.actor, state="pending", detail=f.actor_detail,
        at=f.received,
    )  # fmt: skip
    for event, row in zip(events, expected, strict=True):
        assert event.digest == row["digest"] and digest_matches(event, legacy=False)
        assert (event.at, event.actor, event.detail, event.prev_digest) == (
            f.received, ACTOR[:100], DETAIL, row["prev_digest"]
        )  # fmt: skip
        assert (event.action, event.from_state, event.to_state) == ("file", "pending", "pending")
    keys = [f"dispatch-{i}" for i in ids]
    jobs = await OutboxJob.filter(idempotency_key__in=keys).order_by("id")
    assert [(j.idempotency_key, j.payload) for j in jobs] == [
        (f"dispatch-{i}", {"delivery_id": i}) for i in ids
    ]
    for job in jobs:
        assert (job.kind, job.state, job.attempts) == ("delivery.dispatch", JobState.PENDING, 0)
        assert job.max_attempts == services.DEFAULT_MAX_ATTEMPTS
        assert job.run_after == job.created_at and job.run_after >= f.received
        assert job.locked_by is None and job.locked_until is None
        assert job.last_error is None and job.finished_at is None


async def _signatories(count: int) -> list[int]:
    return sorted([(await make_signatory(f"organisme-{n:02d}")).id for n in range(count)])


async def test_a_group_is_written_whole_with_digests_python_recomputes(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    residents = [await make_resident(f"r{n}@exemple.invalid") for n in range(3)]
    sids = await _signatories(7)
    if connections.get("default").capabilities.dialect == "postgres":

        async def unused(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("PostgreSQL writes the group in one statement")

        monkeypatch.setattr(filing, "write_filings", unused)
    filings = [
        _filing(residents[0].id, sids),
        _filing(residents[1].id, [sids[6], sids[0], sids[3]]),
        _filing(residents[2].id, sids[2:4], submission_key="k-whole"),
    ]
    written = await asyncio.gather(*(GROUP.file(f) for f in filings))
    for f, request in zip(filings, written, strict=True):
        assert request is not None and request.reference == f.request["reference"]
        await _whole(f, request.id)
    checked, problems = await verify_events()
    assert checked == 12 and problems == []


async def test_a_taken_submission_key_skips_its_filing_only(app: Starlette) -> None:
    resident = await make_resident()
    sids = await _signatories(3)
    first = await GROUP.file(_filing(resident.id, sids, submission_key="k-taken"))
    assert first is not None
    # Queued before the writer runs: one group. A double click within it: the first is written.
    group = [
        _filing(resident.id, sids[:2]),
        _filing(resident.id, sids, submission_key="k-taken"),
        _filing(resident.id, sids[1:], submission_key="k-twice"),
        _filing(resident.id, sids, submission_key="k-twice"),
    ]
    written = await asyncio.gather(*(GROUP.file(f) for f in group))
    assert written[1] is None and written[3] is None
    assert written[0] is not None and written[2] is not None
    await _whole(group[0], written[0].id)
    await _whole(group[2], written[2].id)
    for skipped in (group[1], group[3]):
        assert await RightsRequest.filter(reference=skipped.request["reference"]).count() == 0
    assert await Delivery.all().count() == 3 + 2 + 2
    assert await OutboxJob.all().count() == 3 + 2 + 2


async def test_a_bad_filing_in_a_group_fails_only_itself(app: Starlette) -> None:
    resident = await make_resident()
    sids = await _signatories(2)
    group = [_filing(resident.id, sids), _filing(999_999, sids), _filing(resident.id, sids[:1])]
    written = await asyncio.gather(*(GROUP.file(f) for f in group), return_exceptions=True)
    assert isinstance(written[1], Exception)
    for n in (0, 2):
        request = written[n]
        assert isinstance(request, RightsRequest)
        await _whole(group[n], request.id)
    assert await RightsRequest.all().count() == 2
    assert await DeliveryEvent.all().count() == 3
    checked, problems = await verify_events()
    assert checked == 3 and problems == []


async def test_the_jobs_are_claimable_by_a_worker(app: Starlette) -> None:
    resident = await make_resident()
    sids = await _signatories(4)
    await asyncio.gather(*(GROUP.file(_filing(resident.id, sids)) for _ in range(2)))
    claimed = await services.claim_batch(worker_id="w-test", limit=100)
    deliveries = await Delivery.all().order_by("id")
    assert [j.payload for j in claimed] == [{"delivery_id": d.id} for d in deliveries]
    assert {(j.state, j.locked_by, j.attempts) for j in claimed} == {
        (JobState.RUNNING, "w-test", 1)
    }


def _postgres_only() -> None:
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("the one-statement group is PostgreSQL's")


async def test_the_statement_notifies_the_workers_as_wake_workers_does(
    app: Starlette, database_url: str
) -> None:
    _postgres_only()
    resident = await make_resident()
    sids = await _signatories(2)
    dsn = listen_dsn(database_url)
    assert dsn is not None
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    listener = await asyncpg.connect(dsn)
    try:

        def hear(_conn: object, _pid: int, channel: str, payload: object) -> None:
            heard.put_nowait((channel, str(payload)))

        await listener.add_listener(services.WAKE_CHANNEL, hear)
        group = [_filing(resident.id, sids) for _ in range(3)]
        client = connections.get("default")
        tails = filing_pg.event_tails(group, client)
        assert tails is not None
        ids = await filing_pg.write_group(group, tails, client)
        assert len(ids) == 3
        # Bounded so a lost notification fails the test rather than hanging it.
        # Its payload says residents are filing: workers hold back (desk.outbox.intake).
        assert await asyncio.wait_for(heard.get(), timeout=10) == (
            services.WAKE_CHANNEL,
            intake.INTAKE,
        )
        # Nothing written (every reference taken), nothing to wake the workers for.
        assert await filing_pg.write_group(group, tails, client) == {}
        await listener.execute("SELECT 1")  # a notification sent meanwhile has reached it
        await asyncio.sleep(0)
        assert heard.empty()
    finally:
        await listener.close()


async def test_a_group_statement_is_the_same_text_whatever_its_size(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One text: each connection prepares it once, not once per group size."""
    _postgres_only()
    resident = await make_resident()
    sids = await _signatories(3)
    client = connections.get("default")
    seen: list[str] = []
    run = client.execute_query_dict

    async def recorded(sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
        seen.append(sql)
        found: list[dict[str, Any]] = await run(sql, values)
        return found

    monkeypatch.setattr(client, "execute_query_dict", recorded)
    for size, targets in ((1, sids[:1]), (4, sids)):
        group = [_filing(resident.id, targets) for _ in range(size)]
        tails = filing_pg.event_tails(group, client)
        assert tails is not None
        assert len(await filing_pg.write_group(group, tails, client)) == size
    assert len(seen) == 2 and seen[0] == seen[1]
