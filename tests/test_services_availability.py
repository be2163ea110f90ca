"""Availability services: weekly hours with history, exceptions, free slots, booking checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    InvalidBookingError,
    InvalidInputError,
    NotFoundError,
    OutsideAvailabilityError,
)
from africare_data.models import AvailabilityRule, BookingStatus
from africare_data.schemas import TimeSlot
from africare_data.services import BookingService, create_event_type
from africare_data.services.availability import (
    add_extra_availability,
    add_time_off,
    get_availability_exceptions,
    get_weekly_availability,
    remove_time_off,
    set_weekly_availability,
)
from africare_data.services.offerings import (
    find_first_free_slot,
    get_offered_event_types,
    set_offered_event_types,
)
from africare_data.services.slots import DEFAULT_STEP

MONDAY = date(2026, 3, 2)
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
WEEKDAYS_9_TO_5 = [(day, time(9), time(17)) for day in range(1, 6)]


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(0), UTC) + timedelta(hours=hour, minutes=minute)


async def rule_count(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(AvailabilityRule))).scalar_one()


async def test_set_and_get_weekly_hours(session: AsyncSession) -> None:
    rules = await set_weekly_availability(
        session,
        1,
        [(1, time(8), time(12)), (1, time(13), time(17)), {"weekday": 3, **_hours(9, 12)}],
        time_zone="Africa/Lagos",
        valid_from=MONDAY,
    )
    assert [(r.weekday, r.start_local, r.end_local) for r in rules] == [
        (1, time(8), time(12)),
        (1, time(13), time(17)),
        (3, time(9), time(12)),
    ]
    assert {(r.time_zone, r.valid_from, r.valid_until) for r in rules} == {
        ("Africa/Lagos", MONDAY, None)
    }
    assert list(await get_weekly_availability(session, 1)) == rules
    assert await get_weekly_availability(session, 1, on=MONDAY - timedelta(days=1)) == []
    assert await get_weekly_availability(session, 2) == []


def _hours(start: int, end: int) -> dict[str, time]:
    return {"start_local": time(start), "end_local": time(end)}


async def test_a_new_schedule_keeps_the_past_and_the_future(session: AsyncSession) -> None:
    await set_weekly_availability(session, 1, WEEKDAYS_9_TO_5, time_zone="UTC", valid_from=MONDAY)
    april, may = date(2026, 4, 1), date(2026, 4, 30)
    await set_weekly_availability(
        session, 1, [(6, time(10), time(14))], time_zone="UTC", valid_from=april, valid_until=may
    )
    rules = await get_weekly_availability(session, 1)
    periods = sorted({(r.valid_from, r.valid_until) for r in rules})
    assert periods == [
        (MONDAY, april - timedelta(days=1)),
        (april, may),
        (may + timedelta(days=1), None),
    ]
    assert [r.weekday for r in await get_weekly_availability(session, 1, on=april)] == [6]
    assert len(await get_weekly_availability(session, 1, on=date(2026, 6, 1))) == 5
    # From a date on, until further notice: later rules are replaced, earlier ones cut.
    await set_weekly_availability(session, 1, [], time_zone="UTC", valid_from=date(2026, 4, 15))
    rules = await get_weekly_availability(session, 1)
    assert sorted({(r.valid_from, r.valid_until) for r in rules}) == [
        (MONDAY, april - timedelta(days=1)),
        (april, date(2026, 4, 14)),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time_zone": "Africa/Atlantis"}, "not a known IANA time zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"rules": [(1, time(12), time(9))]}, "end_local"),
        ({"rules": [(1, time(9), time(12)), (1, time(11), time(13))]}, "overlapping"),
        ({"rules": [(8, time(9), time(12))]}, "weekday"),
        ({"rules": [(1, time(9, tzinfo=UTC), time(12))]}, "without an offset"),
        ({"valid_until": MONDAY - timedelta(days=1)}, "valid_until"),
    ],
    ids=["unknown-zone", "path-zone", "reversed", "overlap", "weekday", "aware-time", "until"],
)
async def test_bad_weekly_hours_are_refused_before_writing(
    session: AsyncSession, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "rules": WEEKDAYS_9_TO_5,
        "time_zone": "UTC",
        "valid_from": MONDAY,
        "valid_until": None,
        **changes,
    }
    with pytest.raises(InvalidInputError, match=message):
        await set_weekly_availability(session, 1, **arguments)  # type: ignore[arg-type]
    assert await rule_count(session) == 0


async def test_exceptions_are_added_listed_and_removed(session: AsyncSession) -> None:
    off = await add_time_off(session, 1, utc(MONDAY, 12), utc(MONDAY, 13), "lunch")
    extra = await add_extra_availability(session, 1, utc(MONDAY, 18), utc(MONDAY, 20))
    assert (off.kind.value, off.reason, extra.kind.value) == ("time_off", "lunch", "extra")
    assert list(await get_availability_exceptions(session, 1)) == [off, extra]
    assert list(await get_availability_exceptions(session, 1, start=utc(MONDAY, 14))) == [extra]
    assert await remove_time_off(session, off.id) is True
    assert await remove_time_off(session, off.id) is False
    assert list(await get_availability_exceptions(session, 1)) == [extra]
    with pytest.raises(InvalidInputError, match="ends_at"):
        await add_time_off(session, 1, utc(MONDAY, 13), utc(MONDAY, 12))


async def test_free_slots_on_the_grid_inside_availability(session: AsyncSession) -> None:
    await set_weekly_availability(
        session, 1, [(1, time(9), time(12))], time_zone="UTC", valid_from=MONDAY
    )
    await add_time_off(session, 1, utc(MONDAY, 10), utc(MONDAY, 10, 30))
    await BookingService.create_booking(session, 1, 7, utc(MONDAY, 11), utc(MONDAY, 11, 20))
    cancelled = await BookingService.create_booking(
        session, 1, 8, utc(MONDAY, 9), utc(MONDAY, 9, 30)
    )
    await BookingService.cancel_booking(session, cancelled.id)
    window = (utc(MONDAY, 0), utc(MONDAY, 23))
    slots = await BookingService.find_free_slots(session, 1, *window, 2 * QUARTER, step=QUARTER)
    assert [slot.start for slot in slots] == [
        utc(MONDAY, 9),
        utc(MONDAY, 9, 15),
        utc(MONDAY, 9, 30),
        utc(MONDAY, 10, 30),
        # 11:00-11:20 is booked; the grid goes on from the interval's start: 11:30
        utc(MONDAY, 11, 30),
    ]
    assert all(slot.duration == 2 * QUARTER for slot in slots)
    gaps = await BookingService.find_free_slots(session, 1, *window, 2 * QUARTER)
    assert gaps == [
        TimeSlot(start=utc(MONDAY, 9), end=utc(MONDAY, 10)),
        TimeSlot(start=utc(MONDAY, 10, 30), end=utc(MONDAY, 11)),
        TimeSlot(start=utc(MONDAY, 11, 20), end=utc(MONDAY, 12)),
    ]
    # Someone with no availability recorded: the whole window, as without availability.
    assert await BookingService.find_free_slots(session, 2, *window, HOUR) == [
        TimeSlot(start=window[0], end=window[1])
    ]


@pytest.mark.parametrize(
    ("zone", "weekday", "before", "after"),
    [
        ("Africa/Cairo", 4, date(2026, 4, 23), date(2026, 4, 30)),  # DST from 24 April 2026
        ("Africa/Casablanca", 1, date(2026, 2, 9), date(2026, 2, 16)),  # Ramadan: an hour back
    ],
    ids=["cairo", "casablanca"],
)
async def test_slots_stay_at_local_nine_across_a_clock_change(
    session: AsyncSession, zone: str, weekday: int, before: date, after: date
) -> None:
    await set_weekly_availability(
        session, 1, [(weekday, time(9), time(10))], time_zone=zone, valid_from=date(2026, 1, 1)
    )
    tz = ZoneInfo(zone)
    slots = await BookingService.find_free_slots(
        session, 1, utc(before, 0), utc(after, 23), HOUR, step=DEFAULT_STEP
    )
    starts = [slot.start for slot in slots]
    assert starts == [
        datetime.combine(before, time(9), tz).astimezone(UTC),
        datetime.combine(after, time(9), tz).astimezone(UTC),
    ]
    assert starts[0].hour != starts[1].hour, "the offset must differ between the two dates"


async def test_bookings_outside_availability_are_refused(session: AsyncSession) -> None:
    await set_weekly_availability(
        session, 1, [(1, time(9), time(12))], time_zone="UTC", valid_from=MONDAY
    )
    await add_time_off(
        session, 1, utc(MONDAY + timedelta(days=7), 0), utc(MONDAY, 0) + 8 * 24 * HOUR
    )
    await add_extra_availability(
        session, 1, utc(MONDAY + timedelta(days=5), 10), utc(MONDAY + timedelta(days=5), 12)
    )
    inside = await BookingService.create_booking(session, 1, 7, utc(MONDAY, 9), utc(MONDAY, 10))
    saturday = MONDAY + timedelta(days=5)
    await BookingService.create_booking(session, 1, 7, utc(saturday, 10), utc(saturday, 11))
    refused = {
        "after hours": (utc(MONDAY, 11, 30), utc(MONDAY, 12, 30)),
        "a Tuesday": (utc(MONDAY, 33), utc(MONDAY, 34)),
        "time off": (utc(MONDAY + timedelta(days=7), 9), utc(MONDAY + timedelta(days=7), 10)),
    }
    for what, (start, end) in refused.items():
        with pytest.raises(OutsideAvailabilityError, match="not available") as error:
            await BookingService.create_booking(session, 1, 7, start, end)
        assert (error.value.practitioner_id, error.value.start) == (1, start), what
    # Moving a booking out of hours is refused and leaves it where it was.
    with pytest.raises(OutsideAvailabilityError):
        await BookingService.reschedule_booking(
            session, inside.id, utc(MONDAY, 12), utc(MONDAY, 13)
        )
    assert (await BookingService.get_booking(session, inside.id)).start_time == utc(MONDAY, 9)  # type: ignore[union-attr]
    moved = await BookingService.reschedule_booking(
        session, inside.id, utc(MONDAY, 10), utc(MONDAY, 11)
    )
    assert moved is not None and moved.start_time == utc(MONDAY, 10)
    assert moved.status is BookingStatus.PENDING
    assert (
        await BookingService.reschedule_booking(session, 999, utc(MONDAY, 10), utc(MONDAY, 11))
        is None
    )
    # A practitioner with no availability recorded books any time.
    anytime = await BookingService.create_booking(session, 2, 7, utc(MONDAY, 2), utc(MONDAY, 3))
    assert anytime.practitioner_id == 2


async def test_offered_event_types_and_the_first_free_slot(session: AsyncSession) -> None:
    consultation = await create_event_type(session, "Consultation", 30)
    surgery = await create_event_type(session, "Surgery", 120)
    assert await set_offered_event_types(session, 1, [consultation.id]) == [consultation.id]
    await set_offered_event_types(session, 2, [surgery.id, consultation.id])
    assert [t.id for t in await get_offered_event_types(session, 2)] == [
        consultation.id,
        surgery.id,
    ]
    with pytest.raises(NotFoundError, match="EventType"):
        await set_offered_event_types(session, 3, [999])
    assert await get_offered_event_types(session, 3) == []
    for practitioner_id, start in ((1, time(9)), (2, time(8))):
        await set_weekly_availability(
            session,
            practitioner_id,
            [(1, start, time(12))],
            time_zone="UTC",
            valid_from=MONDAY,
        )
    await BookingService.create_booking(session, 2, 7, utc(MONDAY, 8), utc(MONDAY, 9))
    first = await find_first_free_slot(session, consultation.id, utc(MONDAY, 0))
    # Practitioner 2's 08:00 is booked; both are free at 09:00: the lower id wins the tie.
    assert first is not None
    assert (first.practitioner_id, first.start, first.end) == (
        1,
        utc(MONDAY, 9),
        utc(MONDAY, 9, 30),
    )
    long = await find_first_free_slot(session, surgery.id, utc(MONDAY, 10, 1))
    assert long is not None
    assert (long.practitioner_id, long.start) == (2, utc(MONDAY + timedelta(days=7), 8))
    assert await find_first_free_slot(session, surgery.id, utc(MONDAY, 0), within=HOUR) is None
    nobody = await create_event_type(session, "Home visit", 60)  # offered by no one
    assert await find_first_free_slot(session, nobody.id, utc(MONDAY, 0)) is None


async def test_bad_slot_queries_are_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidBookingError, match="step"):
        await BookingService.find_free_slots(
            session, 1, utc(MONDAY, 0), utc(MONDAY, 1), HOUR, step=timedelta(0)
        )
    with pytest.raises(InvalidInputError, match="after"):
        await find_first_free_slot(session, 1, datetime(2026, 3, 2))  # naive
