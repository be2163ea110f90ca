"""``%sql`` and ``%%sql``: SQL on the toolkit's database, results as typed DataFrames.

::

    %load_ext africare_data
    %sql SELECT count(*) FROM bookings
    %%sql -o agenda
    SELECT id, start_time, status FROM bookings WHERE practitioner_id = :practitioner ORDER BY 2

Options come before the SQL: ``-o NAME`` also stores the result in the notebook's variable
``NAME``; ``--arrow`` returns a ``pyarrow.Table`` and ``--polars`` a polars DataFrame (polars is
the optional extra ``polars``) instead of pandas. ``:name`` binds the notebook variable ``name``
as a query parameter (:mod:`.sql_params`). The statement runs on the toolkit's engine, or on the
notebook's database once ``notebook.setup()`` ran (:mod:`.sql_runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from africare_data.ipython.sql_params import UnboundParameterError, bind_parameters
from africare_data.ipython.sql_runner import SqlRunner

__all__ = ["SqlMagics", "SqlOptions", "parse_options"]

Output = Literal["pandas", "arrow", "polars"]

USAGE = "usage: %sql [-o NAME] [--arrow | --polars] SQL  (or %%sql [options] with the SQL below)"


@dataclass(frozen=True)
class SqlOptions:
    """What a magic's options ask for, and the SQL after them."""

    sql: str
    store_as: str | None = None
    output: Output = "pandas"


def parse_options(line: str, cell: str | None) -> SqlOptions:
    """Split the options off the magic's line; the SQL is the rest of the line, then the cell.

    Only leading words that are options are read, so the SQL itself is never parsed as options.
    """
    words = line.split()
    store_as: str | None = None
    output: Output = "pandas"
    used = 0
    while used < len(words) and words[used].startswith("-"):
        word = words[used]
        if word in ("-o", "--out"):
            if used + 1 >= len(words) or not words[used + 1].isidentifier():
                raise UsageError(f"{word} needs a variable name. {USAGE}")
            store_as = words[used + 1]
            used += 2
            continue
        if word in ("--arrow", "--polars"):
            output = "arrow" if word == "--arrow" else "polars"
            used += 1
            continue
        if word.startswith("--"):  # a SQL comment, not an option
            break
        raise UsageError(f"unknown option {word}. {USAGE}")
    rest = line.split(None, used)[used] if used < len(line.split()) else ""
    sql = "\n".join(part for part in (rest.strip(), (cell or "").strip()) if part)
    if not sql:
        raise UsageError(f"no SQL to run. {USAGE}")
    return SqlOptions(sql=sql, store_as=store_as, output=output)


@magics_class
class SqlMagics(Magics):
    """The ``sql`` line and cell magic; :attr:`runner` holds the connection."""

    def __init__(self, shell: Any, runner: SqlRunner) -> None:
        super().__init__(shell)
        self.runner = runner

    @line_cell_magic
    def sql(self, line: str, cell: str | None = None) -> Any:
        """Run SQL on the toolkit's database and return the result (see the module docstring)."""
        options = parse_options(line, cell)
        namespace = self._namespace()
        try:
            bound = bind_parameters(options.sql, namespace)
        except UnboundParameterError as error:
            raise UsageError(str(error)) from None
        frame = self.runner.frame(bound)
        if frame is None:
            return None
        result = _converted(frame, options.output)
        if options.store_as is not None:
            namespace[options.store_as] = result
        return result

    def _namespace(self) -> dict[str, Any]:
        if self.shell is None:
            raise UsageError("the sql magic runs only inside an IPython shell")
        user_ns: dict[str, Any] = self.shell.user_ns
        return user_ns


def _converted(frame: Any, output: Output) -> Any:
    if output == "pandas":
        return frame
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if output == "arrow":
        return table
    try:
        import polars
    except ImportError:
        raise UsageError(
            "--polars needs polars: pip install 'africare-data[polars]' (or use --arrow)"
        ) from None
    return polars.from_arrow(table)
