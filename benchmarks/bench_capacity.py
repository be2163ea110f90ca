"""Utilisation of a year: ``utilisation_frame`` (SQL) beside pandas on the raw frames.

    python benchmarks/bench_capacity.py [--practitioners 500] [--repeat 5]

Builds its own scratch database (embedded server, or ``SQLALCHEMY_DATABASE_URI``), dropped
afterwards: ``--practitioners`` practitioners in five African zones working Monday to Friday
08:00-12:00 and 13:00-17:00 local for all of 2025, two weeks of leave each, and about 2,000
half-hour bookings each (1M for 500), 10 % of them cancelled. Then it times, on one warm
session, ``utilisation_frame(db, 2025-01-01, 2026-01-01, "W")`` against the same result
computed by pandas from the raw frames (rules, exceptions, bookings read by ``read_frame``,
expanded and summed in pandas), checks that both agree, and prints medians and the ratio.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data import migrations
from africare_data.database import make_engine, make_session_maker, scratch_database
from africare_data.frames import bookings_frame, read_frame, utilisation_frame
from africare_data.models import AvailabilityException, AvailabilityRule

START, END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
ZONES = ["Africa/Lagos", "Africa/Cairo", "Africa/Casablanca", "Africa/Nairobi", "Africa/Accra"]

SCHEDULES = """
INSERT INTO availability_rules
       (practitioner_id, weekday, start_local, end_local, time_zone, valid_from)
SELECT p, d, h.s, h.e, (CAST(:zones AS text[]))[1 + p % 5], DATE '2025-01-01'
  FROM generate_series(1, CAST(:n AS integer)) AS p, generate_series(1, 5) AS d,
       (VALUES (TIME '08:00', TIME '12:00'), (TIME '13:00', TIME '17:00')) AS h(s, e)
"""
LEAVE = """
INSERT INTO availability_exceptions (practitioner_id, starts_at, ends_at, kind, reason)
SELECT p, s, s + interval '14 days', 'time_off', 'annual leave'
  FROM generate_series(1, CAST(:n AS integer)) AS p,
       LATERAL (SELECT TIMESTAMPTZ '2025-02-03 00:00+00' + (p % 40) * interval '7 days') AS l(s)
"""
# Half-hour slots of the working hours, about half of them taken, in each practitioner's zone.
BOOKINGS = """
INSERT INTO bookings (practitioner_id, patient_id, start_time, end_time, status)
SELECT p, 1 + (hashint4(p * 1000 + slot) & 65535),
       (d + TIME '08:00' + slot * interval '30 minutes'
            + CASE WHEN slot >= 8 THEN interval '1 hour' ELSE interval '0' END)
           AT TIME ZONE (CAST(:zones AS text[]))[1 + p % 5],
       (d + TIME '08:30' + slot * interval '30 minutes'
            + CASE WHEN slot >= 8 THEN interval '1 hour' ELSE interval '0' END)
           AT TIME ZONE (CAST(:zones AS text[]))[1 + p % 5],
       (CASE WHEN r < 0.1 THEN 'cancelled' WHEN r < 0.4 THEN 'pending' ELSE 'confirmed' END)
           ::booking_status
  FROM generate_series(1, CAST(:n AS integer)) AS p,
       generate_series(DATE '2025-01-01', DATE '2025-12-31', interval '1 day') AS g(day),
       LATERAL (SELECT g.day::date) AS x(d),
       generate_series(0, 15) AS slot,
       LATERAL (SELECT (hashtext(p || ':' || d || ':' || slot) & 1023) / 1024.0) AS h(r)
 WHERE extract(isodow FROM d) < 6
   AND (hashtext(d || ':' || slot || ':' || p) & 1023) < 490
