"""Typed pandas DataFrames from SQLAlchemy statements, at ``COPY`` speed for large results.

Every function takes an ``AsyncSession`` or an ``AsyncConnection`` and returns a frame whose
columns and dtypes follow from the selected columns' SQL types, so an empty result keeps its
schema: non-null integers ``int64``, nullable integers ``Int64``, floats ``float64``, aware
timestamps ``datetime64[us, <tz>]`` (UTC unless a ``tz`` is asked for), enums (``status``) a
categorical whose categories are the enum's values in order, text pandas' ``string`` dtype.

SQLAlchemy builds every statement. How the rows travel depends on the result's size:

* small results (the planner expects fewer than :data:`FAST_PATH_MIN_ROWS` rows, or a filter
  makes it obvious) run on the session's own asyncpg connection: a few milliseconds;
* large results are compiled to SQL with literal values and fetched by the ADBC PostgreSQL
  driver, which streams them with binary ``COPY`` into Arrow record batches (about the cost of
  ``psql \\copy``). Each batch is written into the frame's final numpy columns as it arrives
  and released, so the memory peak is the frame plus one batch, not the frame plus the whole
  Arrow result.

The fast path uses its own connection to the same database. It imports the session's snapshot
(``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``), so it sees exactly what a query in the
session would see at that moment, repeatable-read transactions included. Rows the session wrote
but has not committed are invisible to any other connection, so when the session's transaction
has written (or runs inside a savepoint, where snapshots cannot be exported) the query stays on
the session's connection: always consistent, only slower for huge results.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    Cast,
    ColumnClause,
    FunctionFilter,
    Label,
    TypeCoerce,
)
from sqlalchemy.sql.functions import FunctionElement, count

from africare_data.errors import InvalidInputError
from africare_data.models import Booking, BookingStatus, EventType, Example, Post, User

__all__ = [
    "FAST_PATH_MIN_ROWS",
    "STATUS_DTYPE",
    "bookings_frame",
    "bookings_per_day",
    "event_types_frame",
    "examples_frame",
    "iter_bookings_frames",
    "posts_frame",
    "practitioner_summary",
    "read_frame",
    "users_frame",
    "weekday_hour_counts",
]

Db = AsyncSession | AsyncConnection
_AnySelect = Select[*tuple[Any, ...]]
Method = Literal["auto", "session", "copy"]

FAST_PATH_MIN_ROWS: Final = 20_000
"""Results the planner expects to be at least this large are fetched with ADBC's ``COPY``."""

STATUS_DTYPE: Final = pd.CategoricalDtype([status.value for status in BookingStatus])
"""The dtype of every ``status`` column."""

_STRING: Final = pd.StringDtype("pyarrow")
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class _Column:
    """How one selected column becomes a pandas column."""

    name: str
    kind: Literal["int", "float", "bool", "datetime", "naive", "date", "enum", "string", "other"]
    nullable: bool
    categories: tuple[str, ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
            "datetime": pa.timestamp("us", tz="UTC"),
            "naive": pa.timestamp("us"),
            "date": pa.date32(),
            "enum": pa.string(),
            "string": pa.string(),
        }.get(self.kind, pa.null())


# --------------------------------------------------------------------------- dtypes from SQL


def _columns(stmt: _AnySelect) -> list[_Column]:
    return [_column(key, element) for key, element in stmt.selected_columns.items()]


def _column(name: str, element: ColumnElement[Any]) -> _Column:
    sql_type = element.type
    nullable = not _never_null(element)
    if isinstance(sql_type, Enum):
        return _Column(name, "enum", nullable, tuple(sql_type.enums))
    if isinstance(sql_type, Boolean):
        return _Column(name, "bool", nullable)
    if isinstance(sql_type, Integer):
        return _Column(name, "int", nullable)
    if isinstance(sql_type, Float | Numeric):
        return _Column(name, "float", nullable)
    if isinstance(sql_type, DateTime):
        return _Column(name, "datetime" if sql_type.timezone else "naive", nullable)
    if isinstance(sql_type, Date):
        return _Column(name, "date", nullable)
    if isinstance(sql_type, String):
        return _Column(name, "string", nullable)
    return _Column(name, "other", nullable)


