"""Arrow columns and driver rows into pandas columns of the dtypes :mod:`.dtypes` chose.

Two ways in: :func:`to_pandas` converts whole columns at once (rows from the session's
connection, small), and :class:`Assembler` writes a stream of record batches straight into each
column's final numpy array (the ``COPY`` path, large), so only one batch is alive at a time. Both
give the same frame for the same values, dtypes included.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from africare_data.frames.dtypes import STRING_DTYPE, Column

__all__ = ["Assembler", "rows_to_arrays", "to_pandas"]

_NAT: Final = pa.scalar(-(2**63), pa.int64())  # numpy's NaT as int64
_UTC: Final = pd.DatetimeTZDtype("us", "UTC")
_NUMPY_DTYPES: Final[dict[str, Any]] = {
    "int": np.int64,
    "float": np.float64,
    "bool": np.bool_,
    "datetime": np.int64,
    "naive": np.int64,
}
_MAX_PREALLOCATED_ROWS: Final = 1 << 24
"""Preallocate at most this many rows per column from the planner's estimate; grow beyond."""


@functools.cache
def _categorical(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(categories))


def to_pandas(arrays: list[pa.ChunkedArray], columns: Sequence[Column], tz: str) -> pd.DataFrame:
    """Convert column by column, releasing each Arrow column once converted (callers hand over
    their only reference), so the peak stays near the final frame plus one column."""
    data: dict[str, Any] = {}
    arrays.reverse()
    for column in columns:
        data[column.name] = _series(arrays.pop(), column, tz)
    return pd.DataFrame(data, columns=[column.name for column in columns], copy=False)


def _series(values: pa.ChunkedArray, column: Column, tz: str) -> Any:
    kind = column.kind
    has_nulls = values.null_count > 0
    if kind == "int":
        values = values.cast(pa.int64())
        if column.nullable or has_nulls:
            return pd.array(values, dtype="Int64")
        return values.to_numpy()
    if kind == "float":
        return values.cast(pa.float64()).to_numpy()
    if kind == "bool":
        if column.nullable or has_nulls:
            return pd.array(values, dtype="boolean")
        return values.to_numpy()
    if kind in ("datetime", "naive"):
        # int64 microseconds viewed as datetime64: no per-element work, nulls become NaT.
        micros = pc.fill_null(values.cast(pa.timestamp("us")).cast(pa.int64()), _NAT)
        naive = pd.DatetimeIndex(micros.to_numpy().view("datetime64[us]"))
        if kind == "naive":
            return naive
        return naive.tz_localize("UTC") if tz == "UTC" else naive.tz_localize("UTC").tz_convert(tz)
    if kind == "enum":
        codes = pc.index_in(values.cast(pa.string()), value_set=pa.array(column.categories))
        return pd.Categorical.from_codes(
            codes.fill_null(-1).to_numpy(), dtype=_categorical(column.categories)
        )
    if kind == "string":
        return pd.array(values.cast(pa.large_string()), dtype=STRING_DTYPE)
    return values.to_pandas()


def rows_to_arrays(
    rows: Sequence[Sequence[Any]], columns: Sequence[Column]
) -> list[pa.ChunkedArray]:
    """Driver rows (tuples or records) as one Arrow column per selected column."""
    transposed: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [()] * len(columns)
    arrays = []
    for column, values in zip(columns, transposed, strict=True):
        if column.kind == "enum":
            values = [getattr(value, "value", value) for value in values]
        if column.kind == "other":
            arrays.append(pa.array(values, from_pandas=True))
        else:
            arrays.append(pa.array(values, type=column.arrow_type, from_pandas=True))
    return [pa.chunked_array([array]) for array in arrays]


