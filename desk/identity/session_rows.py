"""A session's row and the resident it names, read by one statement.

Every resident page read the session (desk.identity.sessions), then the resident
(desk.residents.auth): two round trips to PostgreSQL, two turns of SQLite's thread. A LEFT JOIN
reads both; the resident is left in the request's scope, where `current_resident` takes it
when the session still names that resident (a login during the request reads it again).
"""

from __future__ import annotations

from typing import Any

from tortoise.models import Model

from desk.db_rows import placeholder
from desk.identity.models import WebSession
from desk.residents.models import Resident

# Where the session middleware leaves (resident id of the row, Resident or None if the account
# is gone) for desk.residents.auth.
SCOPE_RESIDENT = "desk.session_resident"
_PREFIX = "r__"
_SQL: dict[str, str] = {}


def _columns(model: type[Model]) -> list[str]:
    return list(model._meta.fields_db_projection.values())


def _sql(dialect: str, mark: str) -> str:
    """Built once per dialect: both tables' columns, the resident's prefixed."""
    if dialect not in _SQL:
        session, resident = WebSession._meta.db_table, Resident._meta.db_table
        wanted = [f'"{session}"."{c}"' for c in _columns(WebSession)]
        wanted += [f'"{resident}"."{c}" AS "{_PREFIX}{c}"' for c in _columns(Resident)]
        _SQL[dialect] = (
            f'SELECT {",".join(wanted)} FROM "{session}" '
            f'LEFT JOIN "{resident}" ON "{resident}"."id"="{session}"."resident_id" '
            f'WHERE "{session}"."id"={mark}'
        )
    return _SQL[dialect]


async def session_and_resident(
    digest: str,
) -> tuple[WebSession | None, Resident | None]:
    """The session row whose id is `digest`, and the resident it names if that row exists."""
    db = WebSession._choose_db()
    sql = _sql(db.capabilities.dialect, placeholder(db, 1))
    _, rows = await db.execute_query(sql, [digest])
    if not rows:
        return None, None
    row: dict[str, Any] = dict(rows[0])
    own = {k: v for k, v in row.items() if not k.startswith(_PREFIX)}
    theirs = {k[len(_PREFIX) :]: v for k, v in row.items() if k.startswith(_PREFIX)}
    session = WebSession._init_from_db(**own)
    resident = Resident._init_from_db(**theirs) if theirs.get("id") is not None else None
    return session, resident
