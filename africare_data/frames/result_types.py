"""How the columns of a hand-written SQL result become typed pandas columns.

A SQL string has no SQLAlchemy types, but PostgreSQL describes every result column: its type
(an OID) and, for a column read straight from a table, that table and column. From those this
module builds the same column descriptions :mod:`.dtypes` derives from SQLAlchemy types, so a
result is typed by the same rules: integers ``int64`` (``Int64`` when they may be NULL), floats and
numerics ``float64``, aware timestamps ``datetime64[us, UTC]``, enums (the booking status) a
categorical of the enum's labels in order, text pandas' ``string`` dtype.

A column is known never to be NULL only when it is a ``NOT NULL`` column of a table; a computed
column (``count(*)``, an expression) may be NULL as far as PostgreSQL can say, so its integers
are ``Int64``. Enum labels and ``NOT NULL`` flags are looked up once per connection and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, cast

import psycopg
from psycopg import pq

from africare_data.frames.dtypes import Column, Kind

__all__ = ["ResultTypes"]

# PostgreSQL's built-in type OIDs (pg_type.dat); they are the same on every server.
_BUILTIN_KINDS: Final[dict[int, Kind]] = {
    16: "bool",
    20: "int",  # int8
    21: "int",  # int2
    23: "int",  # int4
    26: "int",  # oid
    700: "float",  # float4
    701: "float",  # float8
    1700: "float",  # numeric
    1114: "naive",  # timestamp
    1184: "datetime",  # timestamptz
    1082: "date",
    18: "string",  # "char"
    19: "string",  # name
    25: "string",  # text
    1042: "string",  # bpchar
    1043: "string",  # varchar
}


class ResultTypes:
    """Column descriptions for the results of one connection, with its lookups cached."""

    def __init__(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        self._connection = connection
        self._enums: dict[int, tuple[str, ...] | None] = {}
        self._not_null: dict[tuple[int, int], bool] = {}

    def columns(self, result: pq.abc.PGresult) -> list[Column]:
        """The description of each column of ``result`` (executed or only described)."""
        fields = range(result.nfields)
        types = [result.ftype(index) for index in fields]
        origins = [(result.ftable(index), result.ftablecol(index)) for index in fields]
        self._look_up_enums([oid for oid in types if oid not in _BUILTIN_KINDS])
        self._look_up_not_null([origin for origin in origins if origin[0]])
        names = [(result.fname(index) or b"?column?").decode() for index in fields]
        return [
            self._column(name, oid, origin)
            for name, oid, origin in zip(names, types, origins, strict=True)
        ]

    def _column(self, name: str, oid: int, origin: tuple[int, int]) -> Column:
        nullable = not self._not_null.get(origin, False)
        kind = _BUILTIN_KINDS.get(oid)
        if kind is not None:
            return Column(name, kind, nullable)
        labels = self._enums.get(oid)
        if labels is not None:
            return Column(name, "enum", nullable, labels)
        return Column(name, "other", nullable)

    def _look_up_enums(self, oids: Sequence[int]) -> None:
        unknown = sorted({oid for oid in oids if oid not in self._enums})
        if not unknown:
            return
        rows = self._connection.execute(
            "SELECT enumtypid::int8, array_agg(enumlabel::text ORDER BY enumsortorder) "
            "FROM pg_enum WHERE enumtypid = ANY(%s::oid[]) GROUP BY enumtypid",
            (unknown,),
        ).fetchall()
        found: dict[int, tuple[str, ...]] = {}
        for oid, labels in rows:
            found[cast(int, oid)] = tuple(cast(list[str], labels))
        for oid in unknown:
            self._enums[oid] = found.get(oid)

    def _look_up_not_null(self, origins: Sequence[tuple[int, int]]) -> None:
        unknown = sorted({origin for origin in origins if origin not in self._not_null})
        if not unknown:
            return
        rows = self._connection.execute(
            "SELECT attrelid::int8, attnum::int8, attnotnull FROM pg_attribute "
            "WHERE (attrelid, attnum) IN (SELECT * FROM unnest(%s::oid[], %s::int2[]))",
            ([table for table, _ in unknown], [column for _, column in unknown]),
        ).fetchall()
        found = {(cast(int, table), cast(int, column)): bool(flag) for table, column, flag in rows}
        for origin in unknown:
            self._not_null[origin] = found.get(origin, False)
