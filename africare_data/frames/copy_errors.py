"""What a failed ``COPY`` read raises: the toolkit's errors with PostgreSQL's message, not the
driver's.

The ADBC driver reports a failed read in three ways. Before the rows stream, with its own errors
(``adbc_driver_manager.Error``, carrying the SQLSTATE and PostgreSQL's diagnostic fields). While
they stream, with Arrow's: an ``OSError`` when the connection broke, an ``ArrowInvalid`` carrying
libpq's message when the server refused or ended the statement. An ``ArrowInvalid`` without
libpq's name comes from building the frame, not from the database, and stays as it is.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from africare_data.errors import AfricareDataError, DatabaseUnavailableError, QueryError

__all__ = ["toolkit_error"]

_LIBPQ: Final = "[libpq]"
_SERVER_ERROR: Final = "ERROR:"


def toolkit_error(error: Exception) -> AfricareDataError | None:
    """The toolkit's error for a failed read: :class:`DatabaseUnavailableError` when the
    connection was lost, :class:`QueryError` with PostgreSQL's message (and hint) when it refused
    the statement; ``None`` when ``error`` did not come from the connection or the server."""
    import adbc_driver_manager  # imported by the driver already: no cost, none at import time

    driver_error = isinstance(error, adbc_driver_manager.Error)
    arrow_error = isinstance(error, pa.ArrowInvalid) and str(error).startswith(_LIBPQ)
    if not (driver_error or arrow_error or isinstance(error, OSError)):
        return None
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
    if _lost(error):
        return DatabaseUnavailableError(
            f"the connection to the database was lost while the rows were read ({first_line}): "
            "check the server (africare-data db status)"
        )
    if not isinstance(error, adbc_driver_manager.Error):  # refused while the rows streamed
        return QueryError(first_line.split(_SERVER_ERROR, 1)[1].strip())
    fields = {_text(key): _text(value) for key, value in error.details}
    lines = [fields.get("PG_DIAG_MESSAGE_PRIMARY") or first_line]
    if "PG_DIAG_MESSAGE_HINT" in fields:
        lines.append(f"HINT: {fields['PG_DIAG_MESSAGE_HINT']}")
    return QueryError("\n".join(lines))


def _lost(error: Exception) -> bool:
    """Whether ``error`` is a lost connection rather than PostgreSQL refusing the statement:
    no SQLSTATE (the server never answered), or, from the stream of rows, no ``ERROR:``."""
    import adbc_driver_manager

    if isinstance(error, adbc_driver_manager.Error):
        return error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))
    return _SERVER_ERROR not in str(error)


def _text(value: str | bytes) -> str:
    """A diagnostic field's name or value (bytes from the driver, though typed as text)."""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
