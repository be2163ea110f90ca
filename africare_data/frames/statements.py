"""Statements compiled once per shape: what SQLAlchemy's own compiled cache does for
``connection.execute``, for the queries :mod:`.transport` hands straight to asyncpg.

Compiling a ``select()`` costs about half a millisecond, as much as building the frame of an
agenda; statements that differ only in their values (another practitioner, another week) share a
cache key, so the SQL is compiled once and each call only fills in its own values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from africare_data.frames.dtypes import AnySelect

__all__ = ["driver_query"]

_MAX_ENTRIES: Final = 256
"""Statement shapes kept per dialect (the oldest is dropped first)."""

_cache: dict[tuple[Dialect, Any], SQLCompiler] = {}


def driver_query(
    stmt: AnySelect, dialect: Dialect, parameters: Mapping[str, Any] | None = None
) -> tuple[str, list[Any]]:
    """The SQL of ``stmt`` for ``dialect`` with positional parameters, and their values
    (``parameters`` for its named bind parameters, which take no value of their own) converted
    by the types' bind processors, ready for the driver."""
    key = stmt._generate_cache_key()
    compiled = None if key is None else _cache.get((dialect, key.key))
    if compiled is None or key is None:
        options = {"render_postcompile": True}
        compiled = stmt.compile(dialect=dialect, cache_key=key, compile_kwargs=options)
        if key is not None and _reusable(compiled):
            if len(_cache) >= _MAX_ENTRIES:
                del _cache[next(iter(_cache))]
            _cache[(dialect, key.key)] = compiled
        params = compiled.construct_params(parameters)
    else:
        params = compiled.construct_params(parameters, extracted_parameters=key.bindparams) or {}
    processors: dict[str, Callable[[Any], Any]] = getattr(compiled, "_bind_processors", {})
    names = compiled.positiontup or []
    values = [
        processors[name](params[name]) if name in processors else params[name] for name in names
    ]
    return str(compiled), values


def _reusable(compiled: SQLCompiler) -> bool:
    """Whether the SQL is the same for every statement of the shape: not when values were
    written into it (an ``IN`` list's length, a ``literal_execute`` value)."""
    written = any(bind.expanding or bind.literal_execute for bind in compiled.binds.values())
    return not compiled.literal_execute_params and not written
