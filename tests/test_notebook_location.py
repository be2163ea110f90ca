"""A notebook started outside the project folder joins the project's server and says so.

Without a ``pyproject.toml`` above the working directory, the embedded server's data directory is
the toolkit checkout's ``.africare/`` (not a new one where the notebook runs), and
``notebook.setup`` writes one line on stderr naming it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from africare_data import embedded, notebook
from africare_data.config import default_data_dir, get_settings
from africare_data.database import drop_database
from africare_data.migrations import PROJECT_ROOT
from tests.conftest import requires_embedded


def test_outside_any_project_the_data_dir_is_the_checkouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not any((folder / "pyproject.toml").is_file() for folder in tmp_path.parents)
    monkeypatch.chdir(tmp_path)
    assert default_data_dir() == PROJECT_ROOT / ".africare"


def test_the_notice_names_the_data_dir_outside_the_project(tmp_path: Path) -> None:
    data_dir = PROJECT_ROOT / ".africare"
    notice = embedded.location_notice(data_dir, cwd=tmp_path)
    assert notice is not None
    assert f"outside the project folder {PROJECT_ROOT}" in notice
    assert f"embedded PostgreSQL in {data_dir}" in notice


def test_no_notice_inside_the_project() -> None:
    data_dir = PROJECT_ROOT / ".africare"
    assert embedded.location_notice(data_dir, cwd=PROJECT_ROOT / "notebooks") is None
    assert embedded.location_notice(data_dir, cwd=PROJECT_ROOT) is None


@requires_embedded
async def test_setup_outside_the_project_says_where_the_data_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not get_settings().uses_embedded_server:
        pytest.skip("SQLALCHEMY_DATABASE_URI names a server: no embedded data directory")
    monkeypatch.chdir(tmp_path)
    db = await notebook.setup("location_check", migrate=False)
    try:
        err = capsys.readouterr().err
        assert (
            f"its data goes to the embedded PostgreSQL in {get_settings().AFRICARE_DATA_DIR}" in err
        )
    finally:
        await db.close()
        await drop_database(db.database)


@requires_embedded
async def test_setup_inside_the_project_says_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if get_settings().AFRICARE_DATA_DIR != PROJECT_ROOT / ".africare":
        pytest.skip("AFRICARE_DATA_DIR points outside the project")
    monkeypatch.chdir(PROJECT_ROOT / "notebooks")
    db = await notebook.setup("location_check", migrate=False)
    try:
        assert "outside the project folder" not in capsys.readouterr().err
    finally:
        await db.close()
        await drop_database(db.database)
