"""Rows read and written without Tortoise building the statement again at each call.

Tortoise builds a query set's SQL with pypika at every await, several times the cost of running
it on a warm connection; the desk's hottest reads (a session, its person, a partner's delivery)
and writes (a filing's deliveries and first events) pay that at every request. Here a SELECT is
built once per database dialect and run with new values through Tortoise's own executor (so the
models are the query set's), and many rows are inserted with the statement `bulk_create` runs,
each value still converted by its field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.base import Field
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


def _default(field: Field[Any]) -> Any:
    default = field.default
    if callable(default):
        return default()
    if default is None and not field.null and not field.generated:
        raise ValueError(f"{field.model_field_name}: no value and no default")
    return default


def row_values(
    model: type[Model],
    columns: Sequence[str],
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> list[list[Any]]:
    """Each row's values for `columns` (field names), converted by their fields: a row's own
    value, else `shared`'s, else the field's default (auto_now fields must be given)."""
    fields = model._meta.fields_map
    template: list[Any] = []
    varying: list[tuple[int, str]] = []
    for position, name in enumerate(columns):
        field = fields[name]
        if name in rows[0]:
            varying.append((position, name))
            template.append(None)
            continue
        if name in shared:
            value = shared[name]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(f"{name}: give the time it records")
        else:
            value = _default(field)
        template.append(field.to_db_value(value, model))
    # Rows written together mostly share their values (a filing's deliveries share its times,
    # their events share everything but the delivery and its digest): a value that is the very
    # object the previous row gave is not converted again (to 40 signatories, 680 conversions
    # per filing were a third of its CPU, bench/concurrent_load.py --mode everywhere).
    converters = [(position, name, fields[name].to_db_value) for position, name in varying]
    last: list[Any] = [_UNSEEN] * len(converters)
    converted: list[Any] = [None] * len(converters)
    values = []
    for row in rows:
        row_values = list(template)
        for n, (position, name, to_db_value) in enumerate(converters):
            value = row[name]
            if value is not last[n]:
                last[n] = value
                converted[n] = to_db_value(value, model)
            row_values[position] = converted[n]
        values.append(row_values)
    return values


_UNSEEN = object()


async def insert_rows(
    model: type[Model],
    *,
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    connection: BaseDBAsyncClient,
    skip_conflicts: bool = False,
) -> None:
    """Insert `rows` of `model`: each maps field names to values (every row the same names);
    `shared` gives the values of every row; any other field takes its default (auto_now
    fields must be given). `skip_conflicts`: a row that would break a unique index is not
    written (ON CONFLICT DO NOTHING); other constraints still fail the statement."""
    if not rows:
        return
    executor = connection.executor_class(model=model, db=connection)
    columns = executor.regular_columns
    values = row_values(model, columns, shared, rows)
    unnest = _unnest_insert(model, tuple(columns), connection, skip_conflicts, ())
    if unnest is not None:
        await connection.execute_query(unnest, _as_arrays(values, len(columns)))
        return
    if skip_conflicts:
        # Tortoise's own INSERT may end with RETURNING (PostgreSQL), where no clause can follow.
        marks = ",".join(placeholder(connection, n) for n in range(1, len(columns) + 1))
        query = f"{_insert_head(model, columns)}({marks}) ON CONFLICT DO NOTHING"
    else:
        query = executor.insert_query
    await connection.execute_many(query, values)


def _insert_head(model: type[Model], columns: Sequence[str]) -> str:
    """`INSERT INTO "table" ("column", ...) VALUES `, the columns named by their fields."""
    projection = model._meta.fields_db_projection
    names = ",".join(f'"{projection[name]}"' for name in columns)
    return f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES '


# Parameters in one statement: PostgreSQL takes 32,767 at most, SQLite (3.32+) 32,766.
MAX_PARAMETERS = 30_000


async def insert_returning(
    model: type[Model],
    *,
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
    connection: BaseDBAsyncClient,
    skip_conflicts: bool = False,
) -> list[dict[str, Any]]:
    """`insert_rows` as multi-row INSERTs that return the `returning` columns of each row
    written, by name (in no promised order: name a column to match them by). `skip_conflicts`: a row
    that would break a unique index is not written and not returned (ON CONFLICT DO NOTHING);
    other constraints still fail the statement."""
    if not rows:
        return []
    columns = columns_of(model, connection)
    values = row_values(model, columns, shared, rows)
    unnest = _unnest_insert(model, columns, connection, skip_conflicts, tuple(returning))
    if unnest is not None:
        return await connection.execute_query_dict(unnest, _as_arrays(values, len(columns)))
    postgres = connection.capabilities.dialect == "postgres"
    found: list[dict[str, Any]] = []
    for sql, flat in values_inserts(
        model, columns, values, postgres=postgres, skip_conflicts=skip_conflicts,
        returning=returning,
    ):  # fmt: skip
        # The dict variant: Tortoise's asyncpg `execute_query` drops an INSERT's rows.
        found += await connection.execute_query_dict(sql, flat)
    return found


def columns_of(model: type[Model], connection: BaseDBAsyncClient) -> tuple[str, ...]:
    """The fields `model`'s INSERT writes (all but a generated primary key), in its order."""
    return tuple(connection.executor_class(model=model, db=connection).regular_columns)


