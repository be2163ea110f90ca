"""Schemas of event types and bookings.

``BookingCreate`` holds the booking rules a caller can break without asking the database: times
must carry a timezone, end after start, last at most :data:`MAX_BOOKING_DURATION`, and ids must be
positive ``integer`` values. The services validate through it, so the API, the notebooks and the
services refuse the same inputs with the same messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from africare_data.models.base import MAX_ID
from africare_data.models.booking import CANCELLATION_REASON_LENGTH, BookingStatus

__all__ = [
    "MAX_BOOKING_DURATION",
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

    name: str = Field(..., min_length=1, max_length=255, description="e.g. 'Consultation'")
    duration_minutes: int = Field(
        ..., gt=0, le=_MINUTES_PER_DAY, description="Length of the appointment in minutes"
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

    practitioner_id: int = Field(..., gt=0, le=MAX_ID, description="Practitioner's id")
    patient_id: int = Field(..., gt=0, le=MAX_ID, description="Patient's id")
    start_time: AwareDatetime = Field(..., description="Start, with a timezone")
    end_time: AwareDatetime = Field(..., description="End (exclusive), with a timezone")
    event_type_id: int | None = Field(None, gt=0, le=MAX_ID, description="Optional event type id")

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
