"""``services.booking_records``: the API's bookings on a Core connection, on the wire.

The same refusals as ``BookingService`` are covered through the routes (``tests/test_api.py``);
here: what a create and an agenda cost in round trips, and that both survive a server restart
between two requests, as the session-based services do (``tests/test_write_round_trips.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import embedded, migrations
from africare_data.config import Settings
from africare_data.database import make_engine
from africare_data.errors import BookingConflictError
from africare_data.schemas import BookingCreate
from africare_data.services.booking_records import (
    create_booking_record,
    get_practitioner_booking_records,
)
from tests.conftest import requires_embedded
from tests.test_write_round_trips import HALF_HOUR, NINE, Wire, kill_server


def booking(practitioner_id: int, patient_id: int, slot: int) -> BookingCreate:
    start = NINE + 2 * slot * HALF_HOUR
    return BookingCreate(
        practitioner_id=practitioner_id,
        patient_id=patient_id,
        start_time=start,
        end_time=start + HALF_HOUR,
    )


@pytest.fixture
async def engine(database_url: URL, committed_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the run's database (emptied afterwards)."""
    own = make_engine(database_url, pool_size=1)
    yield own
    await own.dispose()


async def test_a_create_costs_three_round_trips_and_an_agenda_one(engine: AsyncEngine) -> None:
    wire = Wire(engine)
    await create_booking_record(engine, booking(1, 7, 0))  # warm: connected, statements prepared
    await get_practitioner_booking_records(engine, 1)
    wire.sent.clear()

    created = await create_booking_record(engine, booking(1, 8, 1))
    # After an autocommit read the pool sets the connection back to the server's default
    # isolation, which the next BEGIN then names (READ COMMITTED, what the rule needs).
    assert len(wire.sent) == 3, wire.sent
    assert wire.sent[0].startswith("Q BEGIN") and wire.sent[-1] == "Q COMMIT;", wire.sent
    wire.sent.clear()

    listed = await get_practitioner_booking_records(engine, 1)
    assert len(wire.sent) == 1 and wire.sent[0].startswith("B "), wire.sent
    assert [item.id for item in listed] == [listed[0].id, created.id]
    wire.sent.clear()

    with pytest.raises(BookingConflictError) as refused:
        await create_booking_record(engine, booking(1, 9, 1))
    assert len(wire.sent) == 3, wire.sent
    assert wire.sent[0].startswith("Q BEGIN") and wire.sent[-1] == "Q ROLLBACK;", wire.sent
    assert refused.value.conflicting_booking_id == created.id


@requires_embedded
async def test_creates_and_agendas_right_after_the_server_was_killed_succeed(
    data_dir: Path,
) -> None:
    engine = make_engine(config=Settings(AFRICARE_DATA_DIR=data_dir))
    try:
        await migrations.upgrade(engine)
        for n in range(3):
            await create_booking_record(engine, booking(1, 7, n))
            killed = kill_server(data_dir)
            created = await create_booking_record(engine, booking(2, 7, n))  # pooled, dead
            assert created.practitioner_id == 2
            kill_server(data_dir)
            assert len(await get_practitioner_booking_records(engine, 2)) == n + 1
            assert embedded.status(data_dir).pid not in (None, killed)
    finally:
        await engine.dispose()
