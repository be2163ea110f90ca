"""Capacity frames: available intervals, utilisation per period, the weekday x hour heatmap."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import InvalidInputError
from africare_data.frames import availability_frame, capacity_by_weekday_hour, utilisation_frame
from africare_data.models import Booking, BookingStatus
from africare_data.services.availability import (
    add_extra_availability,
    add_time_off,
    set_weekly_availability,
)

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def clinic(session: AsyncSession) -> AsyncSession:
    """Practitioner 1 works Monday and Tuesday 09:00-13:00 UTC from 2 March 2026, with the
    second Monday morning off; four bookings, one of them cancelled; practitioner 2 has one
    booking and no availability."""
    await set_weekly_availability(
        session,
        1,
        [(1, time(9), time(13)), (2, time(9), time(13))],
        time_zone="UTC",
        valid_from=date(2026, 3, 2),
    )
    await add_time_off(
        session, 1, MONDAY + timedelta(days=7, hours=9), MONDAY + timedelta(days=7, hours=11)
    )
    rows = [
        (1, 9, 10, BookingStatus.CONFIRMED),  # Monday 09-10
        (1, 24 + 9, 24 + 11, BookingStatus.PENDING),  # Tuesday 09-11
        (1, 24 + 11, 24 + 12, BookingStatus.CANCELLED),  # Tuesday 11-12, cancelled
        (1, 7 * 24 + 12, 7 * 24 + 13, BookingStatus.CONFIRMED),  # next Monday 12-13
        (2, 10, 12, BookingStatus.CONFIRMED),
    ]
    await session.execute(
        insert(Booking),
        [
            {
                "practitioner_id": practitioner,
                "patient_id": 5,
                "start_time": MONDAY + start * HOUR,
                "end_time": MONDAY + end * HOUR,
                "status": status,
            }
            for practitioner, start, end, status in rows
        ],
    )
    return session


async def test_availability_frame(clinic: AsyncSession) -> None:
    frame = await availability_frame(clinic, MONDAY, MONDAY + timedelta(days=14), tz="Africa/Cairo")
    assert list(frame.columns) == ["practitioner_id", "start", "end", "hours"]
    assert str(frame["practitioner_id"].dtype) == "int64"
    assert str(frame["start"].dtype) == "datetime64[us, Africa/Cairo]"
    assert frame["hours"].tolist() == [4.0, 4.0, 2.0, 4.0]  # the second Monday loses 2 hours
    empty = await availability_frame(clinic, MONDAY, MONDAY + HOUR, practitioner_ids=[2])
    assert empty.empty and list(empty.columns) == list(frame.columns)


async def test_utilisation_per_week(clinic: AsyncSession) -> None:
    frame = await utilisation_frame(clinic, MONDAY, MONDAY + timedelta(days=14), "W")
    assert list(frame.columns) == [
        "practitioner_id",
        "period_start",
        "available_hours",
        "booked_hours",
        "cancelled_hours",
        "utilisation",
    ]
    assert str(frame["period_start"].dtype) == "datetime64[us, UTC]"
    rows = [tuple(row) for row in frame.drop(columns="period_start").itertuples(index=False)]
    assert rows[0] == (1, 8.0, 3.0, 1.0, 3.0 / 8.0)
    assert rows[1] == (1, 6.0, 1.0, 0.0, 1.0 / 6.0)
    assert rows[2][:4] == (2, 0.0, 2.0, 0.0) and pd.isna(rows[2][4])
    assert rows[3][:4] == (2, 0.0, 0.0, 0.0)
    assert frame["period_start"].tolist() == [MONDAY, MONDAY + timedelta(days=7)] * 2


async def test_utilisation_splits_a_span_across_days(clinic: AsyncSession) -> None:
    # In Africa/Cairo (UTC+2) the Monday 09-13 UTC hours are 11-15 local; cut the window at
    # 13:00 local: two hours on each side of the window start, none counted twice.
    start = datetime(2026, 3, 2, 11, tzinfo=UTC)
    daily = await utilisation_frame(
        clinic, start, start + timedelta(days=2), "D", tz="Africa/Cairo", practitioner_ids=[1]
    )
    assert daily["available_hours"].tolist() == [2.0, 4.0, 0.0]
    assert daily["period_start"].dt.tz.key == "Africa/Cairo"


async def test_utilisation_corrects_a_shared_schedule_per_practitioner(
    session: AsyncSession,
) -> None:
    """Practitioners 1-3 share Monday and Tuesday 09:00-13:00 UTC: 1 adds Monday 12-14 (one new
    hour), 2 is off the whole first week, 3 both weeks; 4 has no weekly hours, only a Saturday
    10-14 with an hour off. Each week's hours are those ``availability_frame`` gives."""
    for practitioner in (1, 2, 3):
        await set_weekly_availability(
            session,
            practitioner,
            [(1, time(9), time(13)), (2, time(9), time(13))],
            time_zone="UTC",
            valid_from=date(2026, 3, 2),
        )
    await add_extra_availability(session, 1, MONDAY + 12 * HOUR, MONDAY + 14 * HOUR)
    await add_time_off(session, 2, MONDAY, MONDAY + timedelta(days=7))
    await add_time_off(session, 3, MONDAY, MONDAY + timedelta(days=14))
    saturday = MONDAY + timedelta(days=5)
    await add_extra_availability(session, 4, saturday + 10 * HOUR, saturday + 14 * HOUR)
    await add_time_off(session, 4, saturday + 12 * HOUR, saturday + 13 * HOUR)
    window = (MONDAY, MONDAY + timedelta(days=14))

    frame = await utilisation_frame(session, *window, "W")
    assert frame["practitioner_id"].tolist() == [1, 1, 2, 2, 4, 4]  # 3 has nothing left
    assert frame["available_hours"].tolist() == [9.0, 8.0, 0.0, 8.0, 3.0, 0.0]
    assert frame["utilisation"].isna().tolist() == [False, False, True, False, False, True]
    intervals = await availability_frame(session, *window)
    weeks = (intervals["start"] - MONDAY).dt.days // 7
    expected = intervals.groupby(["practitioner_id", weeks])["hours"].sum()
    worked = frame[frame["available_hours"] > 0]
    worked = worked.assign(week=(worked["period_start"] - MONDAY).dt.days // 7)
    by_week = worked.set_index(["practitioner_id", "week"])["available_hours"]
    assert by_week.to_dict() == expected.to_dict()


async def test_utilisation_agrees_with_the_intervals_across_clock_changes(
    session: AsyncSession,
) -> None:
    """Cairo hours read in UTC days around Egypt's clock change of 24 April 2026: 01:00-03:00
    local crosses UTC midnight, time off and extra hours cut and extend the shared schedule.
    Every day's hours are the intervals of ``availability_frame`` clipped to that day."""
    cairo = [(weekday, time(1), time(3)) for weekday in range(1, 8)]
    cairo += [(weekday, time(9), time(17)) for weekday in range(1, 6)]
    for practitioner in (1, 2, 3):
        await set_weekly_availability(
            session, practitioner, cairo, time_zone="Africa/Cairo", valid_from=date(2026, 4, 1)
        )
    await set_weekly_availability(  # a schedule of its own
        session, 4, [(5, time(20), time(23))], time_zone="Africa/Lagos", valid_from=date(2026, 4, 1)
    )
    friday = datetime(2026, 4, 24, tzinfo=UTC)
    await add_time_off(session, 2, friday - 30 * HOUR, friday + 10 * HOUR)
    await add_extra_availability(session, 3, friday + 2 * HOUR, friday + 30 * HOUR)
    await add_time_off(session, 4, friday + 21 * HOUR, friday + 21.5 * HOUR)
    window = (friday - timedelta(days=3, hours=5), friday + timedelta(days=4, hours=7))

    frame = await utilisation_frame(session, *window, "D")
    intervals = await availability_frame(session, *window)
    days = frame["period_start"].drop_duplicates().tolist()
    edges = [max(day, window[0]) for day in days] + [window[1]]
    expected: dict[tuple[int, datetime], float] = {}
    for row in intervals.itertuples(index=False):
        for day, (first, last) in zip(days, itertools.pairwise(edges), strict=True):
            seconds = (min(row.end, last) - max(row.start, first)).total_seconds()
            if seconds > 0:
                key = (row.practitioner_id, day)
                expected[key] = expected.get(key, 0.0) + seconds / 3600
    got = frame.set_index(["practitioner_id", "period_start"])["available_hours"]
    assert sorted(frame["practitioner_id"].unique()) == [1, 2, 3, 4]
    assert got[got != 0].to_dict() == pytest.approx(expected)


async def test_capacity_by_weekday_hour(clinic: AsyncSession) -> None:
    frame = await capacity_by_weekday_hour(clinic, MONDAY, MONDAY + timedelta(days=14))
    assert len(frame) == 168
    assert list(frame.columns) == [
        "weekday",
        "hour",
        "available_hours",
        "booked_hours",
        "free_hours",
        "utilisation",
    ]
    monday_nine = frame[(frame["weekday"] == "Monday") & (frame["hour"] == 9)].iloc[0]
    assert (monday_nine["available_hours"], monday_nine["booked_hours"]) == (1.0, 1.0)
    assert monday_nine["free_hours"] == 0.0
    tuesday_eleven = frame[(frame["weekday"] == "Tuesday") & (frame["hour"] == 11)].iloc[0]
    assert (tuesday_eleven["available_hours"], tuesday_eleven["free_hours"]) == (2.0, 2.0)
    assert frame["available_hours"].sum() == 14.0
    assert pd.isna(frame.loc[0, "utilisation"])  # Monday 00:00: nobody works


async def test_bad_arguments_are_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInputError, match="freq"):
        await utilisation_frame(session, MONDAY, MONDAY + HOUR, "Y")
    with pytest.raises(InvalidInputError, match="end"):
        await availability_frame(session, MONDAY, MONDAY)
    with pytest.raises(InvalidInputError, match="tz"):
        await capacity_by_weekday_hour(session, MONDAY, MONDAY + HOUR, tz="Nowhere/Else")
