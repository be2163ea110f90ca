"""Schemas of event types and bookings.

``BookingCreate`` holds the booking rules a caller can break without asking the database: times
must carry a timezone, end after start, last at most :data:`MAX_BOOKING_DURATION`, and ids must be
positive ``integer`` values. The services validate through it (and through ``BookingCancel``), so
the API, the notebooks and the services refuse the same inputs with the same messages. JSON Schema
cannot compare two fields, so the OpenAPI document states the time rules in ``end_time``'s
description.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from africare_data.models.booking import CANCELLATION_REASON_LENGTH, BookingStatus
from africare_data.schemas.types import NOT_A_BOOLEAN, Id, StorableText, Timestamp

__all__ = [
    "MAX_BOOKING_DURATION",
    "BookingCancel",
    "BookingCreate",
    "BookingResponse",
    "EventTypeCreate",
    "EventTypeResponse",
    "TimeSlot",
]

MAX_BOOKING_DURATION = timedelta(hours=24)
"""The longest booking accepted (a day)."""

_MINUTES_PER_DAY = 24 * 60


class EventTypeCreate(BaseModel):
    """Input for creating an event type (a kind of appointment and its length)."""

    name: StorableText = Field(..., min_length=1, max_length=255, description="e.g. 'Consultation'")
    duration_minutes: Annotated[int, Strict(), Field(gt=0, le=_MINUTES_PER_DAY), NOT_A_BOOLEAN] = (
        Field(..., description="Length of the appointment in minutes")
    )


class EventTypeResponse(BaseModel):
    """An event type as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    duration_minutes: int
    created_at: datetime


class BookingCreate(BaseModel):
    """Input for a booking: timezone-aware, end after start, at most a day, positive ids."""

    practitioner_id: Id = Field(..., description="Practitioner's id")
    patient_id: Id = Field(..., description="Patient's id")
    start_time: Timestamp = Field(..., description="Start, with a timezone")
    end_time: Timestamp = Field(
        ...,
        description=(
            "End (exclusive), with a timezone: after start_time, "
            f"and at most {MAX_BOOKING_DURATION.total_seconds() / 3600:g} hours after it"
        ),
    )
    event_type_id: Id | None = Field(None, description="Optional event type id")

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        if self.end_time <= self.start_time:
            raise ValueError(
                f"end_time ({self.end_time.isoformat()}) must be after "
                f"start_time ({self.start_time.isoformat()})"
            )
        if self.end_time - self.start_time > MAX_BOOKING_DURATION:
            raise ValueError(
                f"end_time - start_time is {self.end_time - self.start_time}; "
                f"a booking may last at most {MAX_BOOKING_DURATION}"
            )
        return self


class BookingCancel(BaseModel):
    """Input for a cancellation: why the booking is cancelled (optional)."""

    reason: StorableText | None = Field(
        None, max_length=CANCELLATION_REASON_LENGTH, description="Why, in a few words"
    )


class BookingResponse(BaseModel):
    """A booking as stored, including its cancellation record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    practitioner_id: int
    patient_id: int
    event_type_id: int | None = None
    start_time: datetime
    end_time: datetime
    status: BookingStatus
    created_at: datetime
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = Field(None, max_length=CANCELLATION_REASON_LENGTH)


class TimeSlot(BaseModel):
    """A free interval ``[start, end)`` of a practitioner's calendar."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """How long the slot lasts."""
        return self.end - self.start
