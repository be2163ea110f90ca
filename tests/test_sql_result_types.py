"""Small results built without Arrow have exactly the frames' dtypes and values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from psycopg.types.range import Range

from africare_data.frames.conversion import rows_to_arrays, to_pandas
from africare_data.frames.dtypes import Column
from africare_data.frames.row_frames import small_frame

LAGOS = timezone(timedelta(hours=1))
COLUMNS = [
    Column("id", "int", nullable=False),
    Column("event_type_id", "int", nullable=True),
    Column("share", "float", nullable=True),
    Column("flag", "bool", nullable=False),
    Column("maybe", "bool", nullable=True),
    Column("start_time", "datetime", nullable=False),
    Column("cancelled_at", "datetime", nullable=True),
    Column("local", "naive", nullable=True),
    Column("day", "date", nullable=True),
    Column("status", "enum", nullable=False, categories=("pending", "confirmed", "cancelled")),
    Column("reason", "string", nullable=True),
    Column("tags", "other", nullable=True),
]
ROWS: list[tuple[Any, ...]] = [
    (
        1,
        None,
        0.5,
        True,
        None,
        datetime(2030, 3, 4, 9, 0, tzinfo=LAGOS),
        None,
        datetime(2030, 3, 4, 9, 0),
        date(2030, 3, 4),
        "confirmed",
        None,
        ["a"],
    ),
    (
        2,
        7,
        None,
        False,
        True,
        datetime(2030, 3, 4, 8, 15, 30, 123456, tzinfo=UTC),
        datetime(2030, 3, 1, tzinfo=UTC),
        None,
        None,
        "cancelled",
        "patient unwell",
        None,
    ),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []], ids=["two rows", "one row", "empty"])
@pytest.mark.parametrize("tz", ["UTC", "Africa/Lagos"])
def test_small_frame_equals_the_arrow_conversion(rows: list[tuple[Any, ...]], tz: str) -> None:
    expected = to_pandas(rows_to_arrays(rows, COLUMNS), COLUMNS, tz)
    built = small_frame(rows, COLUMNS, tz)
    pd.testing.assert_frame_equal(built, expected)
    assert built["id"].dtype == "int64"
    assert built["event_type_id"].dtype == "Int64"
    assert str(built["start_time"].dtype) == f"datetime64[us, {tz}]"


def test_values_arrow_cannot_hold_stay_python_objects() -> None:
    ranges = [(Range(1, 5),), (None,), (Range(2, 3),)]
    frame = small_frame(ranges, [Column("span", "other", nullable=True)])
    assert frame["span"].dtype == object
    assert frame["span"].tolist() == [Range(1, 5), None, Range(2, 3)]
