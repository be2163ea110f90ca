"""Availability: weekly working hours, dated exceptions, and the event types a practitioner offers.

* ``AvailabilityRule``: one interval of a weekday in local wall-clock time (Monday 08:00-12:00)
  in an IANA time zone, valid from a date until an optional last date (inclusive), so a schedule
  can change without rewriting the past. A time is resolved to UTC per date, so "09:00" stays
  09:00 local across a daylight-saving change.
* ``AvailabilityException``: a dated exception in absolute time, either ``time_off`` (removes
  availability: leave, a holiday) or ``extra`` (adds it: a Saturday clinic).
* ``PractitionerEventType``: which event types a practitioner offers.

Practitioners live in another service, so ``practitioner_id`` is a plain integer, as on bookings.
PostgreSQL refuses malformed rows for every writer, through named constraints:
``ck_availability_rules_end_after_start``, ``ck_availability_rules_weekday_range``,
``ck_availability_rules_valid_until_after_valid_from``,
``ex_availability_rules_no_overlap`` (no two intervals of one practitioner and weekday overlap
while their validity overlaps; a GiST exclusion constraint over range types, which needs no
extension) and ``ck_availability_exceptions_ends_after_starts``. The SQL function
``practitioner_availability`` (:mod:`africare_data.models.availability_sql`) resolves all of it
to UTC ranges; importing this module registers it on ``Base.metadata``, so ``create_all`` builds
it as the migrations do.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    Time,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from africare_data.models import availability_sql
from africare_data.models.base import Base

__all__ = [
    "EXCEPTION_REASON_LENGTH",
    "AvailabilityException",
    "AvailabilityRule",
    "ExceptionKind",
    "PractitionerEventType",
]

EXCEPTION_REASON_LENGTH = 500
"""Longest reason the schemas accept for an availability exception (stored as ``text``)."""


class ExceptionKind(enum.StrEnum):
    """What a dated exception does to a practitioner's availability."""

    TIME_OFF = "time_off"
    EXTRA = "extra"


class AvailabilityRule(Base):
    """One weekly interval of a practitioner's working hours, in local wall-clock time."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("end_local > start_local", name="end_after_start"),
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_range"),
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="valid_until_after_valid_from"
        ),
        ExcludeConstraint(
            (text("int4range(practitioner_id, practitioner_id, '[]')"), "="),
            (text("int4range(weekday, weekday, '[]')"), "="),
            (text("tsrange(DATE '2000-01-03' + start_local, DATE '2000-01-03' + end_local)"), "&&"),
            (text("daterange(valid_from, valid_until, '[]')"), "&&"),
            name="ex_availability_rules_no_overlap",
            using="gist",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(Integer, index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # ISO: 1 = Monday ... 7 = Sunday
    start_local: Mapped[time] = mapped_column(Time)
    end_local: Mapped[time] = mapped_column(Time)
    time_zone: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return (
            f"AvailabilityRule(practitioner_id={self.practitioner_id!r}, weekday={self.weekday!r}, "
            f"{self.start_local.isoformat()}-{self.end_local.isoformat()} {self.time_zone})"
        )


exception_kind_type = Enum(
    ExceptionKind,
    name="availability_exception_kind",
    values_callable=lambda kinds: [kind.value for kind in kinds],
)


class AvailabilityException(Base):
    """Time off (removes availability) or extra hours (adds it), in absolute time."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_availability_exceptions_practitioner_starts", "practitioner_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[ExceptionKind] = mapped_column(exception_kind_type)
    reason: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return (
            f"AvailabilityException(id={self.id!r}, practitioner_id={self.practitioner_id!r}, "
            f"kind={self.kind!r}, starts_at={self.starts_at!r})"
        )


class PractitionerEventType(Base):
    """An event type a practitioner offers (the pair is the key)."""

    __tablename__ = "practitioner_event_types"

    practitioner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type_id: Mapped[int] = mapped_column(
        ForeignKey("event_types.id", ondelete="CASCADE"), primary_key=True, index=True
    )


availability_sql.register(Base.metadata)
