"""Whole Arrow columns and driver rows into pandas columns of the dtypes :mod:`.dtypes` chose:
the conversion of results fetched at once (the session's connection), and of text and other
columns on every path.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from africare_data.frames.dtypes import STRING_DTYPE, Column

__all__ = ["NAT", "categorical", "rows_to_arrays", "series", "to_columns", "to_pandas"]

NAT: Final = pa.scalar(-(2**63), pa.int64())
"""numpy's ``NaT`` as an int64, what a null timestamp becomes."""


@functools.cache
def categorical(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of an enum column (one object per enum, as pandas compares)."""
    return pd.CategoricalDtype(list(categories))


def to_pandas(arrays: list[pa.ChunkedArray], columns: Sequence[Column], tz: str) -> pd.DataFrame:
    """Convert column by column, releasing each Arrow column once converted (callers hand over
    their only reference), so the peak stays near the final frame plus one column."""
    return pd.DataFrame(to_columns(arrays, columns, tz), copy=False)


def to_columns(arrays: list[pa.ChunkedArray], columns: Sequence[Column], tz: str) -> dict[str, Any]:
    """The columns of :func:`to_pandas`'s frame by name, before they become one."""
    data: dict[str, Any] = {}
    arrays.reverse()
    for column in columns:
        data[column.name] = series(arrays.pop(), column, tz)
    return data


def series(values: pa.ChunkedArray, column: Column, tz: str) -> Any:
    """The pandas column (array or index) of ``values``, at ``column``'s dtype."""
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
        micros = pc.fill_null(values.cast(pa.timestamp("us")).cast(pa.int64()), NAT)
        naive = pd.DatetimeIndex(micros.to_numpy().view("datetime64[us]"))
        if kind == "naive":
            return naive
        return naive.tz_localize("UTC") if tz == "UTC" else naive.tz_localize("UTC").tz_convert(tz)
    if kind == "enum":
        codes = pc.index_in(values.cast(pa.string()), value_set=pa.array(column.categories))
        return pd.Categorical.from_codes(
            codes.fill_null(-1).to_numpy(), dtype=categorical(column.categories)
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
        if column.kind == "float":  # numeric arrives as Decimal, which Arrow refuses as double
            values = [None if value is None else float(value) for value in values]
        if column.kind == "other":
            arrays.append(pa.array(values, from_pandas=True))
        else:
            arrays.append(pa.array(values, type=column.arrow_type, from_pandas=True))
    return [pa.chunked_array([array]) for array in arrays]