def _never_null(element: ColumnElement[Any]) -> bool:
    """Whether ``element`` can be proven never ``NULL`` (a NOT NULL column, a count, arithmetic
    or a cast of such); anything unproven gets a nullable dtype."""
    if isinstance(element, Label):
        return _never_null(element.element)
    if isinstance(element, Cast | TypeCoerce):
        return _never_null(element.clause)
    if isinstance(element, ColumnClause):
        table_column = getattr(element, "nullable", None)
        return table_column is False
    if isinstance(element, count):
        return True
    if isinstance(element, FunctionFilter):  # count(*) FILTER (WHERE ...)
        return isinstance(element.func, count)
    if isinstance(element, FunctionElement) and element.name.lower() == "coalesce":
        return any(_never_null(argument) for argument in element.clauses)
    if isinstance(element, BinaryExpression):
        return _never_null(element.left) and _never_null(element.right)
    if isinstance(element, BindParameter):
        return element.value is not None
    extracted = getattr(element, "expr", None)  # EXTRACT(field FROM expr)
    if extracted is not None and element.__class__.__name__ == "Extract":
        return _never_null(extracted)
    return False


# --------------------------------------------------------------------------- arrow -> pandas

_NAT: Final = pa.scalar(-(2**63), pa.int64())  # numpy's NaT as int64


@functools.cache
def _categorical(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(categories))


def _to_pandas(arrays: list[pa.ChunkedArray], columns: Sequence[_Column], tz: str) -> pd.DataFrame:
    """Convert column by column, releasing each Arrow column once converted (callers hand over
    their only reference), so the peak stays near the final frame plus one column."""
    data: dict[str, Any] = {}
    arrays.reverse()
    for column in columns:
        data[column.name] = _series(arrays.pop(), column, tz)
    return pd.DataFrame(data, columns=[column.name for column in columns], copy=False)


def _series(values: pa.ChunkedArray, column: _Column, tz: str) -> Any:
    kind = column.kind
    has_nulls = values.null_count > 0
    if kind == "int":
        values = values.cast(pa.int64())
        if column.nullable or has_nulls:
            return pd.array(values, dtype="Int64")
        return values.to_numpy()
    if kind == "float":
        return values.cast(pa.float64()).to_numpy()
    if kind == "bool":
        if column.nullable or has_nulls:
            return pd.array(values, dtype="boolean")
        return values.to_numpy()
    if kind in ("datetime", "naive"):
        # int64 microseconds viewed as datetime64: no per-element work, nulls become NaT.
        micros = pc.fill_null(values.cast(pa.timestamp("us")).cast(pa.int64()), _NAT)
        naive = pd.DatetimeIndex(micros.to_numpy().view("datetime64[us]"))
        if kind == "naive":
            return naive
        return naive.tz_localize("UTC") if tz == "UTC" else naive.tz_localize("UTC").tz_convert(tz)
    if kind == "enum":
        codes = pc.index_in(values.cast(pa.string()), value_set=pa.array(column.categories))
        return pd.Categorical.from_codes(
            codes.fill_null(-1).to_numpy(), dtype=_categorical(column.categories)
        )
    if kind == "string":
        return pd.array(values.cast(pa.large_string()), dtype=_STRING)
    return values.to_pandas()


def _rows_to_arrays(
    rows: Sequence[Sequence[Any]], columns: Sequence[_Column]
) -> list[pa.ChunkedArray]:
    transposed: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [()] * len(columns)
    arrays = []
    for column, values in zip(columns, transposed, strict=True):
        if column.kind == "enum":
            values = [getattr(value, "value", value) for value in values]
        if column.kind == "other":
            arrays.append(pa.array(values, from_pandas=True))
        else:
            arrays.append(pa.array(values, type=column.arrow_type, from_pandas=True))
    return [pa.chunked_array([array]) for array in arrays]


# --------------------------------------------------------------------------- COPY batches -> pandas

