"""The database's own rules, checked with raw rows: they hold whatever code writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.models import Booking, BookingStatus, EventType

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def booking_row(
    start: datetime,
    minutes: int = 30,
    *,
    practitioner_id: int = 1,
    status: BookingStatus = BookingStatus.PENDING,
) -> dict[str, object]:
    return {
        "practitioner_id": practitioner_id,
        "patient_id": 7,
        "start_time": start,
        "end_time": start + timedelta(minutes=minutes),
        "status": status,
    }


async def booking_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Booking))).scalar_one()


async def insert_rows(session: AsyncSession, *rows: dict[str, object]) -> None:
    """Insert ``rows`` in one savepoint, as one statement, so a failure writes none of them."""
    async with session.begin_nested():
        await session.execute(insert(Booking), list(rows))


@pytest.mark.parametrize("minutes", [0, -15])
async def test_end_must_be_after_start(session: AsyncSession, minutes: int) -> None:
    with pytest.raises(IntegrityError, match="ck_bookings_end_after_start"):
        await insert_rows(session, booking_row(NINE, minutes))
    assert await booking_count(session) == 0


@pytest.mark.parametrize(
    "offset_minutes",
    [0, 15, -15, 29, -29],
    ids=["same", "overlaps-end", "overlaps-start", "one-minute-in", "one-minute-before-end"],
)
async def test_overlapping_bookings_of_one_practitioner_are_refused(
    session: AsyncSession, offset_minutes: int
) -> None:
    await insert_rows(session, booking_row(NINE))
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        await insert_rows(session, booking_row(NINE + timedelta(minutes=offset_minutes)))
    assert await booking_count(session) == 1


async def test_a_batch_with_one_overlap_writes_nothing(session: AsyncSession) -> None:
    rows = [booking_row(NINE + timedelta(hours=hour)) for hour in range(5)]
    rows.append(booking_row(NINE + timedelta(hours=2, minutes=10)))
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        await insert_rows(session, *rows)
    assert await booking_count(session) == 0


async def test_what_the_overlap_rule_allows(session: AsyncSession) -> None:
    await insert_rows(
        session,
        booking_row(NINE),
        booking_row(NINE + timedelta(minutes=30)),  # back to back: ranges are [start, end)
        booking_row(NINE, practitioner_id=2),  # another practitioner
        booking_row(NINE, status=BookingStatus.CANCELLED),  # cancelled bookings free the slot
    )
    assert await booking_count(session) == 4


async def test_reactivating_a_cancelled_overlap_is_refused(session: AsyncSession) -> None:
    await insert_rows(session, booking_row(NINE), booking_row(NINE, status=BookingStatus.CANCELLED))
    cancelled = (
        await session.execute(select(Booking).where(Booking.status == BookingStatus.CANCELLED))
    ).scalar_one()
    cancelled.status = BookingStatus.PENDING
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        async with session.begin_nested():
            await session.flush()


async def test_event_type_duration_must_be_positive(session: AsyncSession) -> None:
    with pytest.raises(IntegrityError, match="ck_event_types_duration_positive"):
        async with session.begin_nested():
            await session.execute(insert(EventType), [{"name": "Zero", "duration_minutes": 0}])
    count = await session.execute(select(func.count()).select_from(EventType))
    assert count.scalar_one() == 0
