"""The booking workflow under concurrent use: each task has its own session, all on one server.

A barrier releases the tasks together, so their statements really overlap in PostgreSQL; the
database (the no-overlap triggers behind their advisory locks, conditional updates on a locked
row) decides who wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from africare_data.database import make_session_maker
from africare_data.errors import BookingConflictError
from africare_data.models import Booking, BookingStatus
from africare_data.services import BookingService
from africare_data.services._transaction import retrying

TASKS = 20
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)

T = TypeVar("T")


async def together(
    sessions: async_sessionmaker[AsyncSession],
    operations: list[Callable[[AsyncSession], Awaitable[T]]],
) -> list[T | BaseException]:
    """Run each operation in its own session, released at the same moment."""
    barrier = asyncio.Barrier(len(operations))

    async def run(operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with sessions() as db:
            await barrier.wait()
            return await operation(db)

    return await asyncio.gather(*(run(op) for op in operations), return_exceptions=True)


async def active_bookings(engine: AsyncEngine, practitioner_id: int = 1) -> list[Booking]:
    async with make_session_maker(engine)() as db:
        result = await db.execute(
            select(Booking)
            .where(Booking.practitioner_id == practitioner_id, Booking.status != "cancelled")
            .order_by(Booking.start_time)
        )
        return list(result.scalars())


async def test_concurrent_overlapping_requests_give_exactly_one_booking(
    committed_engine: AsyncEngine,
) -> None:
    sessions = make_session_maker(committed_engine)

    def request(offset: int) -> Callable[[AsyncSession], Awaitable[Booking]]:
        start = NINE + timedelta(minutes=offset)  # all 20 slots overlap each other
        return lambda db: BookingService.create_booking(
            db, 1, 100 + offset, start, start + HALF_HOUR
        )

    outcomes = await together(sessions, [request(offset) for offset in range(TASKS)])

    winners = [outcome for outcome in outcomes if isinstance(outcome, Booking)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, BookingConflictError)]
    assert len(winners) == 1, outcomes
    assert len(conflicts) == TASKS - 1, outcomes
    assert {conflict.conflicting_booking_id for conflict in conflicts} == {winners[0].id}
    stored = await active_bookings(committed_engine)
    assert [booking.id for booking in stored] == [winners[0].id]
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Booking)) == 1


async def test_concurrent_confirmations_have_exactly_one_winner(
    committed_engine: AsyncEngine,
) -> None:
    sessions = make_session_maker(committed_engine)
    async with sessions() as db:
        booking = await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)

    def confirm(db: AsyncSession) -> Awaitable[Booking | None]:
        return BookingService.confirm_booking(db, booking.id)

    outcomes = await together(sessions, [confirm] * TASKS)

    assert not [outcome for outcome in outcomes if isinstance(outcome, BaseException)], outcomes
    winners = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1
    assert isinstance(winners[0], Booking)
    assert winners[0].status is BookingStatus.CONFIRMED
    async with sessions() as db:
        stored = await BookingService.get_booking(db, booking.id)
        assert stored is not None
        assert stored.status is BookingStatus.CONFIRMED


async def test_cancel_racing_confirm_ends_consistent(committed_engine: AsyncEngine) -> None:
    sessions = make_session_maker(committed_engine)
    for round_number in range(5):
        start = NINE + round_number * timedelta(hours=1)
        async with sessions() as db:
            booking = await BookingService.create_booking(db, 1, 7, start, start + HALF_HOUR)

        async def confirm(db: AsyncSession, booking_id: int = booking.id) -> Booking | None:
            return await BookingService.confirm_booking(db, booking_id)

        async def cancel(db: AsyncSession, booking_id: int = booking.id) -> Booking | None:
            return await BookingService.cancel_booking(db, booking_id, "race")

        confirmed, cancelled = await together(sessions, [confirm, cancel])

        # Cancelling a pending or a confirmed booking always succeeds; the confirmation wins
        # only if it came first, and then saw a pending booking.
        assert isinstance(cancelled, Booking)
        assert cancelled.status is BookingStatus.CANCELLED
        assert confirmed is None or (
            isinstance(confirmed, Booking) and confirmed.status is BookingStatus.CONFIRMED
        )
        async with sessions() as db:
            stored = await BookingService.get_booking(db, booking.id)
        assert stored is not None
        assert stored.status is BookingStatus.CANCELLED
        assert stored.cancelled_at is not None
        assert stored.cancellation_reason == "race"
        if confirmed is not None:
            assert stored.updated_at is not None


async def test_a_cancelled_slot_can_be_booked_again_concurrently(
    committed_engine: AsyncEngine,
) -> None:
    sessions = make_session_maker(committed_engine)
    async with sessions() as db:
        original = await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)
        await BookingService.confirm_booking(db, original.id)
        await BookingService.cancel_booking(db, original.id, "patient moved")

    def rebook(patient_id: int) -> Callable[[AsyncSession], Awaitable[Booking]]:
        return lambda db: BookingService.create_booking(db, 1, patient_id, NINE, NINE + HALF_HOUR)

    outcomes = await together(sessions, [rebook(100 + index) for index in range(TASKS)])

    winners = [outcome for outcome in outcomes if isinstance(outcome, Booking)]
    assert len(winners) == 1, outcomes
    assert all(
        isinstance(outcome, BookingConflictError) for outcome in outcomes if outcome not in winners
    ), [repr(outcome) for outcome in outcomes]
    assert [booking.id for booking in await active_bookings(committed_engine)] == [winners[0].id]


async def test_deadlock_victims_are_retried_and_other_errors_are_not() -> None:
    """The backstop behind the advisory lock: a write aborted as a deadlock victim runs again."""

    class DriverError(Exception):
        def __init__(self, message: str, code: str) -> None:
            super().__init__(message)
            self.sqlstate = code

    calls = 0

    async def deadlocked_twice() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise DBAPIError("INSERT", None, DriverError("deadlock detected", "40P01"))
        return "written"

    assert await retrying(deadlocked_twice) == "written"
    assert calls == 3

    async def broken() -> str:
        raise DBAPIError("INSERT", None, DriverError("syntax error", "42601"))

    with pytest.raises(DBAPIError, match="syntax error"):
        await retrying(broken)
