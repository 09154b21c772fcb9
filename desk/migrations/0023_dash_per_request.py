"""PostgreSQL: the dashboard's statement triggers look each request up once, not each row twice.

Migration 0021 gave each per-resident table a statement trigger that notes, in `dash_change`,
the residents of the rows a statement wrote. For `delivery` (and the tables below it) it found
a row's resident with a subquery per row, `(SELECT resident_id FROM rights_request WHERE id =
X.request_id)`, and PostgreSQL evaluated it twice per row (once for `WHERE e IS NOT NULL`,
pushed down, once for the value). A filing to 40 signatories inserts 40 deliveries of one
request: 80 lookups of that one request. Worse, plpgsql keeps a statement's plan for the
session, and a plan made while `rights_request` held a few rows reads it sequentially: with 400
requests (bench/concurrent_load.py --mode everywhere --history 100, `auto_explain`) the trigger
took 8 ms for a group of six filings or a worker's batch of deliveries.

Here the rows' keys are made distinct first (a request, a delivery), then joined to the tables
that lead to the resident: one lookup per request a statement touches, whatever the plan. What
`dash_change` receives is unchanged: each resident of the statement's old or new rows, once.
SQLite keeps its row triggers (0020, 0022): a lookup by rowid per row, one writer at a time.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Table → the key its rows name, the resident of a key `K.k` as an SQL expression with the
# joins that lead there, and the events that change the page (copied, not imported: a
# migration keeps the schema of its day).
_BY_REQUEST = ("r.resident_id", ("JOIN rights_request r ON r.id = K.k",))
_BY_DELIVERY = (
    "r.resident_id",
    ("JOIN delivery d ON d.id = K.k", "JOIN rights_request r ON r.id = d.request_id"),
)
_DIRECT: tuple[str, tuple[str, ...]] = ("K.k", ())
_ALL, _NO_UPDATE = "INSERT OR UPDATE OR DELETE", "INSERT OR DELETE"
_PER_RESIDENT: dict[str, tuple[str, tuple[str, tuple[str, ...]], str]] = {
    "rights_request": ("resident_id", _DIRECT, _ALL),
    "delivery": ("request_id", _BY_REQUEST, _ALL),
    "receipt": ("delivery_id", _BY_DELIVERY, _NO_UPDATE),
    "access_copy": ("delivery_id", _BY_DELIVERY, _NO_UPDATE),
    "assisted_filing": ("request_id", _BY_REQUEST, _ALL),
    "assisted_session": ("resident_id", _DIRECT, _ALL),
    "mandate": ("resident_id", _DIRECT, _ALL),
    "mediation_copy_taken": ("resident_id", _DIRECT, _ALL),
    "resident": ("id", _DIRECT, _ALL),
}

# The transition tables each event has (0021 named them): new rows, old rows, or both.
_SOURCES = {"INSERT": ("dash_new",), "UPDATE": ("dash_new", "dash_old"), "DELETE": ("dash_old",)}


def _insert(key: str, resident: tuple[str, tuple[str, ...]], event: str) -> str:
    """The residents of the statement's rows, each once, from each key the rows name once."""
    sources = _SOURCES[event]
    if len(sources) == 1:
        keys = f"SELECT DISTINCT {key} AS k FROM {sources[0]}"
    else:  # UNION: the old and new rows' keys together, each once
        keys = " UNION ".join(f"SELECT {key} AS k FROM {source}" for source in sources)
    expression, joins = resident
    return (
        f"WITH K AS ({keys}) INSERT INTO dash_change (resident_id) "  # noqa: S608
        f"SELECT DISTINCT {expression} FROM {' '.join(('K', *joins))} "
        f"WHERE {expression} IS NOT NULL;"
    )


def postgres_statements() -> list[str]:
    """The trigger functions of 0021, replaced (their triggers are unchanged)."""
    statements: list[str] = []
    for table, (key, resident, events) in _PER_RESIDENT.items():
        # plpgsql plans a statement when it first runs it, so a branch naming a transition
        # table its trigger lacks is never planned.
        branches = " ".join(
            f"{'IF' if n == 0 else 'ELSIF'} TG_OP = '{event}' THEN {_insert(key, resident, event)}"
            for n, event in enumerate(events.split(" OR "))
        )
        statements.append(
            f"CREATE OR REPLACE FUNCTION dash_{table}_rows() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {branches} END IF; RETURN NULL; END $$"
        )
    return statements


async def _replace(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for statement in postgres_statements():
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0022_sqlite_filed_deliveries")]

    initial = False

    operations = [ops.RunPython(_replace)]
