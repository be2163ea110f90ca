"""The demo network's calendar: public holidays, personal leave, and the working blocks left.

Public holidays come from the ``holidays`` package (the countries' official calendars, Islamic
holidays included); each practitioner also takes a few periods of leave. A *block* is one interval
of a practitioner's weekly schedule on one date they work: what appointments are packed into.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

import holidays
import numpy as np
import pandas as pd

from africare_data.synthetic._network import COUNTRIES, SCHEDULES

__all__ = ["LEAVE_REASONS", "holidays_frame", "leave_frame", "time_off", "working_blocks"]

LEAVE_REASONS: Final = ("annual leave", "training", "sick leave", "conference")
_LEAVES_PER_YEAR: Final = 3.0
_LEAVE_DAYS: Final = (3, 11)  # calendar days, lower bound inclusive, upper exclusive


def holidays_frame(first: date, days: int) -> pd.DataFrame:
    """Every public holiday of :data:`COUNTRIES` from ``first`` for ``days`` days, in date order."""
    last = first + timedelta(days=days - 1)
    years = range(first.year, last.year + 1)
    rows = [
        (country.code, day, name)
        for country in COUNTRIES
        for day, name in sorted(holidays.country_holidays(country.code, years=years).items())
        if first <= day <= last
    ]
    frame = pd.DataFrame(rows, columns=["country", "day", "name"])
    return frame.sort_values(["day", "country"], ignore_index=True)


def leave_frame(
    practitioners: pd.DataFrame, first: date, days: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Leave periods: about three a year per practitioner, 3-10 days each, never overlapping.

    The window is cut into as many equal parts as a practitioner takes leaves, one leave per part.
    """
    counts = rng.poisson(_LEAVES_PER_YEAR * days / 365, size=len(practitioners))
    rows: list[tuple[Any, ...]] = []
    for practitioner, count in zip(
        practitioners["practitioner_id"].tolist(), counts.tolist(), strict=True
    ):
        part = days // max(count, 1)
        for index in range(count):
            length = int(rng.integers(*_LEAVE_DAYS))
            if part <= length:
                break
            start = first + timedelta(days=index * part + int(rng.integers(0, part - length)))
            reason = LEAVE_REASONS[int(rng.integers(0, len(LEAVE_REASONS)))]
            rows.append((practitioner, start, start + timedelta(days=length), reason))
    return pd.DataFrame(rows, columns=["practitioner_id", "first_day", "end_day", "reason"])


def _leave_days(leave: pd.DataFrame) -> pd.DataFrame:
    """One row per practitioner and date on leave."""
    lengths = [
        (end - start).days for start, end in zip(leave["first_day"], leave["end_day"], strict=True)
    ]
    repeat = np.array(lengths, dtype=np.int64)
    offsets = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    starts = pd.to_datetime(leave["first_day"]).to_numpy().astype("datetime64[D]")
    return pd.DataFrame(
        {
            "practitioner_id": np.repeat(leave["practitioner_id"].to_numpy(), repeat),
            "day": np.repeat(starts, repeat) + offsets.astype("timedelta64[D]"),
        }
    )


def _holiday_days(practitioners: pd.DataFrame, holidays_: pd.DataFrame) -> pd.DataFrame:
    """One row per practitioner and public holiday of their country, with its name."""
    days = holidays_.assign(day=pd.to_datetime(holidays_["day"]).to_numpy().astype("datetime64[D]"))
    return practitioners[["practitioner_id", "country", "time_zone"]].merge(days, on="country")


