"""Settings read from the environment (and a ``.env`` file), validated once at start-up.

``SQLALCHEMY_DATABASE_URI`` is optional: without it the toolkit runs an embedded PostgreSQL in
``AFRICARE_DATA_DIR``. A URL is normalised to the asyncpg driver and kept as a SQLAlchemy
:class:`~sqlalchemy.engine.URL`, whose ``repr`` and ``str`` mask the password, so printing the
settings never shows a secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from africare_data.errors import ConfigurationError

__all__ = [
    "Settings",
    "default_data_dir",
    "load_settings",
    "mask_url",
    "normalise_database_url",
    "settings",
]

_ASYNC_DRIVER = "postgresql+asyncpg"
_POSTGRES_SCHEMES = {"postgres", "postgresql"}


def default_data_dir() -> Path:
    """Return ``.africare/`` in the project: the nearest ancestor holding ``pyproject.toml``.

    Notebooks run with ``notebooks/`` as their working directory; walking up keeps them on the same
    embedded server as the CLI started from the project root.
    """
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / ".africare"
    return cwd / ".africare"


def normalise_database_url(raw: str | URL) -> URL:
    """Parse a PostgreSQL URL and switch it to the asyncpg driver.

    ``postgres://`` and ``postgresql://`` (and any other PostgreSQL driver) become
    ``postgresql+asyncpg://``. Anything else raises :class:`ValueError` with a message that never
    repeats the URL, since it may hold a password.
    """
    try:
        url = raw if isinstance(raw, URL) else make_url(raw.strip())
    except (ArgumentError, ValueError):
        raise ValueError(
            "is not a valid database URL; expected postgresql+asyncpg://user:password@host:5432/db"
        ) from None
    backend = url.drivername.split("+", 1)[0]
    if backend not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"must be a PostgreSQL URL (postgresql://, postgres:// or postgresql+asyncpg://), "
            f"not {backend!r}"
        )
    if not url.database:
        raise ValueError("must name a database, e.g. postgresql+asyncpg://user@host:5432/africare")
    return url.set(drivername=_ASYNC_DRIVER)


def mask_url(url: URL) -> str:
    """Render ``url`` for people: the password, if any, is replaced by ``***``."""
    return url.render_as_string(hide_password=True)


class Settings(BaseSettings):
    """The toolkit's configuration; field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        # Never echo a rejected value back: it may be a URL with a password in it.
        hide_input_in_errors=True,
        arbitrary_types_allowed=True,
    )

    SQLALCHEMY_DATABASE_URI: URL | None = Field(
        default=None,
        description="PostgreSQL URL; unset means the embedded server in AFRICARE_DATA_DIR.",
    )
    DEBUG: bool = Field(default=False, description="Echo SQL statements (SQLAlchemy echo).")
    AFRICARE_DATA_DIR: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded PostgreSQL keeps its data (default: <project>/.africare).",
    )

    @field_validator("SQLALCHEMY_DATABASE_URI", mode="before")
    @classmethod
    def _parse_database_url(cls, value: Any) -> URL | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str | URL):
            raise ValueError("must be a string URL")
        return normalise_database_url(value)

    @field_validator("AFRICARE_DATA_DIR", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def uses_embedded_server(self) -> bool:
        """True when no URL is configured and the embedded PostgreSQL serves the data."""
        return self.SQLALCHEMY_DATABASE_URI is None


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning a validation failure into one :class:`ConfigurationError`.

    The message names each offending variable and why it was refused, never its value.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc'])} {_reason(issue['msg'])}"
            for issue in error.errors(include_input=False, include_url=False)
        )
        raise ConfigurationError(f"Invalid configuration: {problems}") from None


def _reason(message: str) -> str:
    return message.removeprefix("Value error, ")


settings: Settings = load_settings()
"""The process-wide settings, read once at import (reading the environment opens no connection)."""
