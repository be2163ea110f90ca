"""The transaction contract of the services (``africare_data.services._transaction``).

Every writing service is refused once per case below, on sessions holding the caller's work in
each state (pending, flushed, an open transaction, nothing), and what the database and the
session hold afterwards is checked from another connection:

* a refused call commits nothing: neither its own statements nor the caller's work;
* the caller's work in progress stays in the session, uncommitted, the transaction open: commit
  persists it, rollback drops it;
* with nothing in progress, the call ends the transaction it began, and the objects the caller
  holds stay loaded (readable without I/O: no ``MissingGreenlet``);
* the refused statements' locks are released at once; the session stays usable;
* a successful call commits the caller's work with its own; bad input touches nothing.

Refusals come from the rules of the schema (overlaps, unique e-mails, foreign keys, status
changes) and, for services whose input the schema cannot refuse after validation, from a test
trigger that fails on a marked name: any database error must be handled like a domain error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import migrations
from africare_data.database import make_engine, make_session_maker, scratch_database
from africare_data.errors import (
    BookingConflictError,
    DuplicateEmailError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from africare_data.models import Base, Booking, Example
from africare_data.services import (
    BookingService,
    create_event_type,
    create_example,
    create_post,
    create_user,
    delete_example,
    get_examples,
    update_example,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)
LOCK_SPACE = 0x41_46_42  # the advisory-lock key space of the no-overlap triggers
REFUSED = "refused"  # a name the test trigger refuses to write
UNDELETABLE = "undeletable"  # a name the test trigger refuses to delete

# A plain database error (SQLSTATE P0001, no constraint) on marked names, for the services whose
# refusals validation otherwise catches before any I/O.
TEST_TRIGGER = (
    """
    CREATE FUNCTION refuse_marked_names() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (TG_OP = 'DELETE' AND OLD.name = 'undeletable')
           OR (TG_OP <> 'DELETE' AND NEW.name = 'refused') THEN
            RAISE EXCEPTION 'the test trigger refuses this %', lower(TG_OP);
        END IF;
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END $$
    """,
    "CREATE TRIGGER refuse_marked_examples BEFORE INSERT OR UPDATE OR DELETE ON examples "
    "FOR EACH ROW EXECUTE FUNCTION refuse_marked_names()",
    "CREATE TRIGGER refuse_marked_event_types BEFORE INSERT ON event_types "
    "FOR EACH ROW EXECUTE FUNCTION refuse_marked_names()",
)


@pytest.fixture(scope="module")
async def contract_engine(server_url: URL) -> AsyncIterator[AsyncEngine]:
    """A migrated scratch database of its own, with the test trigger."""
    async with scratch_database("contract", url=server_url) as url:
        engine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            async with engine.begin() as connection:
                for statement in TEST_TRIGGER:
                    await connection.execute(text(statement))
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture
async def engine(contract_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    yield contract_engine
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with contract_engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session like the toolkit's own (``expire_on_commit=False``)."""
    async with make_session_maker(engine)() as session:
        yield session


