"""The ``africare-data`` command reports every error in one line, without a traceback.

Each case runs the installed console script in a subprocess and checks the exit status (1 for an
error, 2 for a usage error), that stderr is exactly one line naming the problem, and that no
traceback appears unless ``--debug`` or ``DEBUG=true`` asks for one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

CLI = str(Path(sys.executable).parent / "africare-data")


def run_cli(
    *arguments: str, cwd: Path, timeout: float = 120, **environment: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *arguments],
        env={
            "PATH": os.environ["PATH"],
            "AFRICARE_DATA_DIR": str(cwd / "data"),
            **environment,
        },
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The single stderr line of a failed run (asserting there is exactly one)."""
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def test_a_bad_url_is_one_line(tmp_path: Path) -> None:
    result = run_cli("db", "url", cwd=tmp_path, SQLALCHEMY_DATABASE_URI="mysql://app:pw@db/x")
    assert one_line_error(result) == (
        "africare-data: Invalid configuration: SQLALCHEMY_DATABASE_URI must be a PostgreSQL URL "
        "(postgresql://, postgres:// or postgresql+asyncpg://), not 'mysql'"
    )


def test_a_bad_debug_value_is_one_line(tmp_path: Path) -> None:
    result = run_cli("db", "status", cwd=tmp_path, DEBUG="maybe")
    assert one_line_error(result).startswith("africare-data: Invalid configuration: DEBUG ")


def test_connection_refused_is_one_line(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql://app:pw@127.0.0.1:{port}/africare"
    line = one_line_error(run_cli("db", "upgrade", cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url))
    assert line.startswith(f"africare-data: cannot connect to PostgreSQL at 127.0.0.1:{port} ")
    assert "connection refused" in line and "SQLALCHEMY_DATABASE_URI" in line


def test_an_unknown_role_is_one_line(tmp_path: Path, server_url: URL) -> None:
    url = url_text(server_url.set(username="no_such_role", password=None))
    line = one_line_error(run_cli("db", "upgrade", cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url))
    assert 'role "no_such_role" does not exist' in line
    assert "check the user and password" in line


def test_an_unknown_database_is_one_line(tmp_path: Path, server_url: URL) -> None:
    url = url_text(server_url.set(database="no_such_database"))
    line = one_line_error(run_cli("db", "upgrade", cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url))
    assert line.startswith("africare-data: database 'no_such_database' does not exist")


def test_an_unknown_revision_is_one_line(tmp_path: Path, database_url: URL) -> None:
    result = run_cli(
        "db", "upgrade", "nosuchrev", cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url_text(database_url)
    )
    line = one_line_error(result)
    assert line.startswith("africare-data: revision 'nosuchrev': Can't locate revision")


def test_a_negative_count_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("seed", "--bookings", "-5", cwd=tmp_path)
    assert one_line_error(result, status=2) == (
        "africare-data seed: argument --bookings: must be at least 1, not -5 "
        "(see africare-data seed --help)"
    )


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "70000", cwd=tmp_path)
    assert "a port is between 1 and 65535, not 70000" in one_line_error(result, status=2)


def test_an_export_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    result = run_cli("export", "bookings", "/missing/dir/x.parquet", cwd=tmp_path)
    assert one_line_error(result) == (
        "africare-data: export: the directory /missing/dir does not exist; "
        "create it or choose another path"
    )
    assert not (tmp_path / "data").exists()  # refused before starting any server


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()
    for connection in accepted:
        connection.close()


def test_a_silent_server_times_out_in_one_line(tmp_path: Path, silent_server: int) -> None:
    url = f"postgresql://app@127.0.0.1:{silent_server}/africare"
    started = time.monotonic()
    result = run_cli(
        "db", "upgrade", cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url, AFRICARE_CONNECT_TIMEOUT="1"
    )
    elapsed = time.monotonic() - started
    line = one_line_error(result)
    assert f"PostgreSQL at 127.0.0.1:{silent_server} (database 'africare', user 'app')" in line
    assert "did not answer within 1 s" in line and "AFRICARE_CONNECT_TIMEOUT" in line
    assert elapsed < 30  # bounded by the setting, far below the driver's own 60 s


@pytest.mark.parametrize(
    ("arguments", "environment"),
    [
        (("--debug", "db", "upgrade"), {}),
        (("db", "upgrade", "--debug"), {}),
        (("db", "upgrade"), {"DEBUG": "true"}),
    ],
    ids=["--debug first", "--debug last", "DEBUG=true"],
)
def test_debug_shows_the_traceback(
    tmp_path: Path, arguments: tuple[str, ...], environment: dict[str, str]
) -> None:
    url = f"postgresql://app@127.0.0.1:{closed_port()}/africare"
    result = run_cli(*arguments, cwd=tmp_path, SQLALCHEMY_DATABASE_URI=url, **environment)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "africare_data.errors.DatabaseUnavailableError: cannot connect to PostgreSQL"
    )
