"""The no-overlap triggers (migration 0003) against raw SQL: concurrent writers, bulk COPY,
updates, isolation levels, and which statements take the practitioner's advisory lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from africare_data.errors import BookingConflictError, translate_integrity_errors

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOCK_SPACE = 0x41_46_42  # the advisory-lock key space of the no-overlap triggers (0003)
INSERT = text(
    "INSERT INTO bookings (practitioner_id, patient_id, start_time, end_time, status) "
    "VALUES (:practitioner, 1, :start, :end, CAST(:status AS booking_status)) RETURNING id"
)


def row(
    start_minute: int, minutes: int = 30, *, practitioner: int = 1, status: str = "pending"
) -> dict[str, Any]:
    start = NINE + timedelta(minutes=start_minute)
    return {
        "practitioner": practitioner,
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "status": status,
    }


async def insert(db: AsyncConnection | AsyncSession, *rows: dict[str, Any]) -> list[int]:
    """Insert ``rows`` with one raw ``INSERT`` each; return their ids."""
    return [(await db.execute(INSERT, values)).scalar_one() for values in rows]


async def count(db: AsyncConnection | AsyncSession) -> int:
    return (await db.execute(text("SELECT count(*) FROM bookings"))).scalar_one()


@pytest.mark.parametrize(
    ("new", "clash"),
    [
        ((-60, 300), True),  # swallows all three existing bookings
        ((-30, 35), True),  # starts before the first, ends inside it
        ((45, 60), True),  # starts in the gap, ends inside the third
        ((10, 5), True),  # inside the first
        ((30, 30), False),  # fills the gap exactly (ranges are [start, end))
        ((-30, 30), False),  # back to back before the first
        ((120, 60), False),  # after the last
    ],
    ids=["covers-all", "ends-inside", "gap-into-next", "inside", "fills-gap", "before", "after"],
)
async def test_single_inserts_around_existing_bookings(
    session: AsyncSession, new: tuple[int, int], clash: bool
) -> None:
    """The scan window starts at the predecessor of the new row: long rows and gaps both work."""
    for existing in (row(0), row(60, 30), row(90, 30)):
        await insert(session, existing)
    await insert(session, row(-600, 15, practitioner=2))  # another practitioner's rows don't count
    if clash:
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
            async with session.begin_nested():
                await insert(session, row(*new))
    else:
        await insert(session, row(*new))
    assert await count(session) == 4 + (not clash)


async def test_the_refusal_is_a_booking_conflict_naming_both_bookings(
    session: AsyncSession,
) -> None:
    [first] = await insert(session, row(0))
    with pytest.raises(BookingConflictError) as caught:
        async with session.begin_nested():
            with translate_integrity_errors():
                await insert(session, row(15))
    message = str(caught.value.__cause__)
    assert f"overlaps booking {first} of practitioner 1" in message
    assert caught.value.constraint == "ex_bookings_no_overlap"


async def test_concurrent_raw_inserts_one_waits_and_is_refused(
    committed_engine: AsyncEngine,
) -> None:
    async with committed_engine.connect() as first, committed_engine.connect() as second:
        await first.begin()
        await insert(first, row(0))

        async def overlapping() -> None:
            async with second.begin():
                await insert(second, row(10))

        waiting = asyncio.create_task(overlapping())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # queued on practitioner 1's advisory lock
        await first.commit()
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
            await waiting
        assert await count(first) == 1


async def test_concurrent_writers_of_other_practitioners_do_not_wait(
    committed_engine: AsyncEngine,
) -> None:
    async with committed_engine.connect() as first, committed_engine.connect() as second:
        await first.begin()
        await insert(first, row(0))
        async with second.begin():
            await second.execute(text("SET LOCAL lock_timeout = '2s'"))
            await insert(second, row(0, practitioner=2))
        await first.commit()
        assert await count(first) == 2


async def test_a_copy_with_an_internal_overlap_writes_nothing(
    committed_engine: AsyncEngine,
) -> None:
    hour = timedelta(hours=1)
    records = [
        (3, 1, NINE + n * hour, NINE + n * hour + timedelta(minutes=45)) for n in range(1000)
    ]
    records.append((3, 2, NINE + 500.5 * hour, NINE + 501 * hour))  # overlaps row 500
    columns = ["practitioner_id", "patient_id", "start_time", "end_time"]
    async with committed_engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        with pytest.raises(Exception, match="ex_bookings_no_overlap"):
            async with driver.transaction():
                await driver.copy_records_to_table("bookings", records=records, columns=columns)
        assert await driver.fetchval("SELECT count(*) FROM bookings") == 0
        async with driver.transaction():  # without the clash the same COPY goes through
            await driver.copy_records_to_table("bookings", records=records[:-1], columns=columns)
        assert await driver.fetchval("SELECT count(*) FROM bookings") == 1000


async def test_an_update_moving_a_booking_onto_another_is_refused(session: AsyncSession) -> None:
    [first] = await insert(session, row(0))
    [second] = await insert(session, row(60, practitioner=2))
    moves = [  # onto the first's practitioner, overlapping it; then exactly onto its time
        "practitioner_id = 1, start_time = start_time - interval '50 minutes', "
        "end_time = end_time - interval '50 minutes'",
        "practitioner_id = 1, start_time = start_time - interval '60 minutes', "
        "end_time = end_time - interval '60 minutes'",
    ]
    for move in moves:
        with pytest.raises(IntegrityError, match=f"booking {second} overlaps booking {first}"):
            async with session.begin_nested():
                await session.execute(text(f"UPDATE bookings SET {move} WHERE id = {second}"))
    async with session.begin_nested():  # moving it next to the first is fine
        await session.execute(
            text(
                "UPDATE bookings SET practitioner_id = 1, start_time = :s, end_time = :e "
                "WHERE id = :id"
            ),
            {"s": NINE + timedelta(minutes=30), "e": NINE + timedelta(minutes=60), "id": second},
        )


async def test_reactivating_a_cancelled_overlap_by_raw_update_is_refused(
    session: AsyncSession,
) -> None:
    await insert(session, row(0), row(0, status="cancelled"))
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        async with session.begin_nested():
            await session.execute(text("UPDATE bookings SET status = 'confirmed'"))


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
async def test_writers_above_read_committed_are_refused_clearly(
    committed_engine: AsyncEngine, isolation: str
) -> None:
    async with committed_engine.begin() as setup:
        [booking] = await insert(setup, row(0))
    async with committed_engine.connect() as connection:
        await connection.execution_options(isolation_level=isolation)
        with pytest.raises(DBAPIError, match=f"needs READ COMMITTED isolation, not {isolation}"):
            async with connection.begin():
                await insert(connection, row(60))
        # Status changes check nothing, so they are allowed at any level.
        async with connection.begin():
            await connection.execute(
                text("UPDATE bookings SET status = 'cancelled' WHERE id = :id"), {"id": booking}
            )


async def test_confirm_and_cancel_do_not_take_the_practitioner_lock(
    committed_engine: AsyncEngine,
) -> None:
    async with committed_engine.begin() as setup:
        first, second = await insert(setup, row(0), row(60))
    async with committed_engine.connect() as holder, committed_engine.connect() as writer:
        await holder.execute(text("SELECT pg_advisory_lock(:k, 1)"), {"k": LOCK_SPACE})
        try:
            async with writer.begin():
                await writer.execute(text("SET LOCAL lock_timeout = '500ms'"))
                update = "UPDATE bookings SET status = CAST(:status AS booking_status), "
                await writer.execute(
                    text(update + "updated_at = now() WHERE id = :id"),
                    {"status": "confirmed", "id": first},
                )
                await writer.execute(
                    text(update + "cancelled_at = now() WHERE id = :id"),
                    {"status": "cancelled", "id": second},
                )
            with pytest.raises(DBAPIError, match="lock timeout"):  # a move does queue
                async with writer.begin():
                    await writer.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    await writer.execute(
                        text(
                            "UPDATE bookings SET end_time = end_time + interval '1 minute' "
                            "WHERE id = :id"
                        ),
                        {"id": first},
                    )
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:k, 1)"), {"k": LOCK_SPACE})
            await holder.commit()


async def test_the_triggers_fire_in_replica_mode(session: AsyncSession) -> None:
    """``ENABLE ALWAYS``: ``session_replication_role = replica`` (which silences ordinary
    triggers and foreign keys, e.g. for a restore) does not switch the rule off."""
    await insert(session, row(0))
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        async with session.begin_nested():
            await session.execute(text("SET LOCAL session_replication_role = replica"))
            await insert(session, row(15))
