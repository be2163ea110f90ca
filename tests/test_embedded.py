"""The embedded PostgreSQL lifecycle, each test with its own data directory (and server)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from sqlalchemy import make_url, text

from africare_data import embedded
from africare_data.config import Settings
from africare_data.database import make_engine, make_session_maker
from africare_data.errors import EmbeddedServerError
from tests.conftest import requires_embedded

pytestmark = requires_embedded


def cluster_processes(data_dir: Path) -> list[int]:
    return [process.pid for process in embedded._cluster_processes(embedded.pgdata_path(data_dir))]


def run_python(code: str, data_dir: Path, **popen: object) -> subprocess.Popen[str]:
    environment = {**os.environ, "AFRICARE_DATA_DIR": str(data_dir)}
    environment.pop("SQLALCHEMY_DATABASE_URI", None)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


def process_alive(pid: int) -> bool:
    """True for a live process; a zombie (a killed server nobody reaped) counts as dead."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_until_dead(pid: int) -> None:
    """SIGKILL is asynchronous: wait until the process is gone (or an unreaped zombie)."""
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid)


START_AND_PRINT_PID = """
    from pathlib import Path
    import os
    from africare_data import embedded
    folder = Path(os.environ["AFRICARE_DATA_DIR"])
    embedded.ensure_running(folder)
    print(embedded.status(folder).pid)
"""


def test_importing_the_package_starts_nothing(data_dir: Path) -> None:
    process = run_python(
        "import africare_data, africare_data.database, africare_data.migrations, africare_data.cli",
        data_dir,
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert not data_dir.exists()


def test_start_status_reuse_and_stop(data_dir: Path) -> None:
    assert not embedded.status(data_dir).running
    socket_dir = embedded.ensure_running(data_dir)
    state = embedded.status(data_dir)
    assert state.running and state.socket_dir == socket_dir
    assert (data_dir / ".gitignore").read_text().splitlines()[-1] == "*"

    later_process = run_python(START_AND_PRINT_PID, data_dir)
    stdout, stderr = later_process.communicate(timeout=60)
    assert int(stdout) == state.pid, stderr

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="africare") as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("africare",)

    assert embedded.stop(data_dir) is True
    assert not embedded.status(data_dir).running
    assert cluster_processes(data_dir) == []
    assert embedded.stop(data_dir) is False


def test_two_processes_starting_at_once_share_one_server(data_dir: Path) -> None:
    starters = [run_python(START_AND_PRINT_PID, data_dir) for _ in range(2)]
    results = [starter.communicate(timeout=120) for starter in starters]
    assert [starter.returncode for starter in starters] == [0, 0], results
    pids = {int(stdout) for stdout, _ in results}
    assert pids == {embedded.status(data_dir).pid}


def test_committed_data_survives_sigkill_of_the_server(data_dir: Path) -> None:
    socket_dir = embedded.ensure_running(data_dir)
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="africare") as connection:
        connection.execute("CREATE TABLE survivors (name text)")
        connection.execute("INSERT INTO survivors VALUES ('committed')")
    killed_pid = embedded.status(data_dir).pid
    assert killed_pid is not None
    os.kill(killed_pid, signal.SIGKILL)
    wait_until_dead(killed_pid)

    socket_dir = embedded.ensure_running(data_dir)
    assert embedded.status(data_dir).pid != killed_pid
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="africare") as connection:
        assert connection.execute("SELECT name FROM survivors").fetchall() == [("committed",)]


async def test_pooled_engine_survives_a_server_restart(data_dir: Path) -> None:
    engine = make_engine(config=Settings(AFRICARE_DATA_DIR=data_dir))
    try:
        async with engine.connect() as connection:  # first use starts the server
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        first_pid = embedded.status(data_dir).pid
        embedded.stop(data_dir)
        # The server closed the pooled connection; once the event loop has read that (a
        # notebook's loop does between two cells), checkout replaces it without a round trip.
        await asyncio.sleep(0.05)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 2"))).scalar_one() == 2
        assert embedded.status(data_dir).pid not in (None, first_pid)
    finally:
        await engine.dispose()


