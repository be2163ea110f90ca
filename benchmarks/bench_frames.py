"""Read and load benchmarks for ``africare_data.frames`` / ``africare_data.synthetic``.

    python benchmarks/bench_frames.py --rows 1000000 [--repeat 3] [--skip-load]

Runs against the embedded server (or ``SQLALCHEMY_DATABASE_URI``) in its own scratch database,
dropped afterwards. Every read runs in a fresh process, so its peak RSS is its own; the figure
printed is the median of ``--repeat`` runs, with the ratio to our ``bookings_frame``.
Needs the ``bench`` extra (ConnectorX, ADBC). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Integer, cast, extract, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data import frames, migrations
from africare_data.database import make_engine, scratch_database
from africare_data.frames.transport import literal_sql
from africare_data.models import Booking, EventType
from africare_data.synthetic import _records, generate_demo, load_bookings

WINDOW = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))
READERS = [
    "ours",
    "read_sql",
    "adbc",
    "adbc_same_frame",
    "connectorx",
    "connectorx_partitioned",
    "psycopg_copy_floor",
    "psql_copy_floor",
    "psql_copy_floor_plain",
]
PLAIN_SQL = "SELECT * FROM bookings ORDER BY id"
"""What a user would write to read the table (the rows in another order, no duration)."""
PARTITIONS = len(os.sched_getaffinity(0))
"""ConnectorX's ``partition_num``: one connection per core, as ours opens."""


def _sql() -> str:
    """The frame's rows as the server would give them: sorted, with ``duration_minutes``."""
    minutes = cast(extract("epoch", Booking.end_time - Booking.start_time) / 60, Integer)
    stmt = select(*Booking.__table__.columns, minutes.label("duration_minutes")).order_by(
        Booking.start_time, Booking.id
    )
    compiled = literal_sql(stmt)
    assert compiled is not None
    return compiled


