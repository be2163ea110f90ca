"""The input rules every schema shares: text PostgreSQL can store, ids, timestamps.

The API (request bodies and parameters), the services and the notebooks all validate through these
types, so they refuse the same inputs with the same messages, before anything reaches the
database:

* :data:`StorableText`: text without the NUL character, which a PostgreSQL ``text`` or
  ``varchar`` cannot hold. Add lengths at the field (``Field(max_length=...)``).
* :data:`Integer` and :data:`Id`: integers, as JSON Schema counts them: ``3`` and ``3.0``, not
  ``3.5``, not the string ``"3"``, and not a bool (``True`` would otherwise name row 1). Integers
  of other libraries (numpy's, as in a DataFrame) are accepted as ``int``. An :data:`Id` also
  fits an id column (1 to :data:`MAX_ID`).
* :data:`Timestamp`: a timezone-aware moment, given as a ``datetime`` or an ISO 8601 string. A
  number is not a moment (lax parsing would read ``1`` as 1970-01-01T00:00:01Z), and the moment
  must be expressible in UTC, where the database keeps it.

Constraints sit inside each type, before its validator, so pydantic checks them natively and the
JSON schema (the OpenAPI document) states them.
"""

from __future__ import annotations

import numbers
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict

from africare_data.models.base import MAX_ID

__all__ = [
    "NOT_A_BOOLEAN",
    "NUL_FREE_PATTERN",
    "Id",
    "Integer",
    "StorableText",
    "Timestamp",
]

NUL_FREE_PATTERN = r"^[^\x00]*$"
"""Text without the NUL character (``\\x00``), the one character PostgreSQL text cannot store."""

StorableText = Annotated[str, Field(pattern=NUL_FREE_PATTERN)]
"""A string PostgreSQL can store: no NUL character (refused as not matching the pattern)."""


def _plain_integer(value: object) -> object:
    """Whole numbers of other types (numpy's integers, ``3.0``) as ``int``, so the strict check
    that follows accepts them; a bool (an ``int`` subclass in Python) is refused outright."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, numbers.Integral) and not isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


NOT_A_BOOLEAN = BeforeValidator(_plain_integer)
"""Put last in an ``Annotated[int, ...]`` whose input may be text (a URL's query string): it
refuses booleans and leaves pydantic's reading of ``"10"`` alone."""

Integer = Annotated[int, Strict(), NOT_A_BOOLEAN]
"""An integer (``3.0`` counts, as in JSON Schema): not a bool, a string of digits or ``3.5``."""

Id = Annotated[int, Strict(), Field(gt=0, le=MAX_ID), NOT_A_BOOLEAN]
"""The id of a row: an :data:`Integer` from 1 to :data:`MAX_ID` (PostgreSQL ``integer``)."""

# What every ISO 8601 date-time starts with; pydantic reads a string of digits as Unix time.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _not_a_number(value: object) -> object:
    if isinstance(value, numbers.Number) or (isinstance(value, str) and not _ISO_DATE.match(value)):
        raise ValueError(
            "must be an ISO 8601 date and time with a timezone, e.g. 2026-03-02T09:00:00+01:00"
        )
    return value


def _expressible_in_utc(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    return value


Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_expressible_in_utc)
]
"""A timezone-aware moment (``datetime`` or ISO 8601 string), never a number."""
