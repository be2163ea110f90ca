"""Bookings for the web API: created and listed on a Core connection, returned as schemas.

A web request creates or lists bookings and answers at once: it needs none of an ORM session's
bookkeeping (identity map, unit of work, expiry), which costs the server more CPU than the
statement itself (``benchmarks/README.md``, the web API). These functions run the statements of
:class:`~africare_data.services.BookingService` on a connection of the engine and return the
response schemas: the same checks (the no-overlap rule and the availability condition in the
database, ``BookingCreate`` before any I/O), and the same refusals, through the one translator
:func:`~africare_data.errors.translate_integrity_errors`.

A write is a transaction of its own (BEGIN, the statement, COMMIT; a refusal ends in ROLLBACK),
retried after a deadlock abort like every service write; a read runs alone in autocommit (one
round trip). A pooled connection found dead on its statement (the server was restarted since) is
replaced and the statement runs once more: nothing was committed on the dead one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Executable, Integer, RowMapping, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data.errors import (
    InvalidBookingError,
    OutsideAvailabilityError,
    translate_integrity_errors,
)
from africare_data.models import Booking, BookingStatus
from africare_data.schemas.booking import BookingCreate, BookingResponse
from africare_data.services import slots
from africare_data.services._transaction import retrying
from africare_data.services._validation import OPTIONAL_TIMESTAMP, checked, lookup_id

__all__ = [
    "AgendaShape",
    "agenda_conditions",
    "agenda_filter",
    "create_booking_record",
    "get_practitioner_booking_records",
]

_BOOKINGS = Booking.__table__.columns
_RECORDS = TypeAdapter(list[BookingResponse])


async def create_booking_record(engine: AsyncEngine, data: BookingCreate) -> BookingResponse:
    """Insert a pending booking and commit; the stored row as a ``BookingResponse``.

    Raises what ``BookingService.create_booking`` raises for the same input:
    ``BookingConflictError`` naming the booking in the way, ``OutsideAvailabilityError``,
    ``NotFoundError`` for an unknown ``event_type_id``.
    """
    values = data.model_dump()
    parameters = {**values, "status": BookingStatus.PENDING}

    async def insert_once() -> BookingResponse:
        with translate_integrity_errors(**values):
            rows = await _run(engine, slots.INSERT_ROW_IF_AVAILABLE, parameters, commit=True)
        if not rows:  # the availability condition kept the row out
            raise OutsideAvailabilityError(data.practitioner_id, data.start_time, data.end_time)
        return BookingResponse.model_validate(rows[0])

    return await retrying(insert_once)


async def get_practitioner_booking_records(
    engine: AsyncEngine,
    practitioner_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    status: BookingStatus | None = None,
) -> list[BookingResponse]:
    """The practitioner's bookings ordered by start time (then id), as
    ``BookingService.get_bookings_by_practitioner`` selects them."""
    agenda = agenda_filter(practitioner_id, start, end, status)
    if agenda is None:
        return []
    shape, parameters = agenda
    query = _agenda_query(*shape)
    return _RECORDS.validate_python(await _run(engine, query, parameters, commit=False))


AgendaShape = tuple[bool, bool, bool]
"""Which of an agenda's filters are set: ``start``, ``end``, ``status``."""


def agenda_filter(
    practitioner_id: object, start: object, end: object, status: BookingStatus | None
) -> tuple[AgendaShape, dict[str, Any]] | None:
    """The filters of a practitioner's agenda (the bookings overlapping ``[start, end)``, of one
    ``status``), checked before any I/O: which are set (see :func:`agenda_conditions`) and the
    parameters the conditions run with. ``None`` when the id can name no booking (nothing to
    read)."""
    start = checked(OPTIONAL_TIMESTAMP, "start", start, InvalidBookingError)
    end = checked(OPTIONAL_TIMESTAMP, "end", end, InvalidBookingError)
    found_id = lookup_id("practitioner_id", practitioner_id)
    if found_id is None:
        return None
    shape = (start is not None, end is not None, status is not None)
    return shape, {"practitioner_id": found_id, "start": start, "end": end, "status": status}


@functools.cache
def agenda_conditions(start: bool, end: bool, status: bool) -> tuple[ColumnElement[bool], ...]:
    """The agenda's ``WHERE`` conditions with the filters asked for, named parameters for their
    values, built once for each combination: a statement built per request has its
    compiled-cache key computed per request too."""
    conditions: list[ColumnElement[bool]] = [
        _BOOKINGS.practitioner_id == bindparam("practitioner_id", type_=Integer())
    ]
    if start:
        conditions.append(_BOOKINGS.end_time > bindparam("start", type_=_BOOKINGS.end_time.type))
    if end:
        conditions.append(_BOOKINGS.start_time < bindparam("end", type_=_BOOKINGS.start_time.type))
    if status:
        conditions.append(_BOOKINGS.status == bindparam("status", type_=_BOOKINGS.status.type))
    return tuple(conditions)


@functools.cache
def _agenda_query(start: bool, end: bool, status: bool) -> Executable:
    """The agenda's ordered statement with the filters asked for, built once for each
    combination: neither the statement nor its compiled-cache key is computed per request."""
    conditions = agenda_conditions(start, end, status)
    return select(*_BOOKINGS).where(*conditions).order_by(_BOOKINGS.start_time, _BOOKINGS.id)


async def _run(
    engine: AsyncEngine, statement: Executable, parameters: Mapping[str, Any], *, commit: bool
) -> Sequence[RowMapping]:
    """The statement's rows: in a transaction committed after it (``commit``), else alone in
    autocommit. Run once more on a fresh connection if the pooled one is found dead on the
    statement (its transaction, uncommitted, went with it), but not on the COMMIT: whether a lost
    COMMIT committed is unknown."""
    attempts_left = 2
    while True:
        attempts_left -= 1
        async with engine.connect() as connection:
            if not commit:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                rows = (await connection.execute(statement, parameters)).mappings().all()
            except DBAPIError as error:
                if attempts_left == 0 or not error.connection_invalidated:
                    raise
                continue  # the pool replaces the dead connection
            if commit:
                await connection.commit()
            return rows
