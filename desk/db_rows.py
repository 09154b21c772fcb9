"""One row by its primary key, with the statement built once per model and database dialect.

Every page reads its session's row and, logged in, its person's: `Model.filter(pk=…).first()`
makes Tortoise build the SELECT again with pypika each time, several times the cost of running
it on a warm connection. `by_id` builds it once with a marker in the key's place and runs it
with each key through Tortoise's own executor, the one the query set calls, so the model is
exactly the one the query set gives (tests/desk/test_db_rows.py compares them).
"""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)

# Fits an integer key and, as its text, a character key (the field converts it).
_MARKER = -48_277
_statements: dict[tuple[type[Model], str], tuple[str, list[Any], int, Any] | None] = {}


def _build(model: type[Model], db: Any) -> tuple[str, list[Any], int, Any] | None:
    query: Any = model.filter(pk=_MARKER).first()
    query._db = db  # what awaiting it does first
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    places = [n for n, p in enumerate(params) if p in (_MARKER, str(_MARKER))]
    if len(places) != 1:
        return None  # another shape than expected: the query set every time
    return sql, list(params), places[0], query._select_related_idx


async def by_id(model: type[M], pk: object) -> M | None:
    """`await model.filter(pk=pk).first()`, without building the statement again."""
    db = model._choose_db()
    key = (model, db.capabilities.dialect)
    if key not in _statements:
        _statements[key] = _build(model, db)
    built = _statements[key]
    if built is None:
        return await model.filter(pk=pk).first()
    sql, params, at, related = built
    values = [*params]
    values[at] = pk
    found: list[M] = await db.executor_class(
        model=model, db=db, prefetch_map={}, prefetch_queries={}, select_related_idx=related
    ).execute_select(sql, values, custom_fields=[])
    return found[0] if found else None
