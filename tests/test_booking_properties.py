"""Property: no sequence of create / cancel / reschedule leaves two overlapping active bookings.

Hypothesis generates operation sequences on a small grid of quarter hours for two practitioners,
so collisions are frequent. Each sequence runs through ``BookingService`` in its own transaction
(rolled back afterwards) and is checked twice: against a plain-Python model of who holds which
slot (every success and every ``BookingConflictError`` must be the one the model predicts) and
directly in the table (no two active bookings of one practitioner overlap).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.errors import BookingConflictError
from africare_data.models import Booking, BookingStatus
from africare_data.services import BookingService

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Create:
    practitioner_id: int
    start: int  # quarter hours after nine
    length: int


@dataclass(frozen=True)
class Cancel:
    pick: int  # index into the bookings created so far (modulo their number)


@dataclass(frozen=True)
class Reschedule:
    pick: int
    start: int
    length: int


starts = st.integers(min_value=0, max_value=16)
lengths = st.integers(min_value=1, max_value=6)
operations = st.lists(
    st.one_of(
        st.builds(Create, st.integers(min_value=1, max_value=2), starts, lengths),
        st.builds(Cancel, st.integers(min_value=0, max_value=50)),
        st.builds(Reschedule, st.integers(min_value=0, max_value=50), starts, lengths),
    ),
    min_size=1,
    max_size=15,
)


@dataclass
class Held:
    """The model's view of one booking."""

    id: int
    practitioner_id: int
    start: datetime
    end: datetime
    active: bool = True


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return start < other_end and other_start < end


def predicted_conflict(
    held: list[Held], practitioner_id: int, start: datetime, end: datetime, ignore: int | None
) -> bool:
    return any(
        booking.active
        and booking.practitioner_id == practitioner_id
        and booking.id != ignore
        and overlaps(start, end, booking.start, booking.end)
        for booking in held
    )


@asynccontextmanager
async def rolled_back_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose commits become savepoints of a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        db = AsyncSession(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield db
        finally:
            await db.close()
            await transaction.rollback()


async def apply(db: AsyncSession, held: list[Held], operation: object) -> None:
    """Run one operation and check its outcome against the model, then update the model."""
    if isinstance(operation, Create):
        start, end = (
            NINE + operation.start * QUARTER,
            NINE + (operation.start + operation.length) * QUARTER,
        )
        expected = predicted_conflict(held, operation.practitioner_id, start, end, None)
        try:
            booking = await BookingService.create_booking(
                db, operation.practitioner_id, 7, start, end
            )
        except BookingConflictError:
            assert expected, "refused a free slot"
            return
        assert not expected, "double-booked a slot"
        held.append(Held(booking.id, operation.practitioner_id, start, end))
    elif held and isinstance(operation, Cancel):
        target = held[operation.pick % len(held)]
        cancelled = await BookingService.cancel_booking(db, target.id)
        assert (cancelled is not None) == target.active
        target.active = False
    elif held and isinstance(operation, Reschedule):
        target = held[operation.pick % len(held)]
        start, end = (
            NINE + operation.start * QUARTER,
            NINE + (operation.start + operation.length) * QUARTER,
        )
        expected = target.active and predicted_conflict(
            held, target.practitioner_id, start, end, target.id
        )
        try:
            moved = await BookingService.reschedule_booking(db, target.id, start, end)
        except BookingConflictError:
            assert expected, "refused a free slot"
            return
        assert not expected, "moved onto a held slot"
        assert (moved is not None) == target.active
        if moved is not None:
            target.start, target.end = start, end


async def assert_no_overlap_in_table(db: AsyncSession, held: list[Held]) -> None:
    rows = (
        await db.execute(
            select(Booking.id, Booking.practitioner_id, Booking.start_time, Booking.end_time)
            .where(Booking.status != BookingStatus.CANCELLED)
            .order_by(Booking.practitioner_id, Booking.start_time)
        )
    ).all()
    for earlier, later in itertools.pairwise(rows):
        if earlier.practitioner_id == later.practitioner_id:
            assert earlier.end_time <= later.start_time, (earlier, later)
    model = {(b.id, b.practitioner_id, b.start, b.end) for b in held if b.active}
    assert {tuple(row) for row in rows} == model


@settings(max_examples=40, deadline=None)
@given(sequence=operations)
async def test_no_two_active_bookings_ever_overlap(
    db_engine: AsyncEngine, sequence: list[object]
) -> None:
    async with rolled_back_session(db_engine) as db:
        held: list[Held] = []
        for operation in sequence:
            await apply(db, held, operation)
        await assert_no_overlap_in_table(db, held)
