"""How the toolkit's errors become HTTP responses: one handler per error class, one place.

Routes call the services and let domain errors propagate; :func:`install_exception_handlers`
registers a handler for each class, so a status code and body are decided once, and the OpenAPI
``responses`` the routes declare (:data:`NOT_FOUND`, :data:`CONFLICT`, ...) describe exactly
these bodies.

Every error body is :class:`ErrorBody` (``{"detail": "message"}``), except a booking conflict,
which also names the booking in the way (:class:`BookingConflictBody`), and 422, which keeps
FastAPI's validation shape (``{"detail": [{"loc": ..., "msg": ..., "type": ...}]}``) whether the
request failed the schema or a service's own check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from africare_data.errors import (
    AvailabilityConflictError,
    BookingConflictError,
    DuplicateEmailError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    OutsideAvailabilityError,
)

__all__ = [
    "AVAILABILITY_CONFLICT",
    "BOOKING_CONFLICT",
    "DUPLICATE_EMAIL",
    "MALFORMED_BODY",
    "NOT_FOUND",
    "BookingConflictBody",
    "ConflictingBooking",
    "ErrorBody",
    "install_exception_handlers",
]


class ErrorBody(BaseModel):
    """The body of an error response: one human-readable message."""

    detail: str = Field(..., examples=["Example not found"])


class ConflictingBooking(BaseModel):
    """The active booking a requested time collides with."""

    id: int
    practitioner_id: int | None = None
    start_time: datetime
    end_time: datetime


class BookingConflictBody(ErrorBody):
    """A 409 on booking: the message and the booking in the way.

    ``conflicting_booking`` is the booking the database's refusal named (its id, practitioner
    and times); ``null`` only if the refusal did not name one.
    """

    conflicting_booking: ConflictingBooking | None = None


Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"model": ErrorBody, "description": "No such row"}}
BOOKING_CONFLICT: Responses = {
    409: {
        "model": BookingConflictBody,
        "description": (
            "The time overlaps a pending or confirmed booking of the practitioner (the body "
            "names it), or lies outside the practitioner's availability (no booking named)"
        ),
    }
}
AVAILABILITY_CONFLICT: Responses = {
    409: {
        "model": ErrorBody,
        "description": "An interval overlaps another of the practitioner's weekly intervals",
    }
}
DUPLICATE_EMAIL: Responses = {
    409: {"model": ErrorBody, "description": "A user with this e-mail address exists"}
}
# FastAPI answers 422 for a body that is not JSON, but 400 for one it cannot even decode (bytes
# that are not UTF-8): every route that reads a body declares it.
MALFORMED_BODY: Responses = {
    400: {"model": ErrorBody, "description": "The body could not be read (it is not UTF-8 text)"}
}


def _error(status_code: int, error: Exception) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=ErrorBody(detail=str(error)).model_dump())


async def _not_found(request: Request, error: NotFoundError) -> JSONResponse:
    return _error(404, error)


async def _booking_conflict(request: Request, error: BookingConflictError) -> JSONResponse:
    conflicting = None
    if (
        error.conflicting_booking_id is not None
        and error.conflicting_start is not None
        and error.conflicting_end is not None
    ):
        conflicting = ConflictingBooking(
            id=error.conflicting_booking_id,
            practitioner_id=error.practitioner_id,
            start_time=error.conflicting_start,
            end_time=error.conflicting_end,
        )
    body = BookingConflictBody(detail=str(error), conflicting_booking=conflicting)
    return JSONResponse(status_code=409, content=body.model_dump(mode="json"))


async def _duplicate_email(request: Request, error: DuplicateEmailError) -> JSONResponse:
    return _error(409, error)


async def _invalid_transition(request: Request, error: InvalidTransitionError) -> JSONResponse:
    return _error(409, error)


async def _conflict(request: Request, error: Exception) -> JSONResponse:
    return _error(409, error)


async def _invalid_input(request: Request, error: InvalidInputError) -> JSONResponse:
    # The same shape as FastAPI's request validation errors, so a client reads one 422 format.
    # The message already names the field ("limit: must be ...").
    detail = [{"loc": [], "msg": str(error), "type": "value_error"}]
    return JSONResponse(status_code=422, content={"detail": detail})


def install_exception_handlers(app: FastAPI) -> None:
    """Register the handler of each toolkit error class on ``app``.

    Errors without a handler here (a database that is down, a bug) are not dressed up: they
    reach Starlette's server-error middleware, which logs them and answers 500.
    """
    app.exception_handler(NotFoundError)(_not_found)
    app.exception_handler(BookingConflictError)(_booking_conflict)
    app.exception_handler(DuplicateEmailError)(_duplicate_email)
    app.exception_handler(InvalidTransitionError)(_invalid_transition)
    app.exception_handler(OutsideAvailabilityError)(_conflict)
    app.exception_handler(AvailabilityConflictError)(_conflict)
    # Also covers InvalidBookingError: Starlette picks the handler of the nearest class in the MRO.
    app.exception_handler(InvalidInputError)(_invalid_input)
