"""Shared fixtures: every test run gets its own migrated scratch database on a real PostgreSQL.

The server is the embedded one by default, or the one named by ``AFRICARE_TEST_DATABASE_URL``
(``make test`` also runs the suite against the CI machine's PostgreSQL at 127.0.0.1:5432). The
scratch database is built by the Alembic migrations, never ``create_all``, so the tests see exactly
the schema production gets; it is dropped at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import embedded, migrations
from africare_data.api import create_app
from africare_data.config import normalise_database_url
from africare_data.database import (
    get_session,
    make_engine,
    make_session_maker,
    resolve_url,
    scratch_database,
)
from africare_data.models import Base

TEST_URL_VARIABLE = "AFRICARE_TEST_DATABASE_URL"
EXTERNAL_SERVER = os.environ.get(TEST_URL_VARIABLE) or None

requires_embedded = pytest.mark.skipif(
    EXTERNAL_SERVER is not None,
    reason=f"tests the embedded server; {TEST_URL_VARIABLE} points the run at another one",
)


@pytest.fixture(scope="session")
def server_url() -> URL:
    """A URL on the server under test (its default database)."""
    if EXTERNAL_SERVER is not None:
        return normalise_database_url(EXTERNAL_SERVER)
    return resolve_url()


@pytest.fixture(scope="session")
async def database_url(server_url: URL) -> AsyncIterator[URL]:
    """A scratch database for this run, migrated to head, dropped afterwards."""
    async with scratch_database("pytest", url=server_url) as url:
        migrating = make_engine(url)
        try:
            await migrations.upgrade(migrating)
        finally:
            await migrating.dispose()
        yield url


@pytest.fixture(scope="session")
async def db_engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    """The run's engine on the scratch database."""
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose every change, commits included, is rolled back after the test.

    The session joins an outer transaction and turns its own commits into savepoints, so code that
    calls ``commit()`` runs unchanged and the database is clean for the next test.
    """
    async with db_engine.connect() as connection:
        transaction = await connection.begin()
        db = AsyncSession(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield db
        finally:
            await db.close()
            await transaction.rollback()


@pytest.fixture
async def committed_engine(db_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The run's engine for tests that must really commit (concurrency, separate sessions).

    Every table is emptied afterwards, identities reset, so tests do not see each other's rows.
    """
    yield db_engine
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db_engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory of the test's own; whatever server ran in it is stopped afterwards.

    It is not under pytest's ``tmp_path``: as root the server runs as another user, and a pytest
    session starting meanwhile (another checkout's) makes ``/tmp/pytest-of-root`` private again,
    which would lock that user out of a running server's files.
    """
    parent = Path(tempfile.mkdtemp(prefix="africare-test-"))
    folder = parent / "data"
    yield folder
    if embedded.status(folder).running:
        embedded.stop(folder)
    embedded._kill_cluster_processes(embedded.pgdata_path(folder))
    shutil.rmtree(parent, ignore_errors=True)


# --- the web API on the run's scratch database ------------------------------------------------


@pytest.fixture
def app(committed_engine: AsyncEngine) -> FastAPI:
    """The application, serving the run's scratch database (one session per request)."""
    application = create_app()
    sessions = make_session_maker(committed_engine)

    async def scratch_session() -> AsyncIterator[AsyncSession]:
        async with sessions() as db:
            yield db

    application.dependency_overrides[get_session] = scratch_session
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
