"""A practitioner's availability over HTTP: weekly hours, time off, free slots, event types.

``/practitioners/{id}/availability`` reads and sets weekly hours (kept as history, see
:func:`~africare_data.services.availability.set_weekly_availability`),
``/practitioners/{id}/time-off`` lists, adds and removes dated exceptions (time off or extra
hours), ``/practitioners/{id}/free-slots`` answers "when can I book?", and
``/event-types/{id}/first-free-slot`` "who is free first for this kind of appointment?".
Bad input answers 422 naming the field, as everywhere in the API.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from africare_data.api.deps import SessionDep
from africare_data.api.errors import AVAILABILITY_CONFLICT, MALFORMED_BODY, NOT_FOUND
from africare_data.errors import NotFoundError
from africare_data.models import ExceptionKind
from africare_data.schemas import (
    AvailabilityExceptionCreate,
    AvailabilityExceptionResponse,
    AvailabilityRuleResponse,
    EventTypeResponse,
    Id,
    PractitionerSlot,
    TimeSlot,
    Timestamp,
    WeeklyAvailabilityUpdate,
)
from africare_data.services import BookingService, offerings
from africare_data.services import availability as service
from africare_data.services.slots import MAX_SLOT_WINDOW

__all__ = ["router"]

router = APIRouter(tags=["availability"])

_MINUTES_PER_DAY = 24 * 60
Minutes = Annotated[int, Query(ge=1, le=_MINUTES_PER_DAY)]


@router.get("/practitioners/{practitioner_id}/availability")
async def get_availability(
    practitioner_id: int,
    db: SessionDep,
    on: Annotated[date | None, Query(description="Only the rules in force on this day")] = None,
) -> list[AvailabilityRuleResponse]:
    """The practitioner's weekly rules (local wall-clock intervals, zone and validity)."""
    rules = await service.get_weekly_availability(db, practitioner_id, on=on)
    return [AvailabilityRuleResponse.model_validate(rule) for rule in rules]


@router.put(
    "/practitioners/{practitioner_id}/availability",
    responses={**AVAILABILITY_CONFLICT, **MALFORMED_BODY},
)
async def set_availability(
    practitioner_id: int, data: WeeklyAvailabilityUpdate, db: SessionDep
) -> list[AvailabilityRuleResponse]:
    """Make these the weekly hours from ``valid_from`` to ``valid_until`` (null: until further
    notice); hours outside that period stay. Returns the new rules."""
    rules = await service.set_weekly_availability(
        db,
        practitioner_id,
        data.rules,
        time_zone=data.time_zone,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
    )
    return [AvailabilityRuleResponse.model_validate(rule) for rule in rules]


@router.get("/practitioners/{practitioner_id}/time-off")
async def get_time_off(
    practitioner_id: int,
    db: SessionDep,
    start: Annotated[Timestamp | None, Query(description="Keep exceptions ending after")] = None,
    end: Annotated[Timestamp | None, Query(description="Keep exceptions starting before")] = None,
) -> list[AvailabilityExceptionResponse]:
    """The practitioner's time off and extra hours, by start."""
    found = await service.get_availability_exceptions(db, practitioner_id, start=start, end=end)
    return [AvailabilityExceptionResponse.model_validate(item) for item in found]


@router.post("/practitioners/{practitioner_id}/time-off", status_code=201, responses=MALFORMED_BODY)
async def add_time_off(
    practitioner_id: int, data: AvailabilityExceptionCreate, db: SessionDep
) -> AvailabilityExceptionResponse:
    """Record time off (``kind`` ``time_off``, the default) or extra hours (``extra``)."""
    time_off = data.kind is ExceptionKind.TIME_OFF
    add = service.add_time_off if time_off else service.add_extra_availability
    created = await add(db, practitioner_id, data.starts_at, data.ends_at, data.reason)
    return AvailabilityExceptionResponse.model_validate(created)


@router.delete(
    "/practitioners/{practitioner_id}/time-off/{exception_id}",
    status_code=204,
    responses=NOT_FOUND,
)
async def remove_time_off(practitioner_id: int, exception_id: int, db: SessionDep) -> Response:
    """Delete one of the practitioner's exceptions; 404 if they have none with this id."""
    if not await service.remove_time_off(db, exception_id, practitioner_id=practitioner_id):
        raise NotFoundError("Time off", exception_id, message="Time off not found")
    return Response(status_code=204)


@router.get("/practitioners/{practitioner_id}/free-slots")
async def get_free_slots(
    practitioner_id: int,
    db: SessionDep,
    start: Annotated[Timestamp, Query(description="Window start, with a timezone")],
    end: Annotated[
        Timestamp,
        Query(
            description="Window end (exclusive), after start and at most "
            f"{MAX_SLOT_WINDOW.days} days after it"
        ),
    ],
    duration: Annotated[Minutes, Query(description="Length of the appointment, in minutes")],
    step: Annotated[Minutes, Query(description="Minutes between slot starts")] = 15,
) -> list[TimeSlot]:
    """Bookable slots of ``duration`` minutes: inside the practitioner's hours and extra hours,
    outside time off and pending or confirmed bookings, starting every ``step`` minutes."""
    return await BookingService.find_free_slots(
        db,
        practitioner_id,
        start,
        end,
        timedelta(minutes=duration),
        step=timedelta(minutes=step),
    )


@router.get("/event-types/{event_type_id}/first-free-slot")
async def get_first_free_slot(
    event_type_id: int,
    db: SessionDep,
    after: Annotated[Timestamp, Query(description="Earliest start, with a timezone")],
    within_days: Annotated[int, Query(ge=1, le=MAX_SLOT_WINDOW.days)] = 28,
) -> PractitionerSlot | None:
    """The earliest slot of any practitioner offering the event type; ``null`` if none."""
    return await offerings.find_first_free_slot(
        db, event_type_id, after, within=timedelta(days=within_days)
    )


@router.get("/practitioners/{practitioner_id}/event-types")
async def get_offered_event_types(practitioner_id: int, db: SessionDep) -> list[EventTypeResponse]:
    """The event types the practitioner offers, by id."""
    found = await offerings.get_offered_event_types(db, practitioner_id)
    return [EventTypeResponse.model_validate(item) for item in found]


@router.put(
    "/practitioners/{practitioner_id}/event-types",
    responses={**NOT_FOUND, **MALFORMED_BODY},
)
async def set_offered_event_types(
    practitioner_id: int,
    db: SessionDep,
    event_type_ids: Annotated[list[Id], Body(max_length=1000)],
) -> list[int]:
    """Make these the event types the practitioner offers; 404 names a missing one."""
    return await offerings.set_offered_event_types(db, practitioner_id, event_type_ids)