def time_off(
    practitioners: pd.DataFrame, holidays_: pd.DataFrame, leave: pd.DataFrame
) -> pd.DataFrame:
    """Availability exceptions (kind ``time_off``) from local midnight to local midnight.

    A public holiday inside a practitioner's leave is left out, so no two exceptions overlap.
    """
    zones = practitioners.set_index("practitioner_id")["time_zone"]
    on_leave = _leave_days(leave)
    public = _holiday_days(practitioners, holidays_).merge(
        on_leave.assign(on_leave=True), on=["practitioner_id", "day"], how="left"
    )
    public = public[public["on_leave"].isna()]
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "practitioner_id": public["practitioner_id"].to_numpy(),
                    "first": public["day"].to_numpy(),
                    "end": public["day"].to_numpy() + np.timedelta64(1, "D"),
                    "reason": "public holiday: " + public["name"].astype(str).to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "practitioner_id": leave["practitioner_id"].to_numpy(),
                    "first": pd.to_datetime(leave["first_day"]).to_numpy(),
                    "end": pd.to_datetime(leave["end_day"]).to_numpy(),
                    "reason": leave["reason"].to_numpy(),
                }
            ),
        ],
        ignore_index=True,
    )
    frame = frame.sort_values(["practitioner_id", "first"], ignore_index=True, kind="stable")
    zone = zones.reindex(frame["practitioner_id"]).to_numpy()
    return pd.DataFrame(
        {
            "practitioner_id": frame["practitioner_id"].astype(np.int64),
            "starts_at": _midnights(frame["first"].to_numpy(), zone),
            "ends_at": _midnights(frame["end"].to_numpy(), zone),
            "kind": "time_off",
            "reason": frame["reason"].astype(str),
        }
    )


def _midnights(days: np.ndarray[Any, Any], zones: np.ndarray[Any, Any]) -> pd.Series[Any]:
    """Local midnight of each date in its zone, as aware UTC timestamps."""
    return pd.Series(localise(days.astype("datetime64[us]"), zones)).dt.tz_localize("UTC")


def localise(local: np.ndarray[Any, Any], zones: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Interpret naive local times, each in its zone, and return them as UTC ``datetime64[us]``.

    A time a clock change skips (Cairo's midnight on the last Friday of April) moves forward to
    the first moment that exists; a time it repeats means its first occurrence.
    """
    result = np.empty(len(local), dtype="datetime64[us]")
    for zone in pd.unique(zones):
        mask = zones == zone
        index = pd.DatetimeIndex(local[mask].astype("datetime64[us]"))
        aware = index.tz_localize(
            zone, ambiguous=np.ones(len(index), dtype=bool), nonexistent="shift_forward"
        )
        result[mask] = aware.tz_convert("UTC").tz_localize(None).to_numpy()
    return result


def working_blocks(
    practitioners: pd.DataFrame,
    first: date,
    days: int,
    holidays_: pd.DataFrame,
    leave: pd.DataFrame,
) -> pd.DataFrame:
    """Every interval of every practitioner's schedule on the dates they work.

    Columns: ``practitioner_id``, ``day`` (``datetime64[D]``), ``start`` and ``end`` (minutes
    after local midnight); ordered by practitioner, day and start.
    """
    intervals = pd.DataFrame(
        [
            (index, weekday, start.hour * 60 + start.minute, end.hour * 60 + end.minute)
            for index, schedule in enumerate(SCHEDULES)
            for weekday, start, end in schedule.hours
        ],
        columns=["schedule", "weekday", "start", "end"],
    )
    dates = np.datetime64(first, "D") + np.arange(days).astype("timedelta64[D]")
    calendar = pd.DataFrame({"day": dates, "weekday": pd.DatetimeIndex(dates).isocalendar().day})
    calendar["weekday"] = calendar["weekday"].astype(np.int64)
    blocks = (
        practitioners[["practitioner_id", "schedule"]]
        .merge(intervals, on="schedule")
        .merge(calendar, on="weekday")
    )
    closed = pd.concat(
        [_leave_days(leave), _holiday_days(practitioners, holidays_)[["practitioner_id", "day"]]]
    ).drop_duplicates()
    blocks = blocks.merge(closed.assign(closed=True), on=["practitioner_id", "day"], how="left")
    blocks = blocks[blocks["closed"].isna()]
    blocks = blocks.sort_values(["practitioner_id", "day", "start"], ignore_index=True)
    return blocks[["practitioner_id", "day", "start", "end"]]