def test_unwritable_data_dir_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddedServerError, match="is not writable") as raised:
        embedded.ensure_running(blocker / "data")
    assert "AFRICARE_DATA_DIR" in str(raised.value)
    assert blocker.read_text() == "not a directory"


def test_failed_start_leaves_no_process_and_the_next_start_works(data_dir: Path) -> None:
    embedded.ensure_running(data_dir)
    embedded.stop(data_dir)
    config_file = embedded.pgdata_path(data_dir) / "postgresql.conf"
    good_config = config_file.read_text()
    config_file.write_text(good_config + "\nshared_buffers = 'plenty'\n")

    with pytest.raises(EmbeddedServerError, match="failed to start") as raised:
        embedded.ensure_running(data_dir)
    assert str(embedded.log_path(data_dir)) in str(raised.value)
    assert "shared_buffers" in embedded.log_path(data_dir).read_text()
    assert cluster_processes(data_dir) == []
    assert not embedded.status(data_dir).running

    config_file.write_text(good_config)
    embedded.ensure_running(data_dir)
    assert embedded.status(data_dir).running


def test_interrupted_initialisation_leaves_nothing_behind(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_class = embedded._pgserver().PostgresServer

    def initdb_dies_halfway(self: object) -> None:
        (Path(self.pgdata) / "PG_VERSION_half_written").write_text("18")  # type: ignore[attr-defined]
        raise subprocess.CalledProcessError(1, "initdb")

    monkeypatch.setattr(server_class, "ensure_pgdata_inited", initdb_dies_halfway)
    with pytest.raises(EmbeddedServerError, match="Could not initialise"):
        embedded.ensure_running(data_dir)
    assert sorted(path.name for path in data_dir.iterdir()) == [".gitignore", ".lock"]

    monkeypatch.undo()
    embedded.ensure_running(data_dir)
    assert embedded.status(data_dir).running


def test_cli_manages_the_server(data_dir: Path) -> None:
    def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "AFRICARE_DATA_DIR": str(data_dir)}
        environment.pop("SQLALCHEMY_DATABASE_URI", None)
        return subprocess.run(
            [sys.executable, "-m", "africare_data.cli", "db", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    assert cli("status").returncode == 3
    started = cli("start")
    assert started.returncode == 0, started.stderr
    assert "Embedded PostgreSQL running" in started.stdout
    status = cli("status")
    assert status.returncode == 0 and "running:        yes" in status.stdout
    url = make_url(cli("url").stdout.strip())
    assert (url.drivername, url.username, url.database) == (
        "postgresql+asyncpg",
        "postgres",
        "africare",
    )
    assert url.query["host"] == str(embedded.status(data_dir).socket_dir)
    assert cli("stop").stdout.strip() == "Embedded PostgreSQL stopped."
    assert cli("status").returncode == 3


def kill_postmaster(data_dir: Path) -> int:
    """SIGKILL the running server's postmaster (its backends stay behind, as after a crash)."""
    pid = embedded.status(data_dir).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return pid


async def test_twenty_kills_each_followed_at_once_by_a_query(data_dir: Path) -> None:
    """Every cycle: commit a row, SIGKILL the postmaster, query at once with a new engine (what a
    new process does); the query must succeed and see every committed row."""
    config = Settings(AFRICARE_DATA_DIR=data_dir)
    setup = make_engine(config=config)
    try:
        async with setup.begin() as connection:
            await connection.execute(text("CREATE TABLE survivors (n int)"))
    finally:
        await setup.dispose()
    for cycle in range(20):
        engine = make_engine(config=config)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO survivors VALUES (:n)"), {"n": cycle})
            killed = kill_postmaster(data_dir)
            await engine.dispose()  # a new process has no pooled connections
            async with engine.connect() as connection:
                rows = (await connection.execute(text("SELECT n FROM survivors"))).scalars()
                assert sorted(rows) == list(range(cycle + 1)), f"cycle {cycle}"
            assert embedded.status(data_dir).pid not in (None, killed)
        finally:
            await engine.dispose()


def test_a_new_process_queries_right_after_a_kill(data_dir: Path) -> None:
    embedded.ensure_running(data_dir)
    kill_postmaster(data_dir)
    query = run_python(
        """
        import asyncio
        from sqlalchemy import text
        from africare_data.database import engine

        async def main():
            async with engine.connect() as connection:
                print((await connection.execute(text("SELECT 42"))).scalar_one())
            await engine.dispose()

        asyncio.run(main())
        """,
        data_dir,
    )
    stdout, stderr = query.communicate(timeout=120)
    assert query.returncode == 0, stderr
    assert stdout.strip() == "42"


async def test_a_long_lived_engine_is_used_at_once_after_a_kill(data_dir: Path) -> None:
    """A notebook's engine holds pooled connections when the server is killed; the next query,
    issued at once, succeeds without a ping per checkout, and so do the next writes."""
    engine = make_engine(config=Settings(AFRICARE_DATA_DIR=data_dir))
    sessions = make_session_maker(engine)
    pings: list[object] = []
    original_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return original_ping(dbapi_connection)

    engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]

    async def insert(n: int) -> None:
        async with sessions() as db:
            await db.execute(text("INSERT INTO survivors VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # keep the three sessions' connections out at once
            await db.commit()

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE survivors (n int)"))
        committed = 0
        for _ in range(5):
            await asyncio.gather(*(insert(committed + offset) for offset in range(3)))
            committed += 3
            killed = kill_postmaster(data_dir)
            async with sessions() as db:  # at once: the pool still holds the old connections
                count = (await db.execute(text("SELECT count(*) FROM survivors"))).scalar_one()
            assert count == committed
            # Before writing again, let the killed server's backends finish exiting and the event
            # loop read their goodbyes, as it does between two notebook cells.
            wait_until_dead(killed)
            while cluster_processes(data_dir) and embedded.status(data_dir).pid == killed:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)
        assert pings == []
    finally:
        await engine.dispose()


def test_a_stale_pid_of_another_program_does_not_block_the_start(data_dir: Path) -> None:
    embedded.ensure_running(data_dir)
    embedded.stop(data_dir)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pid_file = embedded.pgdata_path(data_dir) / "postmaster.pid"
        pid_file.write_text(f"{stranger.pid}\n{embedded.pgdata_path(data_dir)}\n0\n5432\n\n\n")
        state = embedded.status(data_dir)
        assert (state.state, state.running, state.pid) == ("stale", False, stranger.pid)

        socket_dir = embedded.ensure_running(data_dir)
        state = embedded.status(data_dir)
        assert state.running and state.pid not in (None, stranger.pid)
        assert state.socket_dir == socket_dir
        assert stranger.poll() is None  # the other program was left alone
    finally:
        stranger.kill()
        stranger.wait()


def test_status_tells_the_truth_in_every_state(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def status_line() -> tuple[int, str]:
        environment = {**os.environ, "AFRICARE_DATA_DIR": str(data_dir)}
        environment.pop("SQLALCHEMY_DATABASE_URI", None)
        result = subprocess.run(
            [sys.executable, "-m", "africare_data.cli", "db", "status"],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        return result.returncode, result.stdout.splitlines()[-1]

    assert status_line() == (3, "running:        no")

    embedded.ensure_running(data_dir)
    pid = embedded.status(data_dir).pid
    assert status_line() == (
        0,
        f"running:        yes (pid {pid}, socket in {embedded.pgdata_path(data_dir)})",
    )

    kill_postmaster(data_dir)
    assert pid is not None
    wait_until_dead(pid)
    assert status_line() == (
        3,
        f"running:        no (postmaster.pid names pid {pid}, which is not this server: "
        "a stale file, replaced at the next start)",
    )

    # A process of the cluster that does not accept connections: starting up or dying.
    embedded.ensure_running(data_dir)
    socket_file = embedded.pgdata_path(data_dir) / ".s.PGSQL.5432"
    hidden = socket_file.with_name("hidden-socket")
    socket_file.rename(hidden)
    try:
        code, line = status_line()
        assert code == 3
        assert line.startswith("running:        not accepting connections (pid ")
        monkeypatch.setattr(embedded, "_SETTLE_SECONDS", 0.5)
        with pytest.raises(EmbeddedServerError, match="runs but has not accepted connections"):
            embedded.ensure_running(data_dir)
    finally:
        hidden.rename(socket_file)
    assert status_line()[0] == 0
