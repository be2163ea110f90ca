"""The availability tables' own rules, with raw rows, and the SQL function that resolves them.

The rules hold whatever code writes the rows; each refusal is translated into the toolkit's error.
``practitioner_availability`` is checked against Python's ``zoneinfo`` across the clock changes
of Africa/Cairo (daylight saving since 2023) and Africa/Casablanca (an hour back for Ramadan).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import (
    AvailabilityConflictError,
    InvalidInputError,
    NotFoundError,
    translate_integrity_errors,
)
from africare_data.models import (
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
    PractitionerEventType,
)


def rule(
    weekday: int = 1,
    start: time = time(8),
    end: time = time(12),
    *,
    practitioner_id: int = 1,
    valid_from: date = date(2024, 1, 1),
    valid_until: date | None = None,
    zone: str = "Africa/Cairo",
) -> dict[str, Any]:
    return {
        "practitioner_id": practitioner_id,
        "weekday": weekday,
        "start_local": start,
        "end_local": end,
        "time_zone": zone,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }


async def insert_rules(session: AsyncSession, *rows: dict[str, Any]) -> None:
    """Insert ``rows`` in one savepoint, translating a refusal as the services do."""
    with translate_integrity_errors():
        async with session.begin_nested():
            await session.execute(insert(AvailabilityRule), list(rows))


async def rule_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(AvailabilityRule))).scalar_one()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (rule(start=time(12), end=time(12)), "end_local must be after start_local"),
        (rule(start=time(12), end=time(8)), "end_local must be after start_local"),
        (rule(weekday=0), "weekday must be from 1"),
        (rule(weekday=8), "weekday must be from 1"),
        (rule(valid_until=date(2023, 12, 31)), "valid_until must not be before valid_from"),
    ],
    ids=["empty", "reversed", "weekday-0", "weekday-8", "validity-reversed"],
)
async def test_malformed_rules_are_refused(
    session: AsyncSession, row: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        await insert_rules(session, row)
    assert await rule_count(session) == 0


@pytest.mark.parametrize(
    "second",
    [
        rule(start=time(11), end=time(13)),
        rule(start=time(7), end=time(8, 1)),
        rule(start=time(9), end=time(10), valid_from=date(2025, 1, 1)),
    ],
    ids=["overlaps-end", "overlaps-start", "inside-later-validity"],
)
async def test_overlapping_intervals_are_refused(
    session: AsyncSession, second: dict[str, Any]
) -> None:
    await insert_rules(session, rule())
    with pytest.raises(AvailabilityConflictError) as refused:
        await insert_rules(session, second)
    assert refused.value.constraint == "ex_availability_rules_no_overlap"
    assert await rule_count(session) == 1


async def test_adjacent_or_separate_intervals_are_accepted(session: AsyncSession) -> None:
    await insert_rules(
        session,
        rule(),
        rule(start=time(12), end=time(13)),  # touches 08:00-12:00
        rule(weekday=2),  # another weekday
        rule(practitioner_id=2),  # another practitioner
        rule(valid_until=date(2023, 12, 31), valid_from=date(2023, 1, 1)),  # earlier validity
    )
    assert await rule_count(session) == 5


async def test_exceptions_need_an_end_after_the_start(session: AsyncSession) -> None:
    moment = datetime(2024, 5, 1, 9, tzinfo=UTC)
    row = {
        "practitioner_id": 1,
        "starts_at": moment,
        "ends_at": moment,
        "kind": ExceptionKind.TIME_OFF,
    }
    with (
        pytest.raises(InvalidInputError, match="ends_at must be after starts_at"),
        translate_integrity_errors(),
    ):
        async with session.begin_nested():
            await session.execute(insert(AvailabilityException), row)


async def test_offered_event_types_must_exist(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="EventType"), translate_integrity_errors():
        async with session.begin_nested():
            await session.execute(
                insert(PractitionerEventType), {"practitioner_id": 1, "event_type_id": 999}
            )


async def available(
    session: AsyncSession, start: datetime, end: datetime, practitioner_id: int = 1
) -> list[tuple[datetime, datetime]]:
    """The practitioner's available ranges in ``[start, end)``, from the SQL function."""
    result = await session.execute(
        text(
            "SELECT lower(r), upper(r) FROM practitioner_availability(:start, :end, :ids) AS a, "
            "unnest(a.available) AS r ORDER BY 1"
        ),
        {"start": start, "end": end, "ids": [practitioner_id]},
    )
    return [(row[0], row[1]) for row in result]


