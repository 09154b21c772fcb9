"""SQLite: a delivery written with its request adds no change row of its own.

Migration 0020_dash gave SQLite ROW triggers (it has no statement triggers): every delivery
inserted appends a `dash_change` row for its resident. A filing writes its request and all its
deliveries in one transaction, and the request's own trigger already appends that resident's
row there; the delivery rows add nothing a page reader can see (on SQLite one transaction
writes at a time, so the newest row of the transaction is what the reader compares). "Erase
everywhere" to 40 signatories appended 41 rows where one says it all, each a write to the
table, its index and `sqlite_sequence` (bench/concurrent_load.py --mode everywhere).

Deliveries are written only with their request (desk.requests.filing), stamped with the
request's own `created_at` as `received_at`. The trigger now fires only for a delivery whose
`received_at` differs from its request's: one written apart from its request, should a later
path ever do so, still changes the page. PostgreSQL's statement triggers (0021) append one row
per statement already.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_RESIDENT = "(SELECT resident_id FROM rights_request WHERE id = NEW.request_id)"

STATEMENTS = (
    "DROP TRIGGER IF EXISTS dash_delivery_insert",
    "CREATE TRIGGER dash_delivery_insert AFTER INSERT ON delivery "
    "WHEN NEW.received_at IS NOT "
    "(SELECT created_at FROM rights_request WHERE id = NEW.request_id) "
    "BEGIN INSERT INTO dash_change (resident_id) "
    f"SELECT e FROM (SELECT {_RESIDENT} AS e) WHERE e IS NOT NULL; END",
)


async def _replace(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    for statement in STATEMENTS:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0021_postgres_writes")]

    initial = False

    operations = [ops.RunPython(_replace)]
