"""The original document's data-layer entry points (get_session, create_db_and_tables) and
scratch databases."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import database
from africare_data.database import (
    create_database,
    create_db_and_tables,
    drop_database,
    make_engine,
    make_session_maker,
    scratch_database,
)
from africare_data.errors import AfricareDataError, DatabaseUnavailableError
from africare_data.models import Base


async def test_get_session_yields_one_working_session() -> None:
    sessions = database.get_session()
    session = await anext(sessions)
    assert isinstance(session, AsyncSession)
    assert session.sync_session.expire_on_commit is False
    assert (await session.execute(text("SELECT 41 + 1"))).scalar_one() == 42
    with pytest.raises(StopAsyncIteration):
        await anext(sessions)
    await database.engine.dispose()


async def test_create_db_and_tables_builds_every_model_table(server_url: URL) -> None:
    async with scratch_database("tables", url=server_url) as url:
        engine = make_engine(url)
        try:
            await create_db_and_tables(engine)
            async with engine.connect() as connection:
                tables = await connection.run_sync(
                    lambda sync: set(inspect(sync).get_table_names())
                )
        finally:
            await engine.dispose()
    assert tables == set(Base.metadata.tables)


async def test_scratch_databases_are_created_and_dropped(server_url: URL) -> None:
    url = await create_database("pytest_scratch_probe", url=server_url)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
        assert name == "pytest_scratch_probe"
    finally:
        await engine.dispose()
        await drop_database("pytest_scratch_probe", url=server_url)
    server = make_engine(server_url)
    try:
        async with server.connect() as connection:
            gone = await connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = 'pytest_scratch_probe'")
            )
            assert gone.scalar_one() == 0
    finally:
        await server.dispose()


@pytest.mark.parametrize("name", ["Robert'); DROP TABLE x;--", "UPPER", "", "1starts_with_digit"])
async def test_database_names_are_validated(name: str, server_url: URL) -> None:
    with pytest.raises(ValueError, match="must be lower-case letters"):
        await create_database(name, url=server_url)


async def test_checkout_sends_no_ping(
    db_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    monkeypatch.setattr(db_engine.dialect, "do_ping", pings.append)
    sessions = make_session_maker(db_engine)
    for _ in range(5):
        async with sessions() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    assert pings == []


async def test_an_unknown_database_is_a_toolkit_error(server_url: URL) -> None:
    engine = make_engine(server_url.set(database="no_such_database"))
    try:
        with pytest.raises(DatabaseUnavailableError) as raised:
            async with make_session_maker(engine)() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    message = str(raised.value)
    assert message.startswith("database 'no_such_database' does not exist on ")
    assert "create it (CREATE DATABASE) or fix the database name" in message
    assert isinstance(raised.value, AfricareDataError)
