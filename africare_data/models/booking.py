"""Bookings: ``EventType``, ``BookingStatus`` and ``Booking``.

Practitioners and patients live in other services, so their ids are plain indexed integers, not
foreign keys. PostgreSQL enforces two rules, for every writer: ``ck_bookings_end_after_start``
(``end_time > start_time``) and ``ex_bookings_no_overlap``, the no-overlap rule, whose triggers
(``models.no_overlap``) and partial index are declared on the table below; how it works is in
``docs/architecture.md``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from africare_data.models import no_overlap
from africare_data.models.base import Base

__all__ = ["CANCELLATION_REASON_LENGTH", "Booking", "BookingStatus", "EventType"]

CANCELLATION_REASON_LENGTH = 500
"""Longest cancellation reason stored (``bookings.cancellation_reason``)."""


class BookingStatus(str, enum.Enum):  # noqa: UP042 (the original document's spelling)
    """Lifecycle of a booking: pending -> confirmed, and either -> cancelled."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class EventType(Base):
    """A kind of appointment (e.g. "Consultation, 30 min")."""

    __tablename__ = "event_types"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def __repr__(self) -> str:
        return f"EventType(id={self.id!r}, name={self.name!r})"


booking_status_type = Enum(
    BookingStatus,
    name="booking_status",
    values_callable=lambda statuses: [status.value for status in statuses],
)


class Booking(Base):
    """An appointment of a patient with a practitioner.

    ``cancelled_at`` and ``cancellation_reason`` record when and why a booking was cancelled; both
    stay ``None`` for active bookings.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="end_after_start"),
        Index(
            "ix_bookings_active_practitioner_start",
            "practitioner_id",
            "start_time",
            postgresql_where=text("status <> 'cancelled'"),
        ),
        # A practitioner's agenda: its window of time in one index range (revision 0008).
        Index("ix_bookings_practitioner_start", "practitioner_id", "start_time"),
        {"listeners": no_overlap.LISTENERS},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    event_type_id: Mapped[int | None] = mapped_column(ForeignKey("event_types.id"))
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    end_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[BookingStatus] = mapped_column(
        booking_status_type,
        default=BookingStatus.PENDING,
        server_default=BookingStatus.PENDING.value,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), onupdate=func.now()
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancellation_reason: Mapped[str | None] = mapped_column(String(CANCELLATION_REASON_LENGTH))

    def __repr__(self) -> str:
        return (
            f"Booking(id={self.id!r}, practitioner_id={self.practitioner_id!r}, "
            f"start_time={self.start_time!r}, status={self.status!r})"
        )
