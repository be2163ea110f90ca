"""The demo data set: a clinic network whose numbers look real, deterministic, never overlapping,
loaded all or nothing with one COPY.

Each property an analyst would check is asserted as numbers on the notebooks' data set (100,000
bookings, seed 0), computed here from the generated frames, not from the generator's internals.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import migrations
from africare_data.database import make_engine, scratch_database
from africare_data.errors import AfricareDataError, BookingConflictError, InvalidBookingError
from africare_data.frames import STATUS_DTYPE, bookings_frame, event_types_frame
from africare_data.models import Booking, BookingStatus, EventType
from africare_data.synthetic import (
    BOOKING_COLUMNS,
    CANCELLATION_REASONS,
    COUNTRIES,
    SPECIALTIES,
    DemoData,
    generate_bookings,
    generate_demo,
    load_bookings,
    load_demo,
    seeded_rows,
)

CLI = str(Path(sys.executable).parent / "africare-data")


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(100_000, seed=0)


@pytest.fixture(scope="module")
def bookings(demo: DemoData) -> pd.DataFrame:
    """The bookings with their practitioner's zone, local start and lead time."""
    zones = demo.practitioners.set_index("practitioner_id")["time_zone"]
    frame = demo.bookings.assign(
        time_zone=zones.reindex(demo.bookings["practitioner_id"]).to_numpy()
    )
    local = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    for zone, rows in frame.groupby("time_zone"):
        local[rows.index] = rows["start_time"].dt.tz_convert(str(zone)).dt.tz_localize(None)
    return frame.assign(local_start=local, lead=frame["start_time"] - frame["created_at"])


def active(frame: pd.DataFrame) -> pd.Series[Any]:
    return frame["status"] != "cancelled"


def test_same_arguments_same_data_other_seed_other_data() -> None:
    first = generate_bookings(2_000, seed=3)
    pd.testing.assert_frame_equal(first, generate_bookings(2_000, seed=3))
    assert not first.equals(generate_bookings(2_000, seed=4))
    assert list(first.columns) == list(BOOKING_COLUMNS)
    assert first["status"].dtype == STATUS_DTYPE
    assert len(first) == 2_000 and len(generate_bookings(0)) == 0
    with pytest.raises(ValueError, match="n must be"):
        generate_bookings(-1)


def test_active_bookings_never_overlap_a_freed_slot_is_booked_again(
    bookings: pd.DataFrame,
) -> None:
    kept = bookings[active(bookings)].sort_values(["practitioner_id", "start_time"])
    assert not (kept["start_time"] < kept.groupby("practitioner_id")["end_time"].shift()).any()
    # A cancelled booking overlaps no other, or exactly the one that took its slot.
    slot = ["practitioner_id", "start_time", "end_time"]
    ordered = bookings.sort_values([*slot, "created_at"])
    previous_end = ordered.groupby("practitioner_id")["end_time"].shift()
    overlapping = ordered[ordered["start_time"] < previous_end]
    assert not overlapping.empty
    pairs = bookings.groupby(slot).agg(
        rows=("status", "size"),
        cancelled_first=("status", lambda status: status.iloc[0] == "cancelled"),
    )
    assert pairs["rows"].max() == 2 and pairs.loc[pairs["rows"] == 2, "cancelled_first"].all()
    assert len(overlapping) == (pairs["rows"] == 2).sum()
    twice = ordered[ordered.duplicated(slot, keep=False)]
    first, then = twice.iloc[::2].reset_index(), twice.iloc[1::2].reset_index()
    assert (first["cancelled_at"] < then["created_at"]).all()


