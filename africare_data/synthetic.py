"""Deterministic, realistic demo bookings and their bulk load through PostgreSQL ``COPY``.

:func:`generate_bookings` draws a week-by-week agenda for each practitioner: every practitioner
works in one African time zone, Monday to Friday, 08:00-12:00 and 13:00-17:00 local time, and each
booked hour of that agenda holds one appointment of 15 to 60 minutes that ends inside the hour.
So no two bookings of a practitioner ever overlap and the no-overlap rule accepts all of them,
cancelled or not. The same arguments give the same frame, bit for bit, on every machine.

:func:`load_bookings` writes such a frame with one binary ``COPY`` on the session's own connection,
in one transaction, with every constraint and the no-overlap rule checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import asyncpg
import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from africare_data.errors import InvalidInputError, translate_integrity_errors
from africare_data.frames import STATUS_DTYPE
from africare_data.models import Booking

__all__ = [
    "BOOKING_COLUMNS",
    "TIME_ZONES",
    "generate_bookings",
    "load_bookings",
    "seeded_rows",
]

TIME_ZONES: Final = (
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Africa/Accra",
    "Africa/Casablanca",
    "Africa/Kinshasa",
    "Africa/Addis_Ababa",
    "Africa/Dakar",
    "Africa/Kampala",
)
"""The practitioners' time zones (Cairo and Casablanca shift their clocks; working hours never
fall into a transition, which happen at night)."""

_WORKING_HOURS: Final = np.array([8, 9, 10, 11, 13, 14, 15, 16])
_HOURS_PER_DAY: Final = len(_WORKING_HOURS)
_DAYS_PER_WEEK: Final = 5
_OCCUPANCY: Final = 0.8  # share of working hours that hold a booking
_DURATIONS: Final = np.array([15, 20, 30, 45, 60])
_DURATION_WEIGHTS: Final = np.array([0.15, 0.15, 0.4, 0.15, 0.15])
_STATUS_WEIGHTS: Final = np.array([0.15, 0.73, 0.12])  # pending, confirmed, cancelled
_CANCELLATION_REASONS: Final = (
    "patient request",
    "practitioner unavailable",
    "rescheduled",
    "no longer needed",
)

_TIMESTAMP_DTYPE: Final = "datetime64[us, UTC]"


def _booking_columns() -> tuple[str, ...]:
    """The writable columns of ``bookings`` (all but ``id``), in table order."""
    return tuple(column.name for column in Booking.__table__.columns if column.name != "id")


BOOKING_COLUMNS: Final = _booking_columns()
"""The columns of a :func:`generate_bookings` frame and of a :func:`load_bookings` input."""


def generate_bookings(
    n: int,
    *,
    seed: int = 0,
    practitioners: int = 500,
    patients: int = 20_000,
    start: date = date(2025, 1, 6),
) -> pd.DataFrame:
    """``n`` synthetic bookings as a frame with the columns of :data:`BOOKING_COLUMNS`.

    Deterministic for given arguments. Bookings are spread evenly over ``practitioners``
    (ids ``1..practitioners``); each practitioner's agenda begins in the week of ``start`` plus a
    random 0-3 weeks, in one of :data:`TIME_ZONES`. About 80 % of working hours are booked; an
    appointment lasts 15-60 minutes; about 15 % are pending, 73 % confirmed and 12 % cancelled.
    Patients (ids ``1..patients``) are drawn uniformly; a booking is made 1-30 days ahead.
    """
    if n < 0 or practitioners < 1 or patients < 1:
        raise ValueError("n must be >= 0, practitioners and patients >= 1")
    rng = np.random.default_rng(seed)
    practitioner = np.sort(np.arange(n, dtype=np.int64) % practitioners) + 1
    # The k-th booked hour of a practitioner comes 1 + Geometric gap after the previous one.
    gaps = rng.geometric(_OCCUPANCY, size=n).astype(np.int64)
    cumulative = np.cumsum(gaps)
    first = np.searchsorted(practitioner, practitioner, side="left")
    before_first = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0)
    hour_index = cumulative - before_first - 1

    zone_of = rng.integers(0, len(TIME_ZONES), size=practitioners + 1)
    week_offset = rng.integers(0, 4, size=practitioners + 1)
    day_index = hour_index // _HOURS_PER_DAY
    calendar_days = (
        day_index // _DAYS_PER_WEEK + week_offset[practitioner]
    ) * 7 + day_index % _DAYS_PER_WEEK
    monday = start - timedelta(days=start.weekday())
    duration = rng.choice(_DURATIONS, size=n, p=_DURATION_WEIGHTS)
    slack_quarters = (60 - duration) // 15
    offset_minutes = rng.integers(0, slack_quarters + 1) * 15
    local_minutes = (
        calendar_days * 1440 + _WORKING_HOURS[hour_index % _HOURS_PER_DAY] * 60 + offset_minutes
    )
    local_start = np.datetime64(monday, "m") + local_minutes.astype("timedelta64[m]")
    start_utc = _localise(local_start, zone_of[practitioner])

    status_codes = rng.choice(3, size=n, p=_STATUS_WEIGHTS)
    lead = pd.to_timedelta(rng.integers(1 * 1440, 30 * 1440, size=n), unit="min")
    patient = rng.integers(1, patients + 1, size=n)
    start_series = pd.Series(start_utc).dt.tz_localize("UTC")
    end_series = start_series + pd.to_timedelta(duration, unit="min")
    created = start_series - lead
    columns: dict[str, Any] = {
        "practitioner_id": practitioner.astype(np.int32),
        "patient_id": patient.astype(np.int32),
        "event_type_id": pd.array([pd.NA] * n, dtype="Int64"),
        "start_time": start_series,
        "end_time": end_series,
        "status": pd.Categorical.from_codes(status_codes, dtype=STATUS_DTYPE),
        "created_at": created,
    }
    # Confirmed and cancelled bookings were last touched halfway between booking and start.
    touched = (created + (start_series - created) / 2).astype(_TIMESTAMP_DTYPE)
    cancelled = pd.Series(status_codes == 2)
    columns["updated_at"] = touched.where(pd.Series(status_codes != 0))
    if "cancelled_at" in BOOKING_COLUMNS:
        columns["cancelled_at"] = touched.where(cancelled)
    if "cancellation_reason" in BOOKING_COLUMNS:
        reasons = pd.Series(
            pd.Categorical.from_codes(
                rng.integers(0, len(_CANCELLATION_REASONS), size=n),
                dtype=pd.CategoricalDtype(list(_CANCELLATION_REASONS)),
            )
        ).astype("string")
        columns["cancellation_reason"] = reasons.where(cancelled)
    frame = pd.DataFrame(columns)
    return frame[list(BOOKING_COLUMNS)]


def _localise(
    local: np.ndarray[Any, Any], zone_codes: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Interpret naive local times, each in its zone, and return them as UTC ``datetime64[us]``."""
    result = np.empty(len(local), dtype="datetime64[us]")
    for code, zone in enumerate(TIME_ZONES):
        mask = zone_codes == code
        if mask.any():
            index = pd.DatetimeIndex(local[mask].astype("datetime64[us]"))
            result[mask] = index.tz_localize(zone).tz_convert("UTC").tz_localize(None).to_numpy()
    return result


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
    with translate_integrity_errors():
        if isinstance(db, AsyncSession):
            async with db.begin_nested():
                await _copy(await db.connection(), columns, records)
            await db.commit()
        elif db.in_transaction():
            async with db.begin_nested():
                await _copy(db, columns, records)
        else:
            async with db.begin():
                await _copy(db, columns, records)
    return len(records)


async def _copy(connection: AsyncConnection, columns: Sequence[str], records: Any) -> None:
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        await driver.copy_records_to_table("bookings", records=records, columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as error:  # the driver's own, untranslated
        raise IntegrityError("COPY bookings", None, error) from error


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
            values.append([None if pd.isna(v) else getattr(v, "value", v) for v in series.tolist()])
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
    """How many rows of ``frame`` are already in ``bookings`` (same practitioner, patient, start
    and end): what makes ``africare-data seed`` idempotent per seed."""
    if frame.empty:
        return 0
    statement = text(
        "SELECT count(*) FROM bookings b JOIN unnest("
        "CAST(:practitioners AS integer[]), CAST(:patients AS integer[]), "
        "CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) AS k(p, q, s, e) "
        "ON b.practitioner_id = k.p AND b.patient_id = k.q "
        "AND b.start_time = k.s AND b.end_time = k.e"
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
