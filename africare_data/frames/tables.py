"""One frame per table: bookings (filtered, also in chunks), examples, event types, users, posts.

Each orders its rows (by start time then id for bookings, by id otherwise), so the output is
stable, and keeps its columns and dtypes when empty.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Integer, bindparam, false, func, or_, select
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from africare_data.frames import arguments
from africare_data.frames.arguments import BookingFilters
from africare_data.frames.conversion import rows_to_arrays, to_pandas
from africare_data.frames.dtypes import AnySelect, columns_of
from africare_data.frames.reading import read_columns, read_frame, read_sorted
from africare_data.frames.transport import Db, connection_of
from africare_data.models import Booking, BookingStatus, EventType, Example, Post, User

__all__ = [
    "booking_conditions",
    "bookings_frame",
    "bookings_select",
    "duration_minutes",
    "event_types_frame",
    "examples_frame",
    "iter_bookings_frames",
    "posts_frame",
    "users_frame",
    "with_duration",
]

_ORDER_BY: Final = (Booking.__table__.c.start_time, Booking.__table__.c.id)
_MINUTE: Final = 60_000_000  # microseconds
_HALF_MINUTE: Final = _MINUTE // 2


def booking_conditions(filters: BookingFilters) -> list[ColumnElement[bool]]:
    """The ``WHERE`` conditions of the bookings frames and analytics (empty: every booking)."""
    return _conditions(_filter_shape(filters), _filter_values(filters))


def bookings_select(filters: BookingFilters | None = None) -> AnySelect:
    """The bookings' columns (without ``duration_minutes``), filtered, in no particular order."""
    return select(*Booking.__table__.columns).where(
        *booking_conditions(filters or BookingFilters())
    )


_FilterShape = tuple[bool, bool, tuple[BookingStatus, ...] | None, bool, bool]


def _filter_shape(filters: BookingFilters) -> _FilterShape:
    """Which filters are set (the statuses themselves, being few): what the statement's SQL
    depends on, as opposed to the values it runs with."""
    statuses = None if filters.statuses is None else tuple(sorted(set(filters.statuses)))
    return (
        filters.practitioner_id is not None,
        filters.patient_id is not None,
        statuses,  # in one order, once each: the same statuses share one statement
        filters.start is not None,
        filters.end is not None,
    )


def _filter_values(filters: BookingFilters) -> dict[str, Any]:
    """The values of the named parameters of :func:`_conditions`."""
    return {
        "practitioner_id": filters.practitioner_id,
        "patient_id": filters.patient_id,
        "start": filters.start,
        "end": filters.end,
    }


def _conditions(shape: _FilterShape, values: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    """The conditions of one :func:`_filter_shape`, with ``values`` (see :func:`_filter_values`)
    or, without them, a named parameter for each value, to be given when the statement runs."""
    practitioner, patient, statuses, start, end = shape
    bookings = Booking.__table__.c

    def value(name: str, sql_type: TypeEngine[Any]) -> BindParameter[Any]:
        if values is None:
            return bindparam(name, type_=sql_type)
        return bindparam(name, values[name], type_=sql_type, unique=True)

    conditions: list[ColumnElement[bool]] = []
    if practitioner:
        conditions.append(bookings.practitioner_id == value("practitioner_id", Integer()))
    if patient:
        conditions.append(bookings.patient_id == value("patient_id", Integer()))
    if statuses is not None:  # no IN: its list is expanded into the SQL for its values
        conditions.append(or_(false(), *(bookings.status == status for status in statuses)))
    if start:
        conditions.append(bookings.start_time >= value("start", bookings.start_time.type))
    if end:
        conditions.append(bookings.start_time < value("end", bookings.start_time.type))
    return conditions


@functools.cache
def _agenda_select(shape: _FilterShape) -> AnySelect:
    """An agenda's ordered statement for one :func:`_filter_shape`, run with the values of
    :func:`_filter_values`: built once, so neither the statement nor its cache key is computed
    for each agenda (a tenth of its time)."""
    conditions = _conditions(shape, None)
    return select(*Booking.__table__.columns).where(*conditions).order_by(*_ORDER_BY)


def with_duration(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``duration_minutes`` appended (see :func:`duration_minutes`)."""
    frame["duration_minutes"] = duration_minutes(frame["start_time"], frame["end_time"])
    return frame


def duration_minutes(start: Any, end: Any) -> np.ndarray[Any, Any]:
    """``end - start`` (aware timestamp columns) in whole minutes, rounded half away from zero
    (as PostgreSQL casts ``numeric`` to ``integer``), computed on the int64 microseconds
    (cheaper than asking the server for it), in place in the new array."""
    minutes: np.ndarray[Any, Any] = _micros(end) - _micros(start)
    negative = minutes < 0
    np.abs(minutes, out=minutes)
    minutes += _HALF_MINUTE
    minutes //= _MINUTE
    if negative.any():  # a booking ends after it starts (a check constraint); other rows may not
        np.negative(minutes, out=minutes, where=negative)
    return minutes


def _micros(moments: Any) -> np.ndarray[Any, Any]:
    """The int64 microseconds of a column, index or array of timestamps, not copied."""
    if isinstance(moments, pd.Series):
        moments = moments.array
    values: np.ndarray[Any, Any] = moments.asi8
    return values


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
    filters = arguments.booking_filters(practitioner_id, patient_id, status, start, end)
    if filters.practitioner_id is None and filters.patient_id is None:
        stmt = bookings_select(filters)
        columns = await read_sorted(db, stmt, Booking.__tablename__, _ORDER_BY, tz=tz)
    else:
        agenda = _agenda_select(_filter_shape(filters))
        parameters = _filter_values(filters)
        columns = await read_columns(db, agenda, tz=tz, method="session", parameters=parameters)
    columns["duration_minutes"] = duration_minutes(columns["start_time"], columns["end_time"])
    return pd.DataFrame(columns, copy=False)


async def iter_bookings_frames(
    db: Db,
    *,
    chunksize: int = 100_000,
    tz: str = "UTC",
    practitioner_id: int | None = None,
    patient_id: int | None = None,
    status: BookingStatus | str | Sequence[BookingStatus | str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AsyncIterator[pd.DataFrame]:
    """Yield the :func:`bookings_frame` rows in frames of at most ``chunksize`` rows.

    A server-side cursor on the session's connection streams the rows, so memory stays constant
    however large the table; concatenated, the chunks equal :func:`bookings_frame`. The filters
    are those of :func:`bookings_frame`.
    """
    chunksize = arguments.chunk_size(chunksize)
    tz = arguments.time_zone(tz)
    filters = arguments.booking_filters(practitioner_id, patient_id, status, start, end)
    stmt = bookings_select(filters).order_by(*_ORDER_BY)
    columns = columns_of(stmt)
    connection = await connection_of(db)
    result = await connection.stream(stmt.execution_options(yield_per=chunksize))
    async for rows in result.partitions(chunksize):
        yield with_duration(to_pandas(rows_to_arrays(rows, columns), columns, tz))


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
