"""Going back never destroys data silently: ``db upgrade`` refuses a lower revision, and
``db downgrade REV`` says what it drops (tables, columns, row counts) and needs ``--yes``.

Each test has its own migrated scratch database holding a few rows. The command is run in this
process through ``africare_data.cli.main`` (the settings pointed at the scratch database) and as the
installed console script (through ``SQLALCHEMY_DATABASE_URI``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from africare_data import cli, migrations
from africare_data.config import reload_settings
from africare_data.database import make_engine, make_session_maker, scratch_database
from africare_data.errors import InvalidInputError
from africare_data.services import BookingService, create_example

SCRIPTS = ScriptDirectory.from_config(migrations.alembic_config())
HEAD = SCRIPTS.get_current_head()
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONSOLE_SCRIPT = Path(sys.executable).parent / "africare-data"


@pytest.fixture
async def database(server_url: URL) -> AsyncIterator[tuple[URL, AsyncEngine]]:
    """A scratch database at head with 3 bookings (1 cancelled, with a reason) and 1 example."""
    async with scratch_database("downgrade", url=server_url) as url:
        engine = make_engine(url, poolclass=NullPool)
        try:
            await migrations.upgrade(engine)
            async with make_session_maker(engine)() as db:
                for hour in range(3):
                    start = NINE + timedelta(hours=hour)
                    await BookingService.create_booking(db, 1, 7, start, start + timedelta(hours=1))
                await BookingService.cancel_booking(db, 1, "moved away")
                await create_example(db, "kept until base")
            yield url, engine
        finally:
            await engine.dispose()


def revision_of(url: URL) -> str | None:
    """The database's revision, read on a loop of its own (the CLI tests are synchronous)."""

    async def read() -> str | None:
        engine = make_engine(url, poolclass=NullPool)
        try:
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def columns_of_bookings(url: URL) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'bookings' ORDER BY ordinal_position"
                    )
                )
                return list(result.scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def in_process(
    database: tuple[URL, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[URL, AsyncEngine]]:
    """``cli.main`` working on the scratch database: the settings name it while the test runs."""
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", database[0].render_as_string(False))
    reload_settings()
    yield database
    monkeypatch.undo()
    reload_settings()


async def test_upgrade_to_a_lower_revision_is_refused(database: tuple[URL, AsyncEngine]) -> None:
    _, engine = database
    for revision in ("0001", "base", "-1"):
        with pytest.raises(InvalidInputError, match=rf"db downgrade {revision}`"):
            await migrations.upgrade(engine, revision)
    assert await migrations.current_revision(engine) == HEAD
    await migrations.upgrade(engine, HEAD)  # the current one: nothing to do, no error
    with pytest.raises(InvalidInputError, match=r"'nosuchrev'.*known: head, base, 0001"):
        await migrations.upgrade(engine, "nosuchrev")


async def test_the_plan_names_dropped_columns_with_their_row_counts(
    database: tuple[URL, AsyncEngine], server_url: URL
) -> None:
    _, engine = database
    plan = await migrations.downgrade_plan("0001", engine, server=server_url)
    assert (plan.current, plan.target) == (HEAD, "0001")
    assert [(table.name, table.rows) for table in plan.tables] == [
        ("availability_exceptions", 0),
        ("availability_rules", 0),
        ("practitioner_event_types", 0),
    ]
    assert [(c.table, c.name, c.rows, c.values) for c in plan.columns] == [
        ("bookings", "cancellation_reason", 3, 1),
        ("bookings", "cancelled_at", 3, 1),
    ]
    assert plan.describe().endswith(
        "  column bookings.cancellation_reason (3 rows, 1 with a value)\n"
        "  column bookings.cancelled_at (3 rows, 1 with a value)"
    )
    assert await migrations.current_revision(engine) == HEAD  # planning changed nothing


async def test_the_plan_to_base_names_every_table(
    database: tuple[URL, AsyncEngine], server_url: URL
) -> None:
    _, engine = database
    plan = await migrations.downgrade_plan("base", engine, server=server_url)
    assert plan.target is None and plan.columns == ()
    assert [(table.name, table.rows) for table in plan.tables] == [
        ("availability_exceptions", 0),
        ("availability_rules", 0),
        ("bookings", 3),
        ("event_types", 0),
        ("examples", 1),
        ("posts", 0),
        ("practitioner_event_types", 0),
        ("users", 0),
    ]
    assert "  table bookings (3 rows)\n" in plan.describe()
    assert "  table examples (1 row)\n" in plan.describe()
    to_0004 = await migrations.downgrade_plan("0004", engine, server=server_url)
    assert to_0004.columns == ()
    assert [table.name for table in to_0004.tables] == [
        "availability_exceptions",
        "availability_rules",
        "practitioner_event_types",
    ]


async def test_the_plan_refuses_what_is_not_a_downgrade(
    database: tuple[URL, AsyncEngine], server_url: URL
) -> None:
    _, engine = database
    for revision in ("head", HEAD):
        with pytest.raises(InvalidInputError, match="nothing to downgrade"):
            await migrations.downgrade_plan(revision, engine, server=server_url)
    with pytest.raises(InvalidInputError, match="'nosuchrev'"):
        await migrations.downgrade_plan("nosuchrev", engine, server=server_url)


def test_cli_upgrade_below_refuses_in_one_line(
    in_process: tuple[URL, AsyncEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = in_process
    assert cli.main(["db", "upgrade", "0001"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "africare-data db downgrade 0001" in err
    assert revision_of(url) == HEAD


def test_cli_downgrade_lists_and_needs_yes(
    in_process: tuple[URL, AsyncEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = in_process
    assert cli.main(["db", "downgrade", "0001"]) == 1
    out, err = capsys.readouterr()
    assert "column bookings.cancellation_reason (3 rows, 1 with a value)" in out
    assert "--yes" in err
    assert revision_of(url) == HEAD
    assert "cancellation_reason" in columns_of_bookings(url)

    assert cli.main(["db", "downgrade", "0001", "--yes"]) == 0
    out, _ = capsys.readouterr()
    assert out.endswith("Database downgraded to 0001.\n")
    assert revision_of(url) == "0001"
    assert "cancellation_reason" not in columns_of_bookings(url)


def test_the_console_script(database: tuple[URL, AsyncEngine]) -> None:
    url, _ = database
    environment = {**os.environ, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False)}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), "db", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    refused = run("upgrade", "0001")
    assert (refused.returncode, refused.stdout) == (1, "")
    assert "africare-data db downgrade 0001" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run("downgrade", "base", "--yes")
    assert done.returncode == 0, done.stderr
    assert "  table bookings (3 rows)\n" in done.stdout
    assert done.stdout.endswith("Database downgraded to base.\n")
    assert revision_of(url) is None
