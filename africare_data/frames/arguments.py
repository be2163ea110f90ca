"""The frame functions' arguments, refused before any I/O when they are wrong.

Ids, timestamps and statuses go through the types the services validate with
(:mod:`africare_data.services._validation`, :mod:`africare_data.schemas.types`), so a frame
refuses what a service refuses, with the same message: an
:class:`~africare_data.errors.InvalidInputError` naming the argument and what it allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter

from africare_data.errors import InvalidInputError
from africare_data.models import BookingStatus
from africare_data.schemas.types import Integer
from africare_data.services._validation import ID, OPTIONAL_TIMESTAMP, checked

__all__ = ["BookingFilters", "Method", "booking_filters", "chunk_size", "method", "time_zone"]

Method = Literal["auto", "session", "copy"]
"""How :func:`~africare_data.frames.read_frame` fetches: by the planner's estimate, on the
session's connection, or by ``COPY``."""

_STATUS: TypeAdapter[BookingStatus] = TypeAdapter(BookingStatus)
_STATUSES: TypeAdapter[list[BookingStatus]] = TypeAdapter(list[BookingStatus])
_INTEGER: TypeAdapter[int] = TypeAdapter(Integer)
_EXAMPLE_ZONE: Final = "Africa/Lagos"


@dataclass(frozen=True)
class BookingFilters:
    """Checked bookings filters: ``None`` does not filter (an empty ``statuses`` keeps nothing)."""

    practitioner_id: int | None = None
    patient_id: int | None = None
    statuses: tuple[BookingStatus, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None


def booking_filters(
    practitioner_id: object = None,
    patient_id: object = None,
    status: object = None,
    start: object = None,
    end: object = None,
) -> BookingFilters:
    """The bookings filters, checked: ids of a row (``True`` and ``10**30`` are not), one status
    or a sequence of them, timezone-aware ``start`` and ``end``."""
    statuses: tuple[BookingStatus, ...] | None = None
    if isinstance(status, str):
        statuses = (checked(_STATUS, "status", status),)
    elif status is not None:
        several = checked(_STATUSES, "status", status)
        statuses = tuple(several)
    return BookingFilters(
        practitioner_id=_optional_id("practitioner_id", practitioner_id),
        patient_id=_optional_id("patient_id", patient_id),
        statuses=statuses,
        start=checked(OPTIONAL_TIMESTAMP, "start", start),
        end=checked(OPTIONAL_TIMESTAMP, "end", end),
    )


def _optional_id(name: str, value: object) -> int | None:
    return None if value is None else checked(ID, name, value)


def time_zone(tz: object) -> str:
    """``tz`` if it names an IANA time zone both Python and PostgreSQL know."""
    try:
        if isinstance(tz, str) and "\x00" not in tz:
            ZoneInfo(tz)
            return tz
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise InvalidInputError(
        f"tz: must be an IANA time zone name such as {_EXAMPLE_ZONE!r}, got {tz!r}"
    )


def chunk_size(chunksize: object) -> int:
    """``chunksize`` as a positive integer."""
    size = checked(_INTEGER, "chunksize", chunksize)
    if size < 1:
        raise InvalidInputError(f"chunksize: must be at least 1, got {size}")
    return size


def method(value: object) -> Method:
    """``value`` if it names a :data:`Method`."""
    allowed: tuple[Method, ...] = get_args(Method)
    for name in allowed:
        if value == name:
            return name
    raise InvalidInputError(f"method: must be one of {', '.join(allowed)}, got {value!r}")
