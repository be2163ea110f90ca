"""``/bookings`` and ``/practitioners/{id}/bookings/`` over :class:`BookingService`.

Double booking is refused by PostgreSQL (the no-overlap rule, ``docs/architecture.md``), so of
concurrent requests for one slot exactly one gets 201 and the others 409 naming the booking that
won.

Creating a booking and listing a practitioner's bookings, the busiest routes, run on a connection
of their own (:mod:`africare_data.services.booking_records`) and answer through
:func:`~africare_data.api.responses.json_response`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from africare_data.api.deps import EngineDep, SessionDep
from africare_data.api.errors import BOOKING_CONFLICT, MALFORMED_BODY, NOT_FOUND
from africare_data.api.responses import json_response
from africare_data.errors import NotFoundError
from africare_data.models import BookingStatus
from africare_data.schemas import BookingCancel, BookingCreate, BookingResponse, Timestamp
from africare_data.services import BookingService
from africare_data.services.booking_records import (
    create_booking_record,
    get_practitioner_booking_records,
)

__all__ = ["router"]

router = APIRouter(tags=["bookings"])


@router.post(
    "/bookings/",
    status_code=201,
    response_model=BookingResponse,
    responses={**NOT_FOUND, **BOOKING_CONFLICT, **MALFORMED_BODY},
)
async def create_booking(data: BookingCreate, engine: EngineDep) -> Response:
    """Book a pending appointment.

    409 if the time overlaps a pending or confirmed booking of the practitioner (the body names
    it); 404 if ``event_type_id`` names no event type; 422 for naive times, an end not after the
    start, or a booking longer than a day.
    """
    return json_response(await create_booking_record(engine, data), status_code=201)


@router.get("/bookings/{booking_id}", responses=NOT_FOUND)
async def get_booking(booking_id: int, db: SessionDep) -> BookingResponse:
    """One booking by id."""
    booking = await BookingService.get_booking(db, booking_id)
    if booking is None:
        raise NotFoundError("Booking", booking_id, message="Booking not found")
    return BookingResponse.model_validate(booking)


@router.get("/practitioners/{practitioner_id}/bookings/", response_model=list[BookingResponse])
async def get_practitioner_bookings(
    practitioner_id: int,
    engine: EngineDep,
    start: Annotated[Timestamp | None, Query(description="Keep bookings ending after")] = None,
    end: Annotated[Timestamp | None, Query(description="Keep bookings starting before")] = None,
    status: BookingStatus | None = None,
) -> Response:
    """The practitioner's bookings ordered by start time, optionally within ``[start, end)``."""
    bookings = await get_practitioner_booking_records(
        engine, practitioner_id, start=start, end=end, status=status
    )
    return json_response(bookings)


@router.post("/bookings/{booking_id}/confirm", responses=NOT_FOUND)
async def confirm_booking(booking_id: int, db: SessionDep) -> BookingResponse:
    """pending -> confirmed; 404 if the booking is missing or not pending."""
    booking = await BookingService.confirm_booking(db, booking_id)
    if booking is None:
        raise NotFoundError(
            "Booking", booking_id, message="Booking not found or cannot be confirmed"
        )
    return BookingResponse.model_validate(booking)


@router.post("/bookings/{booking_id}/cancel", responses={**NOT_FOUND, **MALFORMED_BODY})
async def cancel_booking(
    booking_id: int,
    db: SessionDep,
    data: Annotated[BookingCancel | None, Body()] = None,
) -> BookingResponse:
    """pending or confirmed -> cancelled (the slot is free again); 404 if missing or cancelled."""
    reason = None if data is None else data.reason
    booking = await BookingService.cancel_booking(db, booking_id, reason)
    if booking is None:
        raise NotFoundError(
            "Booking", booking_id, message="Booking not found or cannot be cancelled"
        )
    return BookingResponse.model_validate(booking)
