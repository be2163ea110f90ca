"""Engines and sessions, following the platform's original ``database.py``.

The module-level ``engine`` and ``async_session_maker`` are created at import but connect only on
first use. Without ``SQLALCHEMY_DATABASE_URI`` the engine's first connection starts (or finds) the
embedded PostgreSQL; a pre-ping on checkout replaces connections a restarted server has dropped.

:func:`make_engine` builds an engine for another URL or another database on the same server, and
:func:`create_database` / :func:`drop_database` / :func:`scratch_database` manage isolated
databases for tests and notebooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from africare_data import embedded
from africare_data.config import Settings, normalise_database_url, settings
from africare_data.models import Base

__all__ = [
    "Base",
    "async_session_maker",
    "create_database",
    "create_db_and_tables",
    "drop_database",
    "engine",
    "get_session",
    "make_engine",
    "make_session_maker",
    "resolve_url",
    "scratch_database",
]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MAINTENANCE_DATABASE = "postgres"


def resolve_url(config: Settings = settings, *, database: str | None = None) -> URL:
    """The concrete URL the toolkit connects to, optionally for another ``database``.

    For the embedded server this starts it (if needed), since its socket directory is only known
    once it runs.
    """
    if config.SQLALCHEMY_DATABASE_URI is not None:
        url = config.SQLALCHEMY_DATABASE_URI
    else:
        url = embedded.server_url(embedded.ensure_running(config.AFRICARE_DATA_DIR))
    return url if database is None else url.set(database=database)


def make_engine(
    url: URL | str | None = None,
    *,
    database: str | None = None,
    config: Settings = settings,
    **engine_options: Any,
) -> AsyncEngine:
    """Create an async engine without connecting.

    ``url`` defaults to the configured server; ``database`` swaps the database name on that
    server. With the embedded default, the server is started by the first connection, not here.
    """
    engine_options.setdefault("echo", config.DEBUG)
    engine_options.setdefault("pool_pre_ping", True)
    target = url if url is not None else config.SQLALCHEMY_DATABASE_URI
    if target is None:
        return _embedded_engine(config, database, engine_options)
    resolved = normalise_database_url(target)
    if database is not None:
        resolved = resolved.set(database=database)
    return create_async_engine(resolved, **engine_options)


def _embedded_engine(
    config: Settings, database: str | None, engine_options: dict[str, Any]
) -> AsyncEngine:
    """An engine whose every new connection first makes sure the embedded server runs.

    The socket directory is filled in per connection, so a server restarted elsewhere (or after a
    crash) is found again by the next connection the pool opens.
    """
    placeholder = URL.create(
        "postgresql+asyncpg",
        username=embedded.SUPERUSER,
        database=database or embedded.DATABASE_NAME,
    )
    new_engine = create_async_engine(placeholder, **engine_options)
    data_dir = config.AFRICARE_DATA_DIR

    @event.listens_for(new_engine.sync_engine, "do_connect")
    def _start_embedded_server(
        dialect: Any, connection_record: Any, cargs: Any, cparams: dict[str, Any]
    ) -> None:
        cparams["host"] = str(embedded.ensure_running(data_dir))

    return new_engine


def make_session_maker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory configured like the default one (no expiry on commit)."""
    return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False)


engine: AsyncEngine = make_engine()
async_session_maker: async_sessionmaker[AsyncSession] = make_session_maker(engine)


async def get_session() -> AsyncIterator[AsyncSession]:
    """Yield one session and close it afterwards (a FastAPI-style dependency)."""
    async with async_session_maker() as session:
        yield session


async def create_db_and_tables(bind: AsyncEngine = engine) -> None:
    """Create every table from the models (quick start; migrations are the managed path)."""
    async with bind.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def create_database(name: str, *, url: URL | None = None) -> URL:
    """Create database ``name`` on the server of ``url`` (default: the configured server)."""
    server_url = _checked(name, url)
    await _run_maintenance(server_url, f'CREATE DATABASE "{name}"')
    return server_url.set(database=name)


async def drop_database(name: str, *, url: URL | None = None) -> None:
    """Drop database ``name`` if it exists, disconnecting any sessions still attached."""
    server_url = _checked(name, url)
    await _run_maintenance(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database(
    prefix: str = "scratch", *, url: URL | None = None
) -> AsyncIterator[URL]:
    """Create a uniquely named empty database, yield its URL, and drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    scratch_url = await create_database(name, url=url)
    try:
        yield scratch_url
    finally:
        await drop_database(name, url=url)


def _checked(name: str, url: URL | None) -> URL:
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"database name {name!r} must be lower-case letters, digits and underscores"
        )
    return resolve_url() if url is None else normalise_database_url(url)


async def _run_maintenance(server_url: URL, statement: str) -> None:
    """Run one statement outside a transaction, connected to the maintenance database."""
    maintenance = create_async_engine(
        server_url.set(database=_MAINTENANCE_DATABASE), isolation_level="AUTOCOMMIT"
    )
    try:
        async with maintenance.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await maintenance.dispose()
