"""The booking workflow: create, list, confirm, cancel, reschedule, and find free time.

Correctness under concurrency comes from PostgreSQL, not from checks in Python:

* no double booking: the no-overlap rule (``docs/architecture.md``) refuses an overlapping
  booking, whichever transaction comes second, as
  :class:`~africare_data.errors.BookingConflictError` naming the booking in the way; the
  services need no locking of their own;
* status changes are single conditional ``UPDATE ... WHERE status IN (...) RETURNING``
  statements: concurrent confirmations or a cancellation racing a confirmation serialise on the
  row lock, and only a change whose condition still holds wins.

``confirm_booking``, ``cancel_booking`` and ``reschedule_booking`` return ``None`` when the
booking does not exist or its status does not allow the change (the original document's
contract); with
``strict=True`` they raise :class:`~africare_data.errors.NotFoundError` or
:class:`~africare_data.errors.InvalidTransitionError` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pydantic
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    InvalidBookingError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    OutsideAvailabilityError,
)
from africare_data.models import Booking, BookingStatus, EventType
from africare_data.schemas.booking import BookingCancel, BookingCreate, EventTypeCreate, TimeSlot
from africare_data.services import slots
from africare_data.services._transaction import (
    describe,
    reading,
    reload_if_expired,
    retrying,
    validated,
    writing,
)
from africare_data.services._validation import (
    ID,
    TIMESTAMP,
    checked,
    lookup_id,
    positive,
)
from africare_data.services.booking_records import agenda_conditions, agenda_filter

__all__ = [
    "ACTIVE_STATUSES",
    "BookingService",
    "create_event_type",
    "get_event_type",
    "get_event_types",
]

ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
"""Statuses that hold a slot; cancelled bookings free it."""


async def create_event_type(db: AsyncSession, name: str, duration_minutes: int) -> EventType:
    """Insert an event type (a named appointment length, 1 to 1440 minutes)."""
    data = validated(EventTypeCreate, name=name, duration_minutes=duration_minutes)
    event_type = EventType(name=data.name, duration_minutes=data.duration_minutes)
    async with writing(db):
        db.add(event_type)
        await db.flush()
        await db.refresh(event_type)
    await reload_if_expired(db, event_type)
    return event_type


async def get_event_type(db: AsyncSession, event_type_id: int) -> EventType | None:
    """The event type with ``event_type_id``, or ``None``."""
    found_id = lookup_id("event_type_id", event_type_id)
    if found_id is None:
        return None
    async with reading(db):
        return await db.get(EventType, found_id)


async def get_event_types(db: AsyncSession) -> Sequence[EventType]:
    """All event types, ordered by id."""
    async with reading(db):
        result = await db.execute(select(EventType).order_by(EventType.id))
        return result.scalars().all()


class BookingService:
    """The booking operations, static methods taking the session first (the document's shape)."""

    @staticmethod
    async def create_booking(
        db: AsyncSession,
        practitioner_id: int,
        patient_id: int,
        start_time: datetime,
        end_time: datetime,
        event_type_id: int | None = None,
    ) -> Booking:
        """Validate, insert a pending booking, commit and return it.

        Raises:
            InvalidBookingError: naive datetimes or numbers as times, end not after start,
                longer than a day, ids that are not positive integers (``True`` is not an id);
                nothing is sent to the database.
            BookingConflictError: the time overlaps a pending or confirmed booking of the
                practitioner; carries that booking's id, start and end.
            OutsideAvailabilityError: the practitioner has availability recorded and the time
                is not inside it (:mod:`africare_data.services.slots`).
            NotFoundError: ``event_type_id`` names no event type.
        """
        data = validated(
            BookingCreate,
            InvalidBookingError,
            practitioner_id=practitioner_id,
            patient_id=patient_id,
            start_time=start_time,
            end_time=end_time,
            event_type_id=event_type_id,
        )

        values = data.model_dump()
        parameters = {**values, "status": BookingStatus.PENDING}

        async def insert_once() -> Booking:
            # One statement: the row comes back with its id and server defaults (no refresh);
            # no row means outside availability.
            async with writing(db, **values):
                result = await db.execute(slots.INSERT_IF_AVAILABLE, parameters)
                booking = result.scalar_one_or_none()
                if booking is None:
                    raise OutsideAvailabilityError(
                        data.practitioner_id, data.start_time, data.end_time
                    )
                return booking

        booking = await retrying(insert_once)
        await reload_if_expired(db, booking)
        return booking

    @staticmethod
    async def get_booking(db: AsyncSession, booking_id: int) -> Booking | None:
        """The booking with ``booking_id``, or ``None``."""
        found_id = lookup_id("booking_id", booking_id)
        if found_id is None:
            return None
        async with reading(db):
            return await db.get(Booking, found_id)

    @staticmethod
    async def get_bookings_by_practitioner(
        db: AsyncSession,
        practitioner_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        status: BookingStatus | str | None = None,
    ) -> Sequence[Booking]:
        """The practitioner's bookings ordered by start time (then id).

        ``start`` / ``end`` keep the bookings overlapping ``[start, end)``; ``status`` keeps one
        status.
        """
        wanted_status = None if status is None else _status(status)
        agenda = agenda_filter(practitioner_id, start, end, wanted_status)
        if agenda is None:
            return []
        shape, parameters = agenda
        async with reading(db):
            result = await db.execute(
                select(Booking)
                .where(*agenda_conditions(*shape))
                .order_by(Booking.start_time, Booking.id),
                parameters,
            )
            return result.scalars().all()

    @staticmethod
    async def confirm_booking(
        db: AsyncSession, booking_id: int, *, strict: bool = False
    ) -> Booking | None:
        """pending -> confirmed in one atomic conditional update.

        Returns ``None`` when the booking is missing or not pending (``strict=True``: raises
        ``NotFoundError`` / ``InvalidTransitionError``). Of concurrent confirmations exactly one
        gets the booking.
        """
        return await _transition(
            db,
            booking_id,
            BookingStatus.CONFIRMED,
            from_statuses=(BookingStatus.PENDING,),
            values={},
            strict=strict,
        )

    @staticmethod
    async def cancel_booking(
        db: AsyncSession, booking_id: int, reason: str | None = None, *, strict: bool = False
    ) -> Booking | None:
        """pending or confirmed -> cancelled, recording when (``cancelled_at``) and why.

        The slot is free for a new booking at once. Returns ``None`` when the booking is missing
        or already cancelled (``strict=True``: raises instead).
        """
        data = validated(BookingCancel, InvalidBookingError, reason=reason)
        return await _transition(
            db,
            booking_id,
            BookingStatus.CANCELLED,
            from_statuses=ACTIVE_STATUSES,
            values={"cancelled_at": func.now(), "cancellation_reason": data.reason},
            strict=strict,
        )

    @staticmethod
    async def reschedule_booking(
        db: AsyncSession,
        booking_id: int,
        new_start: datetime,
        new_end: datetime,
        *,
        strict: bool = False,
    ) -> Booking | None:
        """Move an active booking to ``[new_start, new_end)`` atomically; status is kept.

        On a conflict nothing changes and ``BookingConflictError`` names the booking in the way;
        a time outside the practitioner's availability raises ``OutsideAvailabilityError``.
        Returns ``None`` when the booking is missing or cancelled (``strict=True``: raises).
        """
        times = _validated_times(new_start, new_end, "new_start", "new_end")
        return await _transition(
            db,
            booking_id,
            None,
            from_statuses=ACTIVE_STATUSES,
            values={"start_time": times.start, "end_time": times.end},
            strict=strict,
            moving_to=times,
        )

    @staticmethod
    async def find_free_slots(
        db: AsyncSession,
        practitioner_id: int,
        day_start: datetime,
        day_end: datetime,
        duration: timedelta,
        *,
        step: timedelta | None = None,
    ) -> list[TimeSlot]:
        """Free time of ``[day_start, day_end)``, in order: inside the practitioner's
        availability (all of the window for one with none recorded), minus time off and
        pending and confirmed bookings (cancelled ones free their time).

        Without ``step``: the maximal free intervals at least ``duration`` long (book any
        ``duration`` inside one). With ``step`` (e.g. ``slots.DEFAULT_STEP``, 15 minutes): the
        bookable slots of exactly ``duration``, starting every ``step`` from the start of each
        available interval. One query either way (:mod:`africare_data.services.slots`).
        """
        day_start = checked(TIMESTAMP, "day_start", day_start, InvalidBookingError)
        day_end = checked(TIMESTAMP, "day_end", day_end, InvalidBookingError)
        if day_end <= day_start:
            raise InvalidBookingError("day_end: must be after day_start")
        duration = positive("duration", duration, InvalidBookingError)
        if step is not None:
            step = positive("step", step, InvalidBookingError)
        practitioner_id = checked(ID, "practitioner_id", practitioner_id, InvalidBookingError)
        if step is None:
            return await slots.free_intervals(db, practitioner_id, day_start, day_end, duration)
        return await slots.free_slots(db, practitioner_id, day_start, day_end, duration, step)


async def _refuse_if_outside(db: AsyncSession, booking_id: int, times: TimeSlot) -> None:
    practitioner_id = await slots.practitioner_if_outside(db, booking_id, times.start, times.end)
    if practitioner_id is not None:
        raise OutsideAvailabilityError(practitioner_id, times.start, times.end)


def _status(value: BookingStatus | str) -> BookingStatus:
    try:
        return BookingStatus(value)
    except ValueError:
        allowed = ", ".join(status.value for status in BookingStatus)
        raise InvalidInputError(f"status: must be one of {allowed}, got {value!r}") from None


def _validated_times(start: datetime, end: datetime, start_name: str, end_name: str) -> TimeSlot:
    """The same time rules as ``BookingCreate``, reported with the caller's parameter names."""
    try:
        times = BookingCreate(practitioner_id=1, patient_id=1, start_time=start, end_time=end)
    except pydantic.ValidationError as error:
        message = describe(error)
        raise InvalidBookingError(
            message.replace("end_time", end_name).replace("start_time", start_name)
        ) from None
    return TimeSlot(start=times.start_time, end=times.end_time)


async def _transition(
    db: AsyncSession,
    booking_id: int,
    target: BookingStatus | None,
    *,
    from_statuses: Sequence[BookingStatus],
    values: dict[str, Any],
    strict: bool,
    moving_to: TimeSlot | None = None,
) -> Booking | None:
    """One ``UPDATE ... WHERE id = :id AND status IN (...) RETURNING *``, committed.

    ``moving_to`` (a reschedule) adds the availability condition to the ``WHERE``.
    """
    found_id = lookup_id("booking_id", booking_id)
    if found_id is None:
        if strict:
            raise NotFoundError("Booking", booking_id)
        return None
    booking_id = found_id
    changes = dict(values, updated_at=func.now())
    if target is not None:
        changes["status"] = target
    conditions = [Booking.id == booking_id, Booking.status.in_(from_statuses)]
    if moving_to is not None:
        conditions.append(
            slots.availability_allows(Booking.practitioner_id, moving_to.start, moving_to.end)
        )
    statement = (
        update(Booking)
        .where(*conditions)
        .values(**changes)
        .returning(Booking)
        .execution_options(populate_existing=True, synchronize_session=False)
    )

    async def change() -> Booking | None:
        async with writing(db, booking_id=booking_id):
            changed = (await db.execute(statement)).scalar_one_or_none()
            if changed is None and moving_to is not None:
                await _refuse_if_outside(db, booking_id, moving_to)
            if changed is None and strict:
                current = await db.scalar(select(Booking.status).where(Booking.id == booking_id))
                if current is None:
                    raise NotFoundError("Booking", booking_id)
                wanted = "rescheduled" if target is None else target.value
                raise InvalidTransitionError(booking_id, current.value, wanted)
        return changed

    booking = await retrying(change)
    if booking is not None:
        await reload_if_expired(db, booking)
    return booking