def values_inserts(
    model: type[Model],
    columns: Sequence[str],
    values: list[list[Any]],
    *,
    postgres: bool,
    skip_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[str, list[Any]]]:
    """Multi-row `INSERT … VALUES` statements writing `values` (each under the parameters one
    statement takes), as (text, parameters); for a caller running them itself (on SQLite in
    the connection's thread, desk.db_sqlite.write_in_thread)."""
    projection = model._meta.fields_db_projection
    head = _insert_head(model, columns)
    tail = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    if returning:
        tail += " RETURNING " + ",".join(f'"{projection.get(name, name)}"' for name in returning)
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    statements = []
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        markers = _values_markers(postgres, len(columns), len(chunk))
        statements.append((head + markers + tail, [value for row in chunk for value in row]))
    return statements


def _unnest_insert(
    model: type[Model],
    columns: tuple[str, ...],
    connection: BaseDBAsyncClient,
    skip_conflicts: bool,
    returning: tuple[str, ...],
) -> str | None:
    """PostgreSQL: `INSERT ... SELECT * FROM unnest($1::type[], ...)`, an array per column, or
    None (SQLite). One statement text per table whatever the number of rows, so asyncpg
    prepares it once per connection; the multi-row VALUES were a new text (prepared again)
    for each group size, with a parameter per value (a group of 10 filings to 40 signatories:
    4,800), and `executemany` sent a Bind and an Execute per row."""
    if connection.capabilities.dialect != "postgres":
        return None
    return _unnest_sql(model, columns, skip_conflicts, returning)


@functools.lru_cache(maxsize=64)
def _unnest_sql(
    model: type[Model], columns: tuple[str, ...], skip_conflicts: bool, returning: tuple[str, ...]
) -> str:
    projection = model._meta.fields_db_projection
    arrays = ",".join(
        f"${n}::{postgres_type(model, name)}[]" for n, name in enumerate(columns, start=1)
    )
    sql = f"{_insert_head(model, columns)[: -len(' VALUES ')]} SELECT * FROM unnest({arrays})"
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ",".join(f'"{projection.get(name, name)}"' for name in returning)
    return sql


def _as_arrays(values: list[list[Any]], columns: int) -> list[Any]:
    """Rows of values as one list per column (unnest's arrays)."""
    return [[row[c] for row in values] for c in range(columns)]


