"""The toolkit's exception hierarchy.

Every error the toolkit raises on purpose derives from :class:`AfricareDataError`, so a caller can
catch the whole family with one ``except`` and a notebook shows a message instead of a driver
traceback.
"""

from __future__ import annotations

__all__ = [
    "AfricareDataError",
    "ConfigurationError",
    "EmbeddedServerError",
]


class AfricareDataError(Exception):
    """Root of every error the toolkit raises deliberately."""


class ConfigurationError(AfricareDataError, ValueError):
    """A setting (environment variable or ``.env`` entry) has a value the toolkit cannot use."""


class EmbeddedServerError(AfricareDataError, RuntimeError):
    """The embedded PostgreSQL server could not be initialised, started or stopped.

    The message names the data directory and the server's log file, which says why.
    """
