"""africare-data: a notebook-driven data toolkit for the AfriCare care platform.

Importing the package reads the settings but opens no connection and starts no server; the
embedded PostgreSQL starts on the first query.
"""

from africare_data.config import Settings, settings
from africare_data.database import (
    Base,
    async_session_maker,
    create_db_and_tables,
    engine,
    get_session,
    make_engine,
    make_session_maker,
    scratch_database,
)
from africare_data.errors import AfricareDataError, ConfigurationError, EmbeddedServerError
from africare_data.models import Booking, BookingStatus, EventType, Example, Post, User

__all__ = [
    "AfricareDataError",
    "Base",
    "Booking",
    "BookingStatus",
    "ConfigurationError",
    "EmbeddedServerError",
    "EventType",
    "Example",
    "Post",
    "Settings",
    "User",
    "__version__",
    "async_session_maker",
    "create_db_and_tables",
    "engine",
    "get_session",
    "make_engine",
    "make_session_maker",
    "scratch_database",
    "settings",
]

__version__ = "0.1.0"
