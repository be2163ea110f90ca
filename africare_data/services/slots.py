"""Free time: bookable slots inside availability, and the availability check of booking writes.

Everything is one SQL statement over ``practitioner_availability`` (the practitioners' hours,
extra hours and time off resolved to UTC, :mod:`africare_data.models.availability_sql`), so
slots, booking checks and the frames agree on what "available" means:

* free time is availability minus pending and confirmed bookings (multirange difference);
* a slot of ``duration`` is bookable when it lies inside free time; candidates start on a grid of
  ``step`` from the start of each available interval (a practitioner working 08:00-12:00 with a
  15-minute step is offered 08:00, 08:15, ...);
* a practitioner with no availability recorded at all (no weekly rule, no extra hours) is
  available at any time, so the toolkit behaves for them as it does without availability.

The check of booking writes is a condition inside the booking's own ``INSERT`` or ``UPDATE``
(:func:`availability_allows`), so it costs no extra round trip; it is a service rule, not a
database one (a raw ``INSERT`` is not checked), and a schedule changed concurrently with a
booking is not serialised against it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    TextClause,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.types import DateTime, Interval, TypeEngine

from africare_data.errors import InvalidInputError
from africare_data.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    BookingStatus,
    ExceptionKind,
)
from africare_data.schemas.availability import PractitionerSlot
from africare_data.schemas.booking import TimeSlot
from africare_data.services._transaction import reading

__all__ = [
    "DEFAULT_STEP",
    "INSERT_IF_AVAILABLE",
    "INSERT_ROW_IF_AVAILABLE",
    "MAX_SLOT_WINDOW",
    "availability_allows",
    "first_free_slot",
    "free_intervals",
    "free_slots",
    "practitioner_if_outside",
]

DEFAULT_STEP = timedelta(minutes=15)
"""The grid slots start on, from the start of each available interval."""

MAX_SLOT_WINDOW = timedelta(days=92)
"""The longest window slots are listed for (a quarter): the list grows with the window."""

_LAST_MOMENT = datetime(9999, 12, 1, tzinfo=UTC)
"""Windows end by then, so every slot and interval returned is a Python ``datetime``."""

_TIMESTAMP = DateTime(timezone=True)

# Each wanted practitioner's availability in the window, or the whole window for one with none
# recorded; then free time, their availability minus active bookings. {ids} is the int[] of
# practitioners.
_FREE = """
WITH wanted AS (
    SELECT DISTINCT unnest({ids}) AS practitioner_id
), availability AS (
    SELECT w.practitioner_id,
           CASE WHEN a.available IS NOT NULL THEN a.available
                WHEN EXISTS (SELECT 1 FROM availability_rules AS r
                              WHERE r.practitioner_id = w.practitioner_id)
                  OR EXISTS (SELECT 1 FROM availability_exceptions AS e
                              WHERE e.practitioner_id = w.practitioner_id AND e.kind = 'extra')
                THEN '{{}}'::tstzmultirange
                ELSE tstzmultirange(tstzrange(:start, :end)) END AS available
      FROM wanted AS w
      LEFT JOIN practitioner_availability(:start, :end, {ids}) AS a
        ON a.practitioner_id = w.practitioner_id
), free AS (
    SELECT v.practitioner_id, v.available,
           v.available - coalesce(
               (SELECT range_agg(tstzrange(b.start_time, b.end_time)) FROM bookings AS b
                 WHERE b.practitioner_id = v.practitioner_id AND b.status <> 'cancelled'
                   AND b.start_time < :end AND b.end_time > :start),
               '{{}}'::tstzmultirange) AS free
      FROM availability AS v
)
"""

_SLOTS = """
SELECT f.practitioner_id, s.slot_start, s.slot_start + {duration} AS slot_end
  FROM free AS f
 CROSS JOIN LATERAL unnest(f.available) AS w(span)
 CROSS JOIN LATERAL generate_series(lower(w.span), upper(w.span) - {duration}, :step)
       AS s(slot_start)
 WHERE f.free @> tstzrange(s.slot_start, s.slot_start + {duration})
 ORDER BY s.slot_start, f.practitioner_id
