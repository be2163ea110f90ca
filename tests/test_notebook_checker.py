"""The notebook checker (``notebooks/conftest.py``) fails on altered outputs and says what changed.

Runs the notebook tests, as ``make test`` does, in a separate pytest on two copies of the
committed ``04_bookings_analysis``: one altered, one restored to the committed file. The
alterations: a plot replaced by a blank image of the same size, a plot removed, a plot replaced by
an image of another size, a cell whose code now clears its axes before showing them, and words
added to a text result. Only the altered cells of the first may fail, each with a message a person
can read; the second passes whole. The demo mode alone keeps it quick: both copies read the
session's demo database and need no data loaded of their own.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from PIL import Image

from africare_data.config import settings

PROJECT = Path(__file__).resolve().parent.parent
NOTEBOOK = PROJECT / "notebooks" / "04_bookings_analysis.ipynb"
CHECKER_FILES = ("conftest.py", "output_checks.py", "nbval_sanitize.cfg")
RESULT_LINE = re.compile(r"^(PASSED|FAILED) (notebooks/\S+\.ipynb::\w+::Cell \d+)", re.MULTILINE)


def _png(width: int, height: int) -> str:
    """A white PNG of the given size, base64-encoded as notebooks store images."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _png_size(encoded: str) -> tuple[int, int]:
    width, height = Image.open(io.BytesIO(base64.b64decode(encoded))).size
    return width, height


def _plot_output(cell: Any) -> Any:
    return next(output for output in cell.outputs if "image/png" in output.get("data", {}))


class Altered:
    """The altered copy of the notebook and the numbers of the cells whose outputs were changed."""

    def __init__(self, notebook: Any) -> None:
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        plot_cells = [
            n
            for n, cell in enumerate(code)
            if any("image/png" in output.get("data", {}) for output in cell.outputs)
        ]
        assert len(plot_cells) >= 4, "04_bookings_analysis should store at least four plots"
        self.blank, self.removed, self.resized, self.redrawn = plot_cells[:4]
        self.text = next(
            n
            for n, cell in enumerate(code)
            if any(output.output_type == "execute_result" for output in cell.outputs)
        )

        blank = _plot_output(code[self.blank])
        blank.data["image/png"] = _png(*_png_size(blank.data["image/png"]))
        code[self.removed].outputs = [
            output for output in code[self.removed].outputs if "image/png" not in output.data
        ]
        resized = _plot_output(code[self.resized])
        width, height = _png_size(resized.data["image/png"])
        resized.data["image/png"] = _png(width, height + 20)
        # The cell's code now ends by clearing its axes: an empty plot, same size, same text.
        head, show, tail = code[self.redrawn].source.rpartition("plt.show()")
        assert show, "the plot cells of 04_bookings_analysis should end with plt.show()"
        code[self.redrawn].source = f"{head}plt.gca().clear()\n{show}{tail}"
        result = next(o for o in code[self.text].outputs if o.output_type == "execute_result")
        self.stored_line = f"{result.data['text/plain'].splitlines()[-1]} (altered)"
        result.data["text/plain"] += " (altered)"


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Altered, str, Path]:
    """Run the notebook tests on both copies; the altered cells, the output, the diff folder."""
    root = tmp_path_factory.mktemp("checker")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    for name in CHECKER_FILES:
        shutil.copy(PROJECT / "notebooks" / name, notebooks / name)
    shutil.copy(NOTEBOOK, notebooks / "restored.ipynb")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    altered = Altered(notebook)
    nbformat.write(notebook, notebooks / "altered.ipynb")

    environment = dict(os.environ)
    # The copies live outside the project: point them at the project's embedded server.
    environment.setdefault("AFRICARE_DATA_DIR", str(settings.AFRICARE_DATA_DIR))
    command = [
        *(sys.executable, "-m", "pytest", "-c", str(PROJECT / "pyproject.toml")),
        *("--rootdir", str(root), "-p", "no:cacheprovider", "-rA", "-n", "2"),
        *("--dist", "loadfile", "--nbval", "--nbval-current-env"),
        *("--nbval-sanitize-with", "notebooks/nbval_sanitize.cfg", "--notebook-modes", "demo"),
        "notebooks/",
    ]
    run = subprocess.run(
        command, cwd=root, env=environment, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 1, run.stdout + run.stderr
    return altered, run.stdout, root / "build" / "notebook-diffs"


def _results(output: str, notebook: str) -> dict[int, str]:
    return {
        int(nodeid.rsplit(" ", 1)[1]): outcome
        for outcome, nodeid in RESULT_LINE.findall(output)
        if nodeid.startswith(f"notebooks/{notebook}.ipynb::demo::")
    }


def test_only_the_altered_cells_fail(checked: tuple[Altered, str, Path]) -> None:
    altered, output, _ = checked
    results = _results(output, "altered")
    failed = {number for number, outcome in results.items() if outcome == "FAILED"}
    assert failed == {
        altered.blank,
        altered.removed,
        altered.resized,
        altered.redrawn,
        altered.text,
    }, output
    assert len(results) > len(failed)


def test_the_restored_notebook_passes(checked: tuple[Altered, str, Path]) -> None:
    _, output, _ = checked
    results = _results(output, "restored")
    assert results and set(results.values()) == {"PASSED"}, output


def test_a_text_change_is_shown_as_the_differing_lines(
    checked: tuple[Altered, str, Path],
) -> None:
    altered, output, _ = checked
    assert "Text outputs differ (- stored, + executed):" in output
    assert f"-{altered.stored_line}" in output
    assert f"+{altered.stored_line.removesuffix(' (altered)')}" in output
    assert "If the change is intended, store the new outputs: make notebooks" in output


def test_differing_plots_are_written_as_images(checked: tuple[Altered, str, Path]) -> None:
    altered, output, diff_dir = checked
    cells = diff_dir / "altered" / "demo"
    blank = cells / f"cell-{altered.blank}" / "plot-1"
    assert "plot 1: RMS difference" in output and str(blank) in output
    for name in ("expected.png", "actual.png", "difference.png"):
        assert (blank / name).is_file(), name
    assert "drawn, but no such plot is stored" in output
    assert (cells / f"cell-{altered.removed}" / "plot-1" / "actual.png").is_file()
    resized = cells / f"cell-{altered.resized}" / "plot-1"
    assert "the size changed from" in output and (resized / "difference.png").is_file()
    assert (cells / f"cell-{altered.redrawn}" / "plot-1" / "difference.png").is_file()
    assert not (diff_dir / "restored").exists()
    assert f"Images of the notebook plots that differ: {diff_dir}" in output
