"""A lab session as a user has it, in a real browser, must leave notebooks the tests accept.

``make lab-check`` prepares the database as ``make lab`` does, then runs this script: it copies
``00_getting_started`` and ``04_bookings_analysis`` (with the notebook checker) to
``build/lab-check/notebooks``, serves them with JupyterLab in demo mode, opens each in a headless
Chromium, runs all cells, saves, and finally runs the notebook tests (both modes) on the saved
files. Needs Debian's ``chromium`` (``apt install chromium``; another binary through ``CHROMIUM``)
and the ``browser`` extra (playwright); nothing else requires either, CI included.

Exit status: 0 when the saved notebooks pass, 1 when they do not, 2 when it cannot run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "build" / "lab-check"
NOTEBOOKS = ("00_getting_started.ipynb", "04_bookings_analysis.ipynb")
CHECKER_FILES = ("conftest.py", "output_checks.py", "nbval_sanitize.cfg")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Browser-side probes on the notebook being checked (JupyterLab exposes itself as jupyterapp).
NOTEBOOK_JS = """(path) => {
    const widget = window.jupyterapp && jupyterapp.shell.currentWidget;
    return widget && widget.context && widget.context.path === path ? widget : null;
}"""
KERNEL_IDLE_JS = f"""(path) => {{
    const widget = ({NOTEBOOK_JS})(path);
    const session = widget && widget.sessionContext.session;
    return Boolean(session && session.kernel) && session.kernel.status === "idle";
}}"""
ALL_RUN_JS = f"""(path) => {{
    const widget = ({NOTEBOOK_JS})(path);
    const cells = widget.content.model.cells;
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type === "code" && cell.executionCount === null) return false;
    }}
    return widget.sessionContext.session.kernel.status === "idle";
}}"""
SAVED_JS = f"(path) => !({NOTEBOOK_JS})(path).context.model.dirty"
TIMEOUT_MS = 120_000


def main() -> int:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).is_file():
        print(f"No Chromium at {chromium}: apt install chromium (or set CHROMIUM).")
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is missing: pip install -e '.[browser]' (make lab-check does).")
        return 2

    notebooks = _copy_notebooks()
    port, token = _free_port(), secrets.token_hex(16)
    lab = _start_lab(port, token)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            try:
                for name in NOTEBOOKS:
                    _run_all_and_save(browser, f"http://127.0.0.1:{port}", token, name)
            finally:
                browser.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)

    for name in NOTEBOOKS:
        counts = [
            cell.execution_count
            for cell in nbformat.read(notebooks / name, as_version=4).cells
            if cell.cell_type == "code"
        ]
        if counts != list(range(1, len(counts) + 1)):
            print(f"{name} was not saved after Run All: execution counts {counts}")
            return 1
    print(f"Saved by the lab: {notebooks}. Running the notebook tests on them.")
    return _notebook_tests()


def _copy_notebooks() -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    notebooks = WORK / "notebooks"
    notebooks.mkdir(parents=True)
    for name in (*NOTEBOOKS, *CHECKER_FILES):
        shutil.copy(PROJECT / "notebooks" / name, notebooks / name)
    return notebooks


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_lab(port: int, token: str) -> subprocess.Popen[bytes]:
    """JupyterLab on the copies, in demo mode as ``make lab`` starts it; waits until it answers."""
    command = [
        *(sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}"),
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={WORK}",
        f"--LabApp.workspaces_dir={WORK / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    environment = dict(os.environ, AFRICARE_NOTEBOOK_DATABASE="demo")
    log = (WORK / "lab.log").open("wb")
    lab = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
        except OSError:
            time.sleep(0.5)
        else:
            return lab
    lab.terminate()
    raise RuntimeError(f"JupyterLab did not answer within 60 s; see {WORK / 'lab.log'}")


def _run_all_and_save(browser: Browser, base_url: str, token: str, name: str) -> None:
    """Open ``name`` in a new page, Run All in its fresh kernel, save, close the page."""
    page = browser.new_page()
    try:
        path = f"notebooks/{name}"
        page.goto(f"{base_url}/lab/tree/{path}?token={token}")
        page.wait_for_function(KERNEL_IDLE_JS, arg=path, timeout=TIMEOUT_MS)
        page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_RUN_JS, arg=path, timeout=TIMEOUT_MS, polling=250)
        page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(SAVED_JS, arg=path, timeout=TIMEOUT_MS)
        print(f"{name}: Run All and saved in Chromium")
    finally:
        page.close()


def _notebook_tests() -> int:
    command = [
        *(sys.executable, "-m", "pytest", "-c", str(PROJECT / "pyproject.toml")),
        *("--rootdir", str(WORK), "-p", "no:cacheprovider", "-q", "-n", "2"),
        *("--dist", "loadfile", "--nbval", "--nbval-current-env"),
        *("--nbval-sanitize-with", "notebooks/nbval_sanitize.cfg", "notebooks/"),
    ]
    return subprocess.run(command, cwd=WORK, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
