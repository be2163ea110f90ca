"""The booking workflow through ``BookingService``: every operation, its refusals and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    BookingConflictError,
    InvalidBookingError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    translate_integrity_errors,
)
from africare_data.models import Booking, BookingStatus, EventType
from africare_data.schemas import BookingResponse, TimeSlot
from africare_data.services import (
    BookingService,
    create_event_type,
    get_event_type,
    get_event_types,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def at(minutes: int) -> datetime:
    return NINE + minutes * MINUTE


async def book(
    db: AsyncSession, start: int, end: int, *, practitioner_id: int = 1, patient_id: int = 7
) -> Booking:
    """Book ``[NINE + start min, NINE + end min)``."""
    return await BookingService.create_booking(db, practitioner_id, patient_id, at(start), at(end))


async def table(db: AsyncSession) -> list[tuple[Any, ...]]:
    """Every booking row as stored, to compare before and after a refusal."""
    rows = await db.execute(
        select(
            Booking.id,
            Booking.practitioner_id,
            Booking.start_time,
            Booking.end_time,
            Booking.status,
            Booking.cancelled_at,
        ).order_by(Booking.id)
    )
    return [tuple(row) for row in rows]


async def test_create_booking(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    assert booking.id is not None
    assert booking.status is BookingStatus.PENDING
    assert (booking.start_time, booking.end_time) == (at(0), at(30))
    assert booking.cancelled_at is None
    assert BookingResponse.model_validate(booking).status is BookingStatus.PENDING
    assert await BookingService.get_booking(session, booking.id) is booking
    assert await BookingService.get_booking(session, 999_999) is None


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((1, 7, NINE.replace(tzinfo=None), at(30)), "start_time"),
        ((1, 7, NINE, at(30).replace(tzinfo=None)), "end_time"),
        ((1, 7, at(30), at(30)), "end_time"),
        ((1, 7, at(30), at(0)), "end_time"),
        ((1, 7, NINE, NINE + timedelta(hours=24, minutes=1)), "at most 1 day"),
        ((0, 7, NINE, at(30)), "practitioner_id"),
        ((1, -7, NINE, at(30)), "patient_id"),
        ((1, 7, NINE, at(30), 0), "event_type_id"),
        ((2**31, 7, NINE, at(30)), "practitioner_id"),
    ],
    ids=[
        "naive-start",
        "naive-end",
        "empty",
        "end-before-start",
        "longer-than-a-day",
        "practitioner-zero",
        "patient-negative",
        "event-type-zero",
        "id-too-large",
    ],
)
async def test_bad_bookings_are_refused_and_nothing_changes(
    session: AsyncSession, arguments: tuple[Any, ...], field: str
) -> None:
    await book(session, 120, 150)
    before = await table(session)
    with pytest.raises(InvalidBookingError, match=field) as caught:
        await BookingService.create_booking(session, *arguments)
    assert isinstance(caught.value, ValueError)
    assert await table(session) == before


async def test_overlap_raises_conflict_naming_the_booking(session: AsyncSession) -> None:
    first = await book(session, 0, 30)
    before = await table(session)
    with pytest.raises(BookingConflictError, match=f"booking {first.id}") as caught:
        await book(session, 15, 45)
    assert caught.value.conflicting_booking_id == first.id
    assert (caught.value.conflicting_start, caught.value.conflicting_end) == (at(0), at(30))
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert await table(session) == before
    # The earlier booking is still loaded and the session still works.
    assert first.start_time == at(0)
    assert (await book(session, 30, 60)).start_time == at(30)  # back to back is fine
    assert (await book(session, 0, 30, practitioner_id=2)).practitioner_id == 2


async def test_event_types(session: AsyncSession) -> None:
    consultation = await create_event_type(session, "Consultation", 30)
    vaccination = await create_event_type(session, "Vaccination", 15)
    assert consultation.created_at is not None
    assert await get_event_type(session, vaccination.id) is vaccination
    assert await get_event_type(session, 999_999) is None
    assert [kind.name for kind in await get_event_types(session)] == [
        "Consultation",
        "Vaccination",
    ]
    booking = await BookingService.create_booking(
        session, 1, 7, at(0), at(30), event_type_id=consultation.id
    )
    assert booking.event_type_id == consultation.id


async def test_event_type_refusals(session: AsyncSession) -> None:
    with pytest.raises(InvalidInputError, match="duration_minutes"):
        await create_event_type(session, "Nothing", 0)
    with pytest.raises(InvalidInputError, match="name"):
        await create_event_type(session, "", 30)
    assert list(await get_event_types(session)) == []
    before = await table(session)
    with pytest.raises(NotFoundError, match="EventType with id 999999"):
        await BookingService.create_booking(session, 1, 7, at(0), at(30), event_type_id=999_999)
    assert await table(session) == before


async def test_get_bookings_by_practitioner(session: AsyncSession) -> None:
    late = await book(session, 120, 150)
    early = await book(session, 0, 30)
    middle = await book(session, 60, 90)
    await book(session, 0, 30, practitioner_id=2)
    await BookingService.confirm_booking(session, middle.id)

    async def ids(**filters: Any) -> list[int]:
        found = await BookingService.get_bookings_by_practitioner(session, 1, **filters)
        return [booking.id for booking in found]

    assert await ids() == [early.id, middle.id, late.id]
    assert await ids(start=at(30)) == [middle.id, late.id]  # ends at 30: not in [30, ...)
    assert await ids(end=at(60)) == [early.id]  # starts at 60: not in [..., 60)
    assert await ids(start=at(20), end=at(70)) == [early.id, middle.id]
    assert await ids(status=BookingStatus.CONFIRMED) == [middle.id]
    assert await ids(status="pending") == [early.id, late.id]
    assert await BookingService.get_bookings_by_practitioner(session, 99) == []
    with pytest.raises(InvalidInputError, match="status"):
        await ids(status="done")
    with pytest.raises(InvalidBookingError, match="start"):
        await ids(start=NINE.replace(tzinfo=None))


async def test_confirm_booking(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    confirmed = await BookingService.confirm_booking(session, booking.id)
    assert confirmed is booking
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.updated_at is not None
    assert await BookingService.confirm_booking(session, booking.id) is None
    assert await BookingService.confirm_booking(session, 999_999) is None
    with pytest.raises(InvalidTransitionError, match="confirmed and cannot become confirmed"):
        await BookingService.confirm_booking(session, booking.id, strict=True)
    with pytest.raises(NotFoundError, match="Booking"):
        await BookingService.confirm_booking(session, 999_999, strict=True)


async def test_a_cancelled_booking_cannot_be_confirmed(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    await BookingService.cancel_booking(session, booking.id)
    before = await table(session)
    assert await BookingService.confirm_booking(session, booking.id) is None
    with pytest.raises(InvalidTransitionError) as caught:
        await BookingService.confirm_booking(session, booking.id, strict=True)
    assert (caught.value.current, caught.value.target) == ("cancelled", "confirmed")
    assert await table(session) == before


@pytest.mark.parametrize("confirm_first", [False, True], ids=["pending", "confirmed"])
async def test_cancel_booking_records_when_and_why(
    session: AsyncSession, confirm_first: bool
) -> None:
    booking = await book(session, 0, 30)
    if confirm_first:
        await BookingService.confirm_booking(session, booking.id)
    cancelled = await BookingService.cancel_booking(session, booking.id, "patient unwell")
    assert cancelled is booking
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancelled_at is not None
    assert booking.cancellation_reason == "patient unwell"
    # The slot is free again, and a second cancellation is refused.
    assert (await book(session, 0, 30, patient_id=8)).status is BookingStatus.PENDING
    assert await BookingService.cancel_booking(session, booking.id) is None
    with pytest.raises(InvalidTransitionError, match="cancelled and cannot become cancelled"):
        await BookingService.cancel_booking(session, booking.id, strict=True)
    assert await BookingService.cancel_booking(session, 999_999) is None
    with pytest.raises(NotFoundError):
        await BookingService.cancel_booking(session, 999_999, strict=True)


async def test_cancel_without_reason_and_too_long_a_reason(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    before = await table(session)
    with pytest.raises(InvalidBookingError, match="reason"):
        await BookingService.cancel_booking(session, booking.id, "x" * 501)
    assert await table(session) == before
    cancelled = await BookingService.cancel_booking(session, booking.id)
    assert cancelled is not None
    assert cancelled.cancellation_reason is None


async def test_reschedule_booking(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    await BookingService.confirm_booking(session, booking.id)
    moved = await BookingService.reschedule_booking(session, booking.id, at(15), at(45))
    assert moved is booking  # overlapping its own old time is fine
    assert (booking.start_time, booking.end_time) == (at(15), at(45))
    assert booking.status is BookingStatus.CONFIRMED
    # Its old slot is free.
    await book(session, 0, 15)


async def test_reschedule_onto_another_booking_changes_nothing(session: AsyncSession) -> None:
    blocker = await book(session, 60, 90)
    booking = await book(session, 0, 30)
    before = await table(session)
    with pytest.raises(BookingConflictError) as caught:
        await BookingService.reschedule_booking(session, booking.id, at(75), at(105))
    assert caught.value.conflicting_booking_id == blocker.id
    assert await table(session) == before
    assert (booking.start_time, booking.end_time) == (at(0), at(30))


async def test_reschedule_refusals(session: AsyncSession) -> None:
    booking = await book(session, 0, 30)
    before = await table(session)
    with pytest.raises(InvalidBookingError, match="new_end"):
        await BookingService.reschedule_booking(session, booking.id, at(30), at(30))
    with pytest.raises(InvalidBookingError, match="new_start"):
        await BookingService.reschedule_booking(
            session, booking.id, at(0).replace(tzinfo=None), at(30)
        )
    assert await table(session) == before
    assert await BookingService.reschedule_booking(session, 999_999, at(0), at(30)) is None
    with pytest.raises(NotFoundError):
        await BookingService.reschedule_booking(session, 999_999, at(0), at(30), strict=True)
    await BookingService.cancel_booking(session, booking.id)
    assert await BookingService.reschedule_booking(session, booking.id, at(60), at(90)) is None
    with pytest.raises(InvalidTransitionError, match="cannot become rescheduled"):
        await BookingService.reschedule_booking(session, booking.id, at(60), at(90), strict=True)


async def test_find_free_slots_returns_the_gaps(session: AsyncSession) -> None:
    await book(session, 60, 90)  # 10:00-10:30
    await book(session, 90, 100)  # 10:30-10:40, back to back
    await book(session, 130, 150)  # 11:10-11:30
    cancelled = await book(session, 200, 230)
    await BookingService.cancel_booking(session, cancelled.id)
    await book(session, 0, 480, practitioner_id=2)  # another practitioner's day is irrelevant

    slots = await BookingService.find_free_slots(session, 1, at(0), at(240), timedelta(minutes=30))
    assert slots == [
        TimeSlot(start=at(0), end=at(60)),
        TimeSlot(start=at(100), end=at(130)),
        TimeSlot(start=at(150), end=at(240)),
    ]
    assert slots[0].duration == timedelta(hours=1)
    longer = await BookingService.find_free_slots(session, 1, at(0), at(240), timedelta(hours=1))
    assert longer == [TimeSlot(start=at(0), end=at(60)), TimeSlot(start=at(150), end=at(240))]
    # A window that starts or ends inside a booking is clipped by it.
    inside = await BookingService.find_free_slots(session, 1, at(70), at(140), MINUTE)
    assert inside == [TimeSlot(start=at(100), end=at(130))]
    assert await BookingService.find_free_slots(session, 2, at(0), at(240), MINUTE) == []
    assert await BookingService.find_free_slots(session, 3, at(0), at(60), MINUTE) == [
        TimeSlot(start=at(0), end=at(60))
    ]


@pytest.mark.parametrize(
    ("day_start", "day_end", "duration", "field"),
    [
        (NINE.replace(tzinfo=None), at(60), MINUTE, "day_start"),
        (NINE, at(0), MINUTE, "day_end"),
        (NINE, at(60), timedelta(0), "duration"),
    ],
)
async def test_find_free_slots_refusals(
    session: AsyncSession, day_start: datetime, day_end: datetime, duration: timedelta, field: str
) -> None:
    with pytest.raises(InvalidBookingError, match=field):
        await BookingService.find_free_slots(session, 1, day_start, day_end, duration)


async def test_the_translator_maps_database_rules(session: AsyncSession) -> None:
    """Rules the services check first map to domain errors when only the database sees them."""
    row = {"practitioner_id": 1, "patient_id": 7, "start_time": at(30), "end_time": at(0)}
    with pytest.raises(InvalidBookingError, match="end_time must be after start_time"):
        async with session.begin_nested():
            with translate_integrity_errors():
                await session.execute(insert(Booking), [row])
    with pytest.raises(InvalidInputError, match="duration_minutes"):
        async with session.begin_nested():
            with translate_integrity_errors():
                await session.execute(insert(EventType), [{"name": "x", "duration_minutes": 0}])
    assert await session.scalar(select(func.count()).select_from(Booking)) == 0


async def test_unknown_violations_pass_through_unchanged(session: AsyncSession) -> None:
    await session.execute(
        text("CREATE TEMPORARY TABLE scratch (n int CONSTRAINT ck_scratch CHECK (n > 0))")
    )
    with pytest.raises(IntegrityError, match="ck_scratch"):
        async with session.begin_nested():
            with translate_integrity_errors():
                await session.execute(text("INSERT INTO scratch VALUES (0)"))


@pytest.mark.parametrize("impossible_id", [0, -1, 2**31, 2**63])
async def test_ids_no_row_can_have_are_simply_not_found(
    session: AsyncSession, impossible_id: int
) -> None:
    assert await BookingService.get_booking(session, impossible_id) is None
    assert await get_event_type(session, impossible_id) is None
    assert await BookingService.confirm_booking(session, impossible_id) is None
    assert await BookingService.cancel_booking(session, impossible_id) is None
    assert await BookingService.reschedule_booking(session, impossible_id, at(0), at(30)) is None
    with pytest.raises(NotFoundError):
        await BookingService.confirm_booking(session, impossible_id, strict=True)
    assert await BookingService.get_bookings_by_practitioner(session, impossible_id) == []
    with pytest.raises(InvalidBookingError, match="practitioner_id"):
        await BookingService.find_free_slots(session, impossible_id, at(0), at(60), MINUTE)
