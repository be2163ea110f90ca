"""Settings read from the environment (and a ``.env`` file) at first use, then cached.

Nothing is read at import: :func:`get_settings` reads and validates the settings the first time it
is called and returns the same object afterwards; :func:`reload_settings` reads them again (for a
notebook that changed its environment). The module attribute ``settings`` is kept for code written
as ``from africare_data.config import settings``: it is :func:`get_settings` in disguise.

``SQLALCHEMY_DATABASE_URI`` is optional: without it the toolkit runs an embedded PostgreSQL in
``AFRICARE_DATA_DIR``. A URL is normalised to the asyncpg driver (a ``password`` query parameter
moves into the URL's password) and kept as a :class:`DatabaseURL`, whose ``str()`` is the usable
connection string while every form meant for display masks the password.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, GetCoreSchemaHandler, ValidationError, field_validator
from pydantic_core import CoreSchema, core_schema
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from africare_data.errors import ConfigurationError

__all__ = [
    "DatabaseURL",
    "Settings",
    "default_data_dir",
    "get_settings",
    "load_settings",
    "mask_url",
    "normalise_database_url",
    "reload_settings",
    "settings",
]

_ASYNC_DRIVER = "postgresql+asyncpg"
_POSTGRES_SCHEMES = {"postgres", "postgresql"}
# Query parameters libpq and asyncpg read a secret from; they are masked wherever a URL is shown.
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
_MASK = "***"


_CHECKOUT = Path(__file__).resolve().parent.parent
"""The folder the package was installed from (``pip install -e .``), if it is a checkout."""


def default_data_dir() -> Path:
    """Return ``.africare/`` in the project: the nearest ancestor holding ``pyproject.toml``.

    Notebooks run with ``notebooks/`` as their working directory; walking up keeps them on the same
    embedded server as the CLI started from the project root. Outside any project folder (a
    notebook opened in the home directory, say) it is the toolkit checkout's ``.africare/``, so
    such a notebook joins the project's server rather than starting a second one where it runs;
    ``notebook.setup`` says where its data goes.
    """
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / ".africare"
    if (_CHECKOUT / "pyproject.toml").is_file():
        return _CHECKOUT / ".africare"
    return cwd / ".africare"


def normalise_database_url(raw: str | URL) -> URL:
    """Parse a PostgreSQL URL and switch it to the asyncpg driver.

    ``postgres://`` and ``postgresql://`` (and any other PostgreSQL driver) become
    ``postgresql+asyncpg://``; a ``password`` query parameter becomes the URL's password, so it is
    masked like one. Anything else raises :class:`ValueError` with a message that never repeats
    the URL, since it may hold a password.
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
    query_password = url.query.get("password")
    if query_password is not None:
        if url.password is not None or not isinstance(query_password, str):
            raise ValueError("gives the password more than once; give it once, after the user")
        url = url.difference_update_query(["password"]).set(password=query_password)
    return URL.create(
        _ASYNC_DRIVER, url.username, url.password, url.host, url.port, url.database, url.query
    )


def mask_url(url: URL) -> str:
    """Render ``url`` for people: the password, and any secret query parameter, become ``***``."""
    shown = url.render_as_string(hide_password=True)
    secret_keys = sorted(key for key in url.query if key.lower() in _SECRET_QUERY_KEYS)
    if not secret_keys:
        return shown
    # The query part is rendered after the database name; rebuild it with the secrets masked.
    base = url.difference_update_query(secret_keys).render_as_string(hide_password=True)
    masked = "&".join(f"{key}={_MASK}" for key in secret_keys)
    return f"{base}{'&' if '?' in base else '?'}{masked}"


class DatabaseURL(URL):
    """The configured database URL: ``str()`` is the usable URL, every display form masks.

    ``str(settings.SQLALCHEMY_DATABASE_URI)`` can be handed to ``create_async_engine`` (like
    pydantic's ``PostgresDsn``). ``repr()``, the settings' ``repr``/``str`` and
    ``model_dump()`` / ``model_dump_json()`` show ``***`` instead of the password. It is a
    SQLAlchemy :class:`~sqlalchemy.engine.URL` in every other respect.
    """

    __slots__ = ()

    def __str__(self) -> str:
        return self.render_as_string(hide_password=False)

    def __repr__(self) -> str:
        return mask_url(self)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """Validate with :func:`normalise_database_url`; serialise masked (``model_dump``)."""
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                mask_url, when_used="always"
            ),
        )

    @classmethod
    def _validate(cls, value: Any) -> DatabaseURL:
        if not isinstance(value, str | URL):
            raise ValueError("must be a string URL")
        return cls._make(normalise_database_url(value))


class Settings(BaseSettings):
    """The toolkit's configuration; field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        # Never echo a rejected value back: it may be a URL with a password in it.
        hide_input_in_errors=True,
    )

    SQLALCHEMY_DATABASE_URI: DatabaseURL | None = Field(
        default=None,
        description="PostgreSQL URL; unset means the embedded server in AFRICARE_DATA_DIR.",
    )
    DEBUG: bool = Field(
        default=False,
        description="Echo SQL statements (SQLAlchemy echo); the CLI also shows tracebacks.",
    )
    AFRICARE_DATA_DIR: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded PostgreSQL keeps its data (default: <project>/.africare).",
    )
    AFRICARE_POOL_SIZE: int = Field(
        default=5, ge=1, description="Connections the default engine keeps open (pool_size)."
    )
    AFRICARE_MAX_OVERFLOW: int = Field(
        default=10, ge=0, description="Extra connections allowed beyond the pool under load."
    )
    AFRICARE_CONNECT_TIMEOUT: float = Field(
        default=10.0, gt=0, description="Seconds to wait for the database to accept a connection."
    )

    @field_validator("SQLALCHEMY_DATABASE_URI", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

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


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read and validated on the first call, then cached.

    Raises :class:`ConfigurationError` (one line, naming the variable) when a value is bad; the
    next call tries again.
    """
    return load_settings()


def reload_settings() -> Settings:
    """Read the settings again (after the environment or ``.env`` changed) and return them.

    The default engine follows: its next use builds a new one from these settings
    (``africare_data.database.dispose_engine()`` closes the previous engine's connections).
    """
    get_settings.cache_clear()
    return get_settings()


if TYPE_CHECKING:
    settings: Settings


def __getattr__(name: str) -> Any:
    """``settings`` is read at first use, not at import (see :func:`get_settings`)."""
    if name == "settings":
        return get_settings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
