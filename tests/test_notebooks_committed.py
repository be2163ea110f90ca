"""The curated notebooks are committed executed, top to bottom, without unexpected errors.

nbval compares stored outputs with a fresh run, so a notebook saved without outputs would pass
vacuously; and an error saved in a cell nobody expected to fail is a bug shown to every reader.
This test reads the ``.ipynb`` files only: it needs no kernel and no database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "00_getting_started.ipynb",
    "01_crud.ipynb",
    "02_relationships.ipynb",
    "03_booking_workflow.ipynb",
    "04_bookings_analysis.ipynb",
    "05_migrations.ipynb",
    "06_capacity.ipynb",
    "07_data_layer.ipynb",
    "08_web_api.ipynb",
]
RAISES_TAG = "raises-exception"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _code_cells(path: Path) -> list[Any]:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def test_the_curated_notebooks_are_all_there() -> None:
    assert [path.name for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_executed_in_order(path: Path) -> None:
    cells = _code_cells(path)
    counts = [cell.execution_count for cell in cells]
    assert None not in counts, f"{path.name}: cells committed without being run"
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: not run top to bottom in one fresh kernel (execution counts {counts})"
    )
    assert any(cell.outputs for cell in cells), f"{path.name}: committed without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_errors_only_in_cells_tagged_raises_exception(path: Path) -> None:
    for number, cell in enumerate(_code_cells(path), start=1):
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if RAISES_TAG in _tags(cell):
            assert errors, f"{path.name} code cell {number} is tagged {RAISES_TAG}, did not raise"
        else:
            assert not errors, (
                f"{path.name} code cell {number} has an error output: "
                f"{errors[0].ename}: {errors[0].evalue}"
            )
