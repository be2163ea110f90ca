"""The ``africare-data`` command.

``africare-data db start|stop|status|url`` manages the embedded PostgreSQL; ``db upgrade`` applies
the migrations to the configured database, and ``db downgrade REV`` reverts them after listing
what it would drop (it needs ``--yes``); ``serve`` runs the web API (``africare_data.api``, the
``api`` extra) with uvicorn. Errors the toolkit knows about are printed as one line
on stderr with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import func, select
from tqdm import tqdm

from africare_data import embedded, migrations
from africare_data.config import mask_url, settings
from africare_data.database import async_session_maker, engine, resolve_url
from africare_data.errors import AfricareDataError, InvalidInputError
from africare_data.frames import bookings_frame, iter_bookings_frames
from africare_data.models import Booking
from africare_data.synthetic import generate_bookings, load_bookings, seeded_rows

__all__ = ["main"]


def _db_start(args: argparse.Namespace) -> int:
    if not settings.uses_embedded_server:
        print("SQLALCHEMY_DATABASE_URI is set: nothing to start, the toolkit uses that server.")
        return 0
    socket_dir = embedded.ensure_running(settings.AFRICARE_DATA_DIR)
    print(f"Embedded PostgreSQL running (socket in {socket_dir}).")
    print(f"URL: {mask_url(embedded.server_url(socket_dir))}")
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    if not settings.uses_embedded_server:
        print("SQLALCHEMY_DATABASE_URI is set: the toolkit does not manage that server.")
        return 0
    stopped = embedded.stop(settings.AFRICARE_DATA_DIR)
    print("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    if settings.SQLALCHEMY_DATABASE_URI is not None:
        print(f"External server: {mask_url(settings.SQLALCHEMY_DATABASE_URI)}")
        return 0
    state = embedded.status(settings.AFRICARE_DATA_DIR)
    print(f"data directory: {state.data_dir}")
    print(f"log file:       {state.log_path}")
    if state.running:
        print(f"running:        yes (pid {state.pid}, socket in {state.socket_dir})")
        return 0
    print("running:        no")
    return 3  # like pg_ctl status: "not running"


def _db_url(args: argparse.Namespace) -> int:
    print(mask_url(resolve_url(settings)))
    return 0


_Result = TypeVar("_Result")


def _run(work: Coroutine[Any, Any, _Result]) -> _Result:
    """Run ``work`` on a new event loop, then close the default engine's pooled connections,
    which belong to that loop."""

    async def run_then_dispose() -> _Result:
        try:
            return await work
        finally:
            await engine.dispose()

    return asyncio.run(run_then_dispose())


def _db_upgrade(args: argparse.Namespace) -> int:
    _run(migrations.upgrade(engine, args.revision))
    print(f"Database upgraded to {args.revision}.")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    """Say what going back to ``args.revision`` drops; do it only with ``--yes``."""
    plan = _run(migrations.downgrade_plan(args.revision, engine))
    print(plan.describe())
    if not args.yes:
        print(
            f"africare-data: nothing changed; to downgrade, run again with --yes: "
            f"africare-data db downgrade {args.revision} --yes",
            file=sys.stderr,
        )
        return 1
    _run(migrations.downgrade(engine, plan.target or "base"))
    print(f"Database downgraded to {plan.target or 'base'}.")
    return 0


# The modules `serve` needs that only the `api` extra installs.
_API_EXTRA_MODULES = frozenset({"fastapi", "starlette", "uvicorn"})


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from africare_data.api import create_app
    except ModuleNotFoundError as error:
        if error.name not in _API_EXTRA_MODULES:
            raise
        print(
            f"africare-data serve needs the api extra ({error.name} is not installed): "
            "pip install 'africare-data[api]'",
            file=sys.stderr,
        )
        return 1
    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def _seed(args: argparse.Namespace) -> int:
    """Generate and load synthetic bookings; a second run with the same seed changes nothing."""

    async def seed() -> str:
        with tqdm(total=3, desc="generating", unit="step") as bar:
            frame = generate_bookings(args.bookings, seed=args.seed)
            bar.update()
            async with async_session_maker() as db:
                bar.set_description("checking")
                present = await seeded_rows(db, frame)
                bar.update()
                if present == len(frame):
                    bar.update()
                    return f"{present} bookings of seed {args.seed} already loaded: nothing to do."
                if present:
                    raise InvalidInputError(
                        f"{present} of the {len(frame)} bookings of seed {args.seed} are "
                        "already loaded (an earlier run with another --bookings?): refusing "
                        "to load the rest twice"
                    )
                bar.set_description(f"loading {len(frame)} bookings")
                await load_bookings(db, frame)
                bar.update()
        return f"Loaded {len(frame)} bookings (seed {args.seed})."

    print(_run(seed()))
    return 0


def _export(args: argparse.Namespace) -> int:
    """Stream the bookings table chunk by chunk into a Parquet or CSV file."""

    async def export() -> int:
        writer: Any = None
        written = 0
        try:
            async with async_session_maker() as db:
                total = (await db.execute(select(func.count()).select_from(Booking))).scalar_one()
                with tqdm(total=total, desc=f"exporting to {args.path}", unit="row") as bar:
                    async for chunk in iter_bookings_frames(db, chunksize=args.chunksize):
                        table = pa.Table.from_pandas(chunk, preserve_index=False)
                        if writer is None:
                            writer = (
                                pq.ParquetWriter(args.path, table.schema)
                                if args.format == "parquet"
                                else pa_csv.CSVWriter(args.path, table.schema)
                            )
                        writer.write_table(table)
                        written += len(chunk)
                        bar.update(len(chunk))
                if writer is None:  # no rows: still write the file, with the schema
                    empty = await bookings_frame(db, practitioner_id=-1)
                    table = pa.Table.from_pandas(empty, preserve_index=False)
                    if args.format == "parquet":
                        pq.write_table(table, args.path)
                    else:
                        pa_csv.write_csv(table, args.path)
        finally:
            if writer is not None:
                writer.close()
        return written

    print(f"Exported {_run(export())} bookings to {args.path} ({args.format}).")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="africare-data", description="AfriCare data toolkit: database and data commands."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="manage the database (embedded PostgreSQL by default)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, run, summary in (
        ("start", _db_start, "start the embedded server (reuses a running one)"),
        ("stop", _db_stop, "stop the embedded server"),
        ("status", _db_status, "is the embedded server running? (exit 3 if not)"),
        ("url", _db_url, "print the database URL, password masked"),
    ):
        db_commands.add_parser(name, help=summary).set_defaults(run=run)
    upgrade = db_commands.add_parser("upgrade", help="apply migrations (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(run=_db_upgrade)
    downgrade = db_commands.add_parser(
        "downgrade", help="revert migrations to REV, after saying what it drops (needs --yes)"
    )
    downgrade.add_argument("revision", help="a revision id, -N (N steps back) or base")
    downgrade.add_argument("--yes", action="store_true", help="drop what the plan lists")
    downgrade.set_defaults(run=_db_downgrade)
    serve = commands.add_parser("serve", help="run the web API with uvicorn (needs the api extra)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    serve.set_defaults(run=_serve)
    seed = commands.add_parser("seed", help="load deterministic synthetic bookings (idempotent)")
    seed.add_argument("--bookings", type=int, required=True, help="how many bookings")
    seed.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    seed.set_defaults(run=_seed)
    export = commands.add_parser("export", help="export a table to a file, chunk by chunk")
    export.add_argument("table", choices=["bookings"])
    export.add_argument("path", help="output file")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--chunksize", type=int, default=100_000, help="rows per chunk")
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``africare-data`` console script."""
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except AfricareDataError as error:
        print(f"africare-data: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
