"""How the toolkit's engines connect: a bounded wait, one clear error, no ping per checkout.

* Connecting gives up after ``AFRICARE_CONNECT_TIMEOUT`` seconds. Any failure to connect becomes a
  :class:`~africare_data.errors.DatabaseUnavailableError` naming the server, database and user
  (never the password) and what to do.
* With the embedded server, each new connection first makes sure the server runs (starting it, or
  replacing one that crashed) and tries again while a crashed server is being replaced.
* A pooled connection is not pinged when it is checked out (a round trip per use). Instead the
  driver's own state says whether the server has closed it, which costs nothing: asyncpg notices
  the closed socket as soon as the event loop runs. A closed connection is replaced by the pool;
  ``pool_recycle`` bounds a connection's age; and when a connection turns out to be dead in use
  (including the moment a killed server's backend is going away, which the driver reports in
  several ways), SQLAlchemy invalidates the whole pool, so every other connection is replaced at
  its next checkout.
* A session from :class:`RecoveringSession` runs a statement again, once, on a fresh connection
  when its connection was found dead on the first statement of a transaction, unless the session
  holds changes not yet written (pending, changed or deleted objects): nothing is lost, so the
  caller never sees the restart. The objects it had loaded are read again on the new connection.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Dialect, ExceptionContext, Result
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import ORMExecuteState, Session

from africare_data import embedded
from africare_data.config import Settings
from africare_data.errors import DatabaseUnavailableError

__all__ = ["POOL_RECYCLE_SECONDS", "RecoveringSession", "engine_options", "watch_connections"]

POOL_RECYCLE_SECONDS = 1800
"""Replace a pooled connection after 30 minutes, before idle-connection reapers (firewalls, NAT,
``idle_session_timeout``) drop it silently."""

_RETRY_PAUSE_SECONDS = 0.1

# SQLSTATEs a server sends while it cannot take connections yet (starting up, recovering,
# shutting down) or has none left; waiting helps.
_NOT_NOW = frozenset({"57P03", "53300"})
_UNKNOWN_DATABASE = "3D000"
# Connection exceptions (class 08) and the server ending a session (admin shutdown, crash
# shutdown, starting up): the connection is gone.
_LOST = ("08", "57P01", "57P02", "57P03")
_REFUSED_LOGIN = frozenset({"28000", "28P01"})


def engine_options(config: Settings, options: dict[str, Any]) -> dict[str, Any]:
    """``create_async_engine`` options from the settings; the caller's ``options`` win."""
    merged: dict[str, Any] = {"echo": config.DEBUG, "pool_recycle": POOL_RECYCLE_SECONDS}
    if "poolclass" not in options:
        merged["pool_size"] = config.AFRICARE_POOL_SIZE
        merged["max_overflow"] = config.AFRICARE_MAX_OVERFLOW
    merged.update(options)
    merged["connect_args"] = {
        "timeout": config.AFRICARE_CONNECT_TIMEOUT,
        **options.get("connect_args", {}),
    }
    return merged


