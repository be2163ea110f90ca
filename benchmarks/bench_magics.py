"""``%sql`` side by side: ours, JupySQL, the raw psycopg driver and the ``psql \\copy`` floor.

    python benchmarks/bench_magics.py --rows 1000000 [--repeat 3] [--calls 300]

Builds a scratch database with ``--rows`` synthetic bookings on the configured server (the
embedded one, or ``SQLALCHEMY_DATABASE_URI``), dropped afterwards, and runs each contender in a
fresh process on that same server with the same queries:

* POINT: one booking by primary key (1 row, 11 columns), ``--calls`` timed calls after a warm-up;
* BULK: every booking, six columns, one timed run after a warm-up.

That is one round; ``--repeat`` rounds run, each contender in turn in a fresh process, so they
share the machine's noise.

The magics run in a real IPython shell through ``run_line_magic`` (the cell's display is left
out for both); JupySQL with ``autopandas`` on. Figures are medians. Needs the ``bench`` extra
(JupySQL) and ``psql`` on the PATH for the floor. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from africare_data import migrations
from africare_data.database import make_engine, make_session_maker, scratch_database
from africare_data.synthetic import generate_demo, load_demo

POINT = "SELECT * FROM bookings WHERE id = {id}"
BULK = "SELECT id, practitioner_id, patient_id, start_time, end_time, status FROM bookings"
CONTENDERS = ["psycopg", "ours", "jupysql", "psql"]
_MARK = "RESULT "  # the worker's answer line (the magics may print lines of their own)


def _libpq(url: URL) -> str:
    host = url.query.get("host")
    password = f":{url.password}" if url.password else ""
    if isinstance(host, str):
        return f"postgresql://{url.username}{password}@/{url.database}?host={host}"
    port = f":{url.port}" if url.port else ""
    return f"postgresql://{url.username}{password}@{url.host}{port}/{url.database}"


def _timings(call: Callable[[], Any], runs: int, warm_up: int) -> list[float]:
    """Seconds of each of ``runs`` calls after ``warm_up`` untimed ones."""
    for _ in range(warm_up):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return timings


def _copy_discarded(connection: Any) -> None:
    """The binary ``COPY`` of the bulk query through psycopg, every chunk read and dropped."""
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({BULK}) TO STDOUT (FORMAT binary)") as copy,
    ):
        for _ in copy:
            pass


def _shell_magic(contender: str, url: URL) -> Callable[[str], Any]:
    """A function running ``%sql <line>`` in a fresh IPython shell with ``contender``'s magic."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    if contender == "ours":
        from africare_data.ipython import register

        shell.run_line_magic("load_ext", "africare_data")
        register(shell, make_engine(url))
    else:
        shell.run_line_magic("load_ext", "sql")
        for setting in ("autopandas = True", "displaycon = False", "feedback = 0"):
            shell.run_line_magic("config", f"SqlMagic.{setting}")
        shell.run_line_magic("sql", _libpq(url).replace("postgresql://", "postgresql+psycopg://"))
    return lambda line: shell.run_line_magic("sql", line)


def _worker(
    contender: str, url_text: str, point_id: int, calls: int, repeat: int
) -> dict[str, Any]:
    """Both measurements of one contender, in this (fresh) process."""
    url = make_url(url_text)
    point = POINT.format(id=point_id)
    result: dict[str, Any] = {}
    if contender == "psql":
        command = ["psql", _libpq(url), "-qc", f"\\copy ({BULK}) TO '/dev/null' (FORMAT binary)"]
        result["bulk"] = _timings(lambda: subprocess.run(command, check=True), repeat, warm_up=1)
        return result
    if contender == "psycopg":
        import psycopg

        with psycopg.connect(_libpq(url)) as connection:
            result["point"] = _timings(
                lambda: connection.execute(point).fetchall(), calls, warm_up=30
            )
            result["bulk"] = _timings(
                lambda: connection.execute(BULK).fetchall(), repeat, warm_up=1
            )
            result["copy"] = _timings(lambda: _copy_discarded(connection), repeat, warm_up=1)
        return result
    sql = _shell_magic(contender, url)
    result["point"] = _timings(lambda: sql(point), calls, warm_up=30)
    result["bulk"] = _timings(lambda: sql(BULK), repeat, warm_up=1)
    frame = sql(BULK)
    result["rows"] = len(frame)
    result["dtypes"] = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    return result


