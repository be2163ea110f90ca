"""Toolkit errors in a few lines in IPython, the full traceback one command away."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from africare_data.ipython import register
from africare_data.ipython.short_errors import FULL_TRACEBACK_HINT

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

RAISE_CHAINED = """\
from africare_data.errors import NotFoundError

def look_up():
    try:
        {}["booking"]
    except KeyError as error:
        raise NotFoundError("Booking", 5) from error

look_up()
"""


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ipython = InteractiveShell.instance()
    register(ipython)
    yield ipython
    ipython.run_line_magic("xmode", "Context")


def test_a_toolkit_error_shows_in_two_lines(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell(RAISE_CHAINED, store_history=False)
    assert type(result.error_in_exec).__name__ == "NotFoundError"
    assert capsys.readouterr().out.splitlines() == [
        "NotFoundError: Booking with id 5 not found",
        f"(raised in cell line 7; {FULL_TRACEBACK_HINT})",
    ]


def test_tb_shows_the_whole_chain(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell(RAISE_CHAINED, store_history=False)
    capsys.readouterr()
    shell.run_cell("%tb", store_history=False)
    full = capsys.readouterr().out
    assert "KeyError" in full
    assert "The above exception was the direct cause" in full
    assert "NotFoundError" in full


def test_xmode_verbose_shows_every_traceback_in_full(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("xmode", "Verbose")
    capsys.readouterr()
    shell.run_cell(RAISE_CHAINED, store_history=False)
    full = capsys.readouterr().out
    assert "KeyError" in full
    assert "Traceback (most recent call last)" in full
    assert FULL_TRACEBACK_HINT not in full


def test_other_errors_keep_the_ordinary_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell("def divide():\n    return 1 / 0\n\ndivide()", store_history=False)
    shown = capsys.readouterr().out
    assert "Traceback (most recent call last)" in shown
    assert "ZeroDivisionError" in shown
    assert FULL_TRACEBACK_HINT not in shown


def test_the_booking_notebook_stores_its_refusals_in_short_form() -> None:
    notebook = json.loads((NOTEBOOKS / "03_booking_workflow.ipynb").read_text())
    errors = [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    ]
    assert [error["ename"] for error in errors] == [
        "BookingConflictError",
        "InvalidTransitionError",
        "InvalidBookingError",
    ]
    for error in errors:
        assert error["traceback"][0] == f"{error['ename']}: {error['evalue']}"
        assert len(error["traceback"]) == 2
