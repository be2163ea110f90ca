"""``africare_data.notebook``: the mode switch, the scratch database and ``run`` outside a kernel.

The notebooks themselves (run by nbval) exercise ``setup`` in a kernel; these tests pin what a
notebook relies on: a rerun starts from an empty, migrated database, and ``run`` keeps every call
on one event loop.
"""

from __future__ import annotations

import asyncio
import random
import re

import numpy as np
import pytest
from sqlalchemy import func, select

from africare_data import migrations, notebook
from africare_data.database import drop_database
from africare_data.errors import ConfigurationError
from africare_data.models import Example


def test_mode_defaults_to_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(notebook.MODE_VARIABLE, raising=False)
    assert notebook.current_mode() is notebook.Mode.SCRATCH
    monkeypatch.setenv(notebook.MODE_VARIABLE, " Demo ")
    assert notebook.current_mode() is notebook.Mode.DEMO


def test_unknown_mode_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(notebook.MODE_VARIABLE, "production")
    with pytest.raises(ConfigurationError, match=notebook.MODE_VARIABLE):
        notebook.current_mode()


def test_run_outside_a_loop_reuses_one_loop() -> None:
    async def current_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert notebook.run(current_loop()) is notebook.run(current_loop())


async def test_setup_gives_a_fresh_migrated_database_on_every_run() -> None:
    name = "pytest_notebook_helpers"
    db = await notebook.setup(name, mode="scratch")
    try:
        assert db.database == f"nb_{name}" and not db.persistent
        assert await migrations.current_revision(db.engine) is not None
        db.session.add(Example(name="left over"))
        await db.session.commit()
    finally:
        await db.close()
    again = await notebook.setup(name, mode="scratch")
    try:
        assert await again.session.scalar(select(func.count()).select_from(Example)) == 0
    finally:
        await again.close()
        await drop_database(again.database)


def test_configure_plots_ignores_earlier_settings_and_applies_the_style() -> None:
    import matplotlib as mpl

    mpl.rcParams["lines.linewidth"] = 7.0
    mpl.rcParams["figure.dpi"] = 300.0
    notebook.configure_plots()
    assert mpl.rcParams["lines.linewidth"] == mpl.rcParamsDefault["lines.linewidth"]
    assert mpl.rcParams["figure.dpi"] == notebook.PLOT_STYLE["figure.dpi"]
    assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    mpl.rcdefaults()


def test_seed_random_repeats_the_draws() -> None:
    notebook.seed_random()
    first = (random.random(), np.random.rand())
    notebook.seed_random()
    assert (random.random(), np.random.rand()) == first


def _final_bar(stderr: str) -> str:
    """The progress bar as last drawn, without its timings (elapsed, rate)."""
    return re.sub(r"\[[^\]]*\]", "[timing]", stderr.rstrip().split("\r")[-1])


async def test_load_demo_data_shows_the_same_bar_loaded_or_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = "pytest_demo_bar"
    db = await notebook.setup(name, mode="scratch")
    try:
        capsys.readouterr()
        assert await notebook.load_demo_data(db, bookings=40) == 40
        loading = _final_bar(capsys.readouterr().err)
        assert await notebook.load_demo_data(db, bookings=40) == 40
        already_loaded = _final_bar(capsys.readouterr().err)
    finally:
        await db.close()
        await drop_database(db.database)
    assert "demo data (40 bookings): 100%" in loading and loading.endswith("[timing]")
    assert already_loaded == loading
