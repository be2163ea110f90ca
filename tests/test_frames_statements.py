"""Statements compiled once per shape: each call still runs with its own values.

A cached compilation is shared by every statement of the same shape, so a wrong reuse would send
one call's SQL with another call's values (or the other call's values altogether). ``IN`` lists
write their length into the SQL, so those statements must never share one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import asyncpg

from africare_data.frames import statements
from africare_data.frames.dtypes import AnySelect
from africare_data.models import Booking, BookingStatus

DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call]


def _agenda(practitioner: int, start: datetime) -> AnySelect:
    return (
        select(Booking.id)
        .where(Booking.practitioner_id == practitioner, Booking.start_time >= start)
        .order_by(Booking.start_time)
    )


def test_statements_of_one_shape_share_the_sql_but_not_the_values() -> None:
    first = statements.driver_query(_agenda(7, datetime(2030, 1, 1, tzinfo=UTC)), DIALECT)
    second = statements.driver_query(_agenda(9, datetime(2031, 2, 3, tzinfo=UTC)), DIALECT)
    assert first[0] == second[0]
    assert first[1] == [7, datetime(2030, 1, 1, tzinfo=UTC)]
    assert second[1] == [9, datetime(2031, 2, 3, tzinfo=UTC)]


def test_in_lists_of_other_lengths_get_their_own_sql() -> None:
    def by_status(*wanted: BookingStatus) -> tuple[str, list[object]]:
        stmt = select(Booking.id).where(Booking.status.in_(wanted))
        return statements.driver_query(stmt, DIALECT)

    one = by_status(BookingStatus.PENDING)
    two = by_status(BookingStatus.PENDING, BookingStatus.CONFIRMED)
    again = by_status(BookingStatus.CANCELLED)
    assert (one[0].count("$"), two[0].count("$"), again[0].count("$")) == (1, 2, 1)
    assert one[1] == ["pending"]
    assert two[1] == ["pending", "confirmed"]
    assert again[1] == ["cancelled"]
