"""Alembic environment, async, on the toolkit's own settings and models.

Three ways in:

* the ``alembic`` command line: connects with the configured URL (the embedded server when
  ``SQLALCHEMY_DATABASE_URI`` is unset) through a throw-away async engine;
* ``africare_data.migrations`` (tests, notebooks, CLI): hands over an open connection in
  ``config.attributes["connection"]``, so migrations run on the caller's event loop;
* ``--sql`` (offline): renders SQL for the configured URL without connecting.
"""

from __future__ import annotations

import asyncio
import logging.config

from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from africare_data.database import Base, make_engine, resolve_url
from alembic import context

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        **options,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    _configure(url=resolve_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Connect with a one-off engine (no pool to leak) and run the migrations in it."""
    engine = make_engine(poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
