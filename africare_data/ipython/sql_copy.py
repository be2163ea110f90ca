"""The ``COPY`` path of ``%sql``: large results read by ADBC, a plain scan of one table by
several streams at once.

Each read opens its streams' connections and closes them after it (see
:func:`africare_data.frames.transport.adbc_fetch`), and imports the snapshot the caller exported,
so it sees exactly what the caller's connection sees.

A statement that only reads the columns of one table (``SELECT <expressions> FROM <table>``,
which the planner runs as one sequential scan and nothing else) is split into ranges of the
table's blocks (``ctid``), one stream each, as ``frames.read_sorted`` does; the parts are joined in
block order, so the rows come in the order of the one scan. Any other statement is one stream:
cutting a join, an aggregate or a ``LIMIT`` into parts would change its result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from africare_data.frames import transport
from africare_data.frames.dtypes import Column
from africare_data.frames.reading import ROWS_PER_STREAM

__all__ = ["ScanSplit", "read_parts", "scan_split", "streams_for"]

_CORES: Final = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
_NAME: Final = r"[a-z_][a-z0-9_$]*"
# SELECT <expressions> FROM [schema.]table [[AS] alias], and nothing after it.
_ONE_TABLE: Final = re.compile(
    rf"^\s*select\s.+\sfrom\s+((?:{_NAME}\.)?({_NAME}))(?:\s+(?:as\s+)?({_NAME}))?\s*$",
    re.I | re.S,
)


@dataclass(frozen=True)
class ScanSplit:
    """A statement reading one table, to be cut into ranges of the table's blocks: the table
    as written (for its size), as the plan names it, and the name that qualifies its columns in
    the statement."""

    sql: str
    relation: str
    table: str
    qualifier: str

    def parts(self, pages: int, streams: int) -> list[str]:
        """The statement once per range of ``pages / streams`` blocks (at least one block each),
        the first and last range open-ended (rows in blocks added since the size was read are in
        the last)."""
        streams = max(1, min(streams, pages))
        bounds: list[int | None] = [None]
        bounds += [pages * part // streams for part in range(1, streams)]
        return [
            self.part(first, stop) for first, stop in zip(bounds, [*bounds[1:], None], strict=True)
        ]

    def part(self, first: int | None, stop: int | None) -> str:
        """The statement on the rows stored in blocks ``first`` to ``stop`` (excluded)."""
        ctid = f"{self.qualifier}.ctid"
        bounds = [f"{ctid} >= '({first},0)'::tid"] if first is not None else []
        bounds += [f"{ctid} < '({stop},0)'::tid"] if stop is not None else []
        return f"{self.sql} WHERE {' AND '.join(bounds) or 'true'}"

    def cut_by(self, part_plan: dict[str, Any]) -> bool:
        """Whether ``part_plan`` (the top node of a part's ``EXPLAIN (FORMAT JSON)``) scans only
        the part's blocks: the range condition really joined the statement (it did not land in
        a trailing comment, say)."""
        return _one_scan(part_plan, "Tid Range Scan", self.table)


def scan_split(sql: str, plan: dict[str, Any]) -> ScanSplit | None:
    """How to cut ``sql`` into block ranges, or ``None`` unless it is ``SELECT <expressions>
    FROM <table>`` and ``plan`` (the top node of its ``EXPLAIN (FORMAT JSON)``) one sequential
    scan of that table without sub-plans: each row of the result is then one row of the table,
    whichever stream reads it."""
    match = _ONE_TABLE.match(sql)
    if match is None:
        return None
    relation, table, alias = match.groups()
    if not _one_scan(plan, "Seq Scan", table.lower()):
        return None
    return ScanSplit(sql.strip(), relation, table.lower(), alias or table)


def _one_scan(plan: dict[str, Any], node: str, table: str) -> bool:
    """Whether ``plan`` is one scan of kind ``node`` on ``table``, and nothing else."""
    kind, relation = plan.get("Node Type"), plan.get("Relation Name")
    return kind == node and relation == table and not plan.get("Plans")


def streams_for(planned: int) -> int:
    """How many streams read ``planned`` rows of one table: one per ``ROWS_PER_STREAM`` rows,
    at most one per core."""
    return max(1, min(_CORES, planned // ROWS_PER_STREAM))


def read_parts(
    uri: str, snapshot: str, sqls: Sequence[str], columns: Sequence[Column], planned: int
) -> pd.DataFrame:
    """The frame of the rows of ``sqls`` (parts of one result, in order), one stream each,
    inside ``snapshot`` on the database of ``uri``.

    Raises :class:`QueryError` with PostgreSQL's message when it refuses the statement, and
    :class:`DatabaseUnavailableError` when a connection is lost during the read.
    """
    # A new line after each statement: ADBC wraps it in COPY (...), a trailing comment with it.
    statements = [sql + "\n" for sql in sqls]
    data = transport.copy_columns(uri, snapshot, statements, columns, "UTC", planned)
    return pd.DataFrame(data, copy=False)
