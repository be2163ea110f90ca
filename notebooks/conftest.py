"""The curated notebooks as tests: every notebook, in both notebook modes, outputs compared.

nbval (``pytest --nbval``) executes each code cell in a kernel and hands its outputs over for
comparison with the stored ones. This file changes three things around it:

* **Both modes.** A notebook runs in its own kernel per mode: ``scratch`` (what nbval and
  ``make notebooks`` use) and ``demo`` (what ``make lab`` uses, ``africare_data.notebook``).
  The demo run reads a database of its own, ``nbtest_demo`` on the server under test, loaded
  with the demo data set while the session's first notebooks run (under another name, renamed
  when complete; a demo run waits for it), never the user's demo database.
  Only the notebooks that read the demo data (``notebook.setup(..., demo_data=True)``) run in
  ``demo`` mode too: for any other, ``setup`` gives the same scratch database in both modes, so
  a second run would repeat the first and only cost time (a kernel start and the notebook).
  Test ids show the mode: ``notebooks/04_bookings_analysis.ipynb::demo::Cell 3``.
  ``--notebook-modes scratch`` runs one mode only.
* **Readable comparisons** (``output_checks.py``): text as a diff of the differing lines, plots
  by RMS difference within a tolerance, with expected, actual and difference images written under
  ``--notebook-diff-dir`` (default ``build/notebook-diffs``; emptied when a session starts).
* **Plain text for DataFrames.** ``text/html`` is left out of the comparison: a pandas release may
  change the HTML without changing any value, and the ``text/plain`` form shows every value.

Both runs of a notebook share its scratch database ``nb_<name>``, so they must not overlap: with
pytest-xdist use ``--dist loadfile``, which keeps a file's tests on one worker, in order.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import nbformat
import pytest
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags
from output_checks import compare_plots, plots, text_diff, text_lines
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from africare_data import migrations
from africare_data.database import (
    create_database,
    drop_database,
    make_engine,
    make_session_maker,
    resolve_url,
)
from africare_data.errors import sqlstate
from africare_data.notebook import DEMO_BOOKINGS, DEMO_SEED, MODE_VARIABLE, Mode

_READS_DEMO_DATA = "demo_data=True"
"""How a notebook asks ``notebook.setup`` for the demo data: only such notebooks differ by mode."""

DEMO_TEST_DATABASE = "nbtest_demo"
"""The database the ``demo`` runs read: loaded as ``make lab`` loads the user's demo database."""

_DEMO_LOADING = f"{DEMO_TEST_DATABASE}_loading"
_OBJECT_IN_USE = "55006"
_DEMO_WAIT_SECONDS = 300.0
_demo_loader: threading.Thread | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("notebooks", "africare-data notebook checks")
    group.addoption(
        "--notebook-modes",
        default=",".join(mode.value for mode in Mode),
        help="comma-separated notebook modes to run each notebook in (default: all)",
    )
    group.addoption(
        "--notebook-diff-dir",
        default="build/notebook-diffs",
        help="where images of differing plots are written (relative to the rootdir)",
    )


def _modes(config: pytest.Config) -> list[Mode]:
    try:
        return [Mode(name.strip()) for name in config.option.notebook_modes.split(",")]
    except ValueError:
        raise pytest.UsageError(f"--notebook-modes takes {', '.join(Mode)}") from None


def _diff_dir(config: pytest.Config) -> Path:
    return config.rootpath / config.option.notebook_diff_dir


