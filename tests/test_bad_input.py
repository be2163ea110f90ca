"""Bad input through the Python services: refused with ``InvalidInputError`` naming the field.

Every text field gets a NUL character (PostgreSQL text cannot store it), every integer 2**63
(beyond PostgreSQL's ``bigint``), every id ``True`` (a bool is not an id) and every timestamp a
number (not a moment). Each call must be refused before any I/O: no SQL statement reaches the
server and no row is written. The same inputs over HTTP are in ``test_api_bad_input.py``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data import services
from africare_data.errors import InvalidInputError
from africare_data.models import Base
from africare_data.services import BookingService

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LAGOS = timezone(timedelta(hours=1))
HALF_HOUR = timedelta(minutes=30)
NUL = "a\x00b"
TOO_BIG = 2**63

Call = Callable[[AsyncSession], Awaitable[Any]]


def booking(**overrides: Any) -> Call:
    arguments: dict[str, Any] = {
        "practitioner_id": 1,
        "patient_id": 2,
        "start_time": NINE,
        "end_time": NINE + HALF_HOUR,
    }
    arguments.update(overrides)
    return lambda db: BookingService.create_booking(db, **arguments)


REFUSED: list[Any] = [
    # A NUL in every text field, lookups included.
    pytest.param(lambda db: services.create_example(db, NUL), "name", id="example-name-nul"),
    pytest.param(
        lambda db: services.create_example(db, "ok", NUL), "description", id="example-desc-nul"
    ),
    pytest.param(lambda db: services.update_example(db, 1, NUL), "name", id="update-name-nul"),
    pytest.param(
        lambda db: services.update_example(db, 1, None, NUL), "description", id="update-desc-nul"
    ),
    pytest.param(lambda db: services.create_user(db, NUL, "a@b.org"), "name", id="user-name-nul"),
    pytest.param(
        lambda db: services.create_user(db, "Ada", "a\x00@b.org"), "email", id="user-email-nul"
    ),
    pytest.param(
        lambda db: services.find_users_by_email(db, "a\x00@b.org"), "email", id="find-email-nul"
    ),
    pytest.param(lambda db: services.create_post(db, 1, NUL, "c"), "title", id="post-title-nul"),
    pytest.param(
        lambda db: services.create_post(db, 1, "t", NUL), "content", id="post-content-nul"
    ),
    pytest.param(lambda db: services.create_event_type(db, NUL, 30), "name", id="event-type-nul"),
    pytest.param(
        lambda db: BookingService.cancel_booking(db, 1, NUL), "reason", id="cancel-reason-nul"
    ),
    # Integers beyond PostgreSQL's range.
    pytest.param(lambda db: services.get_examples(db, offset=TOO_BIG), "offset", id="offset-big"),
    pytest.param(lambda db: services.get_examples(db, limit=TOO_BIG), "limit", id="limit-big"),
    pytest.param(
        lambda db: services.create_event_type(db, "x", TOO_BIG),
        "duration_minutes",
        id="duration-big",
    ),
    pytest.param(booking(practitioner_id=TOO_BIG), "practitioner_id", id="practitioner-big"),
    pytest.param(booking(patient_id=TOO_BIG), "patient_id", id="patient-big"),
    pytest.param(booking(event_type_id=TOO_BIG), "event_type_id", id="event-type-id-big"),
    pytest.param(
        lambda db: services.create_post(db, TOO_BIG, "t", "c"), "author_id", id="author-big"
    ),
    # Booleans are not ids (nor counts).
    pytest.param(lambda db: services.get_example(db, True), "id", id="get-example-true"),
    pytest.param(lambda db: services.update_example(db, True, "x"), "id", id="update-example-true"),
    pytest.param(lambda db: services.delete_example(db, True), "id", id="delete-example-true"),
    pytest.param(lambda db: services.get_examples(db, limit=True), "limit", id="limit-true"),
    pytest.param(lambda db: services.get_examples(db, offset=True), "offset", id="offset-true"),
    pytest.param(lambda db: services.get_user(db, True), "user_id", id="get-user-true"),
    pytest.param(
        lambda db: services.get_user_with_posts(db, True), "user_id", id="user-with-posts-true"
    ),
    pytest.param(
        lambda db: services.create_post(db, True, "t", "c"), "author_id", id="author-true"
    ),
    pytest.param(
        lambda db: services.create_event_type(db, "x", True), "duration_minutes", id="duration-true"
    ),
    pytest.param(
        lambda db: services.get_event_type(db, True), "event_type_id", id="event-type-true"
    ),
    pytest.param(booking(practitioner_id=True), "practitioner_id", id="practitioner-true"),
    pytest.param(booking(patient_id=True), "patient_id", id="patient-true"),
    pytest.param(booking(event_type_id=True), "event_type_id", id="event-type-id-true"),
    pytest.param(
        lambda db: BookingService.get_booking(db, True), "booking_id", id="get-booking-true"
    ),
    pytest.param(
        lambda db: BookingService.get_bookings_by_practitioner(db, True),
        "practitioner_id",
        id="practitioner-bookings-true",
    ),
    pytest.param(
        lambda db: BookingService.confirm_booking(db, True), "booking_id", id="confirm-true"
    ),
    pytest.param(
        lambda db: BookingService.cancel_booking(db, True), "booking_id", id="cancel-true"
    ),
    pytest.param(
        lambda db: BookingService.reschedule_booking(db, True, NINE, NINE + HALF_HOUR),
        "booking_id",
        id="reschedule-true",
    ),
    pytest.param(
        lambda db: BookingService.find_free_slots(db, True, NINE, NINE + HALF_HOUR, HALF_HOUR),
        "practitioner_id",
        id="free-slots-true",
    ),
    # Ids of the wrong type.
    pytest.param(lambda db: services.get_example(db, "1"), "id", id="get-example-string"),
    pytest.param(booking(practitioner_id=1.5), "practitioner_id", id="practitioner-float"),
    # Numbers are not timestamps.
    pytest.param(booking(start_time=1, end_time=2), "start_time", id="booking-numbers"),
    pytest.param(booking(start_time="1", end_time="2"), "start_time", id="booking-numeric-strings"),
    pytest.param(
        lambda db: BookingService.reschedule_booking(db, 1, 1, 2),
        "new_start",
        id="reschedule-numbers",
    ),
    pytest.param(
        lambda db: BookingService.get_bookings_by_practitioner(db, 1, start=0.5),  # type: ignore[arg-type]
        "start",
        id="practitioner-bookings-number",
    ),
    pytest.param(
        lambda db: BookingService.find_free_slots(db, 1, 1, 2, HALF_HOUR),  # type: ignore[arg-type]
        "day_start",
        id="free-slots-numbers",
    ),
    pytest.param(
        lambda db: BookingService.find_free_slots(db, 1, NINE, NINE + HALF_HOUR, 30),  # type: ignore[arg-type]
        "duration",
        id="free-slots-duration-number",
    ),
    # A moment PostgreSQL could store but UTC cannot express in Python.
    pytest.param(
        booking(
            start_time=datetime(1, 1, 1, 0, 0, tzinfo=LAGOS),
            end_time=datetime(1, 1, 1, 0, 30, tzinfo=LAGOS),
        ),
        "start_time",
        id="booking-before-year-one-in-utc",
    ),
]


@contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the engine sends to the server while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def row_counts(db: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = await db.scalar(select(func.count()).select_from(table)) or 0
    return counts


@pytest.mark.parametrize(("call", "field"), REFUSED)
async def test_bad_input_is_refused_before_any_io(
    session: AsyncSession, db_engine: AsyncEngine, call: Call, field: str
) -> None:
    before = await row_counts(session)
    with statements_sent(db_engine) as sent, pytest.raises(InvalidInputError) as caught:
        await call(session)
    # The message names the field first ("field: reason"); an id may carry its entity's prefix.
    assert re.match(rf"(\w+_)?{field}: ", str(caught.value)), str(caught.value)
    assert sent == []
    assert await row_counts(session) == before
