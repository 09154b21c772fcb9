"""The dashboard's change log: database triggers append a row for every write to a table the
resident's page shows (desk.residents.pagecache reads it as the page's revision).

Rows name the resident whose page changed, or 0 for what every page shows (signatories, their
declarations, mediators' names, holdings). Append-only: concurrent transactions of one
resident insert their own rows and never wait for each other.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# table → the resident a row of it concerns, as an SQL expression of the row (`X.`), and the
# events that change what the page shows.
_PER_RESIDENT: dict[str, tuple[str, str]] = {
    "rights_request": ("X.resident_id", "INSERT OR UPDATE OR DELETE"),
    "delivery": (
        "(SELECT resident_id FROM rights_request WHERE id = X.request_id)",
        "INSERT OR UPDATE OR DELETE",
    ),
    # Its log position, set later by the sequencer, is not on the page.
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
_SHARED: dict[str, str] = {
    "signatory": "INSERT OR DELETE OR UPDATE OF name, slug, charter_status, hashing_key",
    "declaration": "INSERT OR UPDATE OR DELETE",
    "staff_member": "INSERT OR DELETE OR UPDATE OF display_name, help_point",
    "holding": "INSERT OR UPDATE OR DELETE",
    "lineage_event": "INSERT OR UPDATE OR DELETE",
}


def _sqlite() -> list[str]:
    statements = [
        "CREATE TABLE IF NOT EXISTS dash_change (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "resident_id INTEGER NOT NULL, changed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        "CREATE INDEX IF NOT EXISTS dash_change_resident ON dash_change (resident_id, id)",
    ]

    def insert(expr: str) -> str:
        return (
            "INSERT INTO dash_change (resident_id) SELECT e FROM (SELECT "
            f"{expr} AS e) WHERE e IS NOT NULL;"
        )

    for table, (expr, events) in _PER_RESIDENT.items():
        for event in events.split(" OR "):
            body = insert(expr.replace("X.", "OLD." if event == "DELETE" else "NEW."))
            if event == "UPDATE":
                # The resident before, too, when the row moved to another one.
                body += (
                    " INSERT INTO dash_change (resident_id) SELECT o FROM (SELECT "
                    f"{expr.replace('X.', 'OLD.')} AS o, {expr.replace('X.', 'NEW.')} AS n) "
                    "WHERE o IS NOT NULL AND (n IS NULL OR o <> n);"
                )
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS dash_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {body} END"
            )
    for table, events in _SHARED.items():
        for event in events.split(" OR "):
            name = event.split()[0].lower()
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS dash_{table}_{name} AFTER {event} ON {table} "
                "BEGIN INSERT INTO dash_change (resident_id) VALUES (0); END"
            )
    return statements


def _postgres() -> list[str]:
    statements = [
        "CREATE TABLE IF NOT EXISTS dash_change (id BIGSERIAL PRIMARY KEY, "
        "resident_id BIGINT NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id(), "
        "changed_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        "CREATE INDEX IF NOT EXISTS dash_change_resident ON dash_change (resident_id, id)",
        # The page's reader asks whether transactions running when it read have since
        # committed rows (desk.residents.pagecache).
        "CREATE INDEX IF NOT EXISTS dash_change_xid ON dash_change (xid)",
        "CREATE OR REPLACE FUNCTION dash_shared_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO dash_change (resident_id) VALUES (0); RETURN NULL; END $$",
    ]
    for table, (expr, events) in _PER_RESIDENT.items():
        old, new = expr.replace("X.", "OLD."), expr.replace("X.", "NEW.")
        statements.append(
            f"CREATE OR REPLACE FUNCTION dash_{table}_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ DECLARE o BIGINT; n BIGINT; BEGIN "
            f"IF TG_OP <> 'INSERT' THEN o := {old}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN n := {new}; END IF; "
            "IF n IS NOT NULL THEN INSERT INTO dash_change (resident_id) VALUES (n); END IF; "
            "IF o IS NOT NULL AND o IS DISTINCT FROM n THEN "
            "INSERT INTO dash_change (resident_id) VALUES (o); END IF; "
            "RETURN NULL; END $$"
        )
        statements.append(f"DROP TRIGGER IF EXISTS dash_{table} ON {table}")
        statements.append(
            f"CREATE TRIGGER dash_{table} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION dash_{table}_change()"
        )
    for table, events in _SHARED.items():
        # One row per statement: a partner's push of thousands of holdings adds one.
        statements.append(f"DROP TRIGGER IF EXISTS dash_{table} ON {table}")
        statements.append(
            f"CREATE TRIGGER dash_{table} AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dash_shared_change()"
        )
    return statements


async def _create(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in _sqlite() if sqlite else _postgres():
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("models", "0019_resident")]

    initial = False

    operations = [ops.RunPython(_create)]
