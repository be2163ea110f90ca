"""Notebook helpers: one call gives a notebook its database, stable display and a loop-safe ``run``.

Every curated notebook starts with::

    from africare_data import notebook
    db = await notebook.setup("01_crud")

Where the data lives depends on ``AFRICARE_NOTEBOOK_DATABASE`` (read when :func:`setup` runs):

``scratch`` (the default; what ``make test`` / nbval and a plain ``jupyter lab`` get)
    The notebook gets its own database, ``nb_<name>``, on the configured server (the embedded
    PostgreSQL, or the one ``SQLALCHEMY_DATABASE_URI`` names). It is dropped and recreated on every
    run and migrated to head, and notebooks that ask for ``demo_data=True`` get the seeded demo
    data set loaded into it, so ids, counts and printed outputs are the same on every run and the
    stored outputs can be compared by nbval.

``demo`` (what ``make lab`` sets)
    Notebooks that read the demo data (``demo_data=True``) use the persistent database the toolkit
    is configured with, migrated and loaded once with the demo data set (idempotent). Notebooks that
    write rows with fixed ids, e-mails and time slots keep their scratch database even here, so they
    can be run again and again without polluting the demo data.

Both modes print the same outputs (the demo data's progress bar included), and :func:`setup` fixes
what a cell's output depends on besides the data: pandas' display options, matplotlib's style
(font, sizes, resolution) and the random seeds. The notebook tests compare the stored outputs,
plots included, with those of a fresh run in either mode.

Inside IPython, :func:`setup` also registers the ``%sql`` magics on the notebook's database and
the short display of the toolkit's errors (``africare_data.ipython``), as ``%load_ext
africare_data`` does for the toolkit's own database.

Top-level ``await`` is the primary style: IPython runs such cells on the kernel's event loop. For
code that must stay synchronous, :func:`run` drives a coroutine to completion on that same loop,
so pooled asyncpg connections never end up "attached to a different loop".

Nothing in the package imports this module: it sits at the very end of the data flow.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import nest_asyncio2
import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tqdm.auto import tqdm

from africare_data import embedded, migrations
from africare_data.config import get_settings
from africare_data.database import (
    create_database,
    drop_database,
    make_engine,
    make_session_maker,
    resolve_url,
)
from africare_data.errors import ConfigurationError
from africare_data.models import Booking

__all__ = [
    "DEMO_BOOKINGS",
    "DEMO_SEED",
    "MODE_VARIABLE",
    "PLOT_STYLE",
    "RANDOM_SEED",
    "Mode",
    "NotebookDatabase",
    "configure_display",
    "configure_plots",
    "current_mode",
    "load_demo_data",
    "run",
    "seed_random",
    "setup",
]

MODE_VARIABLE = "AFRICARE_NOTEBOOK_DATABASE"
"""Environment variable choosing the notebooks' database: ``scratch`` (default) or ``demo``."""

DEMO_BOOKINGS = 100_000
"""Size of the demo data set (``make lab`` seeds the same number with the same seed)."""

DEMO_SEED = 0
"""Seed of the demo data set: the same seed always gives the same bookings."""

RANDOM_SEED = 0
"""Seed of Python's and NumPy's global random generators in every notebook (:func:`setup`)."""

PLOT_STYLE: dict[str, Any] = {
    # DejaVu Sans ships with matplotlib, so every machine draws the same glyphs.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10.0,
    "figure.figsize": (9.0, 3.5),
    "figure.dpi": 80.0,
    "savefig.dpi": "figure",
    "axes.grid": True,
    "grid.alpha": 0.3,
}
"""matplotlib settings every notebook plots with, on top of matplotlib's built-in defaults."""

_SCRATCH_PREFIX = "nb_"
_T = TypeVar("_T")


class Mode(StrEnum):
    """Which database the notebooks use (see the module docstring)."""

    SCRATCH = "scratch"
    DEMO = "demo"


def current_mode() -> Mode:
    """The mode ``AFRICARE_NOTEBOOK_DATABASE`` asks for; ``scratch`` when it is unset."""
    raw = os.environ.get(MODE_VARIABLE, "").strip().lower() or Mode.SCRATCH.value
    try:
        return Mode(raw)
    except ValueError:
        choices = ", ".join(mode.value for mode in Mode)
        raise ConfigurationError(f"{MODE_VARIABLE} must be one of {choices}") from None


@dataclass
class NotebookDatabase:
    """What a notebook works with: an engine, a session factory and one ready session.

    ``database`` is the database name on the server (``nb_<notebook>`` for a scratch database).
    ``persistent`` is true for the ``make lab`` demo database, which :meth:`close` never drops.
    """

    database: str
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    session: AsyncSession
    persistent: bool

    async def close(self) -> None:
        """Close the session and the engine's pooled connections (the data stays for a look)."""
        await self.session.close()
        await self.engine.dispose()


def configure_display() -> None:
    """Fix pandas' display options so a DataFrame's text form is the same on every machine.

    pandas otherwise sizes its output to the terminal, which differs between a laptop, JupyterLab
    and a CI kernel; stored notebook outputs are compared by this text form.
    """
    options: dict[str, object] = {
        "display.width": 120,
        "display.max_columns": 20,
        "display.max_colwidth": 50,
        "display.max_rows": 20,
        "display.min_rows": 10,
        "display.precision": 3,
        "display.show_dimensions": "truncate",
        "display.large_repr": "truncate",
        "display.expand_frame_repr": True,
        "display.unicode.east_asian_width": False,
    }
    for key, value in options.items():
        pd.set_option(key, value)


