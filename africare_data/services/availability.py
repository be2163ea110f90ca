"""Availability services: weekly hours, time off and extra hours, and the event types offered.

Weekly hours are kept as history: :func:`set_weekly_availability` replaces a practitioner's
hours over a period of dates and leaves the hours before and after it as they were (an interval
that straddles the period is cut at its edges), so utilisation of past weeks is computed against
the hours that applied then. Free time and slots are in :mod:`africare_data.services.slots` and
``BookingService.find_free_slots``, the event types offered in
:mod:`africare_data.services.offerings`. Every call follows the transaction contract
(:mod:`africare_data.services._transaction`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from africare_data.models import (
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
)
from africare_data.schemas.availability import (
    AvailabilityExceptionCreate,
    AvailabilityRuleCreate,
    WeeklyAvailabilityUpdate,
)
from africare_data.services._transaction import reading, validated, writing
from africare_data.services._validation import (
    ID,
    OPTIONAL_TIMESTAMP,
    checked,
    lookup_id,
)

__all__ = [
    "add_extra_availability",
    "add_time_off",
    "get_availability_exceptions",
    "get_weekly_availability",
    "remove_time_off",
    "set_weekly_availability",
]

RuleInput = AvailabilityRuleCreate | Mapping[str, object] | tuple[int, time, time]
"""One weekly interval: a schema, a mapping of its fields, or ``(weekday, start, end)``."""


def _rule_fields(rule: RuleInput) -> object:
    if isinstance(rule, tuple):
        weekday, start_local, end_local = rule
        return {"weekday": weekday, "start_local": start_local, "end_local": end_local}
    return rule


async def set_weekly_availability(
    db: AsyncSession,
    practitioner_id: int,
    rules: Iterable[RuleInput],
    *,
    time_zone: str,
    valid_from: date,
    valid_until: date | None = None,
) -> list[AvailabilityRule]:
    """Make ``rules`` the practitioner's weekly hours from ``valid_from`` to ``valid_until``
    (inclusive; ``None``: until further notice), in the IANA zone ``time_zone``; commit.

    Hours before ``valid_from`` and after ``valid_until`` stay as they were. An empty ``rules``
    makes the practitioner unavailable over the period (weekly; extra hours still count).
    Returns the new rules ordered by weekday and start.

    Raises:
        InvalidInputError: unknown zone, end not after start, overlapping intervals of one
            weekday, ``valid_until`` before ``valid_from``; nothing is written.
    """
    practitioner_id = checked(ID, "practitioner_id", practitioner_id)
    data = validated(
        WeeklyAvailabilityUpdate,
        time_zone=time_zone,
        valid_from=valid_from,
        valid_until=valid_until,
        rules=[_rule_fields(rule) for rule in rules],
    )
    first, last = data.valid_from, data.valid_until
    mine = AvailabilityRule.practitioner_id == practitioner_id
    starts_inside = AvailabilityRule.valid_from >= first
    if last is not None:
        starts_inside = starts_inside & (AvailabilityRule.valid_from <= last)
    async with writing(db):
        straddling = (
            (
                await db.execute(
                    select(AvailabilityRule)
                    .where(
                        mine,
                        AvailabilityRule.valid_from < first,
                        or_(
                            AvailabilityRule.valid_until.is_(None),
                            AvailabilityRule.valid_until >= first,
                        ),
                    )
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        tails = [
            _copy(rule, valid_from=last + timedelta(days=1))
            for rule in straddling
            if last is not None and (rule.valid_until is None or rule.valid_until > last)
        ]
        await db.execute(
            update(AvailabilityRule)
            .where(AvailabilityRule.id.in_([rule.id for rule in straddling]))
            .values(valid_until=first - timedelta(days=1))
            .execution_options(synchronize_session=False)
        )
        if last is None:
            await db.execute(delete(AvailabilityRule).where(mine, starts_inside))
        else:
            ends_inside = AvailabilityRule.valid_until.is_not(None) & (
                AvailabilityRule.valid_until <= last
            )
            await db.execute(delete(AvailabilityRule).where(mine, starts_inside, ends_inside))
            await db.execute(
                update(AvailabilityRule)
                .where(mine, starts_inside)
                .values(valid_from=last + timedelta(days=1))
                .execution_options(synchronize_session=False)
            )
        new_rows: list[dict[str, Any]] = [
            {
                "practitioner_id": practitioner_id,
                "weekday": rule.weekday,
                "start_local": rule.start_local,
                "end_local": rule.end_local,
                "time_zone": data.time_zone,
                "valid_from": first,
                "valid_until": last,
            }
            for rule in data.rules
        ]
        for row in [*tails, *new_rows]:
            await db.execute(insert(AvailabilityRule).values(**row))
        created = await db.execute(
            select(AvailabilityRule)
            .where(mine, AvailabilityRule.valid_from == first)
            .order_by(AvailabilityRule.weekday, AvailabilityRule.start_local)
            .execution_options(populate_existing=True)
        )
        result = list(created.scalars().all())
    return result


def _copy(rule: AvailabilityRule, *, valid_from: date) -> dict[str, Any]:
    return {
        "practitioner_id": rule.practitioner_id,
        "weekday": rule.weekday,
        "start_local": rule.start_local,
        "end_local": rule.end_local,
        "time_zone": rule.time_zone,
        "valid_from": valid_from,
        "valid_until": rule.valid_until,
    }


async def get_weekly_availability(
    db: AsyncSession, practitioner_id: int, *, on: date | None = None
) -> Sequence[AvailabilityRule]:
    """The practitioner's weekly rules in force on ``on``, or all of them (``None``), ordered by
    validity, weekday and start."""
    found_id = lookup_id("practitioner_id", practitioner_id)
    if found_id is None:
        return []
    query = select(AvailabilityRule).where(AvailabilityRule.practitioner_id == found_id)
    if on is not None:
        query = query.where(
            AvailabilityRule.valid_from <= on,
            or_(AvailabilityRule.valid_until.is_(None), AvailabilityRule.valid_until >= on),
        )
    query = query.order_by(
        AvailabilityRule.valid_from, AvailabilityRule.weekday, AvailabilityRule.start_local
    ).execution_options(populate_existing=True)  # rows another call moved in this session
    async with reading(db):
        return (await db.execute(query)).scalars().all()


async def _add_exception(
    db: AsyncSession,
    kind: ExceptionKind,
    practitioner_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None,
) -> AvailabilityException:
    practitioner_id = checked(ID, "practitioner_id", practitioner_id)
    data = validated(
        AvailabilityExceptionCreate, starts_at=starts_at, ends_at=ends_at, kind=kind, reason=reason
    )
    statement = (
        insert(AvailabilityException)
        .values(practitioner_id=practitioner_id, **data.model_dump())
        .returning(AvailabilityException)
    )
    async with writing(db):
        return (await db.execute(statement)).scalar_one()


async def add_time_off(
    db: AsyncSession,
    practitioner_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None = None,
) -> AvailabilityException:
    """Record time off ``[starts_at, ends_at)`` (leave, a holiday): no slot is offered in it and
    no booking accepted (for a practitioner with availability); commit."""
    return await _add_exception(
        db, ExceptionKind.TIME_OFF, practitioner_id, starts_at, ends_at, reason
    )


async def add_extra_availability(
    db: AsyncSession,
    practitioner_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None = None,
) -> AvailabilityException:
    """Record extra hours ``[starts_at, ends_at)`` outside the weekly ones (a Saturday clinic);
    commit. Time off still wins where both apply."""
    return await _add_exception(
        db, ExceptionKind.EXTRA, practitioner_id, starts_at, ends_at, reason
    )


async def remove_time_off(
    db: AsyncSession, exception_id: int, *, practitioner_id: int | None = None
) -> bool:
    """Delete the exception (time off or extra hours) ``exception_id``, if it is
    ``practitioner_id``'s when given; ``False`` if there is none. Commits."""
    found_id = lookup_id("exception_id", exception_id)
    owner = None if practitioner_id is None else lookup_id("practitioner_id", practitioner_id)
    if found_id is None or (practitioner_id is not None and owner is None):
        return False
    statement = (
        delete(AvailabilityException)
        .where(AvailabilityException.id == found_id)
        .returning(AvailabilityException.id)
    )
    if owner is not None:
        statement = statement.where(AvailabilityException.practitioner_id == owner)
    async with writing(db):
        return (await db.execute(statement)).first() is not None


async def get_availability_exceptions(
    db: AsyncSession,
    practitioner_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Sequence[AvailabilityException]:
    """The practitioner's exceptions overlapping ``[start, end)`` (open ends: all), by start."""
    start = checked(OPTIONAL_TIMESTAMP, "start", start)
    end = checked(OPTIONAL_TIMESTAMP, "end", end)
    found_id = lookup_id("practitioner_id", practitioner_id)
    if found_id is None:
        return []
    query = select(AvailabilityException).where(AvailabilityException.practitioner_id == found_id)
    if start is not None:
        query = query.where(AvailabilityException.ends_at > start)
    if end is not None:
        query = query.where(AvailabilityException.starts_at < end)
    query = query.order_by(AvailabilityException.starts_at, AvailabilityException.id)
    async with reading(db):
        return (await db.execute(query)).scalars().all()
