"""The booking API exactly as the platform's original design document writes it: the baseline.

``benchmarks/bench_api.py`` runs it beside the toolkit's own app (``africare_data.api``) on the
same PostgreSQL server and the same loads. Everything here is the document's plain pattern: a
module-level engine with the default pool, ``async_sessionmaker(expire_on_commit=False)``, a
``get_session`` dependency, ORM models, and services that ``add``, ``commit`` and ``refresh``.
There is no overlap rule at all (no trigger, no constraint, no check in Python), so concurrent
requests for one slot all succeed; the benchmark counts the overlapping bookings this leaves.

Its tables have the toolkit's columns; the benchmark builds them in a database of their own with
:func:`create_db_and_tables`. Run with ``SQLALCHEMY_DATABASE_URI`` set::

    uvicorn benchmarks.naive_app:app
"""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["app", "create_db_and_tables"]

# database.py
DATABASE_URI = os.environ.get("SQLALCHEMY_DATABASE_URI", "postgresql+asyncpg://localhost/naive")
engine = create_async_engine(DATABASE_URI, echo=False)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


async def get_session() -> AsyncIterator[AsyncSession]:
    async with async_session_maker() as session:
        yield session


async def create_db_and_tables() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


# models/booking.py
class BookingStatus(str, enum.Enum):  # noqa: UP042 (the document's spelling)
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class EventType(Base):
    __tablename__ = "event_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Booking(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(Integer, index=True)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    event_type_id: Mapped[int | None] = mapped_column(ForeignKey("event_types.id"))
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    end_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, name="booking_status", values_callable=lambda e: [s.value for s in e]),
        default=BookingStatus.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), onupdate=func.now()
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))


# schemas/booking.py
class BookingCreate(BaseModel):
    practitioner_id: int
    patient_id: int
    start_time: datetime
    end_time: datetime
    event_type_id: int | None = None


class BookingResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    practitioner_id: int
    patient_id: int
    event_type_id: int | None
    start_time: datetime
    end_time: datetime
    status: BookingStatus
    created_at: datetime
    updated_at: datetime | None


# services/bookings.py
class BookingService:
    @staticmethod
    async def create_booking(db: AsyncSession, data: BookingCreate) -> Booking:
        booking = Booking(**data.model_dump(), status=BookingStatus.PENDING)
        db.add(booking)
        await db.commit()
        await db.refresh(booking)
        return booking

    @staticmethod
    async def get_bookings_by_practitioner(
        db: AsyncSession, practitioner_id: int
    ) -> Sequence[Booking]:
        result = await db.execute(
            select(Booking)
            .where(Booking.practitioner_id == practitioner_id)
            .order_by(Booking.start_time)
        )
        return result.scalars().all()

    @staticmethod
    async def confirm_booking(db: AsyncSession, booking_id: int) -> Booking | None:
        booking = await db.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.PENDING:
            return None
        booking.status = BookingStatus.CONFIRMED
        await db.commit()
        await db.refresh(booking)
        return booking

    @staticmethod
    async def cancel_booking(db: AsyncSession, booking_id: int) -> Booking | None:
        booking = await db.get(Booking, booking_id)
        if booking is None or booking.status == BookingStatus.CANCELLED:
            return None
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = func.now()
        await db.commit()
        await db.refresh(booking)
        return booking


# main.py
app = FastAPI(title="Naive booking API")
SessionDep = Annotated[AsyncSession, Depends(get_session)]


@app.post("/bookings/", status_code=201)
async def create_booking(data: BookingCreate, db: SessionDep) -> BookingResponse:
    return BookingResponse.model_validate(await BookingService.create_booking(db, data))


@app.get("/practitioners/{practitioner_id}/bookings/")
async def get_practitioner_bookings(practitioner_id: int, db: SessionDep) -> list[BookingResponse]:
    bookings = await BookingService.get_bookings_by_practitioner(db, practitioner_id)
    return [BookingResponse.model_validate(booking) for booking in bookings]


@app.post("/bookings/{booking_id}/confirm")
async def confirm_booking(booking_id: int, db: SessionDep) -> BookingResponse:
    booking = await BookingService.confirm_booking(db, booking_id)
    if booking is None:
        raise HTTPException(status_code=404, detail="Booking not found or cannot be confirmed")
    return BookingResponse.model_validate(booking)


@app.post("/bookings/{booking_id}/cancel")
async def cancel_booking(booking_id: int, db: SessionDep) -> BookingResponse:
    booking = await BookingService.cancel_booking(db, booking_id)
    if booking is None:
        raise HTTPException(status_code=404, detail="Booking not found or cannot be cancelled")
    return BookingResponse.model_validate(booking)
