"""The pandas dtype of each selected column, worked out from its SQL type before any row arrives.

So an empty result keeps its schema: non-null integers ``int64``, nullable integers ``Int64``,
floats ``float64``, aware timestamps ``datetime64[us, <tz>]``, enums a categorical whose
categories are the enum's values in order, text pandas' ``string`` dtype. Nullability is proven
from the expression (a ``NOT NULL`` column, a count, arithmetic on such); anything unproven is
nullable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import pandas as pd
import pyarrow as pa
from sqlalchemy import Boolean, Date, DateTime, Enum, Float, Integer, Numeric, Select, String
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    Cast,
    ColumnClause,
    FunctionFilter,
    Label,
    TypeCoerce,
)
from sqlalchemy.sql.functions import FunctionElement, count

from africare_data.models import BookingStatus

__all__ = ["STATUS_DTYPE", "STRING_DTYPE", "AnySelect", "Column", "Kind", "columns_of"]

AnySelect = Select[*tuple[Any, ...]]
Kind = Literal["int", "float", "bool", "datetime", "naive", "date", "enum", "string", "other"]

STATUS_DTYPE: Final = pd.CategoricalDtype([status.value for status in BookingStatus])
"""The dtype of every ``status`` column."""

STRING_DTYPE: Final = pd.StringDtype("pyarrow")
"""The dtype of every text column."""

_ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "naive": pa.timestamp("us"),
    "date": pa.date32(),
    "enum": pa.string(),
    "string": pa.string(),
}


@dataclass(frozen=True)
class Column:
    """How one selected column becomes a pandas column."""

    name: str
    kind: Kind
    nullable: bool
    categories: tuple[str, ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type the column's values are read as (``null`` for ``other``)."""
        return _ARROW_TYPES.get(self.kind, pa.null())


def columns_of(stmt: AnySelect) -> list[Column]:
    """One :class:`Column` per selected column of ``stmt``, in order."""
    return [_column(key, element) for key, element in stmt.selected_columns.items()]


def _column(name: str, element: ColumnElement[Any]) -> Column:
    sql_type = element.type
    nullable = not _never_null(element)
    if isinstance(sql_type, Enum):
        return Column(name, "enum", nullable, tuple(sql_type.enums))
    if isinstance(sql_type, Boolean):
        return Column(name, "bool", nullable)
    if isinstance(sql_type, Integer):
        return Column(name, "int", nullable)
    if isinstance(sql_type, Float | Numeric):
        return Column(name, "float", nullable)
    if isinstance(sql_type, DateTime):
        return Column(name, "datetime" if sql_type.timezone else "naive", nullable)
    if isinstance(sql_type, Date):
        return Column(name, "date", nullable)
    if isinstance(sql_type, String):
        return Column(name, "string", nullable)
    return Column(name, "other", nullable)


def _never_null(element: ColumnElement[Any]) -> bool:
    """Whether ``element`` can be proven never ``NULL`` (a NOT NULL column, a count, arithmetic
    or a cast of such); anything unproven gets a nullable dtype."""
    if isinstance(element, Label):
        return _never_null(element.element)
    if isinstance(element, Cast | TypeCoerce):
        return _never_null(element.clause)
    if isinstance(element, ColumnClause):
        table_column = getattr(element, "nullable", None)
        return table_column is False
    if isinstance(element, count):
        return True
    if isinstance(element, FunctionFilter):  # count(*) FILTER (WHERE ...)
        return isinstance(element.func, count)
    if isinstance(element, FunctionElement) and element.name.lower() == "coalesce":
        return any(_never_null(argument) for argument in element.clauses)
    if isinstance(element, BinaryExpression):
        return _never_null(element.left) and _never_null(element.right)
    if isinstance(element, BindParameter):
        return element.value is not None
    extracted = getattr(element, "expr", None)  # EXTRACT(field FROM expr)
    if extracted is not None and element.__class__.__name__ == "Extract":
        return _never_null(extracted)
    return False