async def example_names(engine: AsyncEngine) -> list[str]:
    """The examples committed, as another connection sees them."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(Example.name).order_by(Example.id))
        return list(rows.scalars())


async def committed_state(engine: AsyncEngine) -> dict[str, Any]:
    """Everything committed in the tables a refusal could touch, from another connection."""
    async with engine.connect() as connection:
        state: dict[str, Any] = {}
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(row) for row in rows]
        return state


def is_loaded(instance: object) -> bool:
    """Whether every column attribute of ``instance`` can be read without I/O."""
    state = inspect(instance)
    columns = {attribute.key for attribute in state.mapper.column_attrs}
    return not state.expired and not (columns & state.unloaded)


@dataclass(frozen=True)
class Refusal:
    """One refused call: ``arrange`` commits what it needs and returns the objects it made,
    ``act`` makes the call that is refused with ``error``."""

    arrange: Callable[[AsyncSession], Awaitable[list[Any]]]
    act: Callable[[AsyncSession, list[Any]], Awaitable[object]]
    error: type[Exception]


async def nothing(db: AsyncSession) -> list[Any]:
    return []


async def an_example(db: AsyncSession) -> list[Any]:
    return [await create_example(db, "held", "by the caller")]


async def an_undeletable_example(db: AsyncSession) -> list[Any]:
    return [await create_example(db, UNDELETABLE)]


async def a_user(db: AsyncSession) -> list[Any]:
    return [await create_user(db, "Amina", "amina@example.org")]


async def a_booking(db: AsyncSession) -> list[Any]:
    return [await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)]


async def two_bookings(db: AsyncSession) -> list[Any]:
    first = await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)
    second = await BookingService.create_booking(db, 1, 8, NINE + HALF_HOUR, NINE + 2 * HALF_HOUR)
    return [first, second]


async def a_cancelled_booking(db: AsyncSession) -> list[Any]:
    booking = await BookingService.create_booking(db, 1, 7, NINE, NINE + HALF_HOUR)
    cancelled = await BookingService.cancel_booking(db, booking.id, "moved away")
    return [cancelled]


REFUSALS = {
    "create_example": Refusal(nothing, lambda db, _: create_example(db, REFUSED), DBAPIError),
    "update_example": Refusal(
        an_example, lambda db, held: update_example(db, held[0].id, name=REFUSED), DBAPIError
    ),
    "delete_example": Refusal(
        an_undeletable_example, lambda db, held: delete_example(db, held[0].id), DBAPIError
    ),
    "create_user": Refusal(
        a_user,
        lambda db, _: create_user(db, "Someone", "amina@example.org"),
        DuplicateEmailError,
    ),
    "create_post": Refusal(
        a_user, lambda db, _: create_post(db, 999, "Hello", "no such author"), NotFoundError
    ),
    "create_event_type": Refusal(
        nothing, lambda db, _: create_event_type(db, REFUSED, 30), DBAPIError
    ),
    "create_booking-overlap": Refusal(
        a_booking,
        lambda db, _: BookingService.create_booking(
            db, 1, 9, NINE + HALF_HOUR / 2, NINE + 2 * HALF_HOUR
        ),
        BookingConflictError,
    ),
    "create_booking-event_type": Refusal(
        nothing,
        lambda db, _: BookingService.create_booking(
            db, 1, 9, NINE, NINE + HALF_HOUR, event_type_id=999
        ),
        NotFoundError,
    ),
    "confirm_booking": Refusal(
        a_cancelled_booking,
        lambda db, held: BookingService.confirm_booking(db, held[0].id, strict=True),
        InvalidTransitionError,
    ),
    "confirm_booking-missing": Refusal(
        nothing, lambda db, _: BookingService.confirm_booking(db, 999, strict=True), NotFoundError
    ),
    "cancel_booking": Refusal(
        a_cancelled_booking,
        lambda db, held: BookingService.cancel_booking(db, held[0].id, strict=True),
        InvalidTransitionError,
    ),
    "reschedule_booking": Refusal(
        two_bookings,
        lambda db, held: BookingService.reschedule_booking(
            db, held[1].id, NINE + HALF_HOUR / 2, NINE + 2 * HALF_HOUR
        ),
        BookingConflictError,
    ),
}


@pytest.fixture(params=list(REFUSALS))
def refusal(request: pytest.FixtureRequest) -> Refusal:
    return REFUSALS[request.param]


async def test_a_refusal_leaves_pending_work_uncommitted_in_the_session(
    engine: AsyncEngine, db: AsyncSession, refusal: Refusal
) -> None:
    held = await refusal.arrange(db)
    before = await committed_state(engine)
    mine = Example(name="the caller's pending example")
    db.add(mine)

    with pytest.raises(refusal.error):
        await refusal.act(db, held)

    assert await committed_state(engine) == before, "the refused call committed something"
    assert mine in db and db.in_transaction(), "the caller's work left the session"
    await db.commit()
    assert (await example_names(engine))[-1] == "the caller's pending example"


async def test_a_refusal_leaves_flushed_work_for_the_caller_to_roll_back(
    engine: AsyncEngine, db: AsyncSession, refusal: Refusal
) -> None:
    held = await refusal.arrange(db)
    before = await committed_state(engine)
    mine = Example(name="the caller's flushed example")
    db.add(mine)
    await db.flush()

    with pytest.raises(refusal.error):
        await refusal.act(db, held)

    assert await committed_state(engine) == before, "the refused call committed something"
    assert inspect(mine).persistent and db.in_transaction()
    assert (await db.execute(select(Example.name).where(Example.id == mine.id))).scalar_one() == (
        "the caller's flushed example"
    ), "the caller's flushed row is gone from its own transaction"
    await db.rollback()
    assert await committed_state(engine) == before
    assert mine not in db


async def test_a_refusal_on_a_clean_session_ends_its_transaction_and_keeps_objects_loaded(
    engine: AsyncEngine, db: AsyncSession, refusal: Refusal
) -> None:
    held = await refusal.arrange(db)
    assert not db.in_transaction()
    before = await committed_state(engine)

    with pytest.raises(refusal.error):
        await refusal.act(db, held)

    assert not db.in_transaction(), "the call left its transaction open"
    assert await committed_state(engine) == before
    for instance in held:
        assert is_loaded(instance), f"{instance!r} was expired"
    # Still usable.
    assert (await create_example(db, "after the refusal")).id is not None
    assert (await example_names(engine))[-1] == "after the refusal"


async def test_a_refusal_inside_an_open_transaction_leaves_it_open(
    engine: AsyncEngine, db: AsyncSession, refusal: Refusal
) -> None:
    held = await refusal.arrange(db)
    await get_examples(db)  # a read begins the caller's transaction
    assert db.in_transaction()

    with pytest.raises(refusal.error):
        await refusal.act(db, held)

    assert db.in_transaction(), "the call ended the caller's transaction"
    for instance in held:
        assert is_loaded(instance), f"{instance!r} was expired"
    await db.rollback()


async def test_a_refused_booking_releases_the_practitioner_lock_at_once(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    await a_booking(db)
    db.add(Example(name="keeps the transaction open"))
    with pytest.raises(BookingConflictError):
        await BookingService.create_booking(db, 1, 9, NINE, NINE + HALF_HOUR)
    assert db.in_transaction()

    # Another writer of practitioner 1 does not wait for the caller to end its transaction.
    async with make_session_maker(engine)() as other:
        later = NINE + 4 * HALF_HOUR
        booked = await asyncio.wait_for(
            BookingService.create_booking(other, 1, 9, later, later + HALF_HOUR), timeout=10
        )
    assert booked.id is not None
    async with engine.connect() as connection:
        free = await connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:space, 1)"), {"space": LOCK_SPACE}
        )
        assert free
    await db.commit()


async def test_a_successful_call_commits_the_callers_work_with_its_own(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    db.add(Example(name="pending before the call"))
    await create_example(db, "the call's own")
    assert not db.in_transaction()
    assert await example_names(engine) == ["pending before the call", "the call's own"]


async def test_bad_input_touches_nothing(engine: AsyncEngine, db: AsyncSession) -> None:
    refused_before_io = (
        lambda: BookingService.create_booking(db, 1, 7, NINE, NINE - HALF_HOUR),
        lambda: create_example(db, ""),
    )
    answered_before_io = (  # ids no row can have
        lambda: update_example(db, 2**40, name="x"),
        lambda: delete_example(db, 0),
        lambda: BookingService.confirm_booking(db, 0),
    )
    for call in refused_before_io:
        with pytest.raises(InvalidInputError):
            await call()
    for call in answered_before_io:
        assert await call() in (None, False)
    assert not db.in_transaction(), "a transaction was begun"

    mine = Example(name="still pending")
    db.add(mine)
    for call in refused_before_io:
        with pytest.raises(InvalidInputError):
            await call()
    for call in answered_before_io:
        assert await call() in (None, False)
    assert inspect(mine).pending, "the caller's pending object was flushed or dropped"
    assert await example_names(engine) == []


async def test_an_interrupted_call_rolls_everything_back_and_the_session_recovers(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    """Cancelled while it waits for the practitioner lock another transaction holds."""
    async with make_session_maker(engine)() as holder:
        holder.add(
            Booking(practitioner_id=1, patient_id=7, start_time=NINE, end_time=NINE + HALF_HOUR)
        )
        await holder.flush()  # the trigger took practitioner 1's lock, held until commit
        db.add(Example(name="pending in the interrupted session"))
        call = asyncio.create_task(
            BookingService.create_booking(db, 1, 9, NINE + HALF_HOUR, NINE + 2 * HALF_HOUR)
        )
        done, _ = await asyncio.wait([call], timeout=1)
        assert not done, "the call did not wait for the lock"
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await holder.rollback()

    assert not db.in_transaction()
    assert await committed_state(engine) == {
        table.name: [] for table in Base.metadata.sorted_tables
    }
    assert (await create_example(db, "after the interruption")).id is not None
    assert await example_names(engine) == ["after the interruption"]
