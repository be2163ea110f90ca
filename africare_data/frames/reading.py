"""``read_frame``: any SQLAlchemy ``select()`` as a typed DataFrame, by the cheaper path.

Small results (the planner expects fewer than :data:`FAST_PATH_MIN_ROWS` rows) run on the
session's own asyncpg connection: a few milliseconds. Large results are fetched by the ADBC
driver's binary ``COPY`` into Arrow record batches on a connection sharing the session's snapshot
(see :mod:`.transport`), each batch written into the frame's final columns as it arrives.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd
from sqlalchemy import TextClause, text
from sqlalchemy.sql import ColumnElement

from africare_data.frames import arguments, transport
from africare_data.frames.arguments import Method
from africare_data.frames.conversion import rows_to_arrays, to_columns
from africare_data.frames.dtypes import AnySelect, Column, columns_of
from africare_data.frames.row_frames import SMALL_FRAME_MAX_ROWS, small_columns
from africare_data.frames.transport import Db

__all__ = [
    "FAST_PATH_MIN_ROWS",
    "ROWS_PER_STREAM",
    "Method",
    "read_columns",
    "read_frame",
    "read_sorted",
]

FAST_PATH_MIN_ROWS: Final = 20_000
"""Results the planner expects to be at least this large are fetched with ADBC's ``COPY``."""

ROWS_PER_STREAM: Final = 100_000
"""A sorted read opens one more ``COPY`` stream (up to one per core) per this many rows."""

_CORES: Final = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


async def read_frame(
    db: Db,
    stmt: AnySelect,
    *,
    tz: str = "UTC",
    method: Method = "auto",
) -> pd.DataFrame:
    """Run any SQLAlchemy ``select()`` and return its rows as a typed DataFrame.

    Columns are named after the statement's selected columns, in order; dtypes follow their SQL
    types (see :mod:`africare_data.frames.dtypes`). ``tz`` converts aware timestamps.
    ``method`` forces the path: ``"session"`` (the session's connection), ``"copy"`` (ADBC
    ``COPY`` when the session's transaction allows it) or ``"auto"`` (by the planner's row
    estimate).
    """
    return pd.DataFrame(await read_columns(db, stmt, tz=tz, method=method), copy=False)


async def read_columns(
    db: Db,
    stmt: AnySelect,
    *,
    tz: str = "UTC",
    method: Method = "auto",
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of :func:`read_frame`'s frame by name, for callers that add columns of
    their own before making it (a frame's new column would be a copy). ``parameters`` holds
    the values of the statement's named parameters (``bindparam(name)`` without a value), for a
    statement built once and run with other values each time."""
    tz = arguments.time_zone(tz)
    method = arguments.method(method)
    columns = columns_of(stmt)
    connection = await transport.connection_of(db)
    if method != "session":
        sql = transport.literal_sql(stmt if parameters is None else stmt.params(parameters))
        planned = 0 if sql is None else await transport.planned_rows(connection, sql)
        if sql is not None and (method == "copy" or planned >= FAST_PATH_MIN_ROWS):
            snapshot = await transport.fast_path_snapshot(connection)
            if snapshot is not None:
                return await asyncio.to_thread(
                    transport.copy_columns, *snapshot, [sql], columns, tz, planned
                )
    rows = await transport.session_rows(connection, stmt, columns, parameters)
    return _columns(rows, columns, tz)


async def read_sorted(
    db: Db,
    stmt: AnySelect,
    table: str,
    sort_by: Sequence[ColumnElement[Any]],
    *,
    tz: str = "UTC",
) -> dict[str, Any]:
    """The columns (by name, ready for a frame) of the rows of ``stmt``, a ``select()`` from
    ``table`` alone, sorted by the ``sort_by`` columns (selected, non-null integers or
    timestamps, ascending).

    A large result is read by several ``COPY`` streams at once, each over its own range of the
    table's blocks (``ctid``, a scan of only those pages), unsorted, and sorted while the
    streams' rows are joined: numpy sorts two int64 keys in a fraction of the time the server
    spends on ``ORDER BY`` (its index scan visits the heap in random order). A small one runs on
    the session's connection, sorted by the server.
    """
    tz = arguments.time_zone(tz)
    columns = columns_of(stmt)
    connection = await transport.connection_of(db)
    sql = transport.literal_sql(stmt)
    planned = 0 if sql is None else await transport.planned_rows(connection, sql)
    if sql is not None and planned >= FAST_PATH_MIN_ROWS:
        snapshot = await transport.fast_path_snapshot(connection)
        if snapshot is not None:
            pages = await transport.table_pages(connection, table)
            streams = max(1, min(_CORES, planned // ROWS_PER_STREAM, pages))
            bounds: list[int | None] = [None]
            bounds += [pages * part // streams for part in range(1, streams)]
            parts = [
                transport.literal_sql(stmt.where(*_block_range(table, first, stop)))
                for first, stop in zip(bounds, [*bounds[1:], None], strict=True)
            ]
            sqls = [part for part in parts if part is not None]
            if len(sqls) == len(parts):
                keys = [column.key for column in sort_by if column.key is not None]
                return await asyncio.to_thread(
                    transport.copy_columns, *snapshot, sqls, columns, tz, planned, keys
                )
    rows = await transport.session_rows(connection, stmt.order_by(*sort_by), columns)
    return _columns(rows, columns, tz)


def _block_range(table: str, first: int | None, stop: int | None) -> list[TextClause]:
    """The rows of ``table`` stored in blocks ``first`` to ``stop`` (excluded); ``None``: open."""
    bounds = []
    if first is not None:
        bounds.append(text(f"{table}.ctid >= '({int(first)},0)'::tid"))
    if stop is not None:
        bounds.append(text(f"{table}.ctid < '({int(stop)},0)'::tid"))
    return bounds


def _columns(rows: Sequence[Sequence[Any]], columns: Sequence[Column], tz: str) -> dict[str, Any]:
    """The columns of rows fetched at once: built directly when they are few, through Arrow
    otherwise (see :mod:`.row_frames`)."""
    if len(rows) <= SMALL_FRAME_MAX_ROWS:
        return small_columns(rows, columns, tz)
    return to_columns(rows_to_arrays(rows, columns), columns, tz)
