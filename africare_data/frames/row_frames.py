"""A few rows from a driver straight into typed pandas columns, without Arrow.

:func:`~africare_data.frames.conversion.to_pandas` goes through Arrow, which pays off for
thousands of rows but costs about a millisecond of fixed overhead per frame. For the small
results of interactive SQL (a row by its key, an agenda) :func:`small_frame` builds each column
directly with numpy, giving the same dtypes as ``to_pandas`` for the same rows (the tests compare
both) in a fraction of the time. It also takes values Arrow cannot hold (a range, a composite),
which stay the driver's Python objects in an ``object`` column.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from africare_data.frames.conversion import rows_to_arrays, to_pandas
from africare_data.frames.dtypes import STRING_DTYPE, Column

__all__ = ["SMALL_FRAME_MAX_ROWS", "small_columns", "small_frame"]

SMALL_FRAME_MAX_ROWS: Final = 1_000
"""Up to this many rows, :func:`small_frame` is faster than the Arrow conversion."""

_AWARE_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
_MICROSECOND: Final = timedelta(microseconds=1)
_NAT: Final = np.iinfo(np.int64).min  # numpy's NaT as int64
_UTC: Final = pd.DatetimeTZDtype("us", "UTC")
_NAIVE: Final = np.dtype("datetime64[us]")
_C_MOMENTS_MIN: Final = 128
"""From this many datetimes on, pandas' conversion in C beats the loop (break-even near 120)."""


def small_frame(
    rows: Sequence[Sequence[Any]], columns: Sequence[Column], tz: str = "UTC"
) -> pd.DataFrame:
    """The frame of ``rows`` (one value per column, in order) typed by ``columns``."""
    return pd.DataFrame(small_columns(rows, columns, tz), copy=False)


def small_columns(
    rows: Sequence[Sequence[Any]], columns: Sequence[Column], tz: str = "UTC"
) -> dict[str, Any]:
    """The columns of :func:`small_frame`, by name, before they become a frame."""
    transposed: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [()] * len(columns)
    return {
        column.name: _values(list(values), column, tz)
        for values, column in zip(transposed, columns, strict=True)
    }


@functools.cache
def _categorical(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(categories))


@functools.cache
def _codes(categories: tuple[str, ...]) -> dict[str, int]:
    return {label: code for code, label in enumerate(categories)}


def _values(values: list[Any], column: Column, tz: str) -> Any:
    kind, size = column.kind, len(values)
    has_nulls = kind != "other" and None in values
    if kind == "int" and not (column.nullable or has_nulls):
        return np.fromiter(values, np.int64, size)
    if kind == "int":
        mask = np.fromiter((value is None for value in values), np.bool_, size)
        filled = np.fromiter((0 if value is None else value for value in values), np.int64, size)
        return pd.arrays.IntegerArray(filled, mask)
    if kind == "float":
        floats = (np.nan if value is None else float(value) for value in values)
        return np.fromiter(floats, np.float64, size)
    if kind == "bool":
        if column.nullable or has_nulls:
            return pd.array(values, dtype="boolean")
        return np.fromiter(values, np.bool_, size)
    if kind == "naive":
        return np.asarray(_moments(values, _NAIVE))
    if kind == "datetime":
        aware = _micros(values) if _are_micros(values) else _moments(values, _UTC)
        return aware if tz == "UTC" else aware.tz_convert(tz)
    if kind == "enum":
        codes = _codes(column.categories)
        found = np.fromiter(map(codes.get, values, itertools.repeat(-1, size)), np.int64, size)
        dtype = _categorical(column.categories)
        return pd.Categorical.from_codes(found, dtype=dtype, validate=False)  # -1 or a code
    if kind == "string":
        try:  # through Arrow: a third of the time of pandas' own conversion
            return pd.array(pa.array(values, pa.large_string()), dtype=STRING_DTYPE)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pd.array(values, dtype=STRING_DTYPE)
    # Dates and types without a rule of their own: the Arrow conversion, as for large results,
    # or, for values Arrow cannot hold (a range, a composite), the driver's objects themselves.
    try:
        arrays = rows_to_arrays([(value,) for value in values], [column])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        objects = np.empty(size, dtype=object)
        for index, value in enumerate(values):
            objects[index] = value
        return objects
    return to_pandas(arrays, [column], tz)[column.name].array


def _are_micros(values: list[Any]) -> bool:
    """Whether aware timestamps arrived as integer microseconds (``transport.session_rows``)."""
    return isinstance(next((value for value in values if value is not None), None), int)


def _micros(values: list[Any]) -> Any:
    """Integer microseconds since 1970 (``None`` for a null) as an array of UTC timestamps."""
    if None in values:
        values = [_NAT if value is None else value for value in values]
    moments = np.fromiter(values, np.int64, len(values)).view("datetime64[us]")
    return pd.array(moments, dtype=_UTC)


def _moments(values: list[Any], dtype: np.dtype[Any] | pd.DatetimeTZDtype) -> Any:
    """Datetimes (``None`` for a null) as a pandas array of ``dtype``, aware ones in UTC.

    pandas converts a column of UTC datetimes (what asyncpg returns) in C, several times faster
    than subtracting the epoch from each value in Python, which stays for the other cases
    (other time zones, nothing but nulls) and for short columns, where the conversion's fixed
    cost (tens of microseconds) is more than the loop's.
    """
    converted = None
    if len(values) >= _C_MOMENTS_MIN:
        with contextlib.suppress(ValueError, TypeError):
            converted = pd.DatetimeIndex(values)
    if converted is not None and converted.dtype == dtype:
        return converted.array
    epoch = _NAIVE_EPOCH if dtype == _NAIVE else _AWARE_EPOCH
    micros = (_NAT if value is None else (value - epoch) // _MICROSECOND for value in values)
    moments = np.fromiter(micros, np.int64, len(values)).view("datetime64[us]")
    return moments if dtype == _NAIVE else pd.array(moments, dtype=dtype)
