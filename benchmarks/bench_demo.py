"""Generating and loading the demo data set, side by side with the bare ``COPY`` of its bookings.

    python benchmarks/bench_demo.py [--rows 100000] [--repeat 3]

Runs against the embedded server (or ``SQLALCHEMY_DATABASE_URI``) in its own scratch database,
migrated to head and dropped afterwards. Times, as medians of ``--repeat`` rounds in which the
runs take turns (every table emptied before each load):

* ``generate_demo``: the network, its calendar and the bookings, in Python;
* ``load_demo``: event types, weekly hours, time off, offered event types and the bookings, one
  transaction, one ``COPY`` per table, every constraint and the no-overlap rule checked;
* ``load_bookings``: the same bookings alone (their event types already in place);
* bare ``COPY``: asyncpg's binary ``COPY`` of the same booking records, prepared beforehand.

Ratios are to the bare ``COPY``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import migrations
from africare_data.database import make_engine, scratch_database
from africare_data.models import EventType
from africare_data.synthetic import (
    BOOKING_COLUMNS,
    _records,
    generate_demo,
    load_bookings,
    load_demo,
)

TABLES = (
    "bookings, practitioner_event_types, availability_exceptions, availability_rules, event_types"
)


async def _interleaved(
    repeat: int, runs: dict[str, tuple[Callable[[], Awaitable[None]], Callable[[], Any]]]
) -> dict[str, float]:
    """Median seconds of each run, the runs taking turns so that they share the machine's noise."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, (prepare, run) in runs.items():
            await prepare()
            started = time.perf_counter()
            result = run()
            if asyncio.iscoroutine(result):
                await result
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


async def main(args: argparse.Namespace) -> None:
    async with scratch_database("bench_demo") as url:
        engine: AsyncEngine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            demo = generate_demo(args.rows, seed=0)
            rows = len(demo.bookings)
            columns = list(BOOKING_COLUMNS)

            async def empty() -> None:
                async with engine.begin() as connection:
                    await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
                    await connection.execute(text("ANALYZE bookings"))

            async def empty_with_event_types() -> None:
                await empty()
                async with engine.begin() as connection:
                    types = demo.event_types[["name", "duration_minutes"]].to_dict("records")
                    await connection.execute(insert(EventType), types)

            async def ours_demo() -> None:
                async with AsyncSession(engine) as db:
                    await load_demo(db, demo)

            async def ours_bookings() -> None:
                async with AsyncSession(engine) as db:
                    await load_bookings(db, demo.bookings)

            records = _records(demo.bookings, columns)

            async def bare_copy() -> None:
                async with engine.begin() as connection:
                    raw = await connection.get_raw_connection()
                    await raw.driver_connection.copy_records_to_table(
                        "bookings", records=records, columns=columns
                    )

            async def nothing() -> None:
                return None

            results = await _interleaved(
                args.repeat,
                {
                    "generate_demo (Python, no database)": (
                        nothing,
                        lambda: generate_demo(args.rows, seed=0),
                    ),
                    "load_demo (event types, availability, bookings)": (empty, ours_demo),
                    "load_bookings (the bookings alone)": (empty_with_event_types, ours_bookings),
                    "bare COPY of the bookings (records prepared)": (
                        empty_with_event_types,
                        bare_copy,
                    ),
                },
            )
        finally:
            await engine.dispose()
    floor = results["bare COPY of the bookings (records prepared)"]
    print(
        f"bookings: {rows}, practitioners: {len(demo.practitioners)}, weeks: {demo.weeks}, "
        f"weekly hours: {len(demo.availability_rules)}, time off: "
        f"{len(demo.availability_exceptions)}; medians of {args.repeat}"
    )
    for name, seconds in results.items():
        print(
            f"  {name:<50} {seconds:7.2f} s  {rows / seconds:9.0f} bookings/s"
            f"  x{seconds / floor:5.2f} of bare COPY"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
