"""How a notebook cell's stored outputs are compared with the outputs of a fresh run.

Used by ``notebooks/conftest.py`` for every cell nbval executes. Two kinds of comparison:

* **text** (streams, ``text/plain`` and other text MIME types, error names and messages): exact
  after nbval's sanitizing, reported as a unified diff of the differing lines;
* **plots** (``image/png``): pixel by pixel, passing when the RMS difference, computed by
  matplotlib's own image comparison (:func:`matplotlib.testing.compare.compare_images`, the one
  pytest-mpl uses), stays within :data:`PLOT_TOLERANCE`. A missing, extra, blank, resized or
  visibly different plot fails; the expected, actual and difference images are written to a
  folder the failure names.
"""

from __future__ import annotations

import base64
import difflib
import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any

from matplotlib.testing.compare import compare_images
from PIL import Image

__all__ = ["PLOT_MIME", "PLOT_TOLERANCE", "compare_plots", "plots", "text_diff", "text_lines"]

PLOT_MIME = "image/png"

PLOT_TOLERANCE = 1.0
"""Largest RMS difference (0-255 per colour channel) between a stored plot and a fresh one.

Two runs on one machine draw identical pixels (fixed style, font and DPI from
``africare_data.notebook.configure_plots``); the margin absorbs anti-aliasing differences between
matplotlib or FreeType builds. For scale: a blank image instead of one of the analysis plots is 35
to 140, and moving one point of a line plot by 5% (the axis rescales) about 30.
"""


def text_lines(
    outputs: Iterable[Any], skip: Sequence[str], sanitize: Callable[[str], str]
) -> list[str]:
    """The text of ``outputs`` as lines, each value under a ``[kind]`` header.

    Values are grouped by kind (``stdout``, ``stderr``, ``error``, a MIME type) in a fixed order,
    as nbval does, so streams and displays racing each other do not count as a change; within a
    kind the order is kept. MIME types in ``skip`` (images, HTML, widget ids) are left out.
    """
    grouped: dict[str, list[str]] = defaultdict(list)
    for output in outputs:
        if output.output_type == "stream":
            grouped[output.name].append(output.text)
        elif output.output_type == "error":
            grouped["error"].append(f"{output.ename}: {output.evalue}")
        else:
            for mime, value in output.get("data", {}).items():
                if mime not in skip:
                    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                    grouped[mime].append(text)
    lines: list[str] = []
    for kind in sorted(grouped):
        for value in grouped[kind]:
            lines.append(f"[{kind}]")
            lines.extend(sanitize(value).splitlines())
    return lines


def text_diff(stored: list[str], executed: list[str]) -> list[str]:
    """A unified diff from the stored lines to the executed ones; empty when they agree."""
    return list(difflib.unified_diff(stored, executed, "stored", "executed", lineterm=""))


def plots(outputs: Iterable[Any]) -> list[bytes]:
    """The PNG images among ``outputs``, decoded, in order."""
    return [
        base64.b64decode(output["data"][PLOT_MIME])
        for output in outputs
        if PLOT_MIME in output.get("data", {})
    ]


def compare_plots(
    stored: list[bytes],
    executed: list[bytes],
    folder: Path,
    tolerance: float = PLOT_TOLERANCE,
) -> list[str]:
    """Compare the plots a cell stored with those it drew now; one message per differing plot.

    For each differing plot ``n`` the folder ``folder/plot-n`` receives ``expected.png`` (stored),
    ``actual.png`` (drawn now) and, when both exist with the same size, ``difference.png``.
    """
    problems = []
    for number, (expected, actual) in enumerate(zip_longest(stored, executed), start=1):
        problem = _compare_plot(expected, actual, folder / f"plot-{number}", tolerance)
        if problem is not None:
            problems.append(f"plot {number}: {problem}")
    return problems


def _compare_plot(
    expected: bytes | None, actual: bytes | None, folder: Path, tolerance: float
) -> str | None:
    with tempfile.TemporaryDirectory() as work:
        images = Path(work)
        expected_path, actual_path = images / "expected.png", images / "actual.png"
        if expected is not None:
            expected_path.write_bytes(expected)
        if actual is not None:
            actual_path.write_bytes(actual)
        if actual is None:
            problem = "stored, but the cell drew no such plot"
        elif expected is None:
            problem = "drawn, but no such plot is stored"
        else:
            problem = _rms_problem(expected_path, actual_path, tolerance)
        if problem is None:
            return None
        shutil.copytree(images, folder, dirs_exist_ok=True)
    return f"{problem}; images in {folder}"


def _rms_problem(expected: Path, actual: Path, tolerance: float) -> str | None:
    """Compare two PNG files; on a difference, ``difference.png`` is written beside them."""
    expected_size, actual_size = _size(expected), _size(actual)
    if expected_size == actual_size:
        result = compare_images(str(expected), str(actual), tol=tolerance, in_decorator=True)
        if result is None:
            return None
        shutil.move(result["diff"], expected.with_name("difference.png"))
        return f"RMS difference {result['rms']:.2f} exceeds the tolerance {tolerance}"
    # A changed plot often changes size too (Jupyter crops figures to their content), and
    # matplotlib compares equal sizes only: the difference image shows both padded alike.
    padded_size = (max(expected_size[0], actual_size[0]), max(expected_size[1], actual_size[1]))
    with tempfile.TemporaryDirectory() as work:
        padded = [_padded(path, padded_size, Path(work) / path.name) for path in (expected, actual)]
        result = compare_images(str(padded[0]), str(padded[1]), tol=0, in_decorator=True)
        if result is not None:
            shutil.move(result["diff"], expected.with_name("difference.png"))
    return (
        f"the size changed from {expected_size[0]}x{expected_size[1]} (stored) to "
        f"{actual_size[0]}x{actual_size[1]} (drawn)"
    )


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _padded(path: Path, size: tuple[int, int], target: Path) -> Path:
    """``path``'s image on a white canvas of ``size``, top-left aligned, saved as ``target``."""
    canvas = Image.new("RGBA", size, "white")
    with Image.open(path) as image:
        canvas.paste(image.convert("RGBA"), (0, 0))
    canvas.save(target, format="PNG")
    return target