"""

_GAPS = """
SELECT lower(g.gap), upper(g.gap)
  FROM free AS f CROSS JOIN LATERAL unnest(f.free) AS g(gap)
 WHERE upper(g.gap) - lower(g.gap) >= :duration
 ORDER BY 1
"""

_ONE_PRACTITIONER = "ARRAY[CAST(:practitioner_id AS integer)]"
_OFFERING = (
    "(SELECT coalesce(array_agg(o.practitioner_id), '{}') FROM practitioner_event_types AS o "
    "WHERE o.event_type_id = :event_type_id)"
)
_EVENT_DURATION = (
    "(SELECT make_interval(mins => t.duration_minutes) FROM event_types AS t "
    "WHERE t.id = :event_type_id)"
)

_TYPES: dict[str, TypeEngine[Any]] = {
    "start": _TIMESTAMP,
    "end": _TIMESTAMP,
    "duration": Interval(),
    "step": Interval(),
    "practitioner_id": Integer(),
    "event_type_id": Integer(),
}


def _statement(sql: str, **values: object) -> TextClause:
    return text(sql).bindparams(
        *(bindparam(name, value, type_=_TYPES[name]) for name, value in values.items())
    )


def _window(start: datetime, end: datetime, longest: timedelta | None = None) -> None:
    if end <= start:
        raise InvalidInputError(f"end: must be after start ({start.isoformat()})")
    if end > _LAST_MOMENT:
        raise InvalidInputError(f"end: must be before {_LAST_MOMENT.isoformat()}")
    if longest is not None and end - start > longest:
        raise InvalidInputError(f"end: must be at most {longest.days} days after start")


async def free_intervals(
    db: AsyncSession, practitioner_id: int, start: datetime, end: datetime, duration: timedelta
) -> list[TimeSlot]:
    """The practitioner's maximal free intervals in ``[start, end)`` at least ``duration`` long.

    Arguments are validated by the caller.
    """
    _window(start, end)
    sql = _FREE.format(ids=_ONE_PRACTITIONER) + _GAPS
    statement = _statement(
        sql, practitioner_id=practitioner_id, start=start, end=end, duration=duration
    )
    async with reading(db):
        rows = (await db.execute(statement)).all()
    return [TimeSlot(start=row[0], end=row[1]) for row in rows]


async def free_slots(
    db: AsyncSession,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    duration: timedelta,
    step: timedelta,
) -> list[TimeSlot]:
    """The practitioner's bookable slots of ``duration`` in ``[start, end)``, every ``step``.

    Arguments are validated by the caller; the window is at most :data:`MAX_SLOT_WINDOW`.
    """
    _window(start, end, MAX_SLOT_WINDOW)
    sql = _FREE.format(ids=_ONE_PRACTITIONER) + _SLOTS.format(duration=":duration")
    statement = _statement(
        sql, practitioner_id=practitioner_id, start=start, end=end, duration=duration, step=step
    )
    async with reading(db):
        rows = (await db.execute(statement)).all()
    return [TimeSlot(start=row[1], end=row[2]) for row in rows]


async def first_free_slot(
    db: AsyncSession, event_type_id: int, start: datetime, end: datetime, step: timedelta
) -> PractitionerSlot | None:
    """The earliest slot in ``[start, end)`` of any practitioner offering the event type, as
    long as the event type lasts (ties: the lowest practitioner id); one statement.

    Arguments are validated by the caller; the window is at most :data:`MAX_SLOT_WINDOW`.
    """
    _window(start, end, MAX_SLOT_WINDOW)
    sql = _FREE.format(ids=_OFFERING) + _SLOTS.format(duration=_EVENT_DURATION) + " LIMIT 1"
    statement = _statement(sql, event_type_id=event_type_id, start=start, end=end, step=step)
    async with reading(db):
        row = (await db.execute(statement)).first()
    if row is None:
        return None
    return PractitionerSlot(practitioner_id=row[0], start=row[1], end=row[2])


def availability_allows(
    practitioner: SQLColumnExpression[int] | int, start: datetime, end: datetime
) -> ColumnElement[bool]:
    """A condition true when ``[start, end)`` lies inside the practitioner's availability, or
    the practitioner has none recorded; for the ``WHERE`` of a booking's INSERT or UPDATE.

    ``practitioner`` is an id, or a column such as ``Booking.practitioner_id`` in an UPDATE.
    """
    who: SQLColumnExpression[int] = (
        bindparam("availability_practitioner", practitioner, Integer())
        if isinstance(practitioner, int)
        else practitioner
    )
    return _allows(
        who,
        bindparam("availability_start", start, _TIMESTAMP),
        bindparam("availability_end", end, _TIMESTAMP),
    )


def _allows(
    who: SQLColumnExpression[int],
    start: SQLColumnExpression[datetime],
    end: SQLColumnExpression[datetime],
) -> ColumnElement[bool]:
    has_rules = exists().where(AvailabilityRule.practitioner_id == who)
    has_extra = exists().where(
        AvailabilityException.practitioner_id == who,
        AvailabilityException.kind == ExceptionKind.EXTRA,
    )
    # WITH ORDINALITY keeps the planner from inlining the function's query into every statement
    # that checks a booking: planning it cost three times the rest of the INSERT, on every
    # execution (the plan cache keeps choosing custom plans), while a practitioner without
    # availability never runs it at all.
    windows = (
        func.practitioner_availability(start, end, array([who]))
        .table_valued("practitioner_id", "available", with_ordinality="ordinality")
        .alias("allowed")
    )
    inside = exists(
        select(literal_column("1"))
        .select_from(windows)
        .where(windows.c.available.op("@>")(func.tstzrange(start, end)))
    )
    return or_(and_(~has_rules, ~has_extra), inside)


_INSERTED = ("practitioner_id", "patient_id", "start_time", "end_time", "event_type_id", "status")


def _values_if_available() -> Select[Any]:
    """``SELECT <the parameters> WHERE <available>``: what the two inserts below write."""
    columns = Booking.__table__.columns
    values = {name: bindparam(name, type_=columns[name].type) for name in _INSERTED}
    return select(*(value.label(name) for name, value in values.items())).where(
        _allows(values["practitioner_id"], values["start_time"], values["end_time"])
    )


# dml_strategy="orm": the parameters fill this one statement (not an ORM bulk insert).
INSERT_IF_AVAILABLE: ReturningInsert[Booking] = (
    insert(Booking)
    .from_select(list(_INSERTED), _values_if_available())
    .returning(Booking)
    .execution_options(dml_strategy="orm")
)
"""``INSERT INTO bookings ... SELECT <values> WHERE <available> RETURNING *``: one statement that
writes the booking only when its time is available (no row: refused). Built once; executed with
the booking's ``practitioner_id``, ``patient_id``, ``start_time``, ``end_time``,
``event_type_id`` and ``status`` as parameters."""

INSERT_ROW_IF_AVAILABLE: ReturningInsert[Any] = (
    insert(Booking)
    .from_select(list(_INSERTED), _values_if_available())
    .returning(*Booking.__table__.columns)
)
"""The same statement in Core: it returns the row's columns, not a ``Booking`` (for a connection
without an ORM session, :mod:`africare_data.services.booking_records`)."""


async def practitioner_if_outside(
    db: AsyncSession, booking_id: int, start: datetime, end: datetime
) -> int | None:
    """The practitioner of active booking ``booking_id`` when ``[start, end)`` is outside their
    availability (why a move of it was refused), else ``None``."""
    query = select(Booking.practitioner_id).where(
        Booking.id == booking_id,
        Booking.status != BookingStatus.CANCELLED,
        ~availability_allows(Booking.practitioner_id, start, end),
    )
    return await db.scalar(query)