def configure_plots() -> None:
    """Reset matplotlib to its built-in defaults, then apply :data:`PLOT_STYLE`.

    A plot's pixels then depend only on the data and the notebook's code, not on a
    ``matplotlibrc`` found on the machine: the stored plots are compared with freshly drawn ones.
    The inline backend of a Jupyter kernel renders with Agg at the figure's ``dpi``.
    """
    import matplotlib.style

    matplotlib.style.use(["default", PLOT_STYLE])


def seed_random(seed: int = RANDOM_SEED) -> None:
    """Seed Python's and NumPy's global random generators, so random draws repeat on every run."""
    random.seed(seed)
    np.random.seed(seed)


async def setup(
    name: str,
    *,
    demo_data: bool = False,
    migrate: bool = True,
    mode: Mode | str | None = None,
) -> NotebookDatabase:
    """Give the notebook ``name`` its database and fix display, plot style and random seeds.

    Args:
        name: the notebook's name, e.g. ``"01_crud"``; its scratch database is ``nb_<name>``.
        demo_data: load the demo data set (:data:`DEMO_BOOKINGS` bookings, :data:`DEMO_SEED`);
            in ``demo`` mode this also selects the persistent demo database.
        migrate: apply the migrations; ``False`` leaves a scratch database empty so the notebook
            can show the migration step itself.
        mode: overrides ``AFRICARE_NOTEBOOK_DATABASE``.
    """
    configure_display()
    configure_plots()
    seed_random()
    _tell_where_data_goes()
    chosen = current_mode() if mode is None else Mode(mode)
    if chosen is Mode.DEMO and demo_data:
        database = resolve_url().database or ""
        engine = make_engine()
        persistent = True
    else:
        database = f"{_SCRATCH_PREFIX}{name}"
        await drop_database(database)
        url: URL = await create_database(database)
        engine = make_engine(url)
        persistent = False
    if migrate or persistent:
        await migrations.upgrade(engine)
    session_maker = make_session_maker(engine)
    db = NotebookDatabase(
        database=database,
        engine=engine,
        session_maker=session_maker,
        session=session_maker(),
        persistent=persistent,
    )
    if demo_data and migrate:
        await load_demo_data(db)
    _register_ipython(engine)
    return db


def _tell_where_data_goes() -> None:
    """On stderr, like the progress bars: which server a notebook outside the project uses."""
    config = get_settings()
    if config.uses_embedded_server:
        notice = embedded.location_notice(config.AFRICARE_DATA_DIR)
        if notice is not None:
            sys.stderr.write(notice + "\n")


def _register_ipython(engine: AsyncEngine) -> None:
    """Inside IPython, ``%sql`` reads the notebook's database and toolkit errors show short."""
    ipython = sys.modules.get("IPython")
    shell = None if ipython is None else ipython.get_ipython()
    if shell is not None:
        from africare_data.ipython import register

        register(shell, engine)


async def load_demo_data(
    db: NotebookDatabase, *, bookings: int = DEMO_BOOKINGS, seed: int = DEMO_SEED
) -> int:
    """Load the demo data set (schedules, time off, bookings) unless the database holds bookings.

    Idempotent: a second call (or a database ``make lab`` already seeded) loads nothing. Returns
    the number of bookings in the database afterwards. A progress bar shows the load; it is shown,
    and ends "done", when nothing needs loading too, so a notebook prints the same output whether
    its database was loaded just now (``scratch``) or earlier (``demo``).
    """
    from africare_data.synthetic import generate_demo, load_demo

    # One COPY is the fast path (see load_demo), so the bar counts the two stages, not rows.
    stages = 2
    with tqdm(total=stages, desc=f"demo data ({bookings:,} bookings)", unit="step") as progress:
        async with db.session_maker() as session:
            present = int(await session.scalar(select(func.count()).select_from(Booking)) or 0)
        if not present:
            progress.set_postfix_str("generating")
            demo = generate_demo(bookings, seed=seed)
            progress.update()
            progress.set_postfix_str("loading with COPY")
            async with db.session_maker() as session:
                present = await load_demo(session, demo)
        progress.update(stages - progress.n)
        progress.set_postfix_str("done")
    return present


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion from synchronous code and return its result.

    Inside a Jupyter kernel an event loop is already running (the one top-level ``await`` uses);
    ``loop.run_until_complete`` on it would normally refuse to nest. ``nest_asyncio2`` (the
    maintained fork of nest-asyncio, same API, which ipykernel itself depends on) patches that loop
    to allow re-entry, so the coroutine runs on the kernel's one loop, where the engine's pooled
    connections were made. Outside a kernel a single private loop is reused for every call, for
    the same reason.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = _private_loop()
    else:
        nest_asyncio2.apply(loop)
    return loop.run_until_complete(coro)


_loop: asyncio.AbstractEventLoop | None = None


def _private_loop() -> asyncio.AbstractEventLoop:
    """The one loop :func:`run` uses when no loop is running (scripts, plain Python)."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop
