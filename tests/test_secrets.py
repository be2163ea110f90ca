"""The database password: usable by the code that connects, never shown to people.

``str(settings.SQLALCHEMY_DATABASE_URI)`` is the usable URL, as the original document's
``create_async_engine(str(settings.SQLALCHEMY_DATABASE_URI), echo=settings.DEBUG)`` needs; every
representation meant for display (``repr``, the settings' ``repr``/``str``, ``model_dump``,
``model_dump_json``, the CLI, error messages) masks the password, also when it was given as a
``password`` query parameter.

Which servers check a password: the embedded server trusts its unix socket, and the CI machine's
127.0.0.1:5432 uses trust authentication. So one test starts an embedded server of its own whose
``pg_hba.conf`` requires scram-sha-256 for a test role (skipped when the run targets another
server); the other, run on every server, proves that the driver receives the password.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from africare_data import config, embedded
from africare_data.config import DatabaseURL, Settings, mask_url, reload_settings
from africare_data.database import make_engine
from africare_data.errors import DatabaseUnavailableError
from tests.conftest import requires_embedded

SECRET = "s3cr3t/Pa55@word"  # '/' and '@' must survive the URL's quoting
QUOTED_SECRET = "s3cr3t%2FPa55%40word"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No ambient URL or .env; the cached settings are re-read afterwards."""
    for name in ("SQLALCHEMY_DATABASE_URI", "DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch
    monkeypatch.undo()
    reload_settings()


@pytest.mark.parametrize(
    "given",
    [
        f"postgresql://app:{QUOTED_SECRET}@db.example:5432/africare",
        f"postgresql://app@db.example:5432/africare?password={QUOTED_SECRET}",
    ],
    ids=["in the authority", "as a query parameter"],
)
def test_every_display_form_masks_the_password(given: str) -> None:
    settings = Settings(SQLALCHEMY_DATABASE_URI=given)
    url = settings.SQLALCHEMY_DATABASE_URI
    assert isinstance(url, DatabaseURL)
    shown = [
        repr(settings),
        str(settings),
        repr(url),
        mask_url(url),
        repr(settings.model_dump()),
        settings.model_dump_json(),
        repr(make_engine(url)),
        repr(make_engine(url).url),
    ]
    for text_shown in shown:
        assert SECRET not in text_shown and QUOTED_SECRET not in text_shown, text_shown
    assert settings.model_dump()["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+asyncpg://app:***@db.example:5432/africare"
    )


@pytest.mark.parametrize(
    "given",
    [
        f"postgresql://app:{QUOTED_SECRET}@db.example:5432/africare?sslmode=require",
        f"postgres://app@db.example:5432/africare?sslmode=require&password={QUOTED_SECRET}",
    ],
)
def test_str_of_the_url_is_usable(given: str) -> None:
    url = Settings(SQLALCHEMY_DATABASE_URI=given).SQLALCHEMY_DATABASE_URI
    assert url is not None
    assert str(url) == (
        f"postgresql+asyncpg://app:{QUOTED_SECRET}@db.example:5432/africare?sslmode=require"
    )
    assert url.password == SECRET
    assert create_async_engine(str(url)).url.password == SECRET


def test_a_password_given_twice_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="more than once") as raised:
        Settings(SQLALCHEMY_DATABASE_URI=f"postgresql://app:x@db/a?password={QUOTED_SECRET}")
    assert SECRET not in str(raised.value) and QUOTED_SECRET not in str(raised.value)


