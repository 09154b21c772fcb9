"""PostgreSQL: the worker's claim walks the due-jobs index in order and stops at its LIMIT,
whatever the planner believes of the queue.

The claim (desk.outbox.services) is written for the partial index `outbox_job_due (run_after,
id) WHERE state IN ('pending', 'running')` (0021): walked in order, it stops after the jobs it
takes. But the planner chooses by its statistics, and a queue's are nearly always wrong: none
on a database minutes old (or with autovacuum off), and on one in operation they say a handful
of jobs are pending, because that is how the queue looked when it was last analysed. Believing
the index small, PostgreSQL gathered every due job with a bitmap scan and sorted them all, at
each claim: with 12,000 deliveries pending (300 filings to 40 signatories, bench/
concurrent_load.py --mode everywhere), 4.98 ms to claim 32 jobs against 0.49 ms for the walk,
and growing with the backlog, so draining a backlog cost its square.

Here the claim is a function whose own settings rule out the bitmap scan and the sort: the
only plan left is the walk. The settings hold for the function's statement alone.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

CLAIM_FUNCTION = (
    "CREATE OR REPLACE FUNCTION outbox_claim("
    "worker TEXT, until TIMESTAMPTZ, moment TIMESTAMPTZ, wanted INT"
    ") RETURNS SETOF outbox_job LANGUAGE sql "
    "SET enable_bitmapscan = off SET enable_sort = off AS $$ "
    "UPDATE outbox_job SET state = 'running', locked_by = worker, locked_until = until, "
    "attempts = attempts + 1 WHERE id = ANY(ARRAY("
    "SELECT id FROM outbox_job WHERE state IN ('pending', 'running') AND run_after <= moment "
    "AND (state = 'pending' OR locked_until < moment) "
    "ORDER BY run_after, id LIMIT wanted FOR UPDATE SKIP LOCKED)) RETURNING * $$"
)


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(CLAIM_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("models", "0023_dash_per_request")]

    initial = False

    operations = [ops.RunPython(_create)]