def column_arrays(
    model: type[Model],
    columns: Sequence[str],
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> list[list[Any]]:
    """`rows` as `insert_rows` converts them, one list per column of `columns` (unnest's
    arrays), for a caller writing its own statement (desk.requests.filing_pg)."""
    return _as_arrays(row_values(model, columns, shared, rows), len(columns))


def postgres_type(model: type[Model], name: str) -> str:
    """The PostgreSQL type of a field's column (`VARCHAR(32)`, `JSONB`, ...)."""
    return str(model._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE"))


def default_literal(model: type[Model], name: str) -> str:
    """The field's default as an SQL literal of its column's type (`NULL::TEXT`, `0::INT`),
    for a statement that writes a row without a value for it."""
    field = model._meta.fields_map[name]
    value = field.to_db_value(_default(field), model)
    if value is None:
        text = "NULL"
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = "'" + value.replace("'", "''") + "'"
    else:
        raise ValueError(f"{name}: no SQL literal for its default {value!r}")
    return f"{text}::{postgres_type(model, name)}"


@functools.lru_cache(maxsize=256)
def _values_markers(postgres: bool, columns: int, rows: int) -> str:
    """`(?,?),(?,?)` or `($1,$2),($3,$4)`: built once per shape (a marker each, 4,800 calls
    for a group of 10 filings to 40 signatories)."""
    if not postgres:
        one = "(" + ",".join("?" * columns) + ")"
        return ",".join([one] * rows)
    return ",".join(
        "(" + ",".join(f"${n * columns + c}" for c in range(1, columns + 1)) + ")"
        for n in range(rows)
    )


def placeholder(connection: BaseDBAsyncClient, position: int) -> str:
    """The dialect's parameter marker: `?` (SQLite), `$n` (PostgreSQL, from 1)."""
    return f"${position}" if connection.capabilities.dialect == "postgres" else "?"


async def ids_where(
    model: type[Model], column: str, value: Any, *, connection: BaseDBAsyncClient
) -> list[int]:
    """Ids of `model`'s rows whose `column` is `value`, in id order: one hand-written SELECT
    (the query set built it again with pypika at every call, a tenth of a filing's time)."""
    table = model._meta.db_table
    sql = f'SELECT "id" FROM "{table}" WHERE "{column}"={placeholder(connection, 1)} ORDER BY "id"'
    _, rows = await connection.execute_query(sql, [value])
    return [int(row[0]) for row in rows]


class BuiltSelect(Generic[M]):
    """A query set's SELECT (joins and all) built once per database dialect, then run with new
    values through Tortoise's own executor, the one the query set calls, so the models are
    those the query set returns. Tortoise built the statement again with pypika at every
    query (desk.requests.dispatch does the same for the worker's read of a delivery).

    `build` takes the markers (distinct negative ints, each used once as a filter value, an
    integer or its text) and returns the query set; a shape where a marker is not one parameter
    is run as a query set (tests/desk/test_db_rows.py compares both).
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]], markers: int) -> None:
        self.model = model
        self.build = build
        self.markers = [-48_200 - n for n in range(markers)]
        self.built: dict[str, tuple[str, list[Any], list[int], Any] | None] = {}

    def _built(self, db: BaseDBAsyncClient) -> tuple[str, list[Any], list[int], Any] | None:
        dialect = db.capabilities.dialect
        if dialect not in self.built:
            query = self.build(*self.markers)
            query._db = db  # what awaiting it does first
            query._make_query()
            sql, params = query.query.get_parameterized_sql()
            # A character key's field gives the marker as its text.
            at = [[n for n, p in enumerate(params) if p in (m, str(m))] for m in self.markers]
            if any(len(places) != 1 for places in at):
                self.built[dialect] = None
            else:
                self.built[dialect] = (
                    sql, list(params), [p[0] for p in at], query._select_related_idx
                )  # fmt: skip
        return self.built[dialect]

    async def run(self, *values: Any) -> list[M]:
        db = self.model._choose_db()
        built = self._built(db)
        if built is None:
            return list(await self.build(*values))
        sql, params, at, related = built
        given = list(params)
        for position, value in zip(at, values, strict=True):
            given[position] = value
        found: list[M] = await db.executor_class(
            model=self.model, db=db, prefetch_map={}, prefetch_queries={},
            select_related_idx=related,
        ).execute_select(sql, given, custom_fields=[])  # fmt: skip
        return found


_BY_ID: dict[type[Model], BuiltSelect[Any]] = {}


async def by_id(model: type[M], pk: object) -> M | None:
    """`await model.filter(pk=pk).first()`, without building the statement again."""
    select = _BY_ID.get(model)
    if select is None:
        select = _BY_ID[model] = BuiltSelect(model, lambda key: model.filter(pk=key), markers=1)
    found: list[M] = await select.run(pk)
    return found[0] if found else None
