"""Synthetic bookings: deterministic, realistic, never overlapping; COPY-loaded all or nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.errors import AfricareDataError, BookingConflictError, InvalidBookingError
from africare_data.frames import STATUS_DTYPE, bookings_frame
from africare_data.models import Booking, BookingStatus
from africare_data.synthetic import BOOKING_COLUMNS, TIME_ZONES, generate_bookings, load_bookings


def test_generate_bookings_is_deterministic() -> None:
    first = generate_bookings(2_000, seed=3)
    pd.testing.assert_frame_equal(first, generate_bookings(2_000, seed=3))
    assert not first.equals(generate_bookings(2_000, seed=4))
    assert list(first.columns) == list(BOOKING_COLUMNS)
    assert first["status"].dtype == STATUS_DTYPE
    assert len(generate_bookings(0)) == 0


def test_generated_bookings_are_realistic_and_never_overlap() -> None:
    frame = generate_bookings(5_000, seed=1, practitioners=20, patients=50)
    ordered = frame.sort_values(["practitioner_id", "start_time"])
    previous_end = ordered.groupby("practitioner_id")["end_time"].shift()
    assert not (ordered["start_time"] < previous_end).any()
    minutes = (frame["end_time"] - frame["start_time"]).dt.total_seconds() / 60
    assert minutes.between(15, 60).all()
    assert set(frame["practitioner_id"]) == set(range(1, 21))
    assert frame["patient_id"].between(1, 50).all()
    shares = frame["status"].value_counts(normalize=True)
    assert 0.6 < shares["confirmed"] < 0.85 and 0.05 < shares["cancelled"] < 0.2
    assert (frame["created_at"] < frame["start_time"]).all()
    cancelled = frame["status"] == "cancelled"
    assert frame.loc[cancelled, "cancelled_at"].notna().all()
    assert frame.loc[~cancelled, "cancelled_at"].isna().all()
    # Working hours, weekdays, in some African zone: each practitioner keeps one zone.
    for practitioner, starts in frame.groupby("practitioner_id")["start_time"]:
        local = {zone: starts.dt.tz_convert(ZoneInfo(zone)) for zone in TIME_ZONES}
        fits = [
            zone
            for zone, times in local.items()
            if times.dt.hour.between(8, 16).all() and (times.dt.day_of_week < 5).all()
        ]
        assert fits, f"practitioner {practitioner} works outside office hours everywhere"


async def test_load_bookings_writes_every_row(session: AsyncSession) -> None:
    frame = generate_bookings(300, seed=2, practitioners=5)
    assert await load_bookings(session, frame) == 300
    loaded = await bookings_frame(session)
    mine = loaded[list(BOOKING_COLUMNS)].sort_values(["practitioner_id", "start_time"])
    expected = frame.sort_values(["practitioner_id", "start_time"])
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True),
        expected.reset_index(drop=True),
        check_dtype=False,
    )


async def booking_count(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Booking))).scalar_one()


async def test_load_bookings_refuses_an_overlap_and_writes_nothing(session: AsyncSession) -> None:
    frame = generate_bookings(200, seed=5, practitioners=4)
    active = frame[frame["status"] != "cancelled"].iloc[[0]]
    clash = active.assign(start_time=active["start_time"] + timedelta(minutes=5))
    with pytest.raises(BookingConflictError):
        await load_bookings(session, pd.concat([frame, clash], ignore_index=True))
    assert await booking_count(session) == 0
    await load_bookings(session, frame)  # the session stays usable
    assert await booking_count(session) == 200


async def test_load_bookings_refuses_bad_times(session: AsyncSession) -> None:
    frame = generate_bookings(10, seed=6)
    frame.loc[3, "end_time"] = frame.loc[3, "start_time"]
    with pytest.raises(InvalidBookingError):
        await load_bookings(session, frame)
    assert await booking_count(session) == 0
    with pytest.raises(AfricareDataError, match="lacks the columns"):
        await load_bookings(session, frame.drop(columns="end_time"))


async def test_bulk_load_blocks_concurrent_writers_until_it_commits(
    committed_engine: AsyncEngine,
) -> None:
    """The load holds its practitioners' advisory locks until it commits: a concurrent raw
    insert of an overlapping row must wait for the load and then be refused."""
    frame = generate_bookings(500, seed=7, practitioners=3)
    row = frame[frame["status"] != "cancelled"].iloc[0]
    async with committed_engine.connect() as loader, committed_engine.connect() as other:
        await loader.begin()
        await load_bookings(loader, frame)  # inside the loader's open transaction
        overlapping = {
            "practitioner_id": int(row["practitioner_id"]),
            "patient_id": 1,
            "start_time": row["start_time"].to_pydatetime() + timedelta(minutes=1),
            "end_time": row["end_time"].to_pydatetime() + timedelta(minutes=1),
            "status": BookingStatus.CONFIRMED,
        }

        async def write() -> None:
            async with other.begin():
                await other.execute(insert(Booking), [overlapping])

        writer = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writer.done()  # blocked by the load's advisory lock on the practitioner
        await loader.commit()
        with pytest.raises(Exception, match="ex_bookings_no_overlap"):
            await writer
