"""Engines and sessions, following the platform's original ``database.py``.

Nothing is created at import. The default engine and session maker are built from the settings
on first use (:func:`get_engine`, :func:`get_session_maker`) and rebuilt when
:func:`~africare_data.config.reload_settings` gave new settings; the module attributes ``engine``
and ``async_session_maker`` of the original document are those two, looked up when accessed. An
engine connects only on its first query; without ``SQLALCHEMY_DATABASE_URI`` that first connection
starts (or finds) the embedded PostgreSQL. How connections are made, checked and replaced after a
server restart is in ``africare_data._connecting``.

:func:`make_engine` builds an engine for another URL or another database on the same server, and
:func:`create_database` / :func:`drop_database` / :func:`scratch_database` manage isolated
databases for tests and notebooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from africare_data import embedded
from africare_data._connecting import RecoveringSession, engine_options, watch_connections
from africare_data.config import Settings, get_settings, normalise_database_url
from africare_data.models import Base

__all__ = [
    "Base",
    "async_session_maker",
    "create_database",
    "create_db_and_tables",
    "dispose_engine",
    "drop_database",
    "engine",
    "get_engine",
    "get_session",
    "get_session_maker",
    "make_engine",
    "make_session_maker",
    "resolve_url",
    "scratch_database",
]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MAINTENANCE_DATABASE = "postgres"


def resolve_url(config: Settings | None = None, *, database: str | None = None) -> URL:
    """The concrete URL the toolkit connects to, optionally for another ``database``.

    ``config`` defaults to the current settings. For the embedded server this starts it (if
    needed), since its socket directory is only known once it runs.
    """
    config = config or get_settings()
    if config.SQLALCHEMY_DATABASE_URI is not None:
        url = normalise_database_url(config.SQLALCHEMY_DATABASE_URI)
    else:
        url = embedded.server_url(embedded.ensure_running(config.AFRICARE_DATA_DIR))
    return url if database is None else url.set(database=database)


def make_engine(
    url: URL | str | None = None,
    *,
    database: str | None = None,
    config: Settings | None = None,
    **options: Any,
) -> AsyncEngine:
    """Create an async engine without connecting.

    ``url`` defaults to the configured server; ``database`` swaps the database name on that
    server; ``config`` defaults to the current settings, which also give the pool size, the
    connect timeout and ``echo``. Any ``create_async_engine`` option can be passed to override
    them. An engine on the embedded server (the default, or a URL of its socket) starts the server
    from its first connection, and again after a crash.
    """
    config = config or get_settings()
    target = url if url is not None else config.SQLALCHEMY_DATABASE_URI
    resolved = (
        URL.create("postgresql+asyncpg", username=embedded.SUPERUSER)
        if target is None
        else normalise_database_url(target)
    )
    on_embedded = target is None or (
        config.uses_embedded_server and embedded.serves(config.AFRICARE_DATA_DIR, resolved)
    )
    if on_embedded:
        # The socket directory is filled in per connection (see _connecting), so a server
        # restarted elsewhere or after a crash is found again by the next connection.
        resolved = resolved.difference_update_query(["host"])
    resolved = resolved.set(database=database or resolved.database or embedded.DATABASE_NAME)
    new_engine = create_async_engine(resolved, **engine_options(config, options))
    watch_connections(
        new_engine,
        data_dir=config.AFRICARE_DATA_DIR if on_embedded else None,
        timeout=config.AFRICARE_CONNECT_TIMEOUT,
    )
    return new_engine


def make_session_maker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory configured like the default one (no expiry on commit).

    Its sessions run a statement again on a fresh connection when the server was restarted (or
    killed) since their connection was pooled and they hold nothing yet (``_connecting``).
    """
    return async_sessionmaker(
        bind, class_=AsyncSession, sync_session_class=RecoveringSession, expire_on_commit=False
    )


@dataclass(frozen=True)
class _Default:
    """The default engine and session maker, and the settings they were built from."""

    config: Settings
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]


_default: _Default | None = None


def _current_default() -> _Default:
    global _default
    config = get_settings()
    if _default is None or _default.config is not config:
        new_engine = make_engine(config=config)
        _default = _Default(config, new_engine, make_session_maker(new_engine))
    return _default


def get_engine() -> AsyncEngine:
    """The default engine, built from the current settings on first use (it connects lazily)."""
    return _current_default().engine


def get_session_maker() -> async_sessionmaker[AsyncSession]:
    """The default session factory (``expire_on_commit=False``), bound to :func:`get_engine`."""
    return _current_default().session_maker


async def dispose_engine() -> None:
    """Close the default engine's pooled connections, if it was ever built.

    The engine stays usable and opens new connections when needed. Call it at the end of an event
    loop (pooled asyncpg connections belong to the loop that opened them), and before
    :func:`~africare_data.config.reload_settings` to close the connections of the engine the new
    settings replace.
    """
    if _default is not None:
        await _default.engine.dispose()


if TYPE_CHECKING:
    engine: AsyncEngine
    async_session_maker: async_sessionmaker[AsyncSession]


def __getattr__(name: str) -> Any:
    """``engine`` and ``async_session_maker`` are built on first access, from current settings."""
    if name == "engine":
        return get_engine()
    if name == "async_session_maker":
        return get_session_maker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def get_session() -> AsyncIterator[AsyncSession]:
    """Yield one session and close it afterwards (a FastAPI-style dependency)."""
    async with get_session_maker()() as session:
        yield session


async def create_db_and_tables(bind: AsyncEngine | None = None) -> None:
    """Create every table from the models (quick start; migrations are the managed path).

    ``bind`` defaults to the current default engine.
    """
    async with (bind or get_engine()).begin() as connection:
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
    maintenance = make_engine(
        server_url.set(database=_MAINTENANCE_DATABASE),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with maintenance.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await maintenance.dispose()
