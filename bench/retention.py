"""Reduction of closed requests by the retention job: requests reduced per second.

Run: .venv/bin/python bench/retention.py [--requests 20000] [--deliveries 3]
     [--postgres postgres://postgres@127.0.0.1:5432/desk_h_bench_retention]

A fresh SQLite database (or the PostgreSQL database given, whose tables are dropped and
migrated again: use your own) with N requests closed 13 months ago, each to `--deliveries`
signatories; every delivery has a trail of three chained events as the desk writes them (filed,
a question with its salted free text, an answer with a note), plus the free-text columns of the
delivery filled. The script times `reduce_closed_requests` over the whole history (no time
budget: what `desk retention run` does on a history never reduced), then checks that the trails
still verify and that nothing is left to reduce.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402
from bench.harness import machine_facts, print_facts, sqlite_url  # noqa: E402
from desk.core import clock
from desk.core.chain import GENESIS  # noqa: E402
from desk.db import connected  # noqa: E402
from desk.registry.models import Signatory, SignatoryKind  # noqa: E402
from desk.requests.audit import event_digest, verify_events, with_salts  # noqa: E402
from desk.requests.models import (  # noqa: E402
    Delivery,
    DeliveryEvent,
    DeliveryState,
    RequestKind,
    RightsRequest,
)
from desk.residents.models import Resident  # noqa: E402
from desk.retention.closed_requests import reduce_closed_requests
from desk.retention.rules import CLOSED_REQUEST_MONTHS, RetentionReport

CHUNK = 1000


def _reset_postgres(url: str) -> None:
    """An empty schema to migrate into (the database itself stays: it may not be ours to drop)."""
    sql = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
    subprocess.run(["psql", url, "-qc", sql], check=True, capture_output=True)


def _trail(delivery_id: int, at: Any, n: int) -> list[DeliveryEvent]:
    """filed -> awaiting_info (a question) -> fulfilled (a note): the digests chain."""
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("file", "pending", "pending", {}),
        ("need_info", "pending", "awaiting_info", {"question": f"Numéro de client {n} ?"}),
        (
            "fulfil",
            "awaiting_info",
            "fulfilled",
            {"outcome": {"result": "erased", "note": f"Effacé, dossier {n}"}},
        ),
    ]
    events = []
    prev = GENESIS
    for step, (action, before, after, raw) in enumerate(steps):
        moment = at + timedelta(seconds=step)
        detail = with_salts(action, raw)
        digest = event_digest(
            prev=prev,
            delivery_id=delivery_id,
            at=moment,
            actor="bench",
            action=action,
            from_state=before,
            to_state=after,
            detail=detail,
        )
        events.append(
            DeliveryEvent(
                delivery_id=delivery_id,
                at=moment,
                actor="bench",
                action=action,
                from_state=before,
                to_state=after,
                detail=detail,
                prev_digest=prev,
                digest=digest,
            )
        )
        prev = digest
    return events


async def generate(database_url: str, *, requests: int, deliveries: int) -> float:
    """The closed history; returns the seconds it took."""
    started = time.perf_counter()
    async with connected(database_url):
        for n in range(deliveries):
            await Signatory.create(
                slug=f"banc-reduction-{n}",
                name=f"Organisme {n}",
                kind=SignatoryKind.COMPANY,
                signed_on=date(2024, 1, 1),
                dpo_email=f"dpo@banc-{n}.exemple.invalid",
            )
        signatories = list(await Signatory.all().order_by("id").values_list("id", flat=True))
        closed = clock.add_months(clock.now(), -(CLOSED_REQUEST_MONTHS + 1))
        done = 0
        while done < requests:
            size = min(CHUNK, requests - done)
            residents = [Resident(email=None, pseudonym=secrets.token_hex(16)) for _ in range(size)]
            await Resident.bulk_create(residents)
            first = await Resident.all().order_by("-id").limit(size).values_list("id", flat=True)
            await RightsRequest.bulk_create(
                [
                    RightsRequest(
                        reference=f"B-{done + k:09d}", resident_id=rid, kind=RequestKind.ERASURE
                    )
                    for k, rid in enumerate(sorted(first))
                ]
            )
            request_ids = (
                await RightsRequest.filter(reference__gte=f"B-{done:09d}")
                .order_by("id")
                .values_list("id", flat=True)
            )
            await Delivery.bulk_create(
                [
                    Delivery(
                        request_id=rid,
                        signatory_id=sid,
                        state=DeliveryState.FULFILLED,
                        received_at=closed - timedelta(days=20),
                        due_at=closed + timedelta(days=10),
                        completed_at=closed,
                        info_request="Numéro de client ?",
                        info_answer="Le 4242, au nom de Camille Martin",
                        outcome={"result": "erased", "note": "Effacé sauf les factures"},
                    )
                    for rid in request_ids
                    for sid in signatories
                ]
            )
            delivery_ids = (
                await Delivery.filter(request_id__in=list(request_ids))
                .order_by("id")
                .values_list("id", flat=True)
            )
            events = [
                e
                for n, did in enumerate(delivery_ids)
                for e in _trail(int(did), closed - timedelta(days=1), done + n)  # type: ignore[call-overload]
            ]
            await DeliveryEvent.bulk_create(events, batch_size=CHUNK)
            done += size
        await RightsRequest.all().update(created_at=closed - timedelta(days=30))
    return time.perf_counter() - started


async def reduce(database_url: str) -> tuple[float, RetentionReport]:
    async with connected(database_url):
        report = RetentionReport()
        started = time.perf_counter()
        await reduce_closed_requests(now=clock.now(), months=CLOSED_REQUEST_MONTHS, report=report)
        return time.perf_counter() - started, report


async def check(database_url: str) -> tuple[int, int, int]:
    async with connected(database_url):
        checked, problems = await verify_events()
        left = await RightsRequest.filter(reduced_at__isnull=True).count()
        return checked, len(problems), left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--deliveries", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL database URL of your own (reset)")
    args = parser.parse_args()
    print_facts(machine_facts(args.postgres))
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp:
        work = Path(tmp)
        if args.postgres:
            _reset_postgres(args.postgres)
        database_url = args.postgres or sqlite_url(work)
        env = desk_setup.settings_env(
            database_url=database_url, data_dir=work / "data", smtp_port=25, base_url="http://x"
        )
        desk_setup.migrate(env)
        made = asyncio.run(
            generate(database_url, requests=args.requests, deliveries=args.deliveries)
        )
        seconds, report = asyncio.run(reduce(database_url))
        checked, problems, left = asyncio.run(check(database_url))
    db = "PostgreSQL" if args.postgres else "SQLite"
    n = report.requests_reduced
    print(
        f"history ({db}): {args.requests} closed requests x {args.deliveries} deliveries, "
        f"3 events each, generated in {made:.1f} s"
    )
    print(
        f"reduction: {n} requests, {report.texts_removed} texts sealed in {seconds:.1f} s "
        f"= {n / seconds:,.0f} requests/s"
    )
    print(f"after: {checked} events verified, {problems} problems, {left} requests left")


if __name__ == "__main__":
    main()
