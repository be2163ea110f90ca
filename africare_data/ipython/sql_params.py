"""``:name`` in hand-written SQL, bound from the notebook's namespace as query parameters.

The value of ``name`` is sent to PostgreSQL as a parameter, never pasted into the SQL text, so a
variable holding ``'; DROP TABLE bookings; --`` is compared as the string it is. ``:name`` is
recognised only in SQL code: inside quoted strings, quoted identifiers, dollar-quoted bodies and
comments it is left alone, and a ``::`` cast is a cast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["BoundSql", "UnboundParameterError", "bind_parameters"]

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_BEFORE: Final = re.compile(r"[\w\\]")  # a:b and \:b are not parameters
_DOLLAR_TAG: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class UnboundParameterError(NameError):
    """A ``:name`` in the SQL names nothing in the notebook's namespace."""


@dataclass(frozen=True)
class BoundSql:
    """SQL as written, and as sent: psycopg's ``query`` with its ``params`` (``None`` when the
    SQL has no ``:name``).

    PostgreSQL receives each ``:name`` as ``$n`` (psycopg numbers the names in order of first
    appearance), so an error position it reports counts in that text; :meth:`written_position`
    maps it back onto the SQL as written, for the caret under the mistake.
    """

    text: str
    query: str
    params: dict[str, Any] | None = None
    # (start of a :name in the written SQL, its length there, length of its $n as sent)
    _placeholders: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)

    def written_position(self, sent: int) -> int:
        """The offset in :attr:`text` of offset ``sent`` (0-based) in the statement sent."""
        shift = 0  # characters the sent text has more than the written one, so far
        for start, written, sent_length in self._placeholders:
            if sent < start + shift:
                break
            if sent < start + shift + sent_length:
                return start  # inside a parameter: point at its :name
            shift += sent_length - written
        return sent - shift


def bind_parameters(sql: str, namespace: Mapping[str, Any]) -> BoundSql:
    """The SQL for psycopg and its parameters: each ``:name`` becomes ``%(name)s``.

    Without any ``:name`` the SQL is sent unchanged without parameters (so a ``%`` in it stays
    a plain character). With parameters, every other ``%`` is doubled, as psycopg's
    placeholder syntax requires.
    """
    pieces: list[str] = []
    names: list[str] = []
    spans: list[tuple[int, int]] = []
    position, start = 0, 0
    while position < len(sql):
        skip_to = _skipped_region_end(sql, position)
        if skip_to is not None:
            position = skip_to
            continue
        char = sql[position]
        if char == ":" and sql.startswith("::", position):
            position += 2
            continue
        match = _NAME.match(sql, position + 1) if char == ":" else None
        if match is None or (position > 0 and _WORD_BEFORE.match(sql[position - 1])):
            position += 1
            continue
        pieces.append(sql[start:position].replace("%", "%%"))
        pieces.append(f"%({match.group()})s")
        names.append(match.group())
        spans.append((position, match.end() - position))
        position = start = match.end()
    if not names:
        return BoundSql(sql, sql)
    pieces.append(sql[start:].replace("%", "%%"))
    missing = [name for name in dict.fromkeys(names) if name not in namespace]
    if missing:
        listed = ", ".join(f":{name}" for name in missing)
        raise UnboundParameterError(
            f"{listed} in the SQL names no variable of the notebook: assign it first "
            "(or write '::' for a cast)"
        )
    numbers = {name: number for number, name in enumerate(dict.fromkeys(names), start=1)}
    placeholders = tuple(
        (start, length, len(f"${numbers[name]}"))
        for (start, length), name in zip(spans, names, strict=True)
    )
    params = {name: namespace[name] for name in names}
    return BoundSql(sql, "".join(pieces), params, placeholders)


def _skipped_region_end(sql: str, position: int) -> int | None:
    """Where the string, quoted identifier, dollar-quoted body or comment starting at
    ``position`` ends; ``None`` when none starts there."""
    char = sql[position]
    if char == "'":
        escapes = position > 0 and sql[position - 1] in "eE"
        return _quoted_end(sql, position, "'", backslash=escapes)
    if char == '"':
        return _quoted_end(sql, position, '"', backslash=False)
    if sql.startswith("--", position):
        end = sql.find("\n", position)
        return len(sql) if end < 0 else end + 1
    if sql.startswith("/*", position):
        return _block_comment_end(sql, position)
    if char == "$":
        tag = _DOLLAR_TAG.match(sql, position)
        if tag is not None and not (position > 0 and _NAME.match(sql[position - 1])):
            end = sql.find(tag.group(), tag.end())
            return len(sql) if end < 0 else end + len(tag.group())
    return None


def _quoted_end(sql: str, position: int, quote: str, *, backslash: bool) -> int:
    index = position + 1
    while index < len(sql):
        char = sql[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == quote:
            if sql.startswith(quote * 2, index):
                index += 2
                continue
            return index + 1
        index += 1
    return len(sql)


def _block_comment_end(sql: str, position: int) -> int:
    """Block comments nest in PostgreSQL."""
    depth, index = 0, position
    while index < len(sql):
        if sql.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif sql.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(sql)
