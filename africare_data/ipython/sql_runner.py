"""Hand-written SQL run on the toolkit's database, its result typed like ``frames``.

The ``%sql`` magics are synchronous, so they use a synchronous psycopg connection (autocommit:
each statement commits, as in ``psql``) to the database of the toolkit's engine: the same
server, database and user, with no event loop involved and nothing to type. How rows travel
depends on the result's size, as in ``frames``:

* small results (the planner expects fewer than ``frames.FAST_PATH_MIN_ROWS`` rows), and every
  statement with ``:name`` parameters, run on the psycopg connection: about the driver's own time;
* large results stream through ``frames``' binary ``COPY`` transport (ADBC into Arrow record
  batches written straight into the frame's columns), inside a snapshot exported by the psycopg
  connection, so they see exactly what a query on it would; a plain scan of one table is read by
  several streams (:mod:`.sql_copy`).

Column dtypes come from the result's PostgreSQL column types (``frames.result_types``), so an empty
result keeps its dtypes.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pandas as pd
import psycopg
from psycopg import pq
from psycopg.types.numeric import FloatLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import embedded
from africare_data.config import get_settings
from africare_data.database import get_engine
from africare_data.errors import DatabaseUnavailableError, QueryError
from africare_data.frames import transport
from africare_data.frames.conversion import rows_to_arrays, to_pandas
from africare_data.frames.reading import FAST_PATH_MIN_ROWS
from africare_data.frames.result_types import ResultTypes
from africare_data.frames.row_frames import SMALL_FRAME_MAX_ROWS, small_frame
from africare_data.ipython import sql_copy
from africare_data.ipython.sql_copy import scan_split, streams_for
from africare_data.ipython.sql_params import BoundSql

__all__ = ["SqlRunner"]

_Connection = psycopg.Connection[tuple[Any, ...]]
# A statement that reads (may take the COPY path): its first word, after comments and parentheses.
_READING: Final = re.compile(
    r"^(?:\s|--[^\n]*\n|/\*.*?\*/|\()*(select|with|table|values)\b", re.I | re.S
)


class _LostConnection(Exception):
    """The connection broke during a statement (a server restart, a dropped database)."""


class SqlRunner:
    """Runs SQL on the database of ``engine`` (default: the toolkit's engine, at first use)."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._engine = engine
        self._connection: _Connection | None = None
        self._conninfo = ""
        self._types: ResultTypes | None = None

    def use(self, engine: AsyncEngine | None) -> None:
        """Run the next statements on ``engine``'s database (``None``: the toolkit's engine)."""
        self.close()
        self._engine = engine

    def close(self) -> None:
        """Close the connection; the next statement opens a new one."""
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def frame(self, sql: str | BoundSql) -> pd.DataFrame | None:
        """The result of ``sql`` as a typed frame; ``None`` for a statement without rows.

        A reading statement that failed because the connection was lost (a server restart) runs
        once more on a new connection. Raises :class:`QueryError` with PostgreSQL's message and
        position when it refuses the statement.
        """
        bound = sql if isinstance(sql, BoundSql) else BoundSql(sql, sql)
        reading = _READING.match(bound.query) is not None
        try:
            return self._frame(bound, reading)
        except _LostConnection as lost:
            if not reading:
                raise DatabaseUnavailableError(
                    f"the connection to the database was lost while the statement ran ({lost}); "
                    "it may or may not have taken effect: check, then run it again"
                ) from lost.__cause__
        try:
            return self._frame(bound, reading)
        except _LostConnection as lost:
            raise DatabaseUnavailableError(
                f"the connection to the database was lost twice ({lost}): "
                "check the server (africare-data db status)"
            ) from lost.__cause__

    def _frame(self, bound: BoundSql, reading: bool) -> pd.DataFrame | None:
        connection = self._connect()
        try:
            if bound.params is None and reading:
                plan = _plan(connection, bound.query)
                if plan["Plan Rows"] >= FAST_PATH_MIN_ROWS:
                    frame = self._copy_frame(connection, bound.query, plan)
                    if frame is not None:
                        return frame
            with connection.cursor() as cursor:
                cursor.execute(bound.query, bound.params)
                result = cursor.pgresult
                if cursor.description is None or result is None:
                    return None
                rows = cursor.fetchall()
            columns = self._column_types().columns(result)
        except psycopg.Error as error:
            if connection.broken:
                raise _LostConnection(str(error).strip().splitlines()[0]) from error
            raise QueryError(_message(error, bound)) from error
        if len(rows) <= SMALL_FRAME_MAX_ROWS or any(column.kind == "other" for column in columns):
            return small_frame(rows, columns)
        return to_pandas(rows_to_arrays(rows, columns), columns, "UTC")

    def _copy_frame(
        self, connection: _Connection, sql: str, plan: dict[str, Any]
    ) -> pd.DataFrame | None:
        """The frame by binary ``COPY``; ``None`` when a column has a type without a ``COPY``
        rule (a range, an array, ...), which the driver's own conversion handles instead."""
        planned = int(plan["Plan Rows"])
        streams = streams_for(planned)
        split = scan_split(sql, plan) if streams > 1 else None
        try:
            if split is not None and not split.cut_by(_plan(connection, split.part(1, None))):
                split = None
        except QueryError:  # a view, say: no blocks to cut
            split = None
        with connection.transaction():
            row = connection.execute(
                "SELECT pg_export_snapshot(), "
                "pg_relation_size(%s::regclass) / current_setting('block_size')::int8",
                (None if split is None else split.relation,),
            ).fetchone()
            assert row is not None
            snapshot = str(row[0])
            columns = self._column_types().columns(_described(connection, sql))
            if any(column.kind == "other" for column in columns):
                return None
            sqls = [sql] if split is None else split.parts(int(row[1]), streams)
            return sql_copy.read_parts(self._conninfo, snapshot, sqls, columns, planned)

    def _column_types(self) -> ResultTypes:
        assert self._types is not None  # set with the connection
        return self._types

    def _connect(self) -> _Connection:
        current = self._connection
        if current is not None and not current.closed and not current.broken:
            return current
        engine = self._engine or get_engine()
        self._conninfo = _conninfo(engine)
        try:
            self._connection = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no answer"
            raise DatabaseUnavailableError(
                f"cannot connect to database {engine.url.database!r} for %sql ({reason}): "
                "check that the server runs (africare-data db status)"
            ) from error
        # numeric columns become float64 frames (the frames rule): read them as floats at once.
        self._connection.adapters.register_loader("numeric", FloatLoader)
        self._types = ResultTypes(self._connection)
        return self._connection


def _conninfo(engine: AsyncEngine) -> str:
    """The libpq URI of the database of ``engine``, built as ``frames`` builds its ``COPY``
    connections' (options such as ``sslmode`` included); on the embedded server, its unix
    socket, whose directory is only known once the server runs."""
    url = engine.url
    socket = ""
    if not (url.host or url.query.get("host")):
        settings = get_settings()
        if settings.uses_embedded_server:
            socket = str(embedded.ensure_running(settings.AFRICARE_DATA_DIR))
    return transport.libpq_uri(
        url, user=url.username or "", database=url.database or "", socket=socket
    )


_EXPLAIN: Final = "EXPLAIN (FORMAT JSON) "


def _plan(connection: _Connection, sql: str) -> dict[str, Any]:
    """The top node of the plan of ``sql`` (``EXPLAIN``, not run): its row estimate, its kind."""
    try:
        row = connection.execute(_EXPLAIN + sql).fetchone()
    except psycopg.Error as error:
        if connection.broken:
            raise
        raise QueryError(_message(error, BoundSql(sql, sql), shift=len(_EXPLAIN))) from error
    plan: Any = row[0] if row else [{"Plan": {"Plan Rows": 0}}]
    top: dict[str, Any] = plan[0]["Plan"]
    return top


def _described(connection: _Connection, sql: str) -> pq.abc.PGresult:
    """The columns ``sql`` returns, without running it (an unnamed prepared statement)."""
    pgconn = connection.pgconn
    for result in (pgconn.prepare(b"", sql.encode()), pgconn.describe_prepared(b"")):
        if result.status != pq.ExecStatus.COMMAND_OK:
            message = (result.error_message or b"").decode(errors="replace").strip()
            raise QueryError(message or "PostgreSQL could not describe the statement")
    return result


def _message(error: psycopg.Error, bound: BoundSql, *, shift: int = 0) -> str:
    """PostgreSQL's message, and the statement's line as written with a caret under the
    position (which counts ``shift`` characters sent before the statement)."""
    sql = bound.text
    primary = error.diag.message_primary or str(error).strip().splitlines()[0]
    lines = [primary]
    position = error.diag.statement_position
    if position and position.isdigit():
        offset = min(max(bound.written_position(int(position) - 1 - shift), 0), len(sql))
        line_start = sql.rfind("\n", 0, offset) + 1
        line_end = sql.find("\n", offset)
        line = sql[line_start : len(sql) if line_end < 0 else line_end]
        number = sql.count("\n", 0, offset) + 1
        prefix = f"LINE {number}: "
        lines += [prefix + line, " " * (len(prefix) + offset - line_start) + "^"]
    if error.diag.message_hint:
        lines.append(f"HINT: {error.diag.message_hint}")
    return "\n".join(lines)
