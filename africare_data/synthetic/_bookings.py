"""Demo bookings: appointment slots packed into the working blocks, filled by demand.

Each block (one schedule interval on one date) is packed from its start with back-to-back
appointments of the practitioner's event types, as long as they fit; those are the slots. A slot
is booked when a uniform draw falls below the practitioner's load times one threshold for the
whole network, the threshold chosen so that there are exactly ``n`` bookings: a few slots hold two,
a cancelled booking and the one that took the freed slot. Slots never overlap, so active bookings
never do; a cancelled booking shares its slot with its successor only.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from africare_data.frames import STATUS_DTYPE
from africare_data.synthetic._calendar import localise
from africare_data.synthetic._network import event_types, offers_by_specialty

__all__ = ["CANCELLATION_REASONS", "book", "booked_rows", "slots"]

CANCELLATION_REASONS: Final = (
    "patient request",
    "patient unwell",
    "practitioner unavailable",
    "booked elsewhere",
    "no longer needed",
)
_REASON_WEIGHTS: Final = np.array([0.35, 0.2, 0.15, 0.1, 0.2])

_LEAD_MEDIAN_DAYS: Final = 4.0
_LEAD_SIGMA: Final = 1.3
_MAX_LEAD: Final = 56 * 1440  # minutes: eight weeks ahead at most
_LEAD: Final = (20, _MAX_LEAD - 1440)  # a booked slot's last booking: 20 minutes to 55 days
_RESCHEDULED_SHARE: Final = 0.06
_REBOOKED_AT_FULL_DEMAND: Final = 0.12
"""Share of a fully booked practitioner's slots whose first booking was cancelled and the slot
booked again; it falls with the square of the demand (a half-empty agenda rarely refills)."""
_PANEL_REACH: Final = 1.25  # a panel's size over its share of the patients
_REGULARS: Final = 1.25  # > 1: the first patients of a panel come back most often
_TIMESTAMP_DTYPE: Final = "datetime64[us, UTC]"


def slots(
    practitioners: pd.DataFrame, blocks: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Every appointment slot: ``practitioner_id``, ``day``, ``start`` (minutes after local
    midnight), ``minutes`` and ``event_type_id``, ordered by practitioner and time."""
    types = event_types()
    durations = np.zeros(len(types) + 1, dtype=np.int64)
    durations[types["id"].to_numpy()] = types["duration_minutes"].to_numpy()
    first, second, share = offers_by_specialty()
    specialty = (
        practitioners.set_index("practitioner_id")["specialty"]
        .reindex(blocks["practitioner_id"])
        .to_numpy()
    )
    lengths = (blocks["end"] - blocks["start"]).to_numpy()
    width = int(lengths.max() // durations[1:].min()) + 1 if len(blocks) else 1
    pick_first = rng.random((len(blocks), width)) < share[specialty][:, None]
    kind = np.where(pick_first, first[specialty][:, None], second[specialty][:, None])
    minutes = durations[kind]
    ends = np.cumsum(minutes, axis=1)
    fits = ends <= lengths[:, None]
    row, _ = np.nonzero(fits)
    return pd.DataFrame(
        {
            "practitioner_id": blocks["practitioner_id"].to_numpy()[row],
            "day": blocks["day"].to_numpy()[row],
            "start": blocks["start"].to_numpy()[row] + (ends - minutes)[fits],
            "minutes": minutes[fits],
            "event_type_id": kind[fits],
        }
    )


def book(
    n: int,
    practitioners: pd.DataFrame,
    candidates: pd.DataFrame,
    patients: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``n`` bookings from ``candidates`` (see the module docstring), with patients, lead times,
    statuses, cancellations and reschedules; columns as the ``bookings`` table."""
    picked, earlier = _fill(n, practitioners, candidates, rng)
    practitioner = picked["practitioner_id"].to_numpy()
    zones = practitioners.set_index("practitioner_id")["time_zone"].reindex(practitioner).to_numpy()
    local = picked["day"].to_numpy().astype("datetime64[m]") + picked["start"].to_numpy().astype(
        "timedelta64[m]"
    )
    start = pd.Series(localise(local, zones)).dt.tz_localize("UTC")
    end = start + pd.to_timedelta(picked["minutes"].to_numpy(), unit="min")

    lead = np.clip(rng.lognormal(np.log(_LEAD_MEDIAN_DAYS * 1440), _LEAD_SIGMA, size=n), *_LEAD)
    # A cancelled booking whose slot was booked again was made before its successor.
    successor = np.flatnonzero(earlier) + 1
    gap = np.clip(rng.lognormal(np.log(3 * 1440), 1.0, size=len(successor)), 60, _MAX_LEAD)
    lead[earlier] = np.minimum(lead[successor] + gap, _MAX_LEAD)
    created = (start - pd.to_timedelta(np.round(lead), unit="min")).astype(_TIMESTAMP_DTYPE)
    ahead = start - created
    # Bookings made long ahead are cancelled more often; same-day ones stay pending more often.
    # Where demand is high a cancelled slot is mostly booked again (the pairs above), so few
    # slots end cancelled.
    demand = practitioners.set_index("practitioner_id")["load"].reindex(practitioner).to_numpy()
    cancel_chance = (0.03 + 0.1 * np.minimum(lead / (28 * 1440), 1.0)) * (1.5 - demand)
    pending_chance = np.where(lead < 1440, 0.2, 0.06)
    draw = rng.random(n)
    status = np.where(
        draw < cancel_chance, 2, np.where(draw < cancel_chance + pending_chance, 0, 1)
    )
    status[earlier] = 2
    confirmed_at = created + ahead * rng.uniform(0.02, 0.4, size=n)
    cancelled_at = created + ahead * rng.uniform(0.1, 0.95, size=n)
    # ... and cancelled before the successor was made, which freed the slot.
    first = created.iloc[earlier].reset_index(drop=True)
    then = created.iloc[successor].reset_index(drop=True)
    freed = first + (then - first) * rng.uniform(0.1, 0.9, size=len(successor))
    cancelled_at.loc[earlier] = freed.array
    rescheduled = (rng.random(n) < _RESCHEDULED_SHARE) & (status != 2)
    rescheduled_at = created + ahead * rng.uniform(0.4, 0.9, size=n)
    updated = pd.Series(pd.NaT, index=start.index, dtype=_TIMESTAMP_DTYPE)
    updated = updated.where(status != 1, confirmed_at)
    updated = updated.where(~rescheduled, rescheduled_at)
    updated = updated.where(status != 2, cancelled_at)
    reasons = pd.Series(
        np.array(CANCELLATION_REASONS, dtype=object)[
            rng.choice(len(CANCELLATION_REASONS), size=n, p=_REASON_WEIGHTS)
        ],
        dtype="string",
    )
    columns: dict[str, Any] = {
        "practitioner_id": practitioner.astype(np.int32),
        "patient_id": _patients(practitioner, patients, rng).astype(np.int32),
        "event_type_id": pd.array(picked["event_type_id"].to_numpy(), dtype="Int64"),
        "start_time": start,
        "end_time": end,
        "status": pd.Categorical.from_codes(status, dtype=STATUS_DTYPE),
        "created_at": created,
        "updated_at": updated,
        "cancelled_at": cancelled_at.where(status == 2),
        "cancellation_reason": reasons.where(status == 2),
    }
    return pd.DataFrame(columns)


def booked_rows(demand: np.ndarray[Any, Any]) -> float:
    """Bookings the slots of these demands (one per slot) are expected to hold: a slot is booked
    with its demand's chance, and some booked slots hold a cancelled booking too."""
    return float((demand * (1 + _REBOOKED_AT_FULL_DEMAND * demand**2)).sum())


def _fill(
    n: int, practitioners: pd.DataFrame, candidates: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """The booked slots, in order, as ``n`` rows: a slot whose first booking was cancelled and
    then booked again has two rows, the cancelled one first (flagged in the array returned)."""
    load = practitioners.set_index("practitioner_id")["load"]
    demand = load.reindex(candidates["practitioner_id"]).to_numpy()
    keys = rng.random(len(candidates)) / demand
    rebooked = rng.random(len(candidates)) < _REBOOKED_AT_FULL_DEMAND * demand**2
    order = np.argsort(keys, kind="stable")
    rows = np.cumsum(1 + rebooked[order])
    taken = int(np.searchsorted(rows, n)) + 1 if n else 0
    chosen = order[:taken]
    if taken and rows[taken - 1] > n:  # one row too many: the last slot is booked once
        rebooked[chosen[-1]] = False
    chosen = np.sort(chosen)
    repeat = 1 + rebooked[chosen]
    picked = candidates.iloc[np.repeat(chosen, repeat)].reset_index(drop=True)
    earlier = np.zeros(len(picked), dtype=bool)
    earlier[(np.cumsum(repeat) - repeat)[repeat == 2]] = True
    return picked, earlier


def _patients(
    practitioner: np.ndarray[Any, Any], patients: int, rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    """Patient ids: each practitioner sees a panel of local patients, sized to their bookings so
    that every patient books about as often wherever they go; a panel reaches a quarter into the
    next one (some patients see two practitioners), and its first patients come most often."""
    ids, visits = np.unique(practitioner, return_counts=True)
    edges = np.concatenate([[0], np.cumsum(visits)]) * patients / max(len(practitioner), 1)
    panel = np.maximum(1.0, _PANEL_REACH * (edges[1:] - edges[:-1]))
    owner = np.searchsorted(ids, practitioner)
    index = np.floor(panel[owner] * rng.random(len(practitioner)) ** _REGULARS).astype(np.int64)
    return 1 + (np.floor(edges[owner]).astype(np.int64) + index) % patients
