"""Streams of Arrow record batches (the ``COPY`` path) into a pandas frame, one batch alive at a
time per stream: :class:`Assembler` writes each batch straight into each column's final numpy
array, from several streams at once if need be, and sorts the rows at the end. The frame equals
the one-shot conversion of :mod:`.conversion` for the same values, dtypes included.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from africare_data.frames.conversion import NAT, categorical, series
from africare_data.frames.dtypes import Column

__all__ = ["Assembler"]

_UTC: Final = pd.DatetimeTZDtype("us", "UTC")
_NUMPY_DTYPES: Final[dict[str, Any]] = {
    "int": np.int64,
    "float": np.float64,
    "bool": np.bool_,
    "datetime": np.int64,
    "naive": np.int64,
}
_MAX_TEXT_BYTES: Final = 1 << 30
"""Text columns up to this size are reordered with 32-bit offsets."""
_POOL: Final = pa.system_memory_pool()
"""Where reordered text goes: the allocator numpy uses, so each can reuse what the other freed."""
_MAX_PREALLOCATED_ROWS: Final = 1 << 24
"""Preallocate at most this many rows per column from the planner's estimate; grow beyond."""


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
        self._lock = threading.Lock()
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
        """Write ``batch`` (its columns in the statement's order) after the rows so far; several
        threads may add at once (one at a time writes)."""
        with self._lock:
            start, stop = self._rows, self._rows + batch.num_rows
            self._reserve(stop)
            for index, column in enumerate(self._columns):
                self._add(index, column, batch.column(index), slice(start, stop))
            self._rows = stop

    def _add(self, index: int, column: Column, values: pa.Array, rows: slice) -> None:
        kind = column.kind
        target = self._values[index]
        if kind in ("string", "date", "other"):
            if kind == "string" and values.type != pa.large_string():
                values = values.cast(pa.string())  # 32-bit offsets: half the memory to reorder
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
                values = pc.fill_null(values, NAT)  # numpy's NaT
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

    def extend(self, other: Assembler) -> None:
        """Append the rows ``other`` assembled (the same columns) after the rows so far: the
        parts of a result read by several streams keep their order."""
        with self._lock:
            start, stop = self._rows, self._rows + other._rows
            self._reserve(stop)
            for index, values in enumerate(self._values):
                theirs = other._values[index]
                if isinstance(values, list):
                    values.extend(theirs)
                    self._types[index] = self._types[index] or other._types[index]
                else:
                    values[start:stop] = theirs[: other._rows]
                their_mask = other._masks[index]
                if their_mask is not None:
                    mask = self._masks[index]
                    if mask is None:
                        mask = self._masks[index] = np.zeros(self._capacity, np.bool_)
                    mask[start:stop] = their_mask[: other._rows]
            self._rows = stop

    def frame(self, tz: str, sort_by: Sequence[str] = ()) -> pd.DataFrame:
        """The assembled frame (the one-shot conversion's, for the same values); see
        :meth:`columns`."""
        return pd.DataFrame(self.columns(tz, sort_by), copy=False)

    def columns(self, tz: str, sort_by: Sequence[str] = ()) -> dict[str, Any]:
        """The assembled columns by name, in the statement's order, ready for a frame.

        ``sort_by`` names columns of non-null integers or timestamps: the rows are then sorted
        by them (ascending, the first one first; rows equal in all of them in no particular
        order), which costs a fraction of a server-side ``ORDER BY``. Each numeric column is
        reordered into the array the previous one of its dtype left (the first into the sort's
        own array), and those are released before the text columns are reordered (with the
        system allocator, which can reuse them), so the peak stays near the frame plus the
        permutation and one column.
        """
        order: np.ndarray[Any, Any] | None = None
        spare: dict[np.dtype[Any], np.ndarray[Any, Any]] = {}
        if sort_by:
            names = [column.name for column in self._columns]
            positions = _sort_order([self._view(names.index(name)) for name in sort_by])
            # int32 positions when they fit: half the memory while the columns are reordered,
            # and the sort's own int64 array receives the first reordered int64 column.
            order = positions.astype(np.int32) if self._rows < 2**31 else positions
            if order is not positions:
                spare[positions.dtype] = positions
            del positions
        data: dict[str, Any] = {}
        texts = [isinstance(values, list) for values in self._values]
        for index, column in enumerate(self._columns):
            if not texts[index]:
                data[column.name] = self._finish(index, column, tz, order, spare)
        spare.clear()
        for index, column in enumerate(self._columns):
            if texts[index]:
                data[column.name] = self._finish(index, column, tz, order, spare)
        pa.default_memory_pool().release_unused()  # where the text was assembled
        return {column.name: data[column.name] for column in self._columns}

    def _view(self, index: int) -> np.ndarray[Any, Any]:
        values: np.ndarray[Any, Any] = self._values[index][: self._rows]
        return values

    def _shrunk(self, array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        array.resize(self._rows, refcheck=False)  # in place: nothing else refers to it now
        return array

    def _finish(
        self,
        index: int,
        column: Column,
        tz: str,
        order: np.ndarray[Any, Any] | None,
        spare: dict[np.dtype[Any], np.ndarray[Any, Any]],
    ) -> Any:
        kind = column.kind
        values = self._values[index]
        mask = self._masks[index]
        self._values[index] = self._masks[index] = None
        if isinstance(values, list):
            chunks = pa.chunked_array(values, type=self._types[index] or column.arrow_type)
            values.clear()
            if order is not None:
                if kind == "string" and chunks.nbytes >= _MAX_TEXT_BYTES:
                    chunks = chunks.cast(pa.large_string())  # 32-bit offsets could not address it
                chunks = pc.take(chunks, order, memory_pool=_POOL)
            if kind == "string":  # pandas' string dtype holds large strings
                chunks = pc.cast(chunks, pa.large_string(), memory_pool=_POOL)
            return series(chunks, column, tz)
        values = self._shrunk(values)
        mask = None if mask is None else self._shrunk(mask)
        if order is not None:
            values = _reordered(values, order, spare)
            mask = None if mask is None else _reordered(mask, order, spare)
        if kind == "int" and mask is not None:
            return pd.arrays.IntegerArray(values, mask)
        if kind == "bool" and mask is not None:
            return pd.arrays.BooleanArray(values, mask)
        if kind == "enum":
            return pd.Categorical.from_codes(values, dtype=categorical(column.categories))
        if kind == "datetime":
            aware = pd.DatetimeIndex(values, dtype=_UTC, copy=False)  # int64 µs since the epoch
            return aware if tz == "UTC" else aware.tz_convert(tz)
        if kind == "naive":
            return pd.DatetimeIndex(values.view("datetime64[us]"), copy=False)
        return values


def _reordered(
    values: np.ndarray[Any, Any],
    order: np.ndarray[Any, Any],
    spare: dict[np.dtype[Any], np.ndarray[Any, Any]],
) -> np.ndarray[Any, Any]:
    """``values[order]``, written into the array a previous column of the dtype left behind;
    ``values`` is left behind in its place."""
    out = spare.pop(values.dtype, None)
    if out is None or len(out) != len(values):
        out = np.empty_like(values)
    np.take(values, order, out=out, mode="clip")  # "raise" would go through a buffer
    spare[values.dtype] = values
    return out


def _sort_order(keys: Sequence[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """The permutation (int64) sorting the rows by ``keys`` (integer arrays, the first one
    first): ``np.lexsort``, which allocates nothing but its result, and whose stable sorts run
    fast on keys that come in long sorted runs (as a table's blocks do)."""
    order: np.ndarray[Any, Any] = np.lexsort(list(reversed(keys)))
    return order
