"""Settings: URL normalisation, validation messages, password masking, defaults and .env."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from africare_data.config import Settings, default_data_dir, load_settings, mask_url
from africare_data.errors import ConfigurationError

SECRET = "s3cr3t-Pa55"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient variables or .env file leak into these tests."""
    for name in ("SQLALCHEMY_DATABASE_URI", "DEBUG", "AFRICARE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "given",
    [
        f"postgresql://app:{SECRET}@db.example:5432/africare",
        f"postgres://app:{SECRET}@db.example:5432/africare",
        f"postgresql+psycopg://app:{SECRET}@db.example:5432/africare",
        f"postgresql+asyncpg://app:{SECRET}@db.example:5432/africare",
    ],
)
def test_postgres_urls_are_normalised_to_asyncpg(given: str) -> None:
    url = Settings(SQLALCHEMY_DATABASE_URI=given).SQLALCHEMY_DATABASE_URI
    assert url is not None
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.database, url.username) == (
        "db.example",
        5432,
        "africare",
        "app",
    )
    assert url.password == SECRET


def test_password_never_appears_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", f"postgresql://app:{SECRET}@db:5432/africare")
    config = Settings()
    assert config.SQLALCHEMY_DATABASE_URI is not None
    rendered = [repr(config), str(config), repr(config.SQLALCHEMY_DATABASE_URI)]
    rendered.append(mask_url(config.SQLALCHEMY_DATABASE_URI))
    for text in rendered:
        assert SECRET not in text
    assert "postgresql+asyncpg://app:***@db:5432/africare" in repr(config)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (f"mysql://app:{SECRET}@db/africare", "must be a PostgreSQL URL"),
        (f"sqlite:///{SECRET}.db", "must be a PostgreSQL URL"),
        (f"not a url {SECRET}", "is not a valid database URL"),
        (f"postgresql://app:{SECRET}@db:5432", "must name a database"),
    ],
)
def test_bad_urls_fail_with_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, given: str, reason: str
) -> None:
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", given)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("Invalid configuration: SQLALCHEMY_DATABASE_URI ")
    assert reason in message
    assert SECRET not in message
    assert "\n" not in message


def test_unset_or_empty_url_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().uses_embedded_server
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", "  ")
    assert Settings().uses_embedded_server


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("0", False)])
def test_debug_flag(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("DEBUG", raw)
    assert Settings().DEBUG is expected


def test_bad_debug_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG", "sometimes")
    with pytest.raises(ConfigurationError, match=r"^Invalid configuration: DEBUG "):
        load_settings()


def test_data_dir_defaults_to_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    assert default_data_dir() == tmp_path.resolve() / ".africare"
    assert tmp_path.resolve() / ".africare" == Settings().AFRICARE_DATA_DIR


def test_values_load_from_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"SQLALCHEMY_DATABASE_URI=postgres://u:{SECRET}@envhost/envdb\nDEBUG=true\n"
        "AFRICARE_DATA_DIR=./pgdir\n"
    )
    config = Settings()
    assert config.SQLALCHEMY_DATABASE_URI is not None
    assert config.SQLALCHEMY_DATABASE_URI.host == "envhost"
    assert config.DEBUG is True
    assert (tmp_path / "pgdir").resolve() == config.AFRICARE_DATA_DIR


def test_cli_url_masks_the_password(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "africare_data.cli", "db", "url"],
        env={"SQLALCHEMY_DATABASE_URI": f"postgresql://app:{SECRET}@db:5432/x", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert result.stdout.strip() == "postgresql+asyncpg://app:***@db:5432/x"
