"""Start-up cost of the package and the command line, against the import floor.

    python benchmarks/bench_startup.py [--repeat 15]

Each command runs in a fresh interpreter; the runs of all commands alternate, so a busy moment
of the machine hits all of them alike. Prints the median wall time of each and its difference to
the floor: importing only what any toolkit on this stack needs (SQLAlchemy, pydantic-settings,
psycopg). ``db status`` runs against the configured embedded server (running or not). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

FLOOR = "floor: import sqlalchemy, pydantic_settings, psycopg"


def _commands() -> dict[str, list[str]]:
    # The command installed beside this interpreter (.venv/bin), found without an activated venv.
    beside = Path(sys.executable).parent / "africare-data"
    cli = str(beside) if beside.exists() else shutil.which("africare-data") or "africare-data"
    return {
        FLOOR: [sys.executable, "-c", "import sqlalchemy, pydantic_settings, psycopg"],
        "import africare_data": [sys.executable, "-c", "import africare_data"],
        "import africare_data.cli": [sys.executable, "-c", "import africare_data.cli"],
        "africare-data --help": [cli, "--help"],
        "africare-data db status": [cli, "db", "status"],
    }


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    args = parser.parse_args()
    commands = _commands()
    for command in commands.values():  # warm the file cache and the bytecode
        _seconds(command)
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            timings[name].append(_seconds(command))
    floor = statistics.median(timings[FLOOR])
    print(f"median of {args.repeat} alternating runs, fresh interpreter each")
    for name, runs in timings.items():
        median = statistics.median(runs)
        print(f"  {name:<55} {median * 1000:7.0f} ms   {(median - floor) * 1000:+6.0f} ms vs floor")


if __name__ == "__main__":
    main()
