"""Booking analytics counted in SQL: per day, per practitioner, per weekday and hour.

The database aggregates (a few hundred rows come back, whatever the table's size); pandas only
fills the gaps (days or hours without bookings) and computes the rates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import Integer, and_, case, cast, extract, func, literal, select

from africare_data.frames import arguments
from africare_data.frames.dtypes import STRING_DTYPE
from africare_data.frames.reading import read_frame
from africare_data.frames.tables import booking_conditions
from africare_data.frames.transport import Db
from africare_data.models import Booking, BookingStatus

__all__ = ["bookings_per_day", "practitioner_summary", "weekday_hour_counts"]

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _local(column: Any, tz: str) -> Any:
    return func.timezone(literal(tz), column)


async def bookings_per_day(
    db: Db, *, start: datetime | None = None, end: datetime | None = None, tz: str = "UTC"
) -> pd.DataFrame:
    """Bookings per local day of their start: ``day`` (midnight in ``tz``), a count per status
    and ``total``; every day from the first to the last (or ``start`` to ``end``) is present,
    days without bookings as zeros. Counted in SQL; only the gaps are filled in pandas."""
    tz = arguments.time_zone(tz)
    filters = arguments.booking_filters(start=start, end=end)
    start, end = filters.start, filters.end
    day = func.date_trunc("day", _local(Booking.start_time, tz))
    counts = [
        func.count().filter(Booking.status == status).label(status.value)
        for status in BookingStatus
    ]
    stmt = (
        select(day.label("day"), *counts, func.count().label("total"))
        .where(*booking_conditions(filters))
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
    filters = arguments.booking_filters(start=start, end=end)
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
        .where(*booking_conditions(filters))
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
    tz = arguments.time_zone(tz)
    filters = arguments.booking_filters(start=start, end=end)
    local = _local(Booking.start_time, tz)
    weekday = cast(extract("isodow", local), Integer) - 1
    hour = cast(extract("hour", local), Integer)
    stmt = (
        select(weekday.label("weekday"), hour.label("hour"), func.count().label("bookings"))
        .where(and_(Booking.status != BookingStatus.CANCELLED, *booking_conditions(filters)))
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
    grid.index = pd.Index(_WEEKDAYS, name="weekday", dtype=STRING_DTYPE)
    grid.columns = pd.RangeIndex(24, name="hour")
    return grid