"""


async def pandas_utilisation(db: AsyncSession) -> pd.DataFrame:
    """The same frame from the raw tables: rules expanded over dates, localised per zone, leave
    subtracted, bookings clipped, everything summed per practitioner and week, in pandas."""
    rules = await read_frame(db, select(AvailabilityRule))
    leave = await read_frame(db, select(AvailabilityException))
    bookings = await bookings_frame(db, start=START - pd.Timedelta(days=1), end=END)
    days = pd.DataFrame({"day": pd.date_range("2024-12-31", "2026-01-01", freq="D")})
    days["weekday"] = days["day"].dt.day_of_week + 1
    expanded = rules.merge(days, on="weekday")
    valid = (expanded["day"] >= pd.to_datetime(expanded["valid_from"])) & (
        expanded["valid_until"].isna()
        | (expanded["day"] <= pd.to_datetime(expanded["valid_until"]))
    )
    expanded = expanded[valid]
    local_start = expanded["day"] + pd.to_timedelta(expanded["start_local"].astype(str))
    local_end = expanded["day"] + pd.to_timedelta(expanded["end_local"].astype(str))
    starts, ends = pd.Series(index=expanded.index, dtype="datetime64[us, UTC]"), None
    ends = starts.copy()
    for zone, rows in expanded.groupby("time_zone").groups.items():
        starts[rows] = local_start[rows].dt.tz_localize(zone).dt.tz_convert("UTC")
        ends[rows] = local_end[rows].dt.tz_localize(zone).dt.tz_convert("UTC")
    spans = pd.DataFrame(
        {
            "practitioner_id": expanded["practitioner_id"],
            "start": starts.clip(lower=START, upper=END),
            "end": ends.clip(lower=START, upper=END),
        }
    )
    spans = spans[spans["end"] > spans["start"]].reset_index(names="span")
    off = leave[leave["kind"] == "time_off"][["practitioner_id", "starts_at", "ends_at"]]
    clash = spans.merge(off, on="practitioner_id")
    overlap = clash[["end", "ends_at"]].min(axis=1) - clash[["start", "starts_at"]].max(axis=1)
    clash["off"] = overlap.clip(lower=pd.Timedelta(0))
    lost = clash.groupby("span")["off"].sum()
    spans["hours"] = (
        (spans["end"] - spans["start"])
        - lost.reindex(spans["span"], fill_value=pd.Timedelta(0)).to_numpy()
    ) / pd.Timedelta(hours=1)
    spans["week"] = spans["start"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    available = spans.groupby(["practitioner_id", "week"])["hours"].sum()
    clipped = bookings.assign(
        start=bookings["start_time"].clip(lower=START, upper=END),
        end=bookings["end_time"].clip(lower=START, upper=END),
    )
    clipped = clipped[clipped["end"] > clipped["start"]]
    clipped["hours"] = (clipped["end"] - clipped["start"]) / pd.Timedelta(hours=1)
    clipped["week"] = clipped["start"].dt.tz_localize(None).dt.to_period("W").dt.start_time
    clipped["kind"] = np.where(clipped["status"] == "cancelled", "cancelled", "booked")
    booked = clipped.pivot_table(
        index=["practitioner_id", "week"], columns="kind", values="hours", aggfunc="sum"
    )
    weeks = pd.date_range("2024-12-30", END.replace(tzinfo=None), freq="W-MON", inclusive="left")
    practitioners = sorted(set(available.index.get_level_values(0)) | set(booked.index.levels[0]))
    grid = pd.MultiIndex.from_product([practitioners, weeks], names=["practitioner_id", "week"])
    result = pd.DataFrame(index=grid)
    result["available_hours"] = available.reindex(grid, fill_value=0.0)
    result["booked_hours"] = booked["booked"].reindex(grid).fillna(0.0)
    result["cancelled_hours"] = booked["cancelled"].reindex(grid).fillna(0.0)
    result["utilisation"] = result["booked_hours"] / result["available_hours"].where(
        result["available_hours"] > 0
    )
    return result.reset_index()


async def timed(
    run: Callable[[], Awaitable[pd.DataFrame]], repeat: int
) -> tuple[float, pd.DataFrame]:
    seconds = []
    frame = pd.DataFrame()
    for _ in range(repeat):
        began = time.perf_counter()
        frame = await run()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), frame


async def main(args: argparse.Namespace) -> None:
    async with scratch_database("bench_capacity") as url:
        engine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            began = time.perf_counter()
            async with engine.begin() as connection:
                for statement in (SCHEDULES, LEAVE, BOOKINGS):
                    await connection.execute(
                        text(statement), {"n": args.practitioners, "zones": ZONES}
                    )
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                for table in ("bookings", "availability_rules", "availability_exceptions"):
                    await connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
                rows = await connection.scalar(text("SELECT count(*) FROM bookings"))
            print(
                f"data: {args.practitioners} practitioners, {rows:,} bookings, "
                f"built in {time.perf_counter() - began:.1f} s"
            )
            async with make_session_maker(engine)() as db:
                ours_s, ours = await timed(
                    lambda: utilisation_frame(db, START, END, "W"), args.repeat
                )
                theirs_s, theirs = await timed(lambda: pandas_utilisation(db), args.repeat)
        finally:
            await engine.dispose()
    expected = theirs.assign(period_start=theirs["week"].dt.tz_localize("UTC")).drop(columns="week")
    columns = ["available_hours", "booked_hours", "cancelled_hours", "utilisation"]
    same_keys = ours[["practitioner_id", "period_start"]].equals(
        expected[["practitioner_id", "period_start"]].astype(
            ours[["practitioner_id", "period_start"]].dtypes
        )
    )
    same_values = np.allclose(ours[columns], expected[columns], equal_nan=True)
    print(
        f"rows: {len(ours):,} (practitioner x week); same result as pandas: "
        f"{same_keys and same_values}"
    )
    print(f"| computation | seconds (median of {args.repeat}) | vs ours |")
    print("|---|---:|---:|")
    print(f'| **ours: `utilisation_frame(..., freq="W")` (SQL)** | **{ours_s:.3f}** | 1.00 |')
    print(
        f"| pandas from the raw frames (rules, exceptions, bookings) | {theirs_s:.3f} | "
        f"{theirs_s / ours_s:.1f} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practitioners", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