def watch_connections(engine: AsyncEngine, *, data_dir: Path | None, timeout: float) -> None:
    """Install the connect and checkout behaviour described above on ``engine``.

    ``data_dir`` is the embedded server's data directory, or ``None`` for any other server.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if data_dir is not None:
                cparams["host"] = str(embedded.ensure_running(data_dir))
            try:
                return dialect.connect(*cargs, **cparams)
            except (OSError, dialect.loaded_dbapi.Error) as error:
                if not _worth_waiting(error, data_dir) or time.monotonic() >= deadline:
                    raise _unavailable(error, cparams, data_dir, timeout) from error
            # A crashed embedded server is being replaced, or the server is starting up.
            time.sleep(_RETRY_PAUSE_SECONDS)

    @event.listens_for(engine.sync_engine, "checkout")
    def _replace_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _recognise_lost_connection(context: ExceptionContext) -> None:
        error = context.original_exception
        # asyncpg reports a backend that ended the session (its FATAL message arrived before the
        # socket closed) as the SQLSTATE, or as a protocol out of step ("cannot switch to state").
        if (_sqlstate(error) or "").startswith(_LOST) or isinstance(
            error, context.dialect.loaded_dbapi.InternalClientError
        ):
            context.is_disconnect = True


class RecoveringSession(Session):
    """A session that survives a server restart between two uses (see the module docstring)."""

    def close(self) -> None:
        """Close; a connection lost before its closing ROLLBACK is not an error.

        The server ends the transaction of a lost connection itself, which is all the ROLLBACK
        was for; the pool has already discarded the connection.
        """
        try:
            super().close()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise


@event.listens_for(RecoveringSession, "do_orm_execute")
def _retry_on_a_fresh_connection(state: ORMExecuteState) -> Result[Any] | None:
    session = state.session
    if session.in_transaction() or session.new or session.dirty or session.deleted:
        return None  # a retry could lose what the transaction or the session holds: run normally
    try:
        return state.invoke_statement()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    held = list(session.identity_map.values())
    session.rollback()  # ends the failed transaction; the pool replaces the dead connections
    result = state.invoke_statement()
    _reload(session, held)
    return result


def _reload(session: Session, instances: list[object]) -> None:
    """Read again the objects the rollback expired: they held committed state, and in async code
    an expired attribute cannot load on access. One that is gone from the database stays
    expired."""
    for instance in instances:
        if inspect(instance).expired:
            try:
                session.refresh(instance)
            except InvalidRequestError:
                continue


def _sqlstate(error: BaseException) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def _worth_waiting(error: Exception, data_dir: Path | None) -> bool:
    """Whether connecting again shortly may succeed: the server is starting or being replaced."""
    code = _sqlstate(error) or ""
    if code in _NOT_NOW:
        return True
    # An embedded server that was just killed refuses connections, or accepts one and drops it,
    # until ensure_running has replaced it.
    return data_dir is not None and (isinstance(error, OSError) or code.startswith(_LOST))


def _unavailable(
    error: Exception, cparams: dict[str, Any], data_dir: Path | None, timeout: float
) -> DatabaseUnavailableError:
    """The one-line error for a failed connection: what failed, why, and what to do."""
    database, user = cparams.get("database"), cparams.get("user")
    host = str(cparams.get("host") or "localhost")
    if not host.startswith("/"):  # a unix socket directory has no port
        host = f"{host}:{cparams.get('port') or 5432}"
    if data_dir is not None:
        server, fix_it = f"the embedded PostgreSQL in {data_dir}", ""
    else:
        server, fix_it = f"PostgreSQL at {host}", " in SQLALCHEMY_DATABASE_URI"
    target = f"{server} (database {database!r}, user {user!r})"
    code = _sqlstate(error)
    if code == _UNKNOWN_DATABASE:
        return DatabaseUnavailableError(
            f"database {database!r} does not exist on {server}; create it (CREATE DATABASE) "
            f"or fix the database name{fix_it}"
        )
    if code in _REFUSED_LOGIN:
        return DatabaseUnavailableError(
            f"{target} refused the login ({_reason(error)}); check the user and password{fix_it}"
        )
    if data_dir is not None:
        return DatabaseUnavailableError(
            f"{server} does not accept connections ({_reason(error)}); see its log at "
            f"{embedded.log_path(data_dir)}, or restart it with africare-data db stop and db start"
        )
    if isinstance(error, TimeoutError):
        return DatabaseUnavailableError(
            f"{target} did not answer within {timeout:g} s; check the host and port{fix_it}, "
            "or raise AFRICARE_CONNECT_TIMEOUT"
        )
    if code in _NOT_NOW:
        return DatabaseUnavailableError(
            f"{target} does not accept connections right now ({_reason(error)}); try again "
            "in a moment"
        )
    return DatabaseUnavailableError(
        f"cannot connect to {target}: {_reason(error)}; check that the server is running and "
        f"that the host and port are right{fix_it}"
    )


def _reason(error: Exception) -> str:
    """The driver's own explanation, on one line (it never contains the password)."""
    if isinstance(error, ConnectionError) and error.errno:
        return os.strerror(error.errno).lower()  # "connection refused", not asyncio's wording
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    text = str(error.args[0]) if error.args else type(error).__name__
    return " ".join(text.split()) or type(error).__name__
