"""What one write costs on the wire, and that it survives a server restart.

A round trip is one message batch the client sends and then waits for the answer to (a simple
query such as ``BEGIN``, or a prepared statement's Bind/Execute/Sync); it is counted on the
connection's socket, so whatever SQLAlchemy, asyncpg or the pool add is counted too. The cost is
that of a warm connection: the first use of a statement on a connection also prepares it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import embedded, migrations
from africare_data.config import Settings
from africare_data.database import make_engine, make_session_maker
from africare_data.errors import BookingConflictError
from africare_data.services import BookingService
from tests.conftest import requires_embedded

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


class Wire:
    """The messages each connection of an engine sends, one entry per round trip."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sent: list[str] = []
        event.listen(engine.sync_engine, "connect", self._watch)

    def _watch(self, dbapi_connection: Any, record: Any) -> None:
        transport = dbapi_connection.driver_connection._transport
        send = transport.write

        def counted(data: bytes) -> None:
            self.sent.append(_describe(bytes(data)))
            send(data)

        transport.write = counted


def _describe(data: bytes) -> str:
    """``Q BEGIN;`` for a simple query, ``B <statement>`` for a prepared statement's run."""
    kind = chr(data[0])
    body = data[5:].split(b"\x00")
    return f"{kind} {body[0].decode() if kind == 'Q' else body[1].decode()}"


@pytest.fixture
async def engine(database_url: URL, committed_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the run's database (emptied afterwards)."""
    own = make_engine(database_url, pool_size=1)
    yield own
    await own.dispose()


async def test_creating_a_booking_costs_three_round_trips(engine: AsyncEngine) -> None:
    wire = Wire(engine)
    sessions = make_session_maker(engine)
    async with sessions() as db:  # warm: connected, statement prepared
        await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)
    wire.sent.clear()

    async with sessions() as db:
        booking = await BookingService.create_booking(
            db, 1, 8, NINE + HALF_HOUR, NINE + 2 * HALF_HOUR
        )

    assert booking.id is not None and booking.created_at is not None
    assert len(wire.sent) <= 3, wire.sent
    assert wire.sent[0] == "Q BEGIN;" and wire.sent[-1] == "Q COMMIT;", wire.sent


async def test_a_refused_booking_costs_three_round_trips_and_names_the_winner(
    engine: AsyncEngine,
) -> None:
    wire = Wire(engine)
    sessions = make_session_maker(engine)
    async with sessions() as db:
        winner = await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)
    async with sessions() as db:  # warm the refusal's path too
        with pytest.raises(BookingConflictError):
            await BookingService.create_booking(db, 1, 9, NINE, NINE + HALF_HOUR)
    wire.sent.clear()

    async with sessions() as db:
        with pytest.raises(BookingConflictError) as refused:
            await BookingService.create_booking(db, 1, 8, NINE, NINE + HALF_HOUR)

    assert len(wire.sent) <= 3, wire.sent
    assert wire.sent[0] == "Q BEGIN;" and wire.sent[-1] == "Q ROLLBACK;", wire.sent
    # The exact same slot: the refusal names the booking in the way, not the refused one.
    error = refused.value
    assert (error.conflicting_booking_id, error.practitioner_id) == (winner.id, 1)
    assert (error.conflicting_start, error.conflicting_end) == (NINE, NINE + HALF_HOUR)


@requires_embedded
async def test_a_write_right_after_the_server_was_killed_succeeds(data_dir: Path) -> None:
    engine = make_engine(config=Settings(AFRICARE_DATA_DIR=data_dir))
    sessions = make_session_maker(engine)
    try:
        await migrations.upgrade(engine)
        for n in range(3):
            async with sessions() as db:  # the pool keeps this connection
                await BookingService.create_booking(
                    db, 1, 7, NINE + 2 * n * HALF_HOUR, NINE + (2 * n + 1) * HALF_HOUR
                )
            killed = kill_server(data_dir)
            async with sessions() as db:  # at once, on the pooled connection to the dead server
                booking = await BookingService.create_booking(
                    db, 2, 7, NINE + n * HALF_HOUR, NINE + (n + 1) * HALF_HOUR
                )
            assert booking.id is not None
            assert embedded.status(data_dir).pid not in (None, killed)
        async with sessions() as db:
            assert len(await BookingService.get_bookings_by_practitioner(db, 2)) == 3
    finally:
        await engine.dispose()


@requires_embedded
async def test_a_session_holding_objects_writes_right_after_a_kill(data_dir: Path) -> None:
    """A notebook's session: it holds loaded objects when the server dies between two cells."""
    engine = make_engine(config=Settings(AFRICARE_DATA_DIR=data_dir))
    try:
        await migrations.upgrade(engine)
        async with make_session_maker(engine)() as db:
            held = [await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)]
            for n in range(1, 4):
                kill_server(data_dir)
                start = NINE + 2 * n * HALF_HOUR
                held.append(await BookingService.create_booking(db, 1, 7, start, start + HALF_HOUR))
                assert all(is_loaded(booking) for booking in held), "a held object was expired"
            assert [booking.start_time for booking in held] == [
                NINE + 2 * n * HALF_HOUR for n in range(4)
            ]
    finally:
        await engine.dispose()


def kill_server(data_dir: Path) -> int:
    """SIGKILL the postmaster and wait, without yielding to the event loop, until its backends
    have gone: the pooled connection is dead, but its driver has not noticed yet.

    (A statement sent while a backend is still noticing its postmaster's death may run or fail;
    one failing on a later statement of a transaction, e.g. its COMMIT, is not run again, since
    whether it committed is unknown.)
    """
    killed = embedded.status(data_dir).pid
    assert killed is not None
    postmaster = psutil.Process(killed)
    processes = [postmaster, *postmaster.children()]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(is_running(process) for process in processes):
        assert time.monotonic() < deadline, "the killed server's processes did not exit"
        time.sleep(0.01)
    return killed


def is_running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_loaded(instance: object) -> bool:
    """Whether every column attribute of ``instance`` can be read without I/O."""
    state = inspect(instance)
    columns = {attribute.key for attribute in state.mapper.column_attrs}
    return not state.expired and not (columns & state.unloaded)
