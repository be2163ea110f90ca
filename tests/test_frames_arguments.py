"""Frame functions refuse bad arguments like the services do: an ``InvalidInputError`` naming the
argument and what it allows, before anything reaches the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.errors import AfricareDataError, InvalidInputError
from africare_data.frames import (
    bookings_frame,
    bookings_per_day,
    iter_bookings_frames,
    practitioner_summary,
    read_frame,
    weekday_hour_counts,
)
from africare_data.models import Booking, BookingStatus

NAIVE = datetime(2026, 3, 2, 9)
AWARE = datetime(2026, 3, 2, 9, tzinfo=UTC)

BAD_BOOKINGS_ARGUMENTS = [
    ({"status": "bogus"}, r"^status: Input should be 'pending', 'confirmed' or 'cancelled'$"),
    ({"status": ["pending", "bogus"]}, r"^status: 1: Input should be 'pending', 'confirmed'"),
    ({"status": 3}, r"^status: Input should be a valid list"),
    ({"practitioner_id": 10**30}, r"^practitioner_id: Input should be less than or equal to"),
    ({"practitioner_id": 0}, r"^practitioner_id: Input should be greater than 0$"),
    ({"practitioner_id": True}, r"^practitioner_id: must be an integer, not a boolean$"),
    ({"patient_id": False}, r"^patient_id: must be an integer, not a boolean$"),
    ({"patient_id": "7"}, r"^patient_id: Input should be a valid integer$"),
    ({"start": NAIVE}, r"^start: Input should have timezone info$"),
    ({"end": NAIVE}, r"^end: Input should have timezone info$"),
    ({"start": 1}, r"^start: .*ISO 8601 date and time with a timezone"),
    ({"tz": "Mars/Olympus"}, r"^tz: must be an IANA time zone name such as 'Africa/Lagos'"),
    ({"tz": "UTC'; DROP TABLE bookings; --"}, r"^tz: must be an IANA time zone name"),
    ({"tz": None}, r"^tz: must be an IANA time zone name"),
]


@pytest.mark.parametrize(
    ("arguments", "message"), BAD_BOOKINGS_ARGUMENTS, ids=lambda x: str(x)[:40]
)
async def test_bookings_frame_refuses_bad_arguments(
    session: AsyncSession, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as refused:
        await bookings_frame(session, **arguments)
    assert isinstance(refused.value, AfricareDataError)
    with pytest.raises(InvalidInputError, match=message):
        async for _ in iter_bookings_frames(session, **arguments):
            pass


ANALYTICS: list[Callable[..., Awaitable[pd.DataFrame]]] = [
    bookings_per_day,
    practitioner_summary,
    weekday_hour_counts,
]


@pytest.mark.parametrize("analysis", ANALYTICS, ids=lambda f: f.__name__)
async def test_analytics_refuse_naive_or_numeric_windows(
    session: AsyncSession, analysis: Callable[..., Awaitable[pd.DataFrame]]
) -> None:
    with pytest.raises(InvalidInputError, match=r"^start: Input should have timezone info$"):
        await analysis(session, start=NAIVE)
    with pytest.raises(InvalidInputError, match=r"^end: .*ISO 8601"):
        await analysis(session, end=1)
    accepted = await analysis(session, start=AWARE, end=AWARE)
    assert accepted.select_dtypes("number").to_numpy().sum() == 0


@pytest.mark.parametrize("analysis", [bookings_per_day, weekday_hour_counts])
async def test_analytics_refuse_unknown_time_zones(
    session: AsyncSession, analysis: Callable[..., Awaitable[pd.DataFrame]]
) -> None:
    with pytest.raises(InvalidInputError, match=r"^tz: must be an IANA time zone name"):
        await analysis(session, tz="Nowhere/City")


async def test_read_frame_refuses_an_unknown_method_or_time_zone(session: AsyncSession) -> None:
    stmt = select(Booking.id)
    with pytest.raises(InvalidInputError, match=r"^method: must be one of auto, session, copy"):
        await read_frame(session, stmt, method="fast")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^tz: "):
        await read_frame(session, stmt, tz="Mars/Olympus")


@pytest.mark.parametrize("chunksize", [0, -5, True, 2.5, "10"])
async def test_iteration_refuses_a_bad_chunksize(session: AsyncSession, chunksize: object) -> None:
    with pytest.raises(InvalidInputError, match=r"^chunksize: "):
        async for _ in iter_bookings_frames(session, chunksize=chunksize):  # type: ignore[arg-type]
            pass


async def test_good_arguments_of_every_form_are_accepted(session: AsyncSession) -> None:
    frame = await bookings_frame(
        session,
        practitioner_id=3.0,  # type: ignore[arg-type]  # a whole number, as JSON counts it
        status=(BookingStatus.PENDING, "confirmed"),
        start="2026-03-02T09:00:00+01:00",  # type: ignore[arg-type]
        end=AWARE,
        tz="Africa/Lagos",
    )
    assert frame.empty
    assert str(frame["start_time"].dtype) == "datetime64[us, Africa/Lagos]"
