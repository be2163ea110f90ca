"""Bulk loads through PostgreSQL ``COPY``: any bookings frame, or the whole demo data set.

:func:`load_bookings` writes a frame of bookings with one binary ``COPY`` on the session's own
connection, in one transaction, with every constraint and the no-overlap rule checked.
:func:`load_demo` writes a :class:`~africare_data.synthetic.DemoData` the same way: its event
types, the practitioners' availability (when the database has the availability tables) and its
bookings, all or nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import asyncpg
import pandas as pd
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from africare_data.errors import InvalidInputError, translate_integrity_errors
from africare_data.models import Booking, EventType
from africare_data.synthetic._demo import DemoData

__all__ = ["BOOKING_COLUMNS", "load_bookings", "load_demo", "seeded_rows"]


def _booking_columns() -> tuple[str, ...]:
    """The writable columns of ``bookings`` (all but ``id``), in table order."""
    return tuple(column.name for column in Booking.__table__.columns if column.name != "id")


BOOKING_COLUMNS: Final = _booking_columns()
"""The columns of a :func:`~africare_data.synthetic.generate_bookings` frame and of a
:func:`load_bookings` input."""

_AVAILABILITY_TABLES: Final = (
    "availability_rules",
    "availability_exceptions",
    "practitioner_event_types",
)


async def load_bookings(db: AsyncSession | AsyncConnection, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` into ``bookings`` with one binary ``COPY``; return the count.

    The load is one transaction on the session's own connection: it commits on success, and on
    any failure (an overlap, a bad time range, an unknown event type) it rolls back, so nothing
    is written and the domain error says why (:class:`~africare_data.errors.BookingConflictError`
    for an overlap, :class:`~africare_data.errors.InvalidBookingError` for a bad time range,
    :class:`~africare_data.errors.NotFoundError` for an unknown event type).
    Inside an outer transaction (a test's session) it runs in a savepoint.

    No special bulk path is needed: the no-overlap rule is a statement-level trigger (migration
    ``0003``) that checks all copied rows in one set-based query at the end of the ``COPY``, after
    taking the advisory lock of each practitioner in the frame. Writers of those practitioners
    wait for the load to commit and are then checked against its rows; other practitioners'
    writers and all readers go on undisturbed. The load must run under READ COMMITTED (the
    default); the trigger refuses it under REPEATABLE READ or SERIALIZABLE.
    """
    missing = {"practitioner_id", "patient_id", "start_time", "end_time"} - set(frame.columns)
    if missing:
        raise InvalidInputError(f"frame lacks the columns {sorted(missing)}")
    columns = [column for column in BOOKING_COLUMNS if column in frame.columns]
    records = _records(frame, columns)

    async def copy(connection: AsyncConnection) -> None:
        await _copy(connection, "bookings", columns, records)

    await _in_one_transaction(db, copy)
    return len(records)


async def load_demo(db: AsyncSession | AsyncConnection, demo: DemoData) -> int:
    """Insert ``demo`` in one transaction; return the number of bookings loaded.

    The event types are inserted first and the frames' event type ids mapped to the ids the
    database gives them, so the load also works where event types exist already. The weekly
    availability, time off and offered event types go into ``availability_rules``,
    ``availability_exceptions`` and ``practitioner_event_types`` when the database has those
    tables (a database migrated to an earlier revision gets the event types and bookings only).
    The bookings follow with one ``COPY``, checked as in :func:`load_bookings`.
    """
    missing = {"practitioner_id", "patient_id", "start_time", "end_time"} - set(
        demo.bookings.columns
    )
    if missing:
        raise InvalidInputError(f"the bookings frame lacks the columns {sorted(missing)}")

    async def load(connection: AsyncConnection) -> None:
        rows = [
            {"name": name, "duration_minutes": minutes}
            for name, minutes in zip(
                demo.event_types["name"].tolist(),
                demo.event_types["duration_minutes"].tolist(),
                strict=True,
            )
        ]
        inserted = await connection.execute(
            insert(EventType).returning(EventType.id, sort_by_parameter_order=True), rows
        )
        ids = dict(zip(demo.event_types["id"].tolist(), inserted.scalars().all(), strict=True))
        if await _has_availability_tables(connection):
            offered = demo.practitioner_event_types.assign(
                event_type_id=demo.practitioner_event_types["event_type_id"].map(ids)
            )
            for table, frame in zip(
                _AVAILABILITY_TABLES,
                (demo.availability_rules, demo.availability_exceptions, offered),
                strict=True,
            ):
                columns = [str(column) for column in frame.columns]
                await _copy(connection, table, columns, _records(frame, columns))
        bookings = demo.bookings.assign(
            event_type_id=demo.bookings["event_type_id"].map(ids).astype("Int64")
        )
        present = [column for column in BOOKING_COLUMNS if column in bookings.columns]
        await _copy(connection, "bookings", present, _records(bookings, present))

    await _in_one_transaction(db, load)
    return len(demo.bookings)


