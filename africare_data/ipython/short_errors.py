"""The toolkit's own errors shown in a few lines in IPython and JupyterLab.

An ``AfricareDataError`` already says what is wrong and what to do; the chain of driver and
SQLAlchemy frames behind it (hundreds of lines for a refused booking) only hides that line. Once
:func:`install` ran, such an error displays as its class, its message and how to see the rest::

    BookingConflictError: the requested time overlaps booking 1 of practitioner 7 (...)
    (raised in cell line 1; %tb shows the full traceback, %xmode Verbose shows it always)

The full traceback stays one command away: ``%tb`` prints it, and under ``%xmode Verbose`` every
error shows in full. Other exceptions keep IPython's ordinary traceback.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType
from typing import Any, Final

from africare_data.errors import AfricareDataError

__all__ = ["FULL_TRACEBACK_HINT", "install", "short_traceback"]

FULL_TRACEBACK_HINT: Final = "%tb shows the full traceback, %xmode Verbose shows it always"


def install(shell: Any) -> None:
    """Show ``AfricareDataError`` (and subclasses) in short form in ``shell``."""
    shell.set_custom_exc((AfricareDataError,), _show)


def short_traceback(error: BaseException, tb: TracebackType | None) -> list[str]:
    """The lines shown for ``error``: class and message, then where it came from."""
    lines = [f"{type(error).__name__}: {error}"]
    cell_line = _cell_line(tb)
    where = "" if cell_line is None else f"raised in cell line {cell_line}; "
    lines.append(f"({where}{FULL_TRACEBACK_HINT})")
    return lines


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str]:
    """IPython's custom exception handler: shows the error and returns the lines shown.

    Under ``%xmode Verbose`` it is IPython's full traceback. The short form goes through
    ``_showtraceback``, the method IPython's front ends (ipykernel) override to send an error
    output, and the error is remembered for ``%tb`` as IPython does for the errors it shows.
    """
    if shell.InteractiveTB.mode == "Verbose":
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return []
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    lines = short_traceback(value, tb)
    shell._showtraceback(etype, value, lines)
    return lines


def _cell_line(tb: TracebackType | None) -> int | None:
    """The line of the innermost frame that belongs to a notebook cell or shell input."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename.startswith("<ipython-input-") or "ipykernel_" in filename:
            found = line
    return found