def test_the_cli_never_prints_the_password(tmp_path: Path) -> None:
    for given in (
        f"postgresql://app:{QUOTED_SECRET}@db.example:5432/x",
        f"postgresql://app@db.example:5432/x?password={QUOTED_SECRET}&sslpassword=other",
    ):
        result = subprocess.run(
            [sys.executable, "-m", "africare_data.cli", "db", "url"],
            env={"SQLALCHEMY_DATABASE_URI": given, "PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        )
        assert QUOTED_SECRET not in result.stdout and SECRET not in result.stdout
        assert result.stdout.startswith("postgresql+asyncpg://app:***@db.example:5432/x")
    assert result.stdout.strip().endswith("?sslpassword=***")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_connection_errors_and_logs_never_show_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://app:{QUOTED_SECRET}@127.0.0.1:{closed_port()}/x"
    engine = make_engine(url)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(DatabaseUnavailableError) as raised:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    message = str(raised.value)
    assert "127.0.0.1" in message and "'x'" in message and "'app'" in message
    for text_shown in (message, repr(raised.value), caplog.text):
        assert SECRET not in text_shown and QUOTED_SECRET not in text_shown


@pytest.fixture
def password_role(server_url: URL) -> Iterator[str]:
    """A login role with the password SECRET on the server under test, dropped afterwards."""
    role = f"pw_{uuid.uuid4().hex[:10]}"
    with _superuser(server_url) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(SECRET)
            )
        )
    yield role
    with _superuser(server_url) as connection:
        connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _superuser(url: URL) -> psycopg.Connection[Any]:
    socket_dir = url.query.get("host")
    return psycopg.connect(
        host=str(socket_dir) if socket_dir else url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )


async def test_the_original_line_connects_with_the_password(
    environment: pytest.MonkeyPatch, server_url: URL, password_role: str
) -> None:
    """On any server: the engine built from ``str()`` of the field hands the driver the password."""
    login = server_url.set(username=password_role, password=SECRET)
    environment.setenv("SQLALCHEMY_DATABASE_URI", login.render_as_string(hide_password=False))
    reload_settings()
    settings = config.settings

    engine = create_async_engine(str(settings.SQLALCHEMY_DATABASE_URI), echo=settings.DEBUG)
    received: list[object] = []

    @event.listens_for(engine.sync_engine, "do_connect")
    def _record(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        received.append(cparams.get("password"))

    try:
        async with engine.connect() as connection:
            user = (await connection.execute(text("SELECT current_user"))).scalar_one()
    finally:
        await engine.dispose()
    assert user == password_role
    assert received == [SECRET]


@pytest.fixture
def checking_server(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """An embedded server of this test's own that checks the password of role ``pw_checked``."""
    socket_dir = embedded.ensure_running(data_dir)
    role = "pw_checked"
    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres") as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(SECRET)
            )
        )
        hba = embedded.pgdata_path(data_dir) / "pg_hba.conf"
        hba.write_text(f"local all {role} scram-sha-256\n" + hba.read_text())
        connection.execute("SELECT pg_reload_conf()")
        method = connection.execute(
            "SELECT auth_method FROM pg_hba_file_rules WHERE %s = ANY(user_name) LIMIT 1",
            (role,),
        ).fetchone()
    assert method == ("scram-sha-256",)  # the server really checks this role's password
    yield socket_dir, role


@requires_embedded
async def test_a_password_checking_server_accepts_the_original_line(
    environment: pytest.MonkeyPatch, checking_server: tuple[Path, str]
) -> None:
    socket_dir, role = checking_server
    login = URL.create(
        "postgresql",
        username=role,
        password=SECRET,
        database="africare",
        query={"host": str(socket_dir)},
    )
    environment.setenv("SQLALCHEMY_DATABASE_URI", login.render_as_string(hide_password=False))
    reload_settings()
    settings = config.settings

    engine = create_async_engine(str(settings.SQLALCHEMY_DATABASE_URI), echo=settings.DEBUG)
    try:
        async with engine.connect() as connection:
            user = (await connection.execute(text("SELECT current_user"))).scalar_one()
    finally:
        await engine.dispose()
    assert user == role

    # The control: the masked form is refused, so the password above was really checked.
    assert settings.SQLALCHEMY_DATABASE_URI is not None
    masked = create_async_engine(mask_url(settings.SQLALCHEMY_DATABASE_URI))
    try:
        with pytest.raises(Exception, match="password authentication failed"):
            async with masked.connect():
                pass
    finally:
        await masked.dispose()
