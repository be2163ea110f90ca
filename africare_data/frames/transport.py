"""How the rows of a statement travel from PostgreSQL: on the session's own asyncpg connection,
or streamed by the ADBC driver's binary ``COPY`` on a second connection sharing the session's
snapshot.

The second connection imports the session's snapshot (``pg_export_snapshot`` / ``SET TRANSACTION
SNAPSHOT``), so it sees exactly what a query in the session would see at that moment,
repeatable-read transactions included. Rows the session wrote but has not committed are invisible
to any other connection, so when the session's transaction has written (or runs inside a
savepoint, where snapshots cannot be exported) there is no snapshot to share and the caller stays
on the session's connection.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

import pyarrow as pa
from sqlalchemy import Enum
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import BindParameter

from africare_data.frames.assembly import Assembler
from africare_data.frames.copy_errors import toolkit_error
from africare_data.frames.dtypes import AnySelect, Column
from africare_data.frames.statements import driver_query

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection as AdbcConnection

__all__ = [
    "Db",
    "adbc_connect",
    "adbc_fetch",
    "connection_of",
    "copy_columns",
    "fast_path_snapshot",
    "libpq_uri",
    "literal_sql",
    "planned_rows",
    "session_rows",
    "table_pages",
]

Db = AsyncSession | AsyncConnection

_DIALECT: Final = postgresql.dialect()  # type: ignore[no-untyped-call]


_SAFE_LITERALS: Final = (bool, int, float, Decimal, datetime, date, time, timedelta, enum.Enum)


def literal_sql(stmt: AnySelect) -> str | None:
    """The statement as SQL with its values inlined (``COPY`` and ``EXPLAIN`` take no
    parameters), or ``None`` unless every value is of a type whose literal cannot carry SQL:
    numbers, booleans, dates, times and intervals, members of an enum (or one of an enum
    column's values). Text is never inlined, whatever its content: a statement with a text
    value runs with bound parameters on the session's connection instead."""
    try:
        if not all(_safe_literal(bind) for bind in stmt.compile(dialect=_DIALECT).binds.values()):
            return None
        return str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError):
        return None


def _safe_literal(bind: BindParameter[Any]) -> bool:
    value = bind.effective_value
    values = value if bind.expanding and isinstance(value, list | tuple) else [value]
    allowed = bind.type.enums if isinstance(bind.type, Enum) else ()
    return all(
        item is None or isinstance(item, _SAFE_LITERALS) or (type(item) is str and item in allowed)
        for item in values
    )


async def connection_of(db: Db) -> AsyncConnection:
    """The connection a session runs on (a connection is its own)."""
    return db if isinstance(db, AsyncConnection) else await db.connection()


async def _driver(connection: AsyncConnection) -> Any:
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def session_rows(
    connection: AsyncConnection,
    stmt: AnySelect,
    columns: Sequence[Column],
    parameters: Mapping[str, Any] | None = None,
) -> Sequence[Sequence[Any]]:
    """The rows of ``stmt`` (``parameters``: the values of its named bind parameters) on the
    session's own connection; run by asyncpg, their aware timestamps are integer microseconds
    since 1970 (UTC).

    When every column has a plain type, asyncpg runs the statement's SQL (compiled once per
    shape, see :mod:`.statements`) directly, its prepared-statement cache included: half the
    time of a SQLAlchemy result for an agenda-sized query. Other statements go through
    ``connection.execute``.
    """
    driver = await _driver(connection)
    if connection.dialect.driver != "asyncpg" or any(c.kind == "other" for c in columns):
        return (await connection.execute(stmt, parameters)).all()
    if not driver.is_in_transaction():
        # SQLAlchemy opens the session's transaction on the server with its first statement;
        # without this, the query would run outside it (another snapshot).
        await connection.exec_driver_sql("SELECT 1")
    sql, arguments = driver_query(stmt, connection.dialect, parameters)
    records: Sequence[Sequence[Any]] = await driver.fetch(
        _micros_for_timestamps(sql, columns), *arguments
    )
    return records


