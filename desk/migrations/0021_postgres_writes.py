"""PostgreSQL: the writes of the worker's hot path made cheaper (bench/fanout.py: the database
spent as much CPU per webhook delivery as the worker itself).

1. The dashboard's change log written once per statement, not once per row.

Migration 0020_dash gave every per-resident table a ROW trigger: a plpgsql call, its
subqueries and one `dash_change` insert for each row written. The worker records a batch of
16 sends in one UPDATE of 16 deliveries, so 16 trigger calls and 16 inserts (a fifth of the
database's CPU per delivery, bench/fanout.py). Here each table gets STATEMENT triggers with
transition tables instead: one call per statement, one INSERT … SELECT DISTINCT of the residents
its rows concern. What desk.residents.pagecache reads is unchanged: a row (with the writing
transaction's `xid`) for every resident whose page a committed statement changed, before or
after the change (a row moved to another resident names both).

Transition tables need one trigger per event (PostgreSQL refuses them on `INSERT OR UPDATE`),
so each table gets up to three, sharing one function. SQLite keeps its row triggers (no
transition tables there; its writer is one transaction at a time anyway).

2. The outbox's indexes on due jobs leave done jobs out. Every job row is updated twice
(claimed, then done), neither in place (`state` is indexed), so each update added an entry to
every index: four, twice. Two partial indexes replace `(state, run_after)` and `(run_after)`:
`(run_after, id) WHERE state IN ('pending', 'running')`, in the claim's order, so the claim reads
the first due rows and stops at its LIMIT (with `(state, run_after)` and its OR of pending and
running, it gathered every due job, thousands in a backlog, and sorted them at each claim: half
the database's CPU in bench/fanout.py), and `(finished_at, id) WHERE state = 'dead'` for the
back office's parked jobs. A claim adds three entries, marking a job done two (a partial index
gets no entry for a row outside it); neither index holds the millions of jobs done. SQLite keeps
the model's indexes.

3. `delivery` pages keep 30 % free (fillfactor 70): a delivery's transitions change no
indexed column, so with room on its page PostgreSQL updates the row in place (a HOT update, no
new entry in its three indexes); packed full by the filings' inserts, no page had room.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# As in 0020_dash (copied: a migration keeps the schema of its day): table → the resident a row
# concerns, as an SQL expression of the row `X`, and the events that change the page.
_PER_RESIDENT: dict[str, tuple[str, str]] = {
    "rights_request": ("X.resident_id", "INSERT OR UPDATE OR DELETE"),
    "delivery": (
        "(SELECT resident_id FROM rights_request WHERE id = X.request_id)",
        "INSERT OR UPDATE OR DELETE",
    ),
    "receipt": (
        "(SELECT r.resident_id FROM delivery d JOIN rights_request r ON r.id = d.request_id "
        "WHERE d.id = X.delivery_id)",
        "INSERT OR DELETE",
    ),
    "access_copy": (
        "(SELECT r.resident_id FROM delivery d JOIN rights_request r ON r.id = d.request_id "
        "WHERE d.id = X.delivery_id)",
        "INSERT OR DELETE",
    ),
    "assisted_filing": (
        "(SELECT resident_id FROM rights_request WHERE id = X.request_id)",
        "INSERT OR UPDATE OR DELETE",
    ),
    "assisted_session": ("X.resident_id", "INSERT OR UPDATE OR DELETE"),
    "mandate": ("X.resident_id", "INSERT OR UPDATE OR DELETE"),
    "mediation_copy_taken": ("X.resident_id", "INSERT OR UPDATE OR DELETE"),
    "resident": ("X.id", "INSERT OR UPDATE OR DELETE"),
}

# The transition tables each event has: new rows, old rows, or both.
_SOURCES = {"INSERT": ("dash_new",), "UPDATE": ("dash_new", "dash_old"), "DELETE": ("dash_old",)}
_REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS dash_new",
    "UPDATE": "REFERENCING OLD TABLE AS dash_old NEW TABLE AS dash_new",
    "DELETE": "REFERENCING OLD TABLE AS dash_old",
}


def _insert(expr: str, event: str) -> str:
    """The residents of the statement's rows, each once (UNION: old and new together)."""
    rows = " UNION ".join(f"SELECT {expr} AS e FROM {source} X" for source in _SOURCES[event])
    return (
        "INSERT INTO dash_change (resident_id) SELECT DISTINCT e FROM "  # noqa: S608
        f"({rows}) AS changed WHERE e IS NOT NULL;"
    )


def postgres_statements() -> list[str]:
    statements: list[str] = []
    for table, (expr, events) in _PER_RESIDENT.items():
        names = events.split(" OR ")
        # plpgsql plans a statement when it first runs it, so a branch naming a transition
        # table its trigger lacks is never planned.
        branches = " ".join(
            f"{'IF' if n == 0 else 'ELSIF'} TG_OP = '{event}' THEN {_insert(expr, event)}"
            for n, event in enumerate(names)
        )
        statements.append(
            f"CREATE OR REPLACE FUNCTION dash_{table}_rows() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {branches} END IF; RETURN NULL; END $$"
        )
        statements.append(f"DROP TRIGGER IF EXISTS dash_{table} ON {table}")
        statements.append(f"DROP FUNCTION IF EXISTS dash_{table}_change()")
        for event in names:
            trigger = f"dash_{table}_{event.lower()}"
            statements.append(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            statements.append(
                f"CREATE TRIGGER {trigger} AFTER {event} ON {table} {_REFERENCING[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION dash_{table}_rows()"
            )
    return statements


# The model's indexes (desk.outbox.models) replaced on PostgreSQL, found by their columns (their
# names are generated).
_OUTBOX_REPLACED = ("run_after", "state, run_after")
_OUTBOX_NEW = (
    "CREATE INDEX IF NOT EXISTS outbox_job_due ON outbox_job (run_after, id) "
    "WHERE state IN ('pending', 'running')",
    "CREATE INDEX IF NOT EXISTS outbox_job_dead ON outbox_job (finished_at, id) "
    "WHERE state = 'dead'",
)
_OUTBOX_INDEXES = (
    "SELECT i.relname, (SELECT string_agg(a.attname, ', ' ORDER BY k.n) "
    "FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
    "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) "
    "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
    "WHERE x.indrelid = 'outbox_job'::regclass AND NOT x.indisunique AND x.indpred IS NULL"
)


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for statement in postgres_statements():
        await client.execute_script(statement)
    for statement in _OUTBOX_NEW:
        await client.execute_script(statement)
    _, rows = await client.execute_query(_OUTBOX_INDEXES)
    for name, columns in (tuple(row) for row in rows):
        if columns in _OUTBOX_REPLACED:
            await client.execute_script(f'DROP INDEX IF EXISTS "{name}"')
    await client.execute_script("ALTER TABLE delivery SET (fillfactor = 70)")


class Migration(migrations.Migration):
    dependencies = [("models", "0020_dash")]

    initial = False

    operations = [ops.RunPython(_create)]
