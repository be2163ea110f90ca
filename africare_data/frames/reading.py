"""``read_frame``: any SQLAlchemy ``select()`` as a typed DataFrame, by the cheaper path.

Small results (the planner expects fewer than :data:`FAST_PATH_MIN_ROWS` rows) run on the
session's own asyncpg connection: a few milliseconds. Large results are fetched by the ADBC
driver's binary ``COPY`` into Arrow record batches on a connection sharing the session's snapshot
(see :mod:`.transport`), each batch written into the frame's final columns as it arrives.
"""

from __future__ import annotations

import asyncio
from typing import Final

import pandas as pd

from africare_data.frames import arguments, transport
from africare_data.frames.arguments import Method
from africare_data.frames.assembly import rows_to_arrays, to_pandas
from africare_data.frames.dtypes import AnySelect, columns_of
from africare_data.frames.transport import Db

__all__ = ["FAST_PATH_MIN_ROWS", "Method", "read_frame"]

FAST_PATH_MIN_ROWS: Final = 20_000
"""Results the planner expects to be at least this large are fetched with ADBC's ``COPY``."""


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
    tz = arguments.time_zone(tz)
    method = arguments.method(method)
    columns = columns_of(stmt)
    connection = await transport.connection_of(db)
    if method != "session":
        sql = transport.literal_sql(stmt)
        planned = 0 if sql is None else await transport.planned_rows(connection, sql)
        if sql is not None and (method == "copy" or planned >= FAST_PATH_MIN_ROWS):
            snapshot = await transport.fast_path_snapshot(connection)
            if snapshot is not None:
                return await asyncio.to_thread(
                    transport.copy_frame, *snapshot, sql, columns, tz, planned
                )
    rows = await transport.session_rows(connection, stmt, columns)
    return to_pandas(rows_to_arrays(rows, columns), columns, tz)