_MAX_PREALLOCATED_ROWS: Final = 1 << 24
"""Preallocate at most this many rows per column from the planner's estimate; grow beyond."""


def _code_dtype(categories: Sequence[str]) -> np.dtype[Any]:
    """The integer dtype pandas itself gives the codes of a categorical with ``categories``."""
    size = len(categories)
    for dtype in (np.int8, np.int16, np.int32):
        if size < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class _Assembler:
    """Writes Arrow record batches straight into each column's final numpy array.

    Only one batch is alive at a time and every column is allocated once, at its final dtype,
    so the peak is the final frame plus one batch instead of the whole Arrow result plus the
    frame. The arrays are preallocated from the planner's row estimate (untouched pages cost
    no memory), grown by copying if the estimate was low, and shrunk in place at the end.
    Text columns stay Arrow (pandas' ``string`` dtype is Arrow-backed) and columns of other
    types keep the generic conversion; both copy each batch's piece so the batch can go.
    """

    def __init__(self, columns: Sequence[_Column], capacity: int) -> None:
        self._columns = columns
        self._capacity = max(1, min(capacity, _MAX_PREALLOCATED_ROWS))
        self._rows = 0
        self._values: list[Any] = [self._allocate(column) for column in columns]
        self._masks: list[np.ndarray[Any, Any] | None] = [
            np.zeros(self._capacity, np.bool_) if self._masked(column) else None
            for column in columns
        ]
        self._types: list[pa.DataType | None] = [None] * len(columns)
        self._value_sets = {
            index: pa.array(column.categories, pa.string())
            for index, column in enumerate(columns)
            if column.kind == "enum"
        }

    @staticmethod
    def _masked(column: _Column) -> bool:
        return column.nullable and column.kind in ("int", "bool")

    def _allocate(self, column: _Column) -> Any:
        dtype = _NUMPY_DTYPES.get(column.kind)
        if column.kind == "enum":
            dtype = _code_dtype(column.categories)
        return [] if dtype is None else np.empty(self._capacity, dtype)

    def _reserve(self, rows: int) -> None:
        if rows <= self._capacity:
            return
        capacity = max(rows, self._capacity * 2)
        for index, values in enumerate(self._values):
            if isinstance(values, np.ndarray):
                grown = np.empty(capacity, values.dtype)
                grown[: self._rows] = values[: self._rows]
                self._values[index] = grown
        for index, mask in enumerate(self._masks):
            if mask is not None:
                wider = np.zeros(capacity, np.bool_)
                wider[: self._rows] = mask[: self._rows]
                self._masks[index] = wider
        self._capacity = capacity

    def add(self, batch: pa.RecordBatch) -> None:
        """Write ``batch`` (its columns in the statement's order) after the rows so far."""
        start, stop = self._rows, self._rows + batch.num_rows
        self._reserve(stop)
        for index, column in enumerate(self._columns):
            self._add(index, column, batch.column(index), slice(start, stop))
        self._rows = stop

    def _add(self, index: int, column: _Column, values: pa.Array, rows: slice) -> None:
        kind = column.kind
        target = self._values[index]
        if kind in ("string", "date", "other"):
            if kind == "string":
                values = values.cast(pa.large_string())
            self._types[index] = values.type
            # A copy: a slice of the batch would keep the whole batch alive.
            target.append(pa.concat_arrays([values]))
            return
        if kind == "enum":
            codes = pc.index_in(values.cast(pa.string()), value_set=self._value_sets[index])
            target[rows] = codes.fill_null(-1).to_numpy()
            return
        if kind == "float":
            target[rows] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
            return
        if kind in ("datetime", "naive"):
            values = values.cast(pa.timestamp("us")).cast(pa.int64())
            if values.null_count:
                values = pc.fill_null(values, _NAT)  # numpy's NaT
            target[rows] = values.to_numpy()
            return
        # int, bool: nulls go to a mask (allocated at the first null of a non-null column)
        if kind == "int" and not values.null_count and pa.types.is_integer(values.type):
            view = values.to_numpy()  # zero-copy; numpy widens while writing
            if np.can_cast(view.dtype, target.dtype):
                target[rows] = view
                return
        values = values.cast(pa.int64() if kind == "int" else pa.bool_())
        if values.null_count:
            mask = self._masks[index]
            if mask is None:
                mask = self._masks[index] = np.zeros(self._capacity, np.bool_)
            mask[rows] = values.is_null().to_numpy(zero_copy_only=False)
            values = pc.fill_null(values, pa.scalar(0 if kind == "int" else False, values.type))
        target[rows] = values.to_numpy(zero_copy_only=False)

    def frame(self, tz: str) -> pd.DataFrame:
        """The assembled frame, with the dtypes :func:`_series` gives the same values."""
        data: dict[str, Any] = {}
        for index, column in enumerate(self._columns):
            data[column.name] = self._finish(index, column, tz)
        return pd.DataFrame(data, columns=[column.name for column in self._columns], copy=False)

    def _shrunk(self, array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        array.resize(self._rows, refcheck=False)  # in place: nothing else refers to it yet
        return array

    def _finish(self, index: int, column: _Column, tz: str) -> Any:
        kind = column.kind
        values = self._values[index]
        self._values[index] = None
        if isinstance(values, list):
            chunks = pa.chunked_array(values, type=self._types[index] or column.arrow_type)
            return _series(chunks, column, tz)
        values = self._shrunk(values)
        mask = self._masks[index]
        if kind == "int" and mask is not None:
            return pd.arrays.IntegerArray(values, self._shrunk(mask))
        if kind == "bool" and mask is not None:
            return pd.arrays.BooleanArray(values, self._shrunk(mask))
        if kind == "enum":
            return pd.Categorical.from_codes(values, dtype=_categorical(column.categories))
        if kind == "datetime":
            aware = pd.DatetimeIndex(values, dtype=_UTC, copy=False)  # int64 µs since the epoch
            return aware if tz == "UTC" else aware.tz_convert(tz)
        if kind == "naive":
            return pd.DatetimeIndex(values.view("datetime64[us]"), copy=False)
        return values


_NUMPY_DTYPES: Final[dict[str, Any]] = {
    "int": np.int64,
    "float": np.float64,
    "bool": np.bool_,
    "datetime": np.int64,
    "naive": np.int64,
}
_UTC: Final = pd.DatetimeTZDtype("us", "UTC")


# --------------------------------------------------------------------------- execution


_DIALECT: Final = postgresql.dialect()  # type: ignore[no-untyped-call]


def _literal_sql(stmt: _AnySelect) -> str | None:
    """The statement as SQL with its values inlined (for ``COPY``), or ``None`` if a value has
    no literal form. SQLAlchemy renders and escapes the literals itself."""
    try:
        return str(stmt.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError):
        return None


async def _connection(db: Db) -> AsyncConnection:
    return db if isinstance(db, AsyncConnection) else await db.connection()


async def _driver(connection: AsyncConnection) -> Any:
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def read_frame(
    db: Db,
    stmt: _AnySelect,
    *,
    tz: str = "UTC",
    method: Method = "auto",
) -> pd.DataFrame:
    """Run any SQLAlchemy ``select()`` and return its rows as a typed DataFrame.

    Columns are named after the statement's selected columns, in order; dtypes follow their SQL
    types (see the module docstring). ``tz`` converts aware timestamps. ``method`` forces the
    path: ``"session"`` (the session's connection), ``"copy"`` (ADBC ``COPY`` when the session's
    transaction allows it) or ``"auto"`` (by the planner's row estimate).
    """
    columns = _columns(stmt)
    connection = await _connection(db)
    if method != "session":
        sql = _literal_sql(stmt)
        planned = 0 if sql is None else await _planned_rows(connection, sql)
        if sql is not None and (method == "copy" or planned >= FAST_PATH_MIN_ROWS):
            snapshot = await _fast_path_snapshot(connection)
            if snapshot is not None:
                return await asyncio.to_thread(_copy_frame, *snapshot, sql, columns, tz, planned)
    return _to_pandas(
        _rows_to_arrays(await _session_rows(connection, stmt, columns), columns), columns, tz
    )


async def _session_rows(
    connection: AsyncConnection, stmt: _AnySelect, columns: Sequence[_Column]
) -> Sequence[Sequence[Any]]:
    """The rows of ``stmt`` on the session's own connection.

    When every column has a plain type, SQLAlchemy compiles the statement and asyncpg runs it
    directly (its prepared-statement cache included): half the time of a SQLAlchemy result for
    an agenda-sized query. Other statements go through ``connection.execute``.
    """
    driver = await _driver(connection)
    if connection.dialect.driver != "asyncpg" or any(c.kind == "other" for c in columns):
        return (await connection.execute(stmt)).all()
    if not driver.is_in_transaction():
        # SQLAlchemy opens the session's transaction on the server with its first statement;
        # without this, the query would run outside it (another snapshot).
        await connection.exec_driver_sql("SELECT 1")
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    processors: dict[str, Callable[[Any], Any]] = getattr(compiled, "_bind_processors", {})
    positions = compiled.positiontup or []
    arguments = [
        processors[name](params[name]) if name in processors else params[name] for name in positions
    ]
    records: Sequence[Sequence[Any]] = await driver.fetch(str(compiled), *arguments)
    return records


async def _planned_rows(connection: AsyncConnection, sql: str) -> int:
    """The planner's row estimate for ``sql`` (``EXPLAIN``, not run)."""
    driver = await _driver(connection)
    plan = await driver.fetchval("EXPLAIN (FORMAT JSON) " + sql)
    if isinstance(plan, str):  # asyncpg decodes json itself; keep working if it stops
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


async def _fast_path_snapshot(connection: AsyncConnection) -> tuple[str, str] | None:
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
    url = connection.engine.url
    host = url.host or url.query.get("host") or row[3]
    user = quote(url.username or row[2], safe="")
    password = "" if url.password is None else ":" + quote(str(url.password), safe="")
    database = quote(url.database or row[1], safe="")
    if isinstance(host, str) and host.startswith("/"):
        uri = f"postgresql://{user}{password}@/{database}?host={quote(host, safe='')}"
    else:
        port = f":{url.port}" if url.port else ""
        uri = f"postgresql://{user}{password}@{host}{port}/{database}"
    return uri, snapshot


_ADBC_BATCH_OPTION: Final = "adbc.postgresql.batch_size_hint_bytes"
_ADBC_BATCH_BYTES: Final = 4 << 20
"""Record batches of about 4 MB (ADBC's default is 16 MB): one batch is all the Arrow memory
alive at a time, and smaller batches measured no slower."""


def _adbc_fetch(uri: str, snapshot: str, sql: str) -> Iterator[pa.RecordBatch]:
    """Stream ``sql`` through ADBC (binary ``COPY`` into Arrow) inside the exported snapshot,
    one record batch at a time, after an empty batch with the result's schema."""
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(uri, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        cursor.adbc_statement.set_options(**{_ADBC_BATCH_OPTION: str(_ADBC_BATCH_BYTES)})
        cursor.execute(sql)
        with cursor.fetch_record_batch() as reader:
            # An empty batch first: its schema types the columns of an empty result too.
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)
            yield from reader
        cursor.execute("COMMIT")


def _copy_frame(
    uri: str, snapshot: str, sql: str, columns: Sequence[_Column], tz: str, planned: int
) -> pd.DataFrame:
    """The frame of ``sql`` on the ``COPY`` path: each batch goes into the final arrays as it
    arrives and is released before the next one is read."""
    assembler = _Assembler(columns, capacity=planned + planned // 8 + 1024)
    for batch in _adbc_fetch(uri, snapshot, sql):
        assembler.add(batch)
        del batch
    return assembler.frame(tz)


# --------------------------------------------------------------------------- bookings


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise InvalidInputError(f"{name} must be timezone-aware, got {moment!r}")
    return moment


def _booking_filters(
    practitioner_id: int | None = None,
    patient_id: int | None = None,
    status: BookingStatus | str | Sequence[BookingStatus | str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if practitioner_id is not None:
        conditions.append(Booking.practitioner_id == practitioner_id)
    if patient_id is not None:
        conditions.append(Booking.patient_id == patient_id)
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        conditions.append(Booking.status.in_([BookingStatus(value) for value in wanted]))
    if _aware(start, "start") is not None:
        conditions.append(Booking.start_time >= start)
    if _aware(end, "end") is not None:
        conditions.append(Booking.start_time < end)
    return conditions


def _bookings_select(**filters: Any) -> _AnySelect:
    duration = cast(extract("epoch", Booking.end_time - Booking.start_time) / 60, Integer)
    return (
        select(*Booking.__table__.columns, duration.label("duration_minutes"))
        .where(*_booking_filters(**filters))
        .order_by(Booking.start_time, Booking.id)
    )


async def bookings_frame(
    db: Db,
    *,
    practitioner_id: int | None = None,
    patient_id: int | None = None,
    status: BookingStatus | str | Sequence[BookingStatus | str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Bookings as a frame, ordered by start time then id, with ``duration_minutes``.

    Filters combine: ``status`` takes one status or several; ``start``/``end`` (aware datetimes)
    select bookings starting in ``[start, end)``. A practitioner's or patient's agenda stays on
    the session's connection (small); the whole table goes through ``COPY``.
    """
    stmt = _bookings_select(
        practitioner_id=practitioner_id, patient_id=patient_id, status=status, start=start, end=end
    )
    small = practitioner_id is not None or patient_id is not None
    return await read_frame(db, stmt, tz=tz, method="session" if small else "auto")


async def iter_bookings_frames(
    db: Db, *, chunksize: int = 100_000, tz: str = "UTC", **filters: Any
) -> AsyncIterator[pd.DataFrame]:
    """Yield the :func:`bookings_frame` rows in frames of at most ``chunksize`` rows.

    A server-side cursor on the session's connection streams the rows, so memory stays constant
    however large the table; concatenated, the chunks equal :func:`bookings_frame`.
    """
    if chunksize < 1:
        raise InvalidInputError("chunksize must be at least 1")
    stmt = _bookings_select(**filters)
    columns = _columns(stmt)
    connection = await _connection(db)
    result = await connection.stream(stmt.execution_options(yield_per=chunksize))
    async for rows in result.partitions(chunksize):
        yield _to_pandas(_rows_to_arrays(rows, columns), columns, tz)


# --------------------------------------------------------------------------- other entities


async def examples_frame(db: Db, *, tz: str = "UTC") -> pd.DataFrame:
    """Every example, ordered by id."""
    return await read_frame(db, select(*Example.__table__.columns).order_by(Example.id), tz=tz)


async def event_types_frame(db: Db, *, tz: str = "UTC") -> pd.DataFrame:
    """Every event type, ordered by id."""
    stmt = select(*EventType.__table__.columns).order_by(EventType.id)
    return await read_frame(db, stmt, tz=tz)


async def users_frame(db: Db, *, tz: str = "UTC") -> pd.DataFrame:
    """Every user with ``post_count``, the number of posts they wrote; ordered by id."""
    stmt = (
        select(*User.__table__.columns, func.count(Post.id).label("post_count"))
        .outerjoin(Post, Post.author_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    return await read_frame(db, stmt, tz=tz)


async def posts_frame(db: Db) -> pd.DataFrame:
    """Every post with its author's name as ``author_name``; ordered by id."""
    stmt = (
        select(*Post.__table__.columns, User.name.label("author_name"))
        .join(User, Post.author_id == User.id)
        .order_by(Post.id)
    )
    return await read_frame(db, stmt)


# --------------------------------------------------------------------------- analytics


def _local(column: Any, tz: str) -> Any:
    return func.timezone(literal(tz), column)


async def bookings_per_day(
    db: Db, *, start: datetime | None = None, end: datetime | None = None, tz: str = "UTC"
) -> pd.DataFrame:
    """Bookings per local day of their start: ``day`` (midnight in ``tz``), a count per status
    and ``total``; every day from the first to the last (or ``start`` to ``end``) is present,
    days without bookings as zeros. Counted in SQL; only the gaps are filled in pandas."""
    day = func.date_trunc("day", _local(Booking.start_time, tz))
    counts = [
        func.count().filter(Booking.status == status).label(status.value)
        for status in BookingStatus
    ]
    stmt = (
        select(day.label("day"), *counts, func.count().label("total"))
        .where(*_booking_filters(start=start, end=end))
        .group_by(day)
        .order_by(day)
    )
    # The local midnights come back naive (timestamp without time zone): localise them.
    frame = await read_frame(db, stmt)
    names = [status.value for status in BookingStatus] + ["total"]
    frame["day"] = pd.DatetimeIndex(frame["day"]).tz_localize(tz)
    first = frame["day"].min() if start is None else pd.Timestamp(start).tz_convert(tz).floor("D")
    last = (
        frame["day"].max()
        if end is None
        else (pd.Timestamp(end).tz_convert(tz) - pd.Timedelta(microseconds=1)).floor("D")
    )
    if pd.isna(first) or pd.isna(last):
        days = pd.DatetimeIndex([], dtype=f"datetime64[us, {tz}]", name="day")
    else:
        days = pd.date_range(first, last, freq="D", name="day", unit="us")
    filled = frame.set_index("day")[names].reindex(days, fill_value=0).astype("int64")
    return filled.reset_index()


async def practitioner_summary(
    db: Db, *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Per practitioner (ordered by id): ``bookings``, ``pending``, ``confirmed``,
    ``cancelled``, ``confirmation_rate`` and ``cancellation_rate`` (shares of all their
    bookings), and ``booked_hours`` (hours of pending and confirmed bookings)."""
    active = Booking.status != BookingStatus.CANCELLED
    hours = extract("epoch", Booking.end_time - Booking.start_time) / 3600.0
    stmt = (
        select(
            Booking.practitioner_id,
            func.count().label("bookings"),
            *[
                func.count().filter(Booking.status == status).label(status.value)
                for status in BookingStatus
            ],
            func.coalesce(func.sum(case((active, hours), else_=0.0)), 0.0).label("booked_hours"),
        )
        .where(*_booking_filters(start=start, end=end))
        .group_by(Booking.practitioner_id)
        .order_by(Booking.practitioner_id)
    )
    frame = await read_frame(db, stmt)
    frame["confirmation_rate"] = frame["confirmed"] / frame["bookings"]
    frame["cancellation_rate"] = frame["cancelled"] / frame["bookings"]
    frame["booked_hours"] = frame["booked_hours"].astype("float64")
    return frame[
        [
            "practitioner_id",
            "bookings",
            "pending",
            "confirmed",
            "cancelled",
            "confirmation_rate",
            "cancellation_rate",
            "booked_hours",
        ]
    ]


async def weekday_hour_counts(
    db: Db, *, tz: str = "UTC", start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """Active (pending or confirmed) bookings by local weekday and hour of their start: a 7 x 24
    frame of ``int64`` counts, rows ``Monday``..``Sunday`` (index ``weekday``), columns 0..23."""
    local = _local(Booking.start_time, tz)
    weekday = cast(extract("isodow", local), Integer) - 1
    hour = cast(extract("hour", local), Integer)
    stmt = (
        select(weekday.label("weekday"), hour.label("hour"), func.count().label("bookings"))
        .where(
            and_(Booking.status != BookingStatus.CANCELLED, *_booking_filters(start=start, end=end))
        )
        .group_by(weekday, hour)
        .order_by(weekday, hour)
    )
    counts = await read_frame(db, stmt, method="session")
    grid = (
        counts.pivot(index="weekday", columns="hour", values="bookings")
        .reindex(index=range(7), columns=range(24), fill_value=0)
        .fillna(0)
        .astype("int64")
    )
    grid.index = pd.Index(_WEEKDAYS, name="weekday", dtype=_STRING)
    grid.columns = pd.RangeIndex(24, name="hour")
    return grid
