"""The demo clinic network: countries, specialties with their event types, weekly schedules.

Everything here is fixed data plus one random draw per practitioner (:func:`draw_practitioners`):
where they work, what they do, which weekly schedule they keep and how much demand they see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "COUNTRIES",
    "SCHEDULES",
    "SPECIALTIES",
    "Country",
    "Schedule",
    "Specialty",
    "availability_rules",
    "draw_practitioners",
    "event_types",
    "offers_by_specialty",
    "practitioner_event_types",
]


@dataclass(frozen=True)
class Country:
    """A country of the network: its ISO code (the ``holidays`` package's key) and IANA zone."""

    code: str
    name: str
    time_zone: str
    weight: float


@dataclass(frozen=True)
class Specialty:
    """A specialty and the appointments it offers: ``(name, minutes, share of bookings)``."""

    name: str
    weight: float
    offers: tuple[tuple[str, int, float], ...]


@dataclass(frozen=True)
class Schedule:
    """A weekly schedule: ``(ISO weekday, start, end)`` intervals in local wall-clock time."""

    name: str
    weight: float
    hours: tuple[tuple[int, time, time], ...]

    @property
    def weekly_minutes(self) -> int:
        return sum(_minutes(end) - _minutes(start) for _, start, end in self.hours)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


COUNTRIES: Final = (
    Country("NG", "Nigeria", "Africa/Lagos", 0.24),
    Country("KE", "Kenya", "Africa/Nairobi", 0.18),
    Country("EG", "Egypt", "Africa/Cairo", 0.18),
    Country("ZA", "South Africa", "Africa/Johannesburg", 0.16),
    Country("GH", "Ghana", "Africa/Accra", 0.12),
    Country("MA", "Morocco", "Africa/Casablanca", 0.12),
)
"""Where the practitioners work (Cairo and Casablanca change their clocks, at night)."""

SPECIALTIES: Final = (
    Specialty("General practice", 0.34, (("GP consultation", 15, 0.7), ("GP long visit", 30, 0.3))),
    Specialty(
        "Paediatrics",
        0.16,
        (("Paediatric consultation", 20, 0.65), ("Child vaccination", 10, 0.35)),
    ),
    Specialty(
        "Antenatal care", 0.12, (("Antenatal check-up", 30, 0.7), ("Pregnancy ultrasound", 45, 0.3))
    ),
    Specialty("Dentistry", 0.12, (("Dental check-up", 30, 0.6), ("Dental treatment", 60, 0.4))),
    Specialty("Physiotherapy", 0.1, (("Physiotherapy session", 45, 1.0),)),
    Specialty(
        "Mental health",
        0.08,
        (("Counselling session", 50, 0.75), ("Psychiatric assessment", 60, 0.25)),
    ),
    Specialty("Dermatology", 0.08, (("Skin consultation", 20, 0.8), ("Skin procedure", 40, 0.2))),
)
"""Specialties; each offers one or two event types with their own durations."""


def _hours(
    days: Iterable[int], *intervals: tuple[time, time]
) -> tuple[tuple[int, time, time], ...]:
    """The same local intervals on each of ``days`` (ISO weekdays)."""
    return tuple((day, start, end) for day in days for start, end in intervals)


_WEEKDAYS: Final = range(1, 6)
_MORNING: Final = (time(8), time(12))
SCHEDULES: Final = (
    Schedule("full time", 0.35, _hours(_WEEKDAYS, _MORNING, (time(13), time(17)))),
    Schedule(
        "full time with Saturday mornings",
        0.25,
        _hours(_WEEKDAYS, _MORNING, (time(13), time(16))) + _hours([6], (time(9), time(13))),
    ),
    Schedule("part time, mornings", 0.15, _hours(_WEEKDAYS, (time(8), time(13)))),
    Schedule("part time, three days", 0.15, _hours([1, 3, 5], _MORNING, (time(13), time(17)))),
    Schedule(
        "part time, afternoons and Saturday",
        0.1,
        _hours([2, 4], (time(13), time(18))) + _hours([6], (time(8), time(13))),
    ),
)
"""Weekly schedules: full time (40 h), part time (15-25 h); nobody works on Sunday."""

_LOAD_BANDS: Final = ((0.2, 0.95, 1.0), (0.6, 0.55, 0.9), (0.2, 0.35, 0.55))
"""``(share, low, high)``: a fifth fully booked, a fifth half empty, the rest in between."""


def _weights(
    items: tuple[Country, ...] | tuple[Specialty, ...] | tuple[Schedule, ...],
) -> list[float]:
    """The items' weights as probabilities (summing to one)."""
    total = sum(item.weight for item in items)
    return [item.weight / total for item in items]


def draw_practitioners(count: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per practitioner (ids ``1..count``): country, zone, specialty, schedule, load.

    ``load`` is the share of the practitioner's appointment slots that demand fills.
    """
    country = rng.choice(len(COUNTRIES), size=count, p=_weights(COUNTRIES))
    specialty = rng.choice(len(SPECIALTIES), size=count, p=_weights(SPECIALTIES))
    schedule = rng.choice(len(SCHEDULES), size=count, p=_weights(SCHEDULES))
    band = rng.choice(len(_LOAD_BANDS), size=count, p=[share for share, _, _ in _LOAD_BANDS])
    low = np.array([low for _, low, _ in _LOAD_BANDS])[band]
    high = np.array([high for _, _, high in _LOAD_BANDS])[band]
    return pd.DataFrame(
        {
            "practitioner_id": np.arange(1, count + 1, dtype=np.int64),
            "country": [COUNTRIES[code].code for code in country],
            "time_zone": [COUNTRIES[code].time_zone for code in country],
            "specialty": specialty,
            "schedule": schedule,
            "load": rng.uniform(low, high),
        }
    )


def event_types() -> pd.DataFrame:
    """Every specialty's event types, numbered ``1..``: the ids a fresh database gives them."""
    rows = [
        (name, minutes, specialty.name)
        for specialty in SPECIALTIES
        for name, minutes, _ in specialty.offers
    ]
    frame = pd.DataFrame(rows, columns=["name", "duration_minutes", "specialty"])
    frame.insert(0, "id", np.arange(1, len(rows) + 1, dtype=np.int64))
    return frame


def offers_by_specialty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per specialty (index into :data:`SPECIALTIES`): the id of its first event type, of its
    second (the first again when it offers one), and the share of bookings of the first."""
    first, second, share = [], [], []
    next_id = 1
    for specialty in SPECIALTIES:
        first.append(next_id)
        second.append(next_id + len(specialty.offers) - 1)
        share.append(specialty.offers[0][2])
        next_id += len(specialty.offers)
    return np.array(first, dtype=np.int64), np.array(second, dtype=np.int64), np.array(share)


def practitioner_event_types(practitioners: pd.DataFrame) -> pd.DataFrame:
    """Which event types each practitioner offers: those of their specialty."""
    first, _, _ = offers_by_specialty()
    counts = np.array([len(specialty.offers) for specialty in SPECIALTIES])
    specialty = practitioners["specialty"].to_numpy()
    repeat = counts[specialty]
    offsets = np.arange(repeat.sum()) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    return pd.DataFrame(
        {
            "practitioner_id": np.repeat(practitioners["practitioner_id"].to_numpy(), repeat),
            "event_type_id": np.repeat(first[specialty], repeat) + offsets,
        }
    )


def availability_rules(practitioners: pd.DataFrame, valid_from: date) -> pd.DataFrame:
    """The weekly hours of every practitioner, in local wall-clock time and their zone."""
    rows = [
        (practitioner, weekday, start, end, zone, valid_from, None)
        for practitioner, zone, schedule in zip(
            practitioners["practitioner_id"].tolist(),
            practitioners["time_zone"].tolist(),
            practitioners["schedule"].tolist(),
            strict=True,
        )
        for weekday, start, end in SCHEDULES[schedule].hours
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "practitioner_id",
            "weekday",
            "start_local",
            "end_local",
            "time_zone",
            "valid_from",
            "valid_until",
        ],
    )
