"""Capacity analytics: available, booked and free hours, computed in SQL.

Availability comes from the database function ``practitioner_availability`` (weekly hours, extra
hours and time off resolved to UTC per date, expanded by integer series in SQL: no row per day is
made in Python); utilisation sums each shared schedule's hours once and corrects them for each
practitioner's exceptions, to the same result. Hours are summed in PostgreSQL; a range that
crosses a period (or hour) boundary of ``tz`` is split at it, so every hour counts once, in the
period it falls in. pandas only sets the dtypes and localises the period starts.

* :func:`availability_frame`: each practitioner's available intervals in a window;
* :func:`utilisation_frame`: per practitioner and day, week or month, available, booked
  (pending and confirmed) and cancelled hours, and utilisation (booked / available);
* :func:`capacity_by_weekday_hour`: available, booked and free hours by local weekday and hour,
  all practitioners together: the heatmap of where demand meets supply.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import Float, Integer, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import DateTime, String, TypeEngine

from africare_data.errors import InvalidInputError
from africare_data.frames import _capacity_sql, arguments
from africare_data.frames.dtypes import STRING_DTYPE
from africare_data.frames.reading import read_frame
from africare_data.frames.transport import Db
from africare_data.services._validation import ID, TIMESTAMP, checked

__all__ = ["FREQUENCIES", "availability_frame", "capacity_by_weekday_hour", "utilisation_frame"]

FREQUENCIES: Final = {"D": "day", "W": "week", "M": "month"}
"""The periods :func:`utilisation_frame` groups by (weeks start on Monday)."""

_STEPS: Final = {"day": "1 day", "week": "7 days", "month": "1 month"}
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TIMESTAMP = DateTime(timezone=True)
_IDS = ARRAY(Integer())


def _window(start: object, end: object) -> tuple[datetime, datetime]:
    first = checked(TIMESTAMP, "start", start)
    last = checked(TIMESTAMP, "end", end)
    if last <= first:
        raise InvalidInputError(f"end: must be after start ({first.isoformat()})")
    return first, last


def _ids(practitioner_ids: Iterable[int] | None) -> list[int] | None:
    if practitioner_ids is None:
        return None
    return sorted({checked(ID, "practitioner_ids", value) for value in practitioner_ids})


def _statement(
    sql: str, columns: dict[str, TypeEngine[Any]], order: Iterable[str], **values: Any
) -> Any:
    types: dict[str, TypeEngine[Any]] = {
        "start": _TIMESTAMP,
        "end": _TIMESTAMP,
        "ids": _IDS,
        "tz": String(),
        "unit": String(),
        "step": String(),
    }
    query = (
        text(sql)
        .bindparams(*(bindparam(name, value, type_=types[name]) for name, value in values.items()))
        .columns(**columns)
        .subquery("result")
    )
    return select(*query.c).order_by(*(query.c[name] for name in order))


async def availability_frame(
    db: Db,
    start: datetime,
    end: datetime,
    *,
    practitioner_ids: Iterable[int] | None = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Each practitioner's available intervals in ``[start, end)`` (weekly hours plus extra
    hours minus time off), ordered by practitioner and start: ``practitioner_id``, ``start``,
    ``end`` (in ``tz``) and ``hours``."""
    first, last = _window(start, end)
    tz = arguments.time_zone(tz)
    stmt = _statement(
        _capacity_sql.INTERVALS,
        {
            "practitioner_id": Integer(),
            "start": _TIMESTAMP,
            "end": _TIMESTAMP,
            "hours": Float(),
        },
        ("practitioner_id", "start"),
        start=first,
        end=last,
        ids=_ids(practitioner_ids),
    )
    frame = await read_frame(db, stmt, tz=tz, method="session")
    return frame.astype({"practitioner_id": "int64", "hours": "float64"})


async def utilisation_frame(
    db: Db,
    start: datetime,
    end: datetime,
    freq: str = "W",
    *,
    tz: str = "UTC",
    practitioner_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Per practitioner and period (``freq``: ``"D"``, ``"W"`` or ``"M"`` in ``tz``) of
    ``[start, end)``: ``available_hours``, ``booked_hours`` (pending and confirmed),
    ``cancelled_hours`` and ``utilisation`` (booked / available; ``NaN`` without availability).

    Every period of every practitioner with availability or bookings in the window is a row
    (zeros where nothing happened), ordered by practitioner and ``period_start`` (local midnight
    in ``tz``). Bookings outside availability count as booked, so utilisation can exceed 1.
    """
    first, last = _window(start, end)
    tz = arguments.time_zone(tz)
    if freq not in FREQUENCIES:
        raise InvalidInputError(f"freq: must be one of {', '.join(FREQUENCIES)}, got {freq!r}")
    unit = FREQUENCIES[freq]
    stmt = _statement(
        _capacity_sql.UTILISATION,
        {
            "practitioner_id": Integer(),
            "period_start": DateTime(),
            "available_hours": Float(),
            "booked_hours": Float(),
            "cancelled_hours": Float(),
            "utilisation": Float(),
        },
        ("practitioner_id", "period_start"),
        start=first,
        end=last,
        ids=_ids(practitioner_ids),
        tz=tz,
        unit=unit,
        step=_STEPS[unit],
    )
    frame = await read_frame(db, stmt, method="session")
    frame["period_start"] = pd.DatetimeIndex(frame["period_start"]).tz_localize(tz)
    return frame.astype(
        {
            "practitioner_id": "int64",
            "available_hours": "float64",
            "booked_hours": "float64",
            "cancelled_hours": "float64",
            "utilisation": "float64",
        }
    )


async def capacity_by_weekday_hour(
    db: Db,
    start: datetime,
    end: datetime,
    *,
    tz: str = "UTC",
    practitioner_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Available, booked (pending and confirmed) and free hours by local weekday and hour of
    ``[start, end)``, summed over practitioners: 168 rows (``weekday`` ``Monday``..``Sunday``,
    ``hour`` 0..23) with ``available_hours``, ``booked_hours``, ``free_hours`` (available and
    not booked) and ``utilisation`` (booked / available; ``NaN`` where nobody works).

    ``frame.pivot(index="weekday", columns="hour", values="utilisation")`` is the heatmap.
    """
    first, last = _window(start, end)
    tz = arguments.time_zone(tz)
    stmt = _statement(
        _capacity_sql.WEEKDAY_HOUR,
        {
            "weekday_number": Integer(),
            "hour": Integer(),
            "available_hours": Float(),
            "booked_hours": Float(),
            "free_hours": Float(),
        },
        ("weekday_number", "hour"),
        start=first,
        end=last,
        ids=_ids(practitioner_ids),
        tz=tz,
    )
    sums = await read_frame(db, stmt, method="session")
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday_number", "hour"])
    values = ["available_hours", "booked_hours", "free_hours"]
    frame = (
        sums.set_index(["weekday_number", "hour"])[values]
        .astype("float64")
        .reindex(grid, fill_value=0.0)
        .reset_index()
    )
    frame["utilisation"] = frame["booked_hours"] / frame["available_hours"].where(
        frame["available_hours"] > 0
    )
    names = [_WEEKDAYS[number] for number in frame["weekday_number"]]
    frame.insert(0, "weekday", pd.Series(names, index=frame.index, dtype=STRING_DTYPE))
    frame["hour"] = frame["hour"].astype("int64")
    return frame.drop(columns="weekday_number")
