"""Nothing happens at import: settings, engine and heavy libraries wait for their first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import africare_data
from africare_data import config, database
from africare_data.config import get_settings, reload_settings
from africare_data.errors import ConfigurationError

HEAVY_MODULES = ("pandas", "pyarrow", "alembic", "fastapi", "tqdm", "numpy", "IPython", "psycopg")


def run_python(code: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with only ``environment`` (and PATH) set."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**_inherited("PATH", "PYTHONPATH"), **environment},
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


def _inherited(*names: str) -> dict[str, str]:
    return {name: os.environ[name] for name in names if name in os.environ}


LOADED_AFTER = """
    import json, sys
    {statement}
    print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


@pytest.mark.parametrize(
    "statement",
    [
        "import africare_data",
        "import africare_data.cli",
        "from africare_data import Booking, BookingService, get_settings, settings",
        "from africare_data.database import engine, async_session_maker, get_session",
    ],
)
def test_importing_loads_no_heavy_library(statement: str, tmp_path: Path) -> None:
    result = run_python(LOADED_AFTER.format(statement=statement, heavy=HEAVY_MODULES), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_frame_names_load_pandas_on_first_use(tmp_path: Path) -> None:
    statement = "from africare_data import bookings_frame"
    result = run_python(LOADED_AFTER.format(statement=statement, heavy=HEAVY_MODULES), tmp_path)
    assert result.returncode == 0, result.stderr
    assert {"pandas", "pyarrow"} <= set(json.loads(result.stdout))


def test_a_bad_setting_fails_the_first_use_not_the_import(tmp_path: Path) -> None:
    result = run_python(
        """
        import africare_data
        from africare_data import database
        from africare_data.errors import ConfigurationError
        try:
            database.engine
        except ConfigurationError as error:
            print(error)
        """,
        tmp_path,
        DEBUG="maybe",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Invalid configuration: DEBUG Input should be a valid boolean, unable to interpret input"
    ]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """An empty environment and working directory; the cached settings are re-read afterwards."""
    for name in ("SQLALCHEMY_DATABASE_URI", "DEBUG", "AFRICARE_POOL_SIZE", "AFRICARE_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch
    monkeypatch.undo()
    reload_settings()


def test_settings_are_cached_until_reloaded(environment: pytest.MonkeyPatch) -> None:
    first = reload_settings()
    environment.setenv("SQLALCHEMY_DATABASE_URI", "postgresql://app@db.example:5432/changed")
    assert get_settings() is first
    assert config.settings is first
    assert first.SQLALCHEMY_DATABASE_URI is None

    again = reload_settings()
    assert again is not first
    assert again.SQLALCHEMY_DATABASE_URI is not None
    assert again.SQLALCHEMY_DATABASE_URI.database == "changed"
    assert config.settings is again
    assert africare_data.settings is again


def test_a_bad_value_is_reported_at_every_use_until_fixed(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("DEBUG", "maybe")
    with pytest.raises(ConfigurationError, match=r"^Invalid configuration: DEBUG "):
        reload_settings()
    with pytest.raises(ConfigurationError):
        get_settings()
    environment.setenv("DEBUG", "true")
    assert get_settings().DEBUG is True


def test_the_default_engine_follows_reloaded_settings(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SQLALCHEMY_DATABASE_URI", "postgresql://app@first.example:5432/one")
    environment.setenv("AFRICARE_POOL_SIZE", "3")
    environment.setenv("AFRICARE_MAX_OVERFLOW", "4")
    reload_settings()
    first = database.engine
    assert isinstance(first, AsyncEngine)
    assert database.engine is first is africare_data.engine
    assert (first.url.host, first.url.database, first.pool.size()) == ("first.example", "one", 3)
    assert first.pool._max_overflow == 4  # type: ignore[attr-defined]
    assert database.async_session_maker.kw["bind"] is first

    environment.setenv("SQLALCHEMY_DATABASE_URI", "postgresql://app@second.example:5432/two")
    reload_settings()
    second = database.engine
    assert second is not first
    assert (second.url.host, second.url.database) == ("second.example", "two")
    assert database.async_session_maker.kw["bind"] is second
    assert database.make_engine().url.host == "second.example"


def test_the_package_exports_resolve(environment: pytest.MonkeyPatch) -> None:
    assert set(africare_data.__all__) == {*africare_data._MODULE_OF, "__version__"}
    for name in africare_data.__all__:
        assert getattr(africare_data, name) is not None, name
    assert set(africare_data.__all__) <= set(dir(africare_data))
    with pytest.raises(AttributeError, match="no_such_name"):
        africare_data.no_such_name  # noqa: B018