def _runs_notebooks(config: pytest.Config) -> bool:
    """True in the process that runs the session: not an xdist worker, and nbval on."""
    nbval = config.option.nbval or config.option.nbval_lax
    return bool(nbval) and not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start loading ``nbtest_demo`` in the background: the scratch runs need not wait for it."""
    global _demo_loader
    if not _runs_notebooks(session.config):
        return
    shutil.rmtree(_diff_dir(session.config), ignore_errors=True)
    if Mode.DEMO in _modes(session.config):
        asyncio.run(drop_database(DEMO_TEST_DATABASE))  # a cut-short session's, not ready
        _demo_loader = threading.Thread(
            target=lambda: asyncio.run(_load_demo_test_database()), name=_DEMO_LOADING
        )
        _demo_loader.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _runs_notebooks(session.config) and Mode.DEMO in _modes(session.config):
        if _demo_loader is not None:
            _demo_loader.join()
        asyncio.run(drop_database(DEMO_TEST_DATABASE))
        asyncio.run(drop_database(_DEMO_LOADING))


async def _load_demo_test_database() -> None:
    """Build ``nbtest_demo`` as ``make lab`` builds the demo database: migrated, then the demo
    data set. It is built as ``nbtest_demo_loading`` and renamed when complete, so a database
    named ``nbtest_demo`` is always a complete one."""
    from africare_data.synthetic import generate_demo, load_demo  # the xdist workers need neither

    await drop_database(_DEMO_LOADING)
    engine = make_engine(await create_database(_DEMO_LOADING))
    try:
        await migrations.upgrade(engine)
        async with make_session_maker(engine)() as session:
            await load_demo(session, generate_demo(DEMO_BOOKINGS, seed=DEMO_SEED))
    finally:
        await engine.dispose()
    rename = text(f'ALTER DATABASE "{_DEMO_LOADING}" RENAME TO "{DEMO_TEST_DATABASE}"')
    async with _maintenance() as connection:
        for _ in range(50):  # the loader's backends may take a moment to exit after dispose()
            try:
                await connection.execute(rename)
                return
            except DBAPIError as error:
                if sqlstate(error) != _OBJECT_IN_USE:
                    raise
            await asyncio.sleep(0.1)
        await connection.execute(rename)


@asynccontextmanager
async def _maintenance() -> AsyncIterator[AsyncConnection]:
    """An autocommit connection to the server's maintenance database ``postgres``."""
    engine = make_engine(
        resolve_url(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def _wait_for_demo_test_database() -> None:
    """Return once ``nbtest_demo`` exists (complete); fail after ``_DEMO_WAIT_SECONDS``."""
    deadline = time.monotonic() + _DEMO_WAIT_SECONDS
    async with _maintenance() as connection:
        query = text("SELECT 1 FROM pg_database WHERE datname = :name")
        while not await connection.scalar(query, {"name": DEMO_TEST_DATABASE}):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{DEMO_TEST_DATABASE} was not ready after {_DEMO_WAIT_SECONDS:g} s; the "
                    "session loads it in the background from its start (see its errors above)"
                )
            await asyncio.sleep(0.1)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    diff_dir = _diff_dir(config)
    if _runs_notebooks(config) and diff_dir.is_dir():
        terminalreporter.write_line(f"Images of the notebook plots that differ: {diff_dir}")


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Iterator[Any]:
    """Replace nbval's collector of a notebook by :class:`Notebook`."""
    collected = yield
    return [
        Notebook.from_parent(parent, path=file_path) if isinstance(node, IPyNbFile) else node
        for node in collected
    ]


class Notebook(IPyNbFile):
    """A notebook file: one :class:`NotebookRun` per mode, sharing nbval's sanitizing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip_compare = (*self.skip_compare, "text/html")

    def setup(self) -> None:
        self.setup_sanitize_files()  # the kernels belong to the runs

    def collect(self) -> Iterator[NotebookRun]:
        self.nb = nbformat.read(self.path, as_version=4)
        reads_demo_data = any(
            _READS_DEMO_DATA in cell.source for cell in self.nb.cells if cell.cell_type == "code"
        )
        for mode in _modes(self.config):
            if mode is Mode.SCRATCH or reads_demo_data:
                yield NotebookRun.from_parent(self, name=mode.value, mode=mode)


class NotebookRun(pytest.Collector):
    """One execution of a notebook, in one mode, in a kernel of its own.

    It offers the cells what nbval's file collector offers them (the kernel, the sanitizing,
    what to skip), so nbval's cell runs unchanged.
    """

    def __init__(self, *, mode: Mode, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.kernel: RunningKernel | None = None
        self.timed_out = False

    @property
    def notebook(self) -> Notebook:
        assert isinstance(self.parent, Notebook)
        return self.parent

    @property
    def skip_compare(self) -> tuple[str, ...]:
        return tuple(self.notebook.skip_compare)

    @property
    def sanitize_patterns(self) -> dict[str, str]:
        return dict(self.notebook.sanitize_patterns)

    def collect(self) -> Iterator[CheckedCell]:
        """One test per code cell, with nbval's per-cell options (tags, comment markers)."""
        code_cells = [cell for cell in self.notebook.nb.cells if cell.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            options: dict[str, Any] = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.update(find_comment_markers(cell.source))
            options.setdefault("check", self.notebook.compare_outputs)
            yield CheckedCell.from_parent(
                self, name=f"Cell {number}", cell_num=number, cell=cell, options=options
            )

    def environment(self) -> dict[str, str]:
        """The variables that put the kernel in this run's mode."""
        if self.mode is Mode.SCRATCH:
            return {MODE_VARIABLE: Mode.SCRATCH.value}
        demo_url = resolve_url(database=DEMO_TEST_DATABASE)
        return {
            MODE_VARIABLE: Mode.DEMO.value,
            "SQLALCHEMY_DATABASE_URI": demo_url.render_as_string(hide_password=False),
        }

    def setup(self) -> None:
        option = self.config.option
        if self.mode is Mode.DEMO:
            asyncio.run(_wait_for_demo_test_database())
        if option.nbval_current_env:
            kernel_name = CURRENT_ENV_KERNEL_NAME
        else:
            kernelspec = self.notebook.nb.metadata.get("kernelspec", {})
            kernel_name = option.nbval_kernel_name or kernelspec.get("name", "python")
        with mock.patch.dict(os.environ, self.environment()):  # the kernel inherits them
            self.kernel = RunningKernel(
                kernel_name,
                cwd=str(self.path.parent),
                startup_timeout=option.nbval_kernel_startup_timeout,
            )

    def get_kernel_message(self, timeout: float | None = None, stream: str = "iopub") -> Any:
        assert self.kernel is not None
        return self.kernel.get_message(stream, timeout=timeout)

    def teardown(self) -> None:
        if self.kernel is not None and self.kernel.is_alive():
            self.kernel.stop()


class CheckedCell(IPyNbCell):
    """nbval's cell test with the comparison of ``output_checks``: text diffs, plots by RMS."""

    def compare_outputs(
        self, test: list[Any], ref: list[Any], skip_compare: tuple[str, ...] | None = None
    ) -> bool:
        skip = skip_compare or self.parent.skip_compare
        diff = text_diff(
            text_lines(ref, skip, self.sanitize), text_lines(test, skip, self.sanitize)
        )
        folder = (
            _diff_dir(self.config) / self.path.stem / self.parent.mode / f"cell-{self.cell_num}"
        )
        problems = compare_plots(plots(ref), plots(test), folder)
        self.comparison_traceback = []
        if diff:
            self.comparison_traceback += ["Text outputs differ (- stored, + executed):", *diff]
        if problems:
            self.comparison_traceback += ["Plots differ:", *problems]
        if diff or problems:
            self.comparison_traceback.append(
                "If the change is intended, store the new outputs: make notebooks"
            )
        return not (diff or problems)
