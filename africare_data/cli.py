"""The ``africare-data`` command.

``africare-data db start|stop|status|url`` manages the embedded PostgreSQL; ``db upgrade`` applies
the migrations to the configured database, and ``db downgrade REV`` reverts them after listing
what it would drop (it needs ``--yes``); ``seed`` and ``export`` load and write bookings; ``serve``
runs the web API (``africare_data.api``, the ``api`` extra) with uvicorn.

Every error ends as one line on stderr, ``africare-data: <what is wrong and what to do>``, with
exit status 1 (2 for a usage error): no traceback, unless ``--debug`` or ``DEBUG=true`` asks for
one. Each command imports what it needs when it runs, so ``--help`` and ``db status`` start fast:
pandas, pyarrow and alembic are loaded only by the commands that use them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from africare_data import embedded
from africare_data.config import get_settings, mask_url
from africare_data.errors import AfricareDataError, InvalidInputError

__all__ = ["main"]

_PROG = "africare-data"
_DEBUG = "show the traceback of an error (also: DEBUG=true)"
_Result = TypeVar("_Result")


def _db_start(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.uses_embedded_server:
        print("SQLALCHEMY_DATABASE_URI is set: nothing to start, the toolkit uses that server.")
        return 0
    socket_dir = embedded.ensure_running(settings.AFRICARE_DATA_DIR)
    print(f"Embedded PostgreSQL running (socket in {socket_dir}).")
    print(f"URL: {mask_url(embedded.server_url(socket_dir))}")
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.uses_embedded_server:
        print("SQLALCHEMY_DATABASE_URI is set: the toolkit does not manage that server.")
        return 0
    stopped = embedded.stop(settings.AFRICARE_DATA_DIR)
    print("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.SQLALCHEMY_DATABASE_URI is not None:
        print(f"External server: {mask_url(settings.SQLALCHEMY_DATABASE_URI)}")
        return 0
    state = embedded.status(settings.AFRICARE_DATA_DIR)
    print(f"data directory: {state.data_dir}")
    print(f"log file:       {state.log_path}")
    print(f"running:        {_describe(state)}")
    return 0 if state.running else 3  # like pg_ctl status: 3 is "not running"


def _describe(state: embedded.EmbeddedStatus) -> str:
    if state.state is embedded.ServerState.RUNNING:
        return f"yes (pid {state.pid}, socket in {state.socket_dir})"
    if state.state is embedded.ServerState.NOT_ACCEPTING:
        return f"not accepting connections (pid {state.pid} is starting up or shutting down)"
    if state.state is embedded.ServerState.STALE:
        return (
            f"no (postmaster.pid names pid {state.pid}, which is not this server: "
            "a stale file, replaced at the next start)"
        )
    return "no"


def _db_url(args: argparse.Namespace) -> int:
    from africare_data.database import resolve_url

    print(mask_url(resolve_url()))
    return 0


def _run(work: Coroutine[Any, Any, _Result]) -> _Result:
    """Run ``work`` on a new event loop, then close the default engine's pooled connections,
    which belong to that loop."""
    from africare_data.database import dispose_engine

    async def run_then_dispose() -> _Result:
        try:
            return await work
        finally:
            await dispose_engine()

    return asyncio.run(run_then_dispose())


def _db_upgrade(args: argparse.Namespace) -> int:
    from alembic.util import CommandError

    from africare_data import migrations

    try:
        _run(migrations.upgrade(revision=args.revision))
    except CommandError as error:
        raise InvalidInputError(
            f"db upgrade {args.revision}: {error} (the revisions are in alembic/versions/)"
        ) from None
    print(f"Database upgraded to {args.revision}.")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    """Say what going back to ``args.revision`` drops; do it only with ``--yes``."""
    from africare_data import migrations

    plan = _run(migrations.downgrade_plan(args.revision))
    print(plan.describe())
    if not args.yes:
        print(
            f"{_PROG}: nothing changed; to downgrade, run again with --yes: "
            f"{_PROG} db downgrade {args.revision} --yes",
            file=sys.stderr,
        )
        return 1
    _run(migrations.downgrade(revision=plan.target or "base"))
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
        raise AfricareDataError(
            f"serve needs the api extra ({error.name} is not installed): "
            "pip install 'africare-data[api]'"
        ) from None
    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def _seed(args: argparse.Namespace) -> int:
    """Generate and load the demo data set; a second run with the same seed changes nothing."""
    from tqdm import tqdm

    from africare_data.database import get_session_maker
    from africare_data.synthetic import generate_demo, load_demo, seeded_rows

    async def seed() -> str:
        async with get_session_maker()() as db:
            await db.connection()  # an unreachable database is reported before any progress bar
            with tqdm(total=3, desc="generating", unit="step") as bar:
                network = {"practitioners": args.practitioners} if args.practitioners else {}
                demo = generate_demo(args.bookings, seed=args.seed, **network)
                frame = demo.bookings
                bar.update()
                bar.set_description("checking")
                present = await seeded_rows(db, frame)
                bar.update()
                if present == len(frame):
                    bar.update()
                    return f"{present} bookings of seed {args.seed} already loaded: nothing to do."
                if present:
                    raise InvalidInputError(
                        f"{present} of the {len(frame)} bookings of seed {args.seed} are "
                        "already loaded by an earlier run with other options or another "
                        "version of the data set; seed an empty database instead (`make clean` "
                        "deletes the embedded one)"
                    )
                bar.set_description(f"loading {len(frame)} bookings")
                await load_demo(db, demo)
                bar.update()
        return (
            f"Loaded {len(frame)} bookings of {len(demo.practitioners)} practitioners over "
            f"{demo.weeks} weeks from {demo.first_day} (seed {args.seed})."
        )

    print(_run(seed()))
    return 0


def _export(args: argparse.Namespace) -> int:
    """Stream the bookings table chunk by chunk into a Parquet or CSV file."""
    path: Path = args.path
    if path.is_dir():
        raise InvalidInputError(f"export: {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise InvalidInputError(
            f"export: the directory {path.parent} does not exist; create it or choose another path"
        )
    try:
        written = _run(_export_bookings(path, args.format, args.chunksize))
    except OSError as error:
        raise InvalidInputError(f"export: cannot write {path}: {error.strerror}") from None
    print(f"Exported {written} bookings to {path} ({args.format}).")
    return 0


async def _export_bookings(path: Path, file_format: str, chunksize: int) -> int:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
    from sqlalchemy import func, select
    from tqdm import tqdm

    from africare_data.database import get_session_maker
    from africare_data.frames import bookings_frame, iter_bookings_frames
    from africare_data.models import Booking

    writer: Any = None
    written = 0
    try:
        async with get_session_maker()() as db:
            total = (await db.execute(select(func.count()).select_from(Booking))).scalar_one()
            with tqdm(total=total, desc=f"exporting to {path}", unit="row") as bar:
                async for chunk in iter_bookings_frames(db, chunksize=chunksize):
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = (
                            pq.ParquetWriter(path, table.schema)
                            if file_format == "parquet"
                            else pa_csv.CSVWriter(path, table.schema)
                        )
                    writer.write_table(table)
                    written += len(chunk)
                    bar.update(len(chunk))
            if writer is None:  # no rows: still write the file, with the schema
                empty = await bookings_frame(db, practitioner_id=-1)
                table = pa.Table.from_pandas(empty, preserve_index=False)
                if file_format == "parquet":
                    pq.write_table(table, path)
                else:
                    pa_csv.write_csv(table, path)
    finally:
        if writer is not None:
            writer.close()
    return written


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def _port(raw: str) -> int:
    value = _count(1)(raw)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, not {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the command; given after it, it overrides the default.
    debug = _Parser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG)
    parser = _Parser(prog=_PROG, description="AfriCare data toolkit: database and data commands.")
    parser.add_argument("--debug", action="store_true", help=_DEBUG)
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="manage the database (embedded PostgreSQL by default)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, run, summary in (
        ("start", _db_start, "start the embedded server (reuses a running one)"),
        ("stop", _db_stop, "stop the embedded server"),
        ("status", _db_status, "is the embedded server running? (exit 3 if not)"),
        ("url", _db_url, "print the database URL, password masked"),
    ):
        db_commands.add_parser(name, help=summary, parents=[debug]).set_defaults(run=run)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply migrations (default: head)", parents=[debug]
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(run=_db_upgrade)
    downgrade = db_commands.add_parser(
        "downgrade",
        help="revert migrations to REV, after saying what it drops (needs --yes)",
        parents=[debug],
    )
    downgrade.add_argument("revision", help="a revision id, -N (N steps back) or base")
    downgrade.add_argument("--yes", action="store_true", help="drop what the plan lists")
    downgrade.set_defaults(run=_db_downgrade)
    serve = commands.add_parser(
        "serve", help="run the web API with uvicorn (needs the api extra)", parents=[debug]
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind (default: 8000)")
    serve.set_defaults(run=_serve)
    seed = commands.add_parser(
        "seed",
        help="load the deterministic demo data set: schedules, time off, bookings (idempotent)",
        parents=[debug],
    )
    seed.add_argument("--bookings", type=_count(1), required=True, help="how many bookings")
    seed.add_argument("--seed", type=_count(0), default=0, help="random seed (default: 0)")
    seed.add_argument(
        "--practitioners",
        type=_count(1),
        default=None,
        help="how many practitioners (default: africare_data.synthetic.generate_demo's, 100)",
    )
    seed.set_defaults(run=_seed)
    export = commands.add_parser(
        "export", help="export a table to a file, chunk by chunk", parents=[debug]
    )
    export.add_argument("table", choices=["bookings"])
    export.add_argument("path", type=Path, help="output file")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--chunksize", type=_count(1), default=100_000, help="rows per chunk")
    export.set_defaults(run=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``africare-data`` console script."""
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    debug: bool = args.debug
    try:
        debug = debug or get_settings().DEBUG
        _configure_logging(debug)
        return run(args)
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            raise
        print(f"{_PROG}: {_one_line(error)}", file=sys.stderr)
        return 1


def _configure_logging(debug: bool) -> None:
    """Library warnings and errors logged on the way (several lines each) only with ``--debug``.

    Without a handler of its own, Python's logging prints them on stderr; a handler that drops
    them keeps the error report to the one line.
    """
    root = logging.getLogger()
    if not debug and not root.handlers:
        root.addHandler(logging.NullHandler())


def _one_line(error: Exception) -> str:
    """What went wrong, for people: the toolkit's own message, or the cause without the stack."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, AfricareDataError):
        message = str(error)
    elif isinstance(error, DBAPIError):
        cause = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
        message = (
            f"lost the connection to the database ({cause}); try again"
            if error.connection_invalidated
            else f"the database refused the command: {cause}"
        )
    elif isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        message = f"{error.strerror}{where}"
    else:
        message = (
            f"unexpected {type(error).__name__}: {error} (run again with --debug for the traceback)"
        )
    return " ".join(message.split())


if __name__ == "__main__":
    sys.exit(main())