def _run(contender: str, url: URL, args: argparse.Namespace) -> dict[str, Any] | None:
    if contender == "psql" and shutil.which("psql") is None:
        return None
    command = [
        sys.executable,
        __file__,
        "--worker",
        contender,
        "--url",
        url.render_as_string(hide_password=False),
        "--point-id",
        str(args.rows // 2),
        "--calls",
        str(args.calls),
        "--repeat",
        "1",
    ]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    marked = [line for line in output.splitlines() if line.startswith(_MARK)]
    answer: dict[str, Any] = json.loads(marked[-1].removeprefix(_MARK))
    return answer


async def _load(url: URL, rows: int) -> None:
    engine = make_engine(url)
    try:
        await migrations.upgrade(engine)
        async with make_session_maker(engine)() as session:
            await load_demo(session, generate_demo(rows, seed=0))
        async with engine.connect() as connection:  # settle: no autovacuum during reads
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE bookings"))
    finally:
        await engine.dispose()


def _report(results: dict[str, dict[str, Any] | None], rows: int, args: argparse.Namespace) -> None:
    labels = {
        "psycopg": "raw psycopg (execute + fetchall)",
        "ours": "ours: %sql",
        "jupysql": "JupySQL %sql (autopandas)",
        "psql": "psql \\copy (binary) floor",
    }
    for result in results.values():
        if result is not None:
            for key in ("point", "bulk", "copy"):
                if key in result:
                    result[f"{key}_runs"] = result[key]
                    result[key] = statistics.median(result[key])
    raw = results["psycopg"]
    assert raw is not None
    calls = args.calls * args.repeat
    print(f"\nPOINT: one booking by primary key (1 row, 11 columns), median of {calls} calls")
    for name in ("psycopg", "ours", "jupysql"):
        result = results[name]
        if result is None:
            continue
        over = (result["point"] - raw["point"]) * 1000
        milliseconds = result["point"] * 1000
        print(f"  {labels[name]:<34} {milliseconds:7.3f} ms   +{over:6.3f} ms over raw psycopg")
    floor = results["psql"]
    print(f"\nBULK: {rows:,} bookings, six columns, median of {args.repeat} rounds")
    for name in ("psql", "ours", "psycopg", "jupysql"):
        result = results[name]
        if result is None:
            print(f"  {labels[name]:<34} (not available)")
            continue
        ratio = "" if floor is None else f"   x{result['bulk'] / floor['bulk']:6.2f} of the floor"
        runs = " ".join(f"{seconds:.2f}" for seconds in result["bulk_runs"])
        print(f"  {labels[name]:<34} {result['bulk']:7.2f} s{ratio}   (runs: {runs})")
        if "copy" in result:
            ratio = (
                "" if floor is None else f"   x{result['copy'] / floor['bulk']:6.2f} of the floor"
            )
            runs = " ".join(f"{seconds:.2f}" for seconds in result["copy_runs"])
            label = "psycopg binary COPY, discarded"
            print(f"  {label:<34} {result['copy']:7.2f} s{ratio}   (runs: {runs})")
    for name in ("ours", "jupysql"):
        result = results[name]
        if result is not None:
            dtypes = ", ".join(f"{column} {dtype}" for column, dtype in result["dtypes"].items())
            print(f"  {labels[name]}: {result['rows']:,} rows; {dtypes}")


async def main(args: argparse.Namespace) -> None:
    async with scratch_database("bench_magics") as url:
        await _load(url, args.rows)
        print(f"rows: {args.rows:,}, server database: {url.database}")
        # Rounds in which every contender runs once, in turn, so they share the machine's noise.
        results: dict[str, dict[str, Any] | None] = {}
        for _ in range(args.repeat):
            for contender in CONTENDERS:
                answer = _run(contender, url, args)
                if answer is None:
                    results[contender] = None
                    continue
                merged = results.setdefault(contender, {}) or {}
                for key, value in answer.items():
                    merged[key] = merged.get(key, []) + value if isinstance(value, list) else value
                results[contender] = merged
        _report(results, args.rows, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    parser.add_argument("--calls", type=int, default=100, help="point calls per round")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--point-id", type=int, default=1, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        measured = _worker(
            arguments.worker, arguments.url, arguments.point_id, arguments.calls, arguments.repeat
        )
        print(_MARK + json.dumps(measured))
    else:
        asyncio.run(main(arguments))
