"""The streaming conversion of ``frames``: batch by batch into preallocated columns.

The fast path writes each Arrow record batch straight into the final numpy columns, sized from the
planner's estimate and grown when it is low. Whatever the estimate and batch sizes, the frame must
equal the one-shot conversion of the whole table, dtypes included, for every column kind and with
nulls anywhere (even in columns the statement says are never null).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from africare_data.frames import assembly
from africare_data.frames.assembly import Assembler
from africare_data.frames.conversion import to_pandas
from africare_data.frames.dtypes import Column

ROWS = 2000
STATUSES = ("pending", "confirmed", "cancelled")


def _column(
    arrow_type: pa.DataType, value: Callable[[int], object], nulls: float = 0.0
) -> pa.Array:
    draw = random.Random(f"{arrow_type}{nulls}")
    return pa.array([None if draw.random() < nulls else value(i) for i in range(ROWS)], arrow_type)


def _moment(i: int) -> dt.datetime:
    return dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i * 37)


SOURCE: dict[str, tuple[pa.Array, Column]] = {
    "int": (_column(pa.int32(), lambda i: i - 100), Column("int", "int", False)),
    "int_nulls_unexpected": (
        _column(pa.int32(), lambda i: i, 0.1),
        Column("int_nulls_unexpected", "int", False),
    ),
    "int64_nullable": (
        _column(pa.int64(), lambda i: i * 10**12, 0.3),
        Column("int64_nullable", "int", True),
    ),
    "float": (_column(pa.float32(), lambda i: i / 3, 0.2), Column("float", "float", True)),
    "numeric_text": (
        _column(pa.string(), lambda i: f"{i}.25", 0.1),
        Column("numeric_text", "float", True),
    ),
    "bool": (_column(pa.bool_(), lambda i: i % 3 == 0), Column("bool", "bool", False)),
    "bool_nullable": (
        _column(pa.bool_(), lambda i: i % 3 == 0, 0.2),
        Column("bool_nullable", "bool", True),
    ),
    "bool_nulls_late": (
        pa.array([True] * (ROWS - 3) + [None, False, None]),
        Column("bool_nulls_late", "bool", False),
    ),
    "aware": (_column(pa.timestamp("us", tz="UTC"), _moment), Column("aware", "datetime", False)),
    "aware_nullable": (
        _column(pa.timestamp("us", tz="UTC"), _moment, 0.5),
        Column("aware_nullable", "datetime", True),
    ),
    "naive": (
        _column(
            pa.timestamp("us"), lambda i: dt.datetime(2025, 1, 1) + dt.timedelta(minutes=i), 0.1
        ),
        Column("naive", "naive", True),
    ),
    "status": (
        _column(pa.string(), lambda i: STATUSES[i % 3], 0.1),
        Column("status", "enum", True, STATUSES),
    ),
    "text": (
        _column(pa.string(), lambda i: "x" * (i % 7) + "é", 0.3),
        Column("text", "string", True),
    ),
    "binary": (
        _column(pa.binary(), lambda i: bytes([i % 256]), 0.1),
        Column("binary", "other", True),
    ),
}
TABLE = pa.table({name: array for name, (array, _) in SOURCE.items()})
COLUMNS = [column for _, column in SOURCE.values()]


@pytest.mark.parametrize("tz", ["UTC", "Africa/Lagos"])
@pytest.mark.parametrize("estimate", [1, 7, ROWS - 1, ROWS, 10 * ROWS], ids=lambda n: f"est{n}")
@pytest.mark.parametrize("batch_rows", [1, 333, ROWS], ids=lambda n: f"batch{n}")
def test_streamed_frame_equals_the_one_shot_conversion(
    tz: str, estimate: int, batch_rows: int
) -> None:
    expected = to_pandas(list(TABLE.columns), COLUMNS, tz)
    assembler = Assembler(COLUMNS, estimate)
    for batch in TABLE.to_batches(max_chunksize=batch_rows):
        assembler.add(batch)
    streamed = assembler.frame(tz)
    pd.testing.assert_frame_equal(streamed, expected, check_exact=True)
    assert list(streamed.dtypes) == list(expected.dtypes)


def test_an_empty_stream_keeps_columns_and_dtypes() -> None:
    assembler = Assembler(COLUMNS, 0)
    assembler.add(pa.RecordBatch.from_pylist([], schema=TABLE.schema))
    expected = to_pandas(
        [pa.chunked_array([], column.type) for column in TABLE.columns], COLUMNS, "UTC"
    )
    streamed = assembler.frame("UTC")
    pd.testing.assert_frame_equal(streamed, expected)
    assert list(streamed.columns) == list(SOURCE)


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_batches_added_from_threads_in_any_order_sort_into_the_conversion(parts: int) -> None:
    shuffled = TABLE.take(pa.array(random.Random(parts).sample(range(ROWS), ROWS)))
    assembler = Assembler(COLUMNS, 100)

    def add(part: int) -> None:
        first, stop = part * ROWS // parts, (part + 1) * ROWS // parts
        for batch in shuffled.slice(first, stop - first).to_batches(max_chunksize=97):
            assembler.add(batch)

    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(add, range(parts)))
    streamed = assembler.frame("Africa/Lagos", sort_by=["int"])  # "int" rises with the row
    expected = to_pandas(list(TABLE.columns), COLUMNS, "Africa/Lagos")
    pd.testing.assert_frame_equal(streamed, expected, check_exact=True)


@pytest.mark.parametrize("cuts", [(0,), (1,), (1500,), (700, 1300), (0, 2, ROWS)])
def test_parts_assembled_apart_and_extended_in_order_equal_the_conversion(
    cuts: tuple[int, ...],
) -> None:
    bounds = [0, *cuts, ROWS]
    parts = []
    for first, stop in itertools.pairwise(bounds):  # empty parts too
        part = Assembler(COLUMNS, 10)
        for batch in TABLE.slice(first, stop - first).to_batches(max_chunksize=333):
            part.add(batch)
        parts.append(part)
    for part in parts[1:]:
        parts[0].extend(part)
    streamed = parts[0].frame("UTC")
    expected = to_pandas(list(TABLE.columns), COLUMNS, "UTC")
    pd.testing.assert_frame_equal(streamed, expected, check_exact=True)


@pytest.mark.parametrize("seed", range(4))
def test_the_sort_order_is_lexsorts(seed: int) -> None:
    draw = np.random.default_rng(seed)
    size = 5000
    first = draw.integers(0, 50, size) * 900_000_000 + 1_700_000_000_000_000  # many ties
    wide = draw.integers(-(2**62), 2**62, size)  # too wide to add to a rank
    unique = draw.permutation(size) + 10**9
    few = draw.integers(0, 3, size)
    for keys in (
        [unique],
        [first, unique],
        [first, wide],
        [few, first, unique],
        [first, few, wide],
    ):
        expected = np.lexsort(keys[::-1])
        assert (assembly._sort_order(keys) == expected).all(), len(keys)