def _micros_for_timestamps(sql: str, columns: Sequence[Column]) -> str:
    """``sql`` with its aware timestamps selected as integer microseconds since 1970 (UTC).

    asyncpg builds a timezone-aware ``datetime`` for each timestamp, about a microsecond apiece,
    which for an agenda costs more than the query; an ``int8`` is decoded in C and becomes a
    numpy ``datetime64[us]`` without a Python object (:mod:`.row_frames`, :mod:`.conversion`).
    ``EXTRACT(EPOCH ...)`` is an exact ``numeric``, so no microsecond is rounded away. The
    statement runs as a subquery whose columns are renamed by position (the outer query keeps
    its order: PostgreSQL scans a sorted subquery in order).
    """
    if not any(column.kind == "datetime" for column in columns):
        return sql
    names = [f"c{position}" for position in range(len(columns))]
    outputs = [
        f"(EXTRACT(EPOCH FROM r.{name}) * 1000000)::int8"
        if column.kind == "datetime"
        else f"r.{name}"
        for name, column in zip(names, columns, strict=True)
    ]
    return f"SELECT {', '.join(outputs)} FROM ({sql}) AS r({', '.join(names)})"


async def planned_rows(connection: AsyncConnection, sql: str) -> int:
    """The planner's row estimate for ``sql`` (``EXPLAIN``, not run)."""
    driver = await _driver(connection)
    plan = await driver.fetchval("EXPLAIN (FORMAT JSON) " + sql)
    if isinstance(plan, str):  # asyncpg decodes json itself; keep working if it stops
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def fast_path_snapshot(connection: AsyncConnection) -> tuple[str, str] | None:
    """The libpq URI of the session's database and an exported snapshot of its transaction, or
    ``None`` when another connection could not see what the session sees."""
    if connection.in_nested_transaction():
        return None
    # Through SQLAlchemy, not the bare driver: its asyncpg adapter opens the session's
    # transaction on the server only with its first statement, and the snapshot must outlive it.
    row: Any = (
        await connection.exec_driver_sql(
            "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, current_database(), "
            "current_user, split_part(current_setting('unix_socket_directories'), ',', 1)"
        )
    ).one()
    if row[0]:
        return None
    snapshot = (await connection.exec_driver_sql("SELECT pg_export_snapshot()")).scalar_one()
    return libpq_uri(connection.engine.url, user=row[2], database=row[1], socket=row[3]), snapshot


_LIBPQ_OPTIONS: Final = (
    "application_name",
    "connect_timeout",
    "options",
    "sslcert",
    "sslkey",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
)
"""URL query options libpq understands, passed on to the ``COPY`` connections."""


def libpq_uri(url: URL, *, user: str, database: str, socket: str) -> str:
    """The libpq URI of ``url``'s server and database, for ADBC: credentials, host or socket,
    port, and the options libpq shares with the URL (asyncpg's ``ssl`` as ``sslmode``).
    ``user``, ``database`` and ``socket`` stand in for what the URL leaves out."""
    host = url.host or url.query.get("host") or socket
    credentials = quote(url.username or user, safe="")
    if url.password is not None:
        credentials += ":" + quote(str(url.password), safe="")
    options = {name: url.query[name] for name in _LIBPQ_OPTIONS if name in url.query}
    if "ssl" in url.query and "sslmode" not in options:
        options["sslmode"] = url.query["ssl"]
    if isinstance(host, str) and host.startswith("/"):
        location = f"/{quote(url.database or database, safe='')}"
        options = {"host": host, **options}
    else:
        port = f":{url.port}" if url.port else ""
        location = f"{host}{port}/{quote(url.database or database, safe='')}"
    query = urlencode({name: str(value) for name, value in options.items()}, quote_via=quote)
    return f"postgresql://{credentials}@{location}" + (f"?{query}" if query else "")


