"""Demo bookings: appointment slots packed into the working blocks, filled by demand.

Each block (one schedule interval on one date) is packed from its start with back-to-back
appointments of the practitioner's event types, as long as they fit; those are the slots. A slot
is booked when a uniform draw falls below the practitioner's load times one threshold for the
whole network, the threshold chosen so that exactly ``n`` slots are booked. Slots never overlap,
so neither do bookings, cancelled or not.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from africare_data.frames import STATUS_DTYPE
from africare_data.synthetic._calendar import localise
from africare_data.synthetic._network import event_types, offers_by_specialty

__all__ = ["CANCELLATION_REASONS", "book", "slots"]

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
_LEAD_MINUTES: Final = (20, 56 * 1440)  # bounds: twenty minutes to eight weeks ahead
_RESCHEDULED_SHARE: Final = 0.06
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
    load = practitioners.set_index("practitioner_id")["load"]
    keys = rng.random(len(candidates)) / load.reindex(candidates["practitioner_id"]).to_numpy()
    chosen = np.sort(np.argpartition(keys, n - 1)[:n]) if n else np.array([], dtype=np.int64)
    picked = candidates.iloc[chosen].reset_index(drop=True)
    practitioner = picked["practitioner_id"].to_numpy()
    zones = practitioners.set_index("practitioner_id")["time_zone"].reindex(practitioner).to_numpy()
    local = picked["day"].to_numpy().astype("datetime64[m]") + picked["start"].to_numpy().astype(
        "timedelta64[m]"
    )
    start = pd.Series(localise(local, zones)).dt.tz_localize("UTC")
    end = start + pd.to_timedelta(picked["minutes"].to_numpy(), unit="min")

    lead_minutes = np.clip(
        rng.lognormal(np.log(_LEAD_MEDIAN_DAYS * 1440), _LEAD_SIGMA, size=n), *_LEAD_MINUTES
    )
    created = (start - pd.to_timedelta(np.round(lead_minutes), unit="min")).astype(_TIMESTAMP_DTYPE)
    ahead = start - created
    # Bookings made long ahead are cancelled more often; same-day ones stay pending more often.
    cancel_chance = 0.05 + 0.15 * np.minimum(lead_minutes / (28 * 1440), 1.0)
    pending_chance = np.where(lead_minutes < 1440, 0.2, 0.06)
    draw = rng.random(n)
    status = np.where(
        draw < cancel_chance, 2, np.where(draw < cancel_chance + pending_chance, 0, 1)
    )
    confirmed_at = created + ahead * rng.uniform(0.02, 0.4, size=n)
    cancelled_at = created + ahead * rng.uniform(0.1, 0.95, size=n)
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
        "patient_id": _patients(practitioner, len(practitioners), patients, rng).astype(np.int32),
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


def _patients(
    practitioner: np.ndarray[Any, Any], practitioners: int, patients: int, rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    """Patient ids: each practitioner sees a panel of local patients (overlapping its neighbour's),
    and a quarter of a panel makes half its visits, so patients come back."""
    panel = max(1, 2 * patients // practitioners)
    first = (practitioner - 1) * patients // practitioners
    index = np.floor(panel * rng.random(len(practitioner)) ** 2).astype(np.int64)
    return 1 + (first + index) % patients