def _code_dtype(categories: Sequence[str]) -> np.dtype[Any]:
    """The integer dtype pandas itself gives the codes of a categorical with ``categories``."""
    size = len(categories)
    for dtype in (np.int8, np.int16, np.int32):
        if size < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class Assembler:
    """Writes Arrow record batches straight into each column's final numpy array.

    Only one batch is alive at a time and every column is allocated once, at its final dtype,
    so the peak is the final frame plus one batch instead of the whole Arrow result plus the
    frame. The arrays are preallocated from the planner's row estimate (untouched pages cost
    no memory), grown by copying if the estimate was low, and shrunk in place at the end.
    Text columns stay Arrow (pandas' ``string`` dtype is Arrow-backed) and columns of other
    types keep the generic conversion; both copy each batch's piece so the batch can go.
    """

    def __init__(self, columns: Sequence[Column], capacity: int) -> None:
        self._columns = columns
        self._capacity = max(1, min(capacity, _MAX_PREALLOCATED_ROWS))
        self._rows = 0
        self._values: list[Any] = [self._allocate(column) for column in columns]
        self._masks: list[np.ndarray[Any, Any] | None] = [
            np.zeros(self._capacity, np.bool_) if self._masked(column) else None
            for column in columns
        ]
        self._types: list[pa.DataType | None] = [None] * len(columns)
        self._value_sets = {
            index: pa.array(column.categories, pa.string())
            for index, column in enumerate(columns)
            if column.kind == "enum"
        }

    @staticmethod
    def _masked(column: Column) -> bool:
        return column.nullable and column.kind in ("int", "bool")

    def _allocate(self, column: Column) -> Any:
        dtype = _NUMPY_DTYPES.get(column.kind)
        if column.kind == "enum":
            dtype = _code_dtype(column.categories)
        return [] if dtype is None else np.empty(self._capacity, dtype)

    def _reserve(self, rows: int) -> None:
        if rows <= self._capacity:
            return
        capacity = max(rows, self._capacity * 2)
        for index, values in enumerate(self._values):
            if isinstance(values, np.ndarray):
                grown = np.empty(capacity, values.dtype)
                grown[: self._rows] = values[: self._rows]
                self._values[index] = grown
        for index, mask in enumerate(self._masks):
            if mask is not None:
                wider = np.zeros(capacity, np.bool_)
                wider[: self._rows] = mask[: self._rows]
                self._masks[index] = wider
        self._capacity = capacity

    def add(self, batch: pa.RecordBatch) -> None:
        """Write ``batch`` (its columns in the statement's order) after the rows so far."""
        start, stop = self._rows, self._rows + batch.num_rows
        self._reserve(stop)
        for index, column in enumerate(self._columns):
            self._add(index, column, batch.column(index), slice(start, stop))
        self._rows = stop

    def _add(self, index: int, column: Column, values: pa.Array, rows: slice) -> None:
        kind = column.kind
        target = self._values[index]
        if kind in ("string", "date", "other"):
            if kind == "string":
                values = values.cast(pa.large_string())
            self._types[index] = values.type
            # A copy: a slice of the batch would keep the whole batch alive.
            target.append(pa.concat_arrays([values]))
            return
        if kind == "enum":
            codes = pc.index_in(values.cast(pa.string()), value_set=self._value_sets[index])
            target[rows] = codes.fill_null(-1).to_numpy()
            return
        if kind == "float":
            target[rows] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
            return
        if kind in ("datetime", "naive"):
            values = values.cast(pa.timestamp("us")).cast(pa.int64())
            if values.null_count:
                values = pc.fill_null(values, _NAT)  # numpy's NaT
            target[rows] = values.to_numpy()
            return
        # int, bool: nulls go to a mask (allocated at the first null of a non-null column)
        if kind == "int" and not values.null_count and pa.types.is_integer(values.type):
            view = values.to_numpy()  # zero-copy; numpy widens while writing
            if np.can_cast(view.dtype, target.dtype):
                target[rows] = view
                return
        values = values.cast(pa.int64() if kind == "int" else pa.bool_())
        if values.null_count:
            mask = self._masks[index]
            if mask is None:
                mask = self._masks[index] = np.zeros(self._capacity, np.bool_)
            mask[rows] = values.is_null().to_numpy(zero_copy_only=False)
            values = pc.fill_null(values, pa.scalar(0 if kind == "int" else False, values.type))
        target[rows] = values.to_numpy(zero_copy_only=False)

    def frame(self, tz: str) -> pd.DataFrame:
        """The assembled frame, with the dtypes :func:`to_pandas` gives the same values."""
        data: dict[str, Any] = {}
        for index, column in enumerate(self._columns):
            data[column.name] = self._finish(index, column, tz)
        return pd.DataFrame(data, columns=[column.name for column in self._columns], copy=False)

    def _shrunk(self, array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        array.resize(self._rows, refcheck=False)  # in place: nothing else refers to it yet
        return array

    def _finish(self, index: int, column: Column, tz: str) -> Any:
        kind = column.kind
        values = self._values[index]
        self._values[index] = None
        if isinstance(values, list):
            chunks = pa.chunked_array(values, type=self._types[index] or column.arrow_type)
            return _series(chunks, column, tz)
        values = self._shrunk(values)
        mask = self._masks[index]
        if kind == "int" and mask is not None:
            return pd.arrays.IntegerArray(values, self._shrunk(mask))
        if kind == "bool" and mask is not None:
            return pd.arrays.BooleanArray(values, self._shrunk(mask))
        if kind == "enum":
            return pd.Categorical.from_codes(values, dtype=_categorical(column.categories))
        if kind == "datetime":
            aware = pd.DatetimeIndex(values, dtype=_UTC, copy=False)  # int64 µs since the epoch
            return aware if tz == "UTC" else aware.tz_convert(tz)
        if kind == "naive":
            return pd.DatetimeIndex(values.view("datetime64[us]"), copy=False)
        return values
