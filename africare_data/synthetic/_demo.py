"""The demo data set as one value: the network, its calendar, its availability and its bookings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from africare_data.synthetic._bookings import book, booked_rows, slots
from africare_data.synthetic._calendar import holidays_frame, leave_frame, time_off, working_blocks
from africare_data.synthetic._network import (
    SCHEDULES,
    SPECIALTIES,
    availability_rules,
    draw_practitioners,
    event_types,
    practitioner_event_types,
)

__all__ = [
    "DEFAULT_PRACTITIONERS",
    "DEFAULT_START",
    "DemoData",
    "generate_bookings",
    "generate_demo",
]

DEFAULT_PRACTITIONERS: Final = 100
DEFAULT_START: Final = date(2025, 1, 6)
_DEMAND_MARGIN: Final = 0.9  # leave and holidays take about a tenth of the scheduled hours


@dataclass(frozen=True)
class DemoData:
    """Everything :func:`generate_demo` draws; each frame has the columns of its table.

    ``practitioners`` (``practitioner_id``, ``country``, ``time_zone``, ``specialty``,
    ``schedule``, ``load``) and ``holidays`` (``country``, ``day``, ``name``) describe the network
    for analysis and tests; practitioners live in another service, so they are not loaded.
    ``event_types`` carries the ids a fresh database gives them; loading maps them to the real ids.
    """

    practitioners: pd.DataFrame
    holidays: pd.DataFrame
    event_types: pd.DataFrame
    practitioner_event_types: pd.DataFrame
    availability_rules: pd.DataFrame
    availability_exceptions: pd.DataFrame
    bookings: pd.DataFrame
    first_day: date
    weeks: int


def generate_demo(
    n: int,
    *,
    seed: int = 0,
    practitioners: int = DEFAULT_PRACTITIONERS,
    patients: int = 20_000,
    start: date = DEFAULT_START,
) -> DemoData:
    """A clinic network of ``practitioners`` and ``n`` bookings over as many whole weeks as their
    schedules need, from the Monday of the week of ``start``. Deterministic for given arguments.

    Practitioners work in :data:`~africare_data.synthetic.COUNTRIES`, each in one specialty (its
    event types and durations) on a full-time or part-time weekly schedule, closed on their
    country's public holidays and on their own leave. Demand differs: about a fifth are fully
    booked, a fifth half empty. Bookings fall inside the schedules and never overlap.
    """
    if n < 0 or practitioners < 1 or patients < 1:
        raise ValueError("n must be >= 0, practitioners and patients >= 1")
    network, calendar, packing, booking = np.random.SeedSequence(seed).spawn(4)
    people = draw_practitioners(practitioners, np.random.default_rng(network))
    first_day = start - timedelta(days=start.weekday())
    # The fewest whole weeks whose slots the practitioners' demand fills with n bookings.
    weeks = max(1, int(n / _weekly_demand(people)))
    while True:
        days = 7 * weeks
        holidays = holidays_frame(first_day, days)
        leave = leave_frame(people, first_day, days, np.random.default_rng(calendar))
        blocks = working_blocks(people, first_day, days, holidays, leave)
        candidates = slots(people, blocks, np.random.default_rng(packing))
        load = people.set_index("practitioner_id")["load"]
        filled = booked_rows(load.reindex(candidates["practitioner_id"]).to_numpy())
        if filled >= n:
            break
        weeks = max(weeks + 1, math.ceil(weeks * n / max(filled, 1.0)))
    return DemoData(
        practitioners=people,
        holidays=holidays,
        event_types=event_types(),
        practitioner_event_types=practitioner_event_types(people),
        availability_rules=availability_rules(people, first_day),
        availability_exceptions=time_off(people, holidays, leave),
        bookings=book(n, people, candidates, patients, np.random.default_rng(booking)),
        first_day=first_day,
        weeks=weeks,
    )


def _weekly_demand(people: pd.DataFrame) -> float:
    """Bookings a week the network's schedules and loads call for, roughly."""
    minutes = np.array([schedule.weekly_minutes for schedule in SCHEDULES])
    mean_duration = np.array(
        [sum(length * share for _, length, share in specialty.offers) for specialty in SPECIALTIES]
    )
    slots = minutes[people["schedule"]] / mean_duration[people["specialty"]]
    load = people["load"].to_numpy()
    return booked_rows(np.repeat(load, np.round(slots).astype(np.int64))) * _DEMAND_MARGIN


def generate_bookings(
    n: int,
    *,
    seed: int = 0,
    practitioners: int = DEFAULT_PRACTITIONERS,
    patients: int = 20_000,
    start: date = DEFAULT_START,
) -> pd.DataFrame:
    """The bookings of :func:`generate_demo` (same arguments): a frame with the columns of
    ``bookings`` but ``id``. Its ``event_type_id`` values are the demo event types' ids in a fresh
    database; :func:`~africare_data.synthetic.load_demo` loads both together."""
    return generate_demo(
        n, seed=seed, practitioners=practitioners, patients=patients, start=start
    ).bookings
