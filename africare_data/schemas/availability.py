"""Schemas of availability: weekly hours, dated exceptions, and bookable slots.

The rules a caller can break without asking the database live here, so the API, the notebooks and
the services refuse the same inputs with the same messages: a time zone must be an IANA name the
toolkit knows (``Africa/Cairo``), local times carry no offset (the zone says where they are), an
interval ends after it starts on the same day, weekdays are ISO (1 = Monday ... 7 = Sunday), the
intervals of one weekday do not overlap, and an exception ends after it starts.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from functools import cache
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from africare_data.models.availability import EXCEPTION_REASON_LENGTH, ExceptionKind
from africare_data.schemas.types import NOT_A_BOOLEAN, StorableText, Timestamp

__all__ = [
    "MAX_RULES",
    "AvailabilityExceptionCreate",
    "AvailabilityExceptionResponse",
    "AvailabilityRuleCreate",
    "AvailabilityRuleResponse",
    "PractitionerSlot",
    "TimeZoneName",
    "Weekday",
    "WeeklyAvailabilityUpdate",
]

MAX_RULES = 7 * 24
"""Most intervals one weekly schedule may hold (an hour each, every hour of the week)."""


@cache
def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a known IANA time zone name (e.g. 'Africa/Cairo')"
        ) from None
    return name


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"),
    AfterValidator(_known_zone),
]
"""An IANA time zone name, e.g. ``Africa/Casablanca``."""

Weekday = Annotated[int, Strict(), Field(ge=1, le=7), NOT_A_BOOLEAN]
"""An ISO weekday: 1 = Monday ... 7 = Sunday."""


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("must be a local wall-clock time without an offset (the zone says where)")
    return value


LocalTime = Annotated[time, AfterValidator(_wall_clock)]


class AvailabilityRuleCreate(BaseModel):
    """One weekly interval: a weekday and local start and end times (end exclusive)."""

    weekday: Weekday = Field(..., description="ISO weekday: 1 = Monday ... 7 = Sunday")
    start_local: LocalTime = Field(..., description="Local start, e.g. 08:00")
    end_local: LocalTime = Field(
        ..., description="Local end (exclusive), after start_local on the same day, e.g. 12:00"
    )

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        if self.end_local <= self.start_local:
            raise ValueError(
                f"end_local ({self.end_local.isoformat()}) must be after start_local "
                f"({self.start_local.isoformat()}); split an interval that crosses midnight in two"
            )
        return self


class WeeklyAvailabilityUpdate(BaseModel):
    """A practitioner's weekly hours in one time zone, in force from ``valid_from``.

    ``valid_until`` (inclusive) ends them; ``None`` keeps them until further notice.
    """

    time_zone: TimeZoneName = Field(..., description="IANA time zone, e.g. 'Africa/Cairo'")
    valid_from: date = Field(..., description="First day these hours apply")
    valid_until: date | None = Field(None, description="Last day they apply (inclusive), or null")
    rules: list[AvailabilityRuleCreate] = Field(
        ..., max_length=MAX_RULES, description="The weekly intervals; none: not available"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError(
                f"valid_until ({self.valid_until}) must not be before valid_from "
                f"({self.valid_from})"
            )
        ordered = sorted(self.rules, key=lambda rule: (rule.weekday, rule.start_local))
        for before, after in itertools.pairwise(ordered):
            if before.weekday == after.weekday and after.start_local < before.end_local:
                raise ValueError(
                    f"rules: weekday {before.weekday} has overlapping intervals "
                    f"{before.start_local.isoformat()}-{before.end_local.isoformat()} and "
                    f"{after.start_local.isoformat()}-{after.end_local.isoformat()}"
                )
        return self


class AvailabilityRuleResponse(BaseModel):
    """A stored weekly interval with its zone and validity."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    practitioner_id: int
    weekday: int
    start_local: time
    end_local: time
    time_zone: str
    valid_from: date
    valid_until: date | None = None


class AvailabilityExceptionCreate(BaseModel):
    """Time off (removes availability) or extra hours (adds it), in absolute time."""

    starts_at: Timestamp = Field(..., description="Start, with a timezone")
    ends_at: Timestamp = Field(..., description="End (exclusive), with a timezone, after starts_at")
    kind: ExceptionKind = Field(ExceptionKind.TIME_OFF, description="time_off or extra")
    reason: StorableText | None = Field(
        None, max_length=EXCEPTION_REASON_LENGTH, description="Why, in a few words"
    )

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError(
                f"ends_at ({self.ends_at.isoformat()}) must be after "
                f"starts_at ({self.starts_at.isoformat()})"
            )
        return self


class AvailabilityExceptionResponse(BaseModel):
    """A stored exception."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    kind: ExceptionKind
    reason: str | None = None


class PractitionerSlot(BaseModel):
    """A bookable slot ``[start, end)`` of one practitioner."""

    model_config = ConfigDict(frozen=True)

    practitioner_id: int
    start: datetime
    end: datetime