def test_bookings_fall_inside_the_weekly_availability(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    rules = demo.availability_rules
    minute = lambda moments: moments.dt.hour * 60 + moments.dt.minute  # noqa: E731
    starts = bookings.assign(
        weekday=bookings["local_start"].dt.day_of_week + 1,
        begin=minute(bookings["local_start"]),
    )
    starts["finish"] = (
        starts["begin"] + (bookings["end_time"] - bookings["start_time"]).dt.seconds // 60
    )
    matched = starts.reset_index().merge(rules, on=["practitioner_id", "weekday"])
    to_minutes = lambda times: times.map(lambda t: t.hour * 60 + t.minute)  # noqa: E731
    inside = (matched["begin"] >= to_minutes(matched["start_local"])) & (
        matched["finish"] <= to_minutes(matched["end_local"])
    )
    assert matched.loc[inside, "index"].nunique() == len(bookings)
    assert (
        rules["time_zone"]
        == rules["practitioner_id"].map(
            demo.practitioners.set_index("practitioner_id")["time_zone"]
        )
    ).all()


def test_no_booking_during_time_off_and_time_off_never_overlaps(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    off = demo.availability_exceptions.sort_values(["practitioner_id", "starts_at"])
    assert set(off["kind"]) == {"time_off"} and (off["ends_at"] > off["starts_at"]).all()
    assert not (off["starts_at"] < off.groupby("practitioner_id")["ends_at"].shift()).any()
    clash = bookings.merge(off, on="practitioner_id")
    clash = clash[
        (clash["start_time"] < clash["ends_at"]) & (clash["end_time"] > clash["starts_at"])
    ]
    assert clash.empty
    reasons = off["reason"].str.replace(r"public holiday: .*", "public holiday", regex=True)
    assert {"public holiday", "annual leave", "sick leave"} <= set(reasons)
    assert off["practitioner_id"].nunique() == len(demo.practitioners)


def test_public_holidays_of_each_country_close_its_clinics(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    holidays = demo.holidays
    assert set(holidays["country"]) == {country.code for country in COUNTRIES}
    names = holidays.groupby("country")["name"].agg(" ".join)
    assert "Eid al-Fitr" in names["EG"] and "Good Friday" in names["KE"]
    country = demo.practitioners.set_index("practitioner_id")["country"]
    local_days = bookings.assign(
        country=country.reindex(bookings["practitioner_id"]).to_numpy(),
        day=bookings["local_start"].dt.date,
    )
    on_holiday = local_days.merge(holidays, on=["country", "day"])
    assert on_holiday.empty


def weekly_totals(bookings: pd.DataFrame) -> pd.Series[Any]:
    weeks = bookings["local_start"].dt.to_period("W-SUN")
    return bookings.groupby(weeks).size()


def test_a_steady_weekly_rhythm_apart_from_holiday_weeks(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    totals = weekly_totals(bookings)
    assert len(totals) == demo.weeks >= 12
    holiday_weeks = set(pd.to_datetime(demo.holidays["day"]).dt.to_period("W-SUN"))
    ordinary = totals[[week not in holiday_weeks for week in totals.index]]
    assert len(ordinary) >= 6
    assert (ordinary / ordinary.mean()).between(0.85, 1.15).all(), ordinary
    assert totals[[week in holiday_weeks for week in totals.index]].mean() < ordinary.mean()


def test_weekdays_busier_than_saturday_closed_on_sunday(bookings: pd.DataFrame) -> None:
    per_weekday = bookings.groupby(bookings["local_start"].dt.day_of_week).size()
    assert 6 not in per_weekday.index
    assert (per_weekday.loc[0:4] > 2 * per_weekday.loc[5]).all()
    assert per_weekday.loc[5] > 0


def test_specialties_through_event_types_with_their_own_durations(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    types = demo.event_types.set_index("id")
    minutes = (bookings["end_time"] - bookings["start_time"]).dt.seconds // 60
    assert (
        minutes == types["duration_minutes"].reindex(bookings["event_type_id"]).to_numpy()
    ).all()
    assert types["duration_minutes"].nunique() >= 6
    offered = demo.practitioner_event_types
    booked = bookings[["practitioner_id", "event_type_id"]].drop_duplicates()
    assert len(booked.merge(offered)) == len(booked)  # only event types they offer
    specialty = types["specialty"].reindex(offered["event_type_id"]).to_numpy()
    assert (
        offered.assign(specialty=specialty).groupby("practitioner_id")["specialty"].nunique().max()
        == 1
    )
    assert set(types["specialty"]) == {specialty.name for specialty in SPECIALTIES}


def weekly_hours(demo: DemoData) -> pd.Series[Any]:
    rules = demo.availability_rules
    to_hours = lambda times: times.map(lambda t: t.hour + t.minute / 60)  # noqa: E731
    length = to_hours(rules["end_local"]) - to_hours(rules["start_local"])
    return length.groupby(rules["practitioner_id"]).sum()


def test_full_time_and_part_time_schedules(demo: DemoData) -> None:
    hours = weekly_hours(demo)
    assert (hours >= 35).mean() > 0.4 and (hours <= 25).mean() > 0.2
    assert not (demo.availability_rules["weekday"] == 7).any()


def test_load_is_skewed_some_fully_booked_some_half_empty(
    demo: DemoData, bookings: pd.DataFrame
) -> None:
    """Utilisation = active booked hours / available hours (weekly hours over the window, less
    time off), per practitioner."""
    days = pd.date_range(demo.first_day, periods=7 * demo.weeks, freq="D")
    calendar = pd.DataFrame({"day": days, "weekday": days.day_of_week + 1})
    rules = demo.availability_rules.merge(calendar, on="weekday")
    to_hours = lambda times: times.map(lambda t: t.hour + t.minute / 60)  # noqa: E731
    rules["hours"] = to_hours(rules["end_local"]) - to_hours(rules["start_local"])
    off = demo.availability_exceptions
    zones = demo.practitioners.set_index("practitioner_id")["time_zone"]
    off_days = pd.concat(
        [
            pd.DataFrame(
                {
                    "practitioner_id": row.practitioner_id,
                    "day": pd.date_range(
                        row.starts_at.tz_convert(zones[row.practitioner_id]).date(),
                        row.ends_at.tz_convert(zones[row.practitioner_id]).date(),
                        inclusive="left",
                    ),
                }
            )
            for row in off.itertuples()
        ]
    )
    rules = rules.merge(off_days.assign(off=True), on=["practitioner_id", "day"], how="left")
    available = rules[rules["off"].isna()].groupby("practitioner_id")["hours"].sum()
    kept = bookings[active(bookings)]
    booked = (
        ((kept["end_time"] - kept["start_time"]).dt.seconds / 3600)
        .groupby(kept["practitioner_id"])
        .sum()
    )
    utilisation = booked / available
    assert utilisation.max() <= 1.0
    assert (utilisation >= 0.85).mean() >= 0.15 and utilisation.max() >= 0.9, utilisation.describe()
    assert (utilisation <= 0.55).mean() >= 0.1, utilisation.describe()


def test_lead_times_from_the_same_day_to_weeks_ahead(bookings: pd.DataFrame) -> None:
    lead = bookings["lead"]
    assert (lead > timedelta(0)).all() and lead.max() <= timedelta(weeks=8)
    same_day = bookings["created_at"].dt.date == bookings["start_time"].dt.date
    assert 0.03 < same_day.mean() < 0.3
    assert (lead > timedelta(weeks=2)).mean() > 0.1
    assert timedelta(days=2) < lead.median() < timedelta(days=8)


def test_cancellations_have_a_moment_and_a_reason(bookings: pd.DataFrame) -> None:
    cancelled = bookings[~active(bookings)]
    assert 0.05 < len(cancelled) / len(bookings) < 0.2
    assert (cancelled["cancelled_at"] > cancelled["created_at"]).all()
    assert (cancelled["cancelled_at"] < cancelled["start_time"]).all()
    assert set(cancelled["cancellation_reason"]) == set(CANCELLATION_REASONS)
    kept = bookings[active(bookings)]
    assert kept["cancelled_at"].isna().all() and kept["cancellation_reason"].isna().all()
    # Bookings made far ahead are cancelled more often than same-day ones.
    far = bookings["lead"] > timedelta(weeks=2)
    near = bookings["lead"] < timedelta(days=1)
    assert (~active(bookings[far])).mean() > 1.5 * (~active(bookings[near])).mean()


def test_some_bookings_are_rescheduled(bookings: pd.DataFrame) -> None:
    """A pending booking was never confirmed: an ``updated_at`` on it is a reschedule."""
    pending = bookings[bookings["status"] == "pending"]
    rescheduled = pending["updated_at"].notna()
    assert 0.02 < rescheduled.mean() < 0.15
    touched = bookings[bookings["updated_at"].notna()]
    assert (touched["updated_at"] > touched["created_at"]).all()
    assert (touched["updated_at"] < touched["start_time"]).all()
    assert bookings.loc[bookings["status"] == "confirmed", "updated_at"].notna().all()


def test_patients_come_back_mostly_to_the_same_practitioner(bookings: pd.DataFrame) -> None:
    visits = bookings.groupby("patient_id").size()
    assert bookings["patient_id"].map(visits).gt(1).mean() > 0.9
    assert 10 <= visits.max() <= 40 and visits.median() >= 3
    practitioners = bookings.groupby("patient_id")["practitioner_id"].nunique()
    assert (practitioners == 1).mean() > 0.6 and (practitioners <= 2).mean() > 0.99


def test_a_small_network_keeps_every_property() -> None:
    small = generate_demo(300, seed=2, practitioners=5, patients=50)
    assert len(small.bookings) == 300 and set(small.bookings["practitioner_id"]) <= set(range(1, 6))
    assert small.bookings["patient_id"].between(1, 50).all()
    assert len(small.availability_rules) > 0 and small.weeks >= 1


async def booking_count(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Booking))).scalar_one()


async def test_load_demo_writes_event_types_and_bookings(session: AsyncSession) -> None:
    # An event type already there: the demo's event type ids are mapped to the database's.
    session.add(EventType(name="Home visit", duration_minutes=90))
    await session.flush()
    demo = generate_demo(400, seed=2, practitioners=6)
    assert await load_demo(session, demo) == 400
    types = await event_types_frame(session)
    assert len(types) == len(demo.event_types) + 1
    loaded = (await bookings_frame(session)).sort_values(["practitioner_id", "start_time"])
    assert len(loaded) == 400
    minutes = (loaded["end_time"] - loaded["start_time"]).dt.seconds // 60
    durations = types.set_index("id")["duration_minutes"]
    assert (minutes == durations.reindex(loaded["event_type_id"]).to_numpy()).all()
    names = types.set_index("id")["name"].reindex(loaded["event_type_id"]).to_numpy()
    expected = demo.event_types.set_index("id")["name"].reindex(
        demo.bookings.sort_values(["practitioner_id", "start_time"])["event_type_id"]
    )
    assert list(names) == list(expected)


async def test_load_demo_writes_the_availability_the_bookings_fall_inside(
    session: AsyncSession,
) -> None:
    """The database's own reading of the schedules and time off (``practitioner_availability``)
    holds every booking, and the loaded rows match the generated ones."""
    demo = generate_demo(3_000, seed=4, practitioners=12)
    await load_demo(session, demo)
    counts = {
        table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
        for table in ("availability_rules", "availability_exceptions", "practitioner_event_types")
    }
    assert counts == {
        "availability_rules": len(demo.availability_rules),
        "availability_exceptions": len(demo.availability_exceptions),
        "practitioner_event_types": len(demo.practitioner_event_types),
    }
    outside = await session.execute(
        text(
            "SELECT count(*) FILTER (WHERE a.available IS NULL"
            " OR NOT a.available @> tstzrange(b.start_time, b.end_time)), count(*)"
            " FROM bookings b LEFT JOIN practitioner_availability("
            " (SELECT min(start_time) FROM bookings), (SELECT max(end_time) FROM bookings)) a"
            " USING (practitioner_id)"
        )
    )
    assert tuple(outside.one()) == (0, 3_000)
    holiday = await session.execute(
        text(
            "SELECT count(*) FROM availability_exceptions"
            " WHERE kind = 'time_off' AND reason LIKE 'public holiday: %'"
        )
    )
    assert holiday.scalar_one() > 0


async def test_load_bookings_writes_every_row(session: AsyncSession) -> None:
    frame = generate_bookings(300, seed=2, practitioners=5).drop(columns="event_type_id")
    assert await load_bookings(session, frame) == 300
    loaded = await bookings_frame(session)
    columns = [column for column in BOOKING_COLUMNS if column != "event_type_id"]
    mine = loaded[columns].sort_values(["practitioner_id", "start_time"])
    expected = frame.sort_values(["practitioner_id", "start_time"])
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


async def test_seeded_rows_counts_a_slot_booked_twice_by_one_patient_once_per_booking(
    session: AsyncSession,
) -> None:
    """A cancelled booking and its patient's new booking of the same slot share their key; a
    fully loaded frame must still count as exactly its own length (``seed`` run twice)."""
    frame = generate_bookings(40, seed=3, practitioners=2).drop(columns="event_type_id")
    first = frame[frame["status"] != "cancelled"].iloc[[0]]
    cancelled = first.assign(status="cancelled", cancelled_at=first["created_at"])
    twice = pd.concat([frame, cancelled], ignore_index=True)
    assert await seeded_rows(session, twice) == 0
    await load_bookings(session, twice)
    assert await seeded_rows(session, twice) == len(twice)


async def test_load_bookings_refuses_an_overlap_and_writes_nothing(session: AsyncSession) -> None:
    frame = generate_bookings(200, seed=5, practitioners=4).drop(columns="event_type_id")
    kept = frame[frame["status"] != "cancelled"].iloc[[0]]
    clash = kept.assign(start_time=kept["start_time"] + timedelta(minutes=5))
    with pytest.raises(BookingConflictError):
        await load_bookings(session, pd.concat([frame, clash], ignore_index=True))
    assert await booking_count(session) == 0
    await load_bookings(session, frame)  # the session stays usable
    assert await booking_count(session) == 200


async def test_load_bookings_refuses_bad_times(session: AsyncSession) -> None:
    frame = generate_bookings(10, seed=6).drop(columns="event_type_id")
    frame.loc[3, "end_time"] = frame.loc[3, "start_time"]
    with pytest.raises(InvalidBookingError):
        await load_bookings(session, frame)
    assert await booking_count(session) == 0
    with pytest.raises(AfricareDataError, match="lacks the columns"):
        await load_bookings(session, frame.drop(columns="end_time"))


async def test_load_demo_is_all_or_nothing(session: AsyncSession) -> None:
    demo = generate_demo(50, seed=8, practitioners=3)
    broken = demo.bookings.copy()
    broken.loc[7, "end_time"] = broken.loc[7, "start_time"]
    with pytest.raises(InvalidBookingError):
        await load_demo(session, dataclasses.replace(demo, bookings=broken))
    assert await booking_count(session) == 0
    assert len(await event_types_frame(session)) == 0


async def test_bulk_load_blocks_concurrent_writers_until_it_commits(
    committed_engine: AsyncEngine,
) -> None:
    """The load holds its practitioners' advisory locks until it commits: a concurrent raw
    insert of an overlapping row must wait for the load and then be refused."""
    frame = generate_bookings(500, seed=7, practitioners=3).drop(columns="event_type_id")
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


def test_dst_zones_keep_local_hours(demo: DemoData, bookings: pd.DataFrame) -> None:
    """Cairo moves its clocks on 25 April 2025 and Casablanca around Ramadan: local hours stay
    inside the schedules on both sides, while the UTC hour moves."""
    for zone, first, change, last in (
        ("Africa/Cairo", "2025-04-01", "2025-04-25", "2025-05-20"),
        ("Africa/Casablanca", "2025-01-01", "2025-02-23", "2025-04-06"),
    ):
        mine = bookings[bookings["time_zone"] == zone]
        local = mine["local_start"]
        before = mine[(local >= pd.Timestamp(first)) & (local < pd.Timestamp(change))]
        after = mine[(local >= pd.Timestamp(change)) & (local < pd.Timestamp(last))]
        assert len(before) and len(after)
        for side in (before, after):
            assert side["local_start"].dt.hour.between(8, 17).all()
        offset = lambda side: (  # noqa: E731
            side["local_start"] - side["start_time"].dt.tz_localize(None)
        ).mode()[0]
        assert offset(before) != offset(after)
    assert np.isin(demo.practitioners["time_zone"], [c.time_zone for c in COUNTRIES]).all()


async def test_seed_command_loads_the_demo_once(tmp_path: Path, server_url: URL) -> None:
    """``africare-data seed`` loads schedules, time off and bookings; a second run loads nothing."""
    async with scratch_database("seedcli", url=server_url) as url:
        engine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            environment = {
                "PATH": os.environ["PATH"],
                "AFRICARE_DATA_DIR": str(tmp_path / "data"),
                "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            }
            command = [CLI, "seed", "--bookings", "500", "--seed", "1", "--practitioners", "5"]

            def seed() -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    command, env=environment, capture_output=True, text=True, check=False
                )

            first = await asyncio.to_thread(seed)
            assert first.returncode == 0, first.stderr
            demo = generate_demo(500, seed=1, practitioners=5)
            assert first.stdout.strip() == (
                f"Loaded 500 bookings of 5 practitioners over {demo.weeks} weeks from "
                f"{demo.first_day} (seed 1)."
            )
            again = await asyncio.to_thread(seed)
            assert again.returncode == 0, again.stderr
            assert "already loaded: nothing to do" in again.stdout
            async with engine.connect() as connection:
                rules = await connection.scalar(text("SELECT count(*) FROM availability_rules"))
                booked = await connection.scalar(text("SELECT count(*) FROM bookings"))
            assert (rules, booked) == (len(demo.availability_rules), 500)
        finally:
            await engine.dispose()