def expected(
    zone: str, weekday: int, start: time, end: time, first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """The same intervals resolved by ``zoneinfo``, one per matching date."""
    tz = ZoneInfo(zone)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        (
            datetime.combine(day, start, tz).astimezone(UTC),
            datetime.combine(day, end, tz).astimezone(UTC),
        )
        for day in days
        if day.isoweekday() == weekday
    ]


@pytest.mark.parametrize(
    ("zone", "weekday", "first", "last"),
    [
        ("Africa/Cairo", 4, date(2024, 4, 1), date(2024, 5, 31)),  # DST from 26 April
        ("Africa/Cairo", 4, date(2024, 10, 1), date(2024, 11, 30)),  # back on 31 October
        ("Africa/Casablanca", 1, date(2024, 2, 19), date(2024, 4, 30)),  # Ramadan: 10/3-14/4
    ],
    ids=["cairo-spring", "cairo-autumn", "casablanca-ramadan"],
)
async def test_local_hours_resolve_per_date_across_clock_changes(
    session: AsyncSession, zone: str, weekday: int, first: date, last: date
) -> None:
    await insert_rules(session, rule(weekday, time(9), time(17), zone=zone))
    window = (
        datetime.combine(first, time(0), ZoneInfo(zone)),
        datetime.combine(last + timedelta(days=1), time(0), ZoneInfo(zone)),
    )
    want = expected(zone, weekday, time(9), time(17), first, last)
    assert len({start.time() for start, _ in want}) == 2, "the window must span a clock change"
    assert await available(session, *window) == want


async def test_extra_hours_add_and_time_off_removes(session: AsyncSession) -> None:
    await insert_rules(session, rule(1, time(9), time(17), zone="UTC"))
    monday = datetime(2024, 3, 4, tzinfo=UTC)
    await session.execute(
        insert(AvailabilityException),
        [
            {  # a Monday lunch break
                "practitioner_id": 1,
                "starts_at": monday + timedelta(hours=12),
                "ends_at": monday + timedelta(hours=13),
                "kind": ExceptionKind.TIME_OFF,
            },
            {  # a Saturday clinic
                "practitioner_id": 1,
                "starts_at": monday + timedelta(days=5, hours=10),
                "ends_at": monday + timedelta(days=5, hours=14),
                "kind": ExceptionKind.EXTRA,
            },
            {  # the next Monday off entirely
                "practitioner_id": 1,
                "starts_at": monday + timedelta(days=7),
                "ends_at": monday + timedelta(days=8),
                "kind": ExceptionKind.TIME_OFF,
            },
        ],
    )
    hours = timedelta(hours=1)
    assert await available(session, monday, monday + timedelta(days=14)) == [
        (monday + 9 * hours, monday + 12 * hours),
        (monday + 13 * hours, monday + 17 * hours),
        (monday + timedelta(days=5) + 10 * hours, monday + timedelta(days=5) + 14 * hours),
    ]
    # clipped to the window asked for
    assert await available(session, monday + 10 * hours, monday + 11 * hours) == [
        (monday + 10 * hours, monday + 11 * hours)
    ]
    assert await available(session, monday, monday + timedelta(days=14), practitioner_id=2) == []


async def test_practitioners_with_the_same_rules_share_a_schedule(session: AsyncSession) -> None:
    template = [rule(1, time(9), time(17), zone="UTC"), rule(2, time(9), time(12), zone="UTC")]
    await insert_rules(
        session,
        *({**row, "practitioner_id": who} for who in (1, 2) for row in template),
        rule(1, time(9), time(17), zone="UTC", practitioner_id=3),  # part of the template only
    )
    monday = datetime(2024, 3, 4, tzinfo=UTC)
    await session.execute(
        insert(AvailabilityException),
        [
            {
                "practitioner_id": 2,
                "starts_at": monday,
                "ends_at": monday + timedelta(days=1),
                "kind": ExceptionKind.TIME_OFF,
            }
        ],
    )
    week = (monday, monday + timedelta(days=7))
    schedules = await session.execute(
        text("SELECT members FROM availability_schedules(:start, :end) ORDER BY 1"),
        {"start": week[0], "end": week[1]},
    )
    assert [row[0] for row in schedules] == [[1, 2], [3]]
    hours = timedelta(hours=1)
    monday_hours = (monday + 9 * hours, monday + 17 * hours)
    tuesday_hours = (monday + timedelta(days=1, hours=9), monday + timedelta(days=1, hours=12))
    assert await available(session, *week, practitioner_id=1) == [monday_hours, tuesday_hours]
    assert await available(session, *week, practitioner_id=2) == [tuesday_hours]
    assert await available(session, *week, practitioner_id=3) == [monday_hours]
