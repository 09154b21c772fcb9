"""Generate the scale dataset in a PostgreSQL database of your own, in SQL (generate_series).

Run: .venv/bin/python bench/scale_data.py postgres://postgres@127.0.0.1:5432/desk_h_bench_scale

The database is dropped and created again, migrated, given 40 signatories (the demo register
and made-up ones, through the desk's code), then filled by INSERT … SELECT generate_series:
1.3 million residents, 1 million requests over three years, 5 deliveries each (5 million),
their first audit event (5 million) and their done dispatch jobs in the outbox (5 million);
requests closed for over a year are marked reduced, as the worker's retention pass would have
done over the years, and residents have logged in within the last ten months.
Each step's duration is printed. Generated residents are r<n>@exemple.invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import desk_setup  # noqa: E402

RESIDENTS = 1_300_000
REQUESTS = 1_000_000
PER_REQUEST = 5
# Generated residents' ids start above those the seed created (the demo resident).
RESIDENT_BASE = 1000

STEPS: list[tuple[str, str]] = [
    (
        "residents",
        """
        INSERT INTO resident (id, email, pseudonym, locale, created_at, last_login_at)
        SELECT {base} + g, 'r' || g || '@exemple.invalid', md5(g::text), 'fr',
               now() - (g % 1500) * interval '1 day', now() - (g % 300) * interval '1 day'
        FROM generate_series(1, {residents}) AS g
        """,
    ),
    (
        "requests",
        """
        INSERT INTO rights_request (id, reference, kind, filed_via, created_at, resident_id,
                                    assurance)
        SELECT g, 'GEN-' || g,
               (ARRAY['discovery','discovery','discovery','discovery','access','access',
                      'erasure','erasure','erasure','objection'])[1 + g % 10],
               'online',
               now() - (g % 1095) * interval '1 day' - (g % 86400) * interval '1 second',
               {base} + 1 + (g::bigint * 7919) % {residents}, 'email'
        FROM generate_series(1, {requests}) AS g
        """,
    ),
    (
        "deliveries",
        """
        INSERT INTO delivery (id, state, received_at, due_at, completed_at, outcome, updated_at,
                              request_id, signatory_id, denial_reason)
        SELECT d.id, d.state, r.created_at, r.created_at + interval '1 month',
               CASE WHEN d.state IN ('fulfilled', 'denied', 'withdrawn')
                    THEN r.created_at + (1 + d.id % 45) * interval '1 day' END,
               CASE WHEN d.state = 'fulfilled'
                    THEN jsonb_build_object('holds_data', d.id % 3 = 0) END,
               r.created_at, r.id, s.ids[1 + (r.id + k * 8) % 40],
               CASE WHEN d.state = 'denied' THEN 'no_match' END
        FROM rights_request r
        CROSS JOIN generate_series(0, {per_request} - 1) AS k
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM signatory) AS s
        CROSS JOIN LATERAL (
            SELECT (r.id - 1) * {per_request} + k + 1 AS id,
                   CASE WHEN r.created_at > now() - interval '45 days'
                        THEN (ARRAY['pending','sent','acknowledged','extended','fulfilled'])
                             [1 + (r.id + k) % 5]
                        ELSE (ARRAY['fulfilled','fulfilled','fulfilled','fulfilled',
                                    'fulfilled','fulfilled','fulfilled','denied','withdrawn',
                                    'fulfilled'])[1 + (r.id + k) % 10]
                   END AS state
        ) AS d
        """,
    ),
    (
        "audit events",
        """
        INSERT INTO delivery_event (id, at, actor, action, from_state, to_state, detail,
                                    delivery_id, prev_digest, digest)
        SELECT id, received_at, 'resident', 'file', 'pending', 'pending', '{{}}'::jsonb, id,
               repeat('0', 64), md5(id::text) || md5((-id)::text)
        FROM delivery
        """,
    ),
    (
        "outbox jobs",
        """
        INSERT INTO outbox_job (id, kind, payload, idempotency_key, state, attempts,
                                max_attempts, run_after, created_at, finished_at)
        SELECT id, 'delivery.dispatch', jsonb_build_object('delivery_id', id),
               'dispatch-' || id, 'done', 1, 8, received_at, received_at, received_at
        FROM delivery
        """,
    ),
    (
        # What the worker's retention pass did as the years went by (desk.retention.rules):
        # requests closed for over a year are reduced. Without it, the first worker to start
        # spends its first hour reducing them, and every figure measures that instead.
        "requests reduced by retention",
        """
        UPDATE rights_request SET reduced_at = created_at + interval '13 months'
        WHERE created_at < now() - interval '14 months'
        """,
    ),
    (
        "sequences",
        """
        SELECT setval('resident_id_seq', (SELECT max(id) FROM resident));
        SELECT setval('rights_request_id_seq', (SELECT max(id) FROM rights_request));
        SELECT setval('delivery_id_seq', (SELECT max(id) FROM delivery));
        SELECT setval('delivery_event_id_seq', (SELECT max(id) FROM delivery_event));
        SELECT setval('outbox_job_id_seq', (SELECT max(id) FROM outbox_job));
        """,
    ),
    ("analyze", "VACUUM ANALYZE"),
]


def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", admin, "-qc", sql], check=True)


async def fill(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for name, sql in STEPS:
            started = time.monotonic()
            text = sql.format(
                residents=RESIDENTS, requests=REQUESTS, per_request=PER_REQUEST, base=RESIDENT_BASE
            )
            await conn.execute(text)
            print(f"  {name}: {time.monotonic() - started:.1f} s", flush=True)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", help="postgres://…/desk_h_<you> (dropped and re-created)")
    args = parser.parse_args()
    started = time.monotonic()
    recreate(args.database_url)
    env = {"DESK_DATABASE_URL": args.database_url, "DESK_SECRET_KEY": "bench-secret-" + "x" * 40}
    desk_setup.migrate(env)
    asyncio.run(desk_setup.seed_only(args.database_url, signatories=40))
    print(f"  schema and 40 signatories: {time.monotonic() - started:.1f} s", flush=True)
    asyncio.run(fill(args.database_url))
    print(f"scale dataset generated in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
