"""Validating the service arguments that do not travel in a schema: ids to look up, lookup values,
time windows and durations.

Each goes through a type of :mod:`africare_data.schemas.types`, so a bad value is refused with the
same message the API gives, as :class:`~africare_data.errors.InvalidInputError` naming the
argument, before any I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import pydantic
from pydantic import Strict, TypeAdapter

from africare_data.errors import InvalidInputError
from africare_data.schemas.types import Id, Integer, StorableText, Timestamp
from africare_data.services._transaction import describe, storable_id

__all__ = ["ID", "OPTIONAL_TIMESTAMP", "TEXT", "TIMESTAMP", "checked", "lookup_id", "positive"]

ValueT = TypeVar("ValueT")

ID: TypeAdapter[int] = TypeAdapter(Id)
TEXT: TypeAdapter[str] = TypeAdapter(StorableText)
TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)
OPTIONAL_TIMESTAMP: TypeAdapter[datetime | None] = TypeAdapter(Timestamp | None)
_INTEGER: TypeAdapter[int] = TypeAdapter(Integer)
_DURATION: TypeAdapter[timedelta] = TypeAdapter(Annotated[timedelta, Strict()])


def checked(
    adapter: TypeAdapter[ValueT],
    name: str,
    value: object,
    error_class: type[InvalidInputError] = InvalidInputError,
) -> ValueT:
    """``value`` validated by ``adapter``; refused with ``error_class`` as ``"name: reason"``."""
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as error:
        raise error_class(f"{name}: {describe(error)}") from None


def lookup_id(name: str, value: object) -> int | None:
    """``value`` as an id to look up, or ``None`` when no row can have it (0, 2**63, ...).

    Refuses what is not an integer (``True``, ``"1"``) with :class:`InvalidInputError`; an integer
    outside the id range simply names no row, so the lookup finds nothing without asking.
    """
    number = checked(_INTEGER, name, value)
    return number if storable_id(number) else None


def positive(
    name: str, value: object, error_class: type[InvalidInputError] = InvalidInputError
) -> timedelta:
    """``value`` as a positive ``timedelta`` (a bare number has no unit, so it is refused)."""
    duration = checked(_DURATION, name, value, error_class)
    if duration <= timedelta(0):
        raise error_class(f"{name}: must be positive, got {duration}")
    return duration