async def _has_availability_tables(connection: AsyncConnection) -> bool:
    found = await connection.execute(
        text("SELECT count(to_regclass(name)) FROM unnest(CAST(:names AS text[])) AS t(name)"),
        {"names": list(_AVAILABILITY_TABLES)},
    )
    return int(found.scalar_one()) == len(_AVAILABILITY_TABLES)


async def _in_one_transaction(
    db: AsyncSession | AsyncConnection, work: Callable[[AsyncConnection], Awaitable[None]]
) -> None:
    """Run ``work`` on ``db``'s connection in one transaction (a savepoint inside an outer one),
    committing a session's work; driver integrity errors become the toolkit's errors."""
    with translate_integrity_errors():
        if isinstance(db, AsyncSession):
            async with db.begin_nested():
                await work(await db.connection())
            await db.commit()
        elif db.in_transaction():
            async with db.begin_nested():
                await work(db)
        else:
            async with db.begin():
                await work(db)


async def _copy(
    connection: AsyncConnection, table: str, columns: Sequence[str], records: Any
) -> None:
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table(table, records=records, columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as error:  # the driver's own, untranslated
        raise IntegrityError(f"COPY {table}", None, error) from error


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows as tuples of Python values asyncpg's binary ``COPY`` encoder accepts (``None`` for
    missing values, aware ``datetime`` for timestamps, ``str`` for the status)."""
    values: list[Iterable[Any]] = []
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
            series.dtype
        ):
            values.append(_datetimes(series))
        elif isinstance(series.dtype, pd.CategoricalDtype) or column == "status":
            # One conversion per category, not per row; an enum member becomes its value.
            codes = pd.Categorical(series)
            names = [getattr(name, "value", name) for name in codes.categories.tolist()]
            values.append([None if code < 0 else names[code] for code in codes.codes.tolist()])
        else:
            values.append(series.astype(object).where(series.notna(), None).tolist())
    return list(zip(*values, strict=True))


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _datetimes(series: pd.Series[Any]) -> list[datetime | None]:
    """Aware UTC datetimes from a datetime column, fast (no per-element pandas Timestamp)."""
    if series.dt.tz is None:
        raise InvalidInputError(f"column {series.name!r} holds naive timestamps; localise it first")
    micros = series.dt.tz_convert("UTC").astype("datetime64[us, UTC]").array.asi8
    missing = series.isna().to_numpy()
    step = timedelta(microseconds=1)
    return [
        None if gone else _EPOCH + step * int(value)
        for value, gone in zip(micros.tolist(), missing.tolist(), strict=True)
    ]


async def seeded_rows(db: AsyncSession | AsyncConnection, frame: pd.DataFrame) -> int:
    """How many rows of ``bookings`` match a row of ``frame`` (same practitioner, patient, start
    and end): what makes ``africare-data seed`` idempotent per seed.

    A semi-join: a booking counts once even when ``frame`` holds its key twice (a cancelled
    booking and the same patient's booking of the same slot again), so a fully loaded ``frame``
    counts exactly ``len(frame)``."""
    if frame.empty:
        return 0
    statement = text(
        "SELECT count(*) FROM bookings b WHERE EXISTS (SELECT FROM unnest("
        "CAST(:practitioners AS integer[]), CAST(:patients AS integer[]), "
        "CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) AS k(p, q, s, e) "
        "WHERE b.practitioner_id = k.p AND b.patient_id = k.q "
        "AND b.start_time = k.s AND b.end_time = k.e)"
    )
    count = await db.execute(
        statement,
        {
            "practitioners": frame["practitioner_id"].astype("int64").tolist(),
            "patients": frame["patient_id"].astype("int64").tolist(),
            "starts": _datetimes(frame["start_time"]),
            "ends": _datetimes(frame["end_time"]),
        },
    )
    return int(count.scalar_one())