_ADBC_BATCH_OPTION: Final = "adbc.postgresql.batch_size_hint_bytes"
_ADBC_BATCH_BYTES: Final = 2 << 20
"""Record batches of about 2 MB (ADBC's default is 16 MB): the batches in flight (one per stream
being read, one being written into the frame) are most of the memory a read holds beyond the
frame, and batches of 2 MB measured no slower than larger ones."""


def adbc_connect(uri: str) -> AdbcConnection:
    """An ADBC connection to ``uri`` (autocommit: each read opens its own transaction)."""
    import adbc_driver_postgresql.dbapi as adbc

    connection: AdbcConnection = adbc.connect(uri, autocommit=True)
    return connection


def adbc_fetch(uri: str, snapshot: str, sql: str) -> Generator[pa.RecordBatch, None, None]:
    """Stream ``sql`` through ADBC (binary ``COPY`` into Arrow) inside the exported snapshot,
    one record batch at a time, after an empty batch with the result's schema, on a connection
    opened for this read and closed after it.

    The pinned driver (see ``pyproject.toml``) aborts the whole process when a statement is sent
    on a connection the server has already closed, whereas a connection lost during a read
    raises an error like any other. So every statement goes right after the connection opens,
    none is kept for a later read, and the read-only transaction ends with the connection
    instead of a ``COMMIT``, which would be sent after the rows, when the server may be gone.
    """
    with adbc_connect(uri) as connection, connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        cursor.adbc_statement.set_options(**{_ADBC_BATCH_OPTION: str(_ADBC_BATCH_BYTES)})
        cursor.execute(sql)
        with cursor.fetch_record_batch() as reader:
            # An empty batch first: its schema types the columns of an empty result too.
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)
            yield from reader


def copy_columns(
    uri: str,
    snapshot: str,
    sqls: Sequence[str],
    columns: Sequence[Column],
    tz: str,
    planned: int,
    sort_by: Sequence[str] = (),
) -> dict[str, Any]:
    """The columns (by name, ready for a frame) of the rows of every statement of ``sqls``
    (parts of one result), read by one ``COPY`` stream each, in parallel, on connections opened
    for the read: sorted by ``sort_by``, or without it in the order of ``sqls``.

    The streams write their batches as they arrive, into one shared
    :class:`~.assembly.Assembler` when the rows are sorted afterwards, else into one per part,
    joined in order at the end, and release each batch before reading the next; the driver
    parses outside the GIL, so the streams use as many cores as the server does. A failed read
    raises the toolkit's error (``QueryError``, ``DatabaseUnavailableError``: :mod:`.copy_errors`).
    """
    capacity = planned + planned // 8 + 1024  # untouched pages cost no memory
    shared = bool(sort_by) or len(sqls) == 1
    parts = [Assembler(columns, capacity) for _ in range(1 if shared else len(sqls))]

    def read(index: int) -> None:
        assembler = parts[0 if shared else index]
        with contextlib.closing(adbc_fetch(uri, snapshot, sqls[index])) as batches:
            for batch in batches:  # closing: the connection closes even if a batch is refused
                assembler.add(batch)
                del batch

    try:
        with ThreadPoolExecutor(len(sqls), thread_name_prefix="africare-copy") as pool:
            list(pool.map(read, range(len(sqls))))
    except Exception as error:
        if (translated := toolkit_error(error)) is None:
            raise
        raise translated from error
    for part in parts[1:]:
        parts[0].extend(part)
    del parts[1:]
    pa.default_memory_pool().release_unused()  # the batches' memory, before the sort needs more
    return parts[0].columns(tz, sort_by)


async def table_pages(connection: AsyncConnection, table: str) -> int:
    """The number of pages ``table`` has on disk (its block numbers are below it)."""
    driver = await _driver(connection)
    pages: int = await driver.fetchval(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", table
    )
    return pages