def _libpq(url: URL) -> str:
    host = url.query.get("host")
    if isinstance(host, str):
        return f"postgresql://{url.username}@/{url.database}?host={host}"
    port = f":{url.port}" if url.port else ""
    return f"postgresql://{url.username}@{url.host}{port}/{url.database}"


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` figure of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def _worker(reader: str, url_text: str) -> dict[str, Any]:
    """One timed read in this (fresh) process."""
    from sqlalchemy.engine import make_url

    url = make_url(url_text)
    sql = _sql()
    # Import every driver before the clock starts: the figures compare reads, not imports.
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import asyncpg  # noqa: F401
    import connectorx  # noqa: F401
    import psycopg
    import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401

    # The baseline: this process after its imports, before the read. Resetting the high-water
    # mark makes the peak the read's own (import-time transients do not count either way).
    start_mb = _status_mb("VmRSS")
    # If the reset is refused, the peak also covers the imports: an over-estimate, never under.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    frame: pd.DataFrame | None = None
    rows = -1
    if reader == "ours":

        async def read() -> pd.DataFrame:
            engine = make_engine(url)
            try:
                async with AsyncSession(engine) as db:
                    return await frames.bookings_frame(db)
            finally:
                await engine.dispose()

        frame = asyncio.run(read())
        rows = len(frame)
    elif reader == "read_sql":
        from sqlalchemy import create_engine

        sync = create_engine(url.set(drivername="postgresql+psycopg"))
        frame = pd.read_sql(sql, sync)
        rows = len(frame)
    elif reader in ("adbc", "adbc_same_frame"):
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(_libpq(url)) as connection, connection.cursor() as cursor:
            cursor.execute(PLAIN_SQL if reader == "adbc" else sql)
            frame = cursor.fetch_arrow_table().to_pandas()
        rows = len(frame)
    elif reader in ("connectorx", "connectorx_partitioned"):
        import connectorx as cx

        host = url.query.get("host")
        target = (
            f"postgresql://{url.username}@{str(host).replace('/', '%2F')}/{url.database}"
            if host
            else _libpq(url)
        )
        if reader == "connectorx":
            frame = cx.read_sql(target, sql)
        else:  # split by ranges of id, one query per partition, as ConnectorX documents
            frame = cx.read_sql(
                target,
                "SELECT * FROM bookings",
                partition_on="id",
                partition_num=PARTITIONS,
            )
        rows = len(frame)
    elif reader == "psycopg_copy_floor":
        import psycopg

        with (
            psycopg.connect(_libpq(url)) as connection,
            connection.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy,
        ):
            for _ in copy:
                pass
    elif reader in ("psql_copy_floor", "psql_copy_floor_plain"):
        query = sql if reader == "psql_copy_floor" else PLAIN_SQL
        subprocess.run(
            ["psql", _libpq(url), "-qc", f"\\copy ({query}) TO '/dev/null' (FORMAT binary)"],
            check=True,
        )
    seconds = time.perf_counter() - started
    # VmHWM: this process image's own peak (ru_maxrss would carry the parent's over exec).
    peak_mb = _status_mb("VmHWM")
    frame_mb = None if frame is None else frame.memory_usage(deep=True).sum() / 2**20
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "start_mb": start_mb,
        "frame_mb": frame_mb,
        "rows": rows,
    }


def _run_once(reader: str, url: URL) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", reader, "--url", url.render_as_string(False)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _run_readers(readers: list[str], url: URL, repeat: int) -> dict[str, dict[str, Any] | None]:
    """Every reader ``repeat`` times, alternating (reader A, B, ..., then A, B, ... again), so a
    change in the machine's load hits them all alike; the medians per reader."""
    available = [r for r in readers if not r.startswith("psql") or shutil.which("psql")]
    runs: dict[str, list[dict[str, Any]]] = {reader: [] for reader in available}
    for _ in range(repeat):
        for reader in available:
            runs[reader].append(_run_once(reader, url))
    summary: dict[str, dict[str, Any] | None] = {reader: None for reader in readers}
    for reader, results in runs.items():
        frames_mb = [r["frame_mb"] for r in results if r["frame_mb"] is not None]
        summary[reader] = {
            "seconds": statistics.median(r["seconds"] for r in results),
            "peak_mb": statistics.median(r["peak_mb"] for r in results),
            "start_mb": statistics.median(r["start_mb"] for r in results),
            # What the read itself added: peak minus the same process after its imports.
            "read_mb": statistics.median(r["peak_mb"] - r["start_mb"] for r in results),
            "frame_mb": statistics.median(frames_mb) if frames_mb else None,
        }
    return summary


async def _agenda_ms(url: URL, practitioner_id: int, repeat: int = 50) -> tuple[float, int]:
    engine = make_engine(url)
    try:
        async with AsyncSession(engine) as db:
            times = []
            rows = 0
            for _ in range(repeat):
                started = time.perf_counter()
                agenda = await frames.bookings_frame(
                    db, practitioner_id=practitioner_id, start=WINDOW[0], end=WINDOW[1]
                )
                rows = len(agenda)
                times.append(time.perf_counter() - started)
        return statistics.median(times[5:]) * 1000, rows
    finally:
        await engine.dispose()


async def _timed_loads(url: URL, frame: pd.DataFrame, repeat: int, small: int) -> dict[str, Any]:
    """Loading: ours, bare binary COPY, Core executemany and ORM add_all (the last two on
    ``small`` rows, extrapolated linearly)."""
    from sqlalchemy import text

    engine = make_engine(url)
    columns = [c for c in frame.columns]
    results: dict[str, Any] = {}

    async def truncate() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE bookings RESTART IDENTITY"))
            await connection.execute(text("ANALYZE bookings"))

    async def ours(part: pd.DataFrame) -> None:
        async with AsyncSession(engine) as db:
            await load_bookings(db, part)

    async def bare_copy(part: pd.DataFrame) -> None:
        records = _records(part, columns)
        async with engine.begin() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(
                "bookings", records=records, columns=columns
            )

    async def core(part: pd.DataFrame) -> None:
        rows = part.astype(object).where(part.notna(), None).to_dict("records")
        async with engine.begin() as connection:
            await connection.execute(insert(Booking), rows)

    async def orm(part: pd.DataFrame) -> None:
        rows = part.astype(object).where(part.notna(), None).to_dict("records")
        async with AsyncSession(engine) as db:
            db.add_all([Booking(**row) for row in rows])
            await db.commit()

    try:
        for name, run, size in (
            ("ours load_bookings", ours, len(frame)),
            ("bare COPY (asyncpg binary, constraints in place)", bare_copy, len(frame)),
            ("Core insert executemany", core, small),
            ("ORM add_all", orm, small),
        ):
            part = frame.iloc[:size]
            times = []
            for _ in range(repeat):
                await truncate()
                started = time.perf_counter()
                await run(part)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times) * len(frame) / size
            results[name] = {"seconds": seconds, "extrapolated_from": size}
        await truncate()
    finally:
        await engine.dispose()
    return results


async def main(args: argparse.Namespace) -> None:
    async with scratch_database("bench") as url:
        demo = generate_demo(args.rows, seed=0)
        frame = demo.bookings
        engine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            async with engine.begin() as connection:  # the event types the bookings refer to
                types = demo.event_types[["name", "duration_minutes"]].to_dict("records")
                await connection.execute(insert(EventType), types)
        finally:
            await engine.dispose()
        print(f"rows: {args.rows}, repeat: {args.repeat} (medians), database: {url.database}")
        if not args.skip_load:
            loads = await _timed_loads(url, frame, args.repeat, min(args.small, args.rows))
            ours = loads["ours load_bookings"]["seconds"]
            print("\nLOAD (whole table, three secondary indexes + the no-overlap triggers)")
            for name, result in loads.items():
                note = (
                    f"  (measured on {result['extrapolated_from']} rows, extrapolated)"
                    if result["extrapolated_from"] != args.rows
                    else ""
                )
                print(
                    f"  {name:<52} {result['seconds']:8.2f} s  {args.rows / result['seconds']:9.0f}"
                    f" rows/s  x{result['seconds'] / ours:5.2f} of ours{note}"
                )
        loader = make_engine(url)
        try:
            async with AsyncSession(loader) as db:
                await load_bookings(db, frame)
            async with loader.connect() as connection:  # settle: no autovacuum during reads
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("VACUUM ANALYZE bookings")
                await connection.exec_driver_sql("CHECKPOINT")
        finally:
            await loader.dispose()
        print(
            "\nREAD (the whole table into a DataFrame; fresh process per run; 'read' is the peak"
            " RSS minus the same process's RSS after its imports, 'frame' its"
            " memory_usage(deep=True))"
        )
        results = _run_readers(args.readers, url, args.repeat)
        ours_read = results["ours"]
        assert ours_read is not None
        for reader, result in results.items():
            if result is None:
                print(f"  {reader:<24} (not available)")
                continue
            ratio = result["seconds"] / ours_read["seconds"]
            memory = ""
            if result["frame_mb"] is not None:
                share = result["read_mb"] / result["frame_mb"]
                memory = f"  frame {result['frame_mb']:3.0f} MB  read x{share:4.2f} of frame"
            print(
                f"  {reader:<24} {result['seconds']:7.2f} s   x{ratio:6.2f} of ours"
                f"   peak RSS {result['peak_mb']:5.0f} MB = start {result['start_mb']:4.0f}"
                f" + read {result['read_mb']:5.0f} MB{memory}"
            )
        _print_targets(results)
        agenda, rows = await _agenda_ms(url, practitioner_id=7)
        print(f"\nAGENDA: one practitioner ({rows} rows) on a warm session: {agenda:.2f} ms median")


def _print_targets(results: dict[str, dict[str, Any] | None]) -> None:
    """Ours against each reference, as ratios of the medians above."""
    ours = results["ours"]
    assert ours is not None
    print("\nOURS AGAINST (time ratio ours / theirs; below 1.00 ours is faster)")
    for reader in READERS[1:]:
        result = results.get(reader)
        if result is not None:
            print(f"  {reader:<24} {ours['seconds'] / result['seconds']:5.2f}")
    if ours["frame_mb"]:
        print(f"  memory read / frame      {ours['read_mb'] / ours['frame_mb']:5.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", type=int, default=50_000, help="rows for Core/ORM loads")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--readers", nargs="+", choices=READERS, default=READERS, help="readers to time"
    )
    parser.add_argument("--worker", choices=READERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(_worker(arguments.worker, arguments.url)))
    else:
        asyncio.run(main(arguments))
