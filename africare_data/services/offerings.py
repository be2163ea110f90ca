"""The event types practitioners offer, and the first free slot for an event type.

"Who can see me for a consultation, and when is the earliest?" is one query: the practitioners
offering the event type (``practitioner_event_types``), their free time, and the earliest slot as
long as the event type lasts (:func:`africare_data.services.slots.first_free_slot`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.models import EventType, PractitionerEventType
from africare_data.schemas.availability import PractitionerSlot
from africare_data.services import slots
from africare_data.services._transaction import reading, writing
from africare_data.services._validation import ID, TIMESTAMP, checked, lookup_id, positive

__all__ = [
    "FIRST_SLOT_HORIZON",
    "find_first_free_slot",
    "get_offered_event_types",
    "set_offered_event_types",
]

FIRST_SLOT_HORIZON = timedelta(days=28)
"""How far after the given moment :func:`find_first_free_slot` looks by default."""


async def set_offered_event_types(
    db: AsyncSession, practitioner_id: int, event_type_ids: Iterable[int]
) -> list[int]:
    """Make ``event_type_ids`` the event types the practitioner offers; commit; return them
    sorted. ``NotFoundError`` names a missing event type (nothing is written)."""
    practitioner_id = checked(ID, "practitioner_id", practitioner_id)
    wanted = sorted({checked(ID, "event_type_ids", value) for value in event_type_ids})
    rows = [{"practitioner_id": practitioner_id, "event_type_id": value} for value in wanted]
    async with writing(db):
        await db.execute(
            delete(PractitionerEventType).where(
                PractitionerEventType.practitioner_id == practitioner_id
            )
        )
        if rows:
            await db.execute(insert(PractitionerEventType).values(rows))
    return wanted


async def get_offered_event_types(db: AsyncSession, practitioner_id: int) -> Sequence[EventType]:
    """The event types the practitioner offers, ordered by id."""
    found_id = lookup_id("practitioner_id", practitioner_id)
    if found_id is None:
        return []
    query = (
        select(EventType)
        .join(PractitionerEventType, PractitionerEventType.event_type_id == EventType.id)
        .where(PractitionerEventType.practitioner_id == found_id)
        .order_by(EventType.id)
    )
    async with reading(db):
        return (await db.execute(query)).scalars().all()


async def find_first_free_slot(
    db: AsyncSession,
    event_type_id: int,
    after: datetime,
    *,
    within: timedelta = FIRST_SLOT_HORIZON,
    step: timedelta = slots.DEFAULT_STEP,
) -> PractitionerSlot | None:
    """The earliest bookable slot from ``after`` (up to ``within`` later) of any practitioner
    offering the event type, as long as it lasts; ``None`` if there is none. One query."""
    found_id = lookup_id("event_type_id", event_type_id)
    after = checked(TIMESTAMP, "after", after)
    within = positive("within", within)
    step = positive("step", step)
    if found_id is None:
        return None
    return await slots.first_free_slot(db, found_id, after, after + within, step)
