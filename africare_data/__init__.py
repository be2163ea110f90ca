"""africare-data: a notebook-driven data toolkit for the AfriCare care platform.

Importing the package imports none of its modules: each public name below is loaded on first
access (``africare_data.frames`` with pandas and pyarrow only when a frame function is used), and
settings, engine and server come later still, at the first query. So ``import africare_data`` is
quick and cannot fail on a bad setting; the first use reports it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from africare_data.config import (
        Settings,
        get_settings,
        reload_settings,
        settings,
    )
    from africare_data.database import (
        Base,
        async_session_maker,
        create_db_and_tables,
        dispose_engine,
        engine,
        get_engine,
        get_session,
        get_session_maker,
        make_engine,
        make_session_maker,
        scratch_database,
    )
    from africare_data.errors import (
        AfricareDataError,
        AvailabilityConflictError,
        BookingConflictError,
        ConfigurationError,
        DatabaseUnavailableError,
        DuplicateEmailError,
        EmbeddedServerError,
        InvalidBookingError,
        InvalidInputError,
        InvalidTransitionError,
        NotFoundError,
        OutsideAvailabilityError,
        QueryError,
    )
    from africare_data.frames import (
        availability_frame,
        bookings_frame,
        bookings_per_day,
        capacity_by_weekday_hour,
        event_types_frame,
        examples_frame,
        iter_bookings_frames,
        posts_frame,
        practitioner_summary,
        read_frame,
        users_frame,
        utilisation_frame,
        weekday_hour_counts,
    )
    from africare_data.models import (
        AvailabilityException,
        AvailabilityRule,
        Booking,
        BookingStatus,
        EventType,
        Example,
        ExceptionKind,
        Post,
        PractitionerEventType,
        User,
    )
    from africare_data.schemas import (
        BookingCreate,
        BookingResponse,
        EventTypeCreate,
        EventTypeResponse,
        ExampleCreate,
        ExampleResponse,
        ExampleUpdate,
        PostCreate,
        PostResponse,
        TimeSlot,
        UserCreate,
        UserResponse,
        UserWithPosts,
    )
    from africare_data.services import (
        BookingService,
        add_extra_availability,
        add_time_off,
        create_event_type,
        create_example,
        create_post,
        create_user,
        delete_example,
        find_first_free_slot,
        find_users_by_email,
        get_availability_exceptions,
        get_event_type,
        get_event_types,
        get_example,
        get_examples,
        get_offered_event_types,
        get_user,
        get_user_with_posts,
        get_weekly_availability,
        remove_time_off,
        set_offered_event_types,
        set_weekly_availability,
        update_example,
    )
    from africare_data.synthetic import (
        generate_bookings,
        load_bookings,
    )

__all__ = [
    "AfricareDataError",
    "AvailabilityConflictError",
    "AvailabilityException",
    "AvailabilityRule",
    "Base",
    "Booking",
    "BookingConflictError",
    "BookingCreate",
    "BookingResponse",
    "BookingService",
    "BookingStatus",
    "ConfigurationError",
    "DatabaseUnavailableError",
    "DuplicateEmailError",
    "EmbeddedServerError",
    "EventType",
    "EventTypeCreate",
    "EventTypeResponse",
    "Example",
    "ExampleCreate",
    "ExampleResponse",
    "ExampleUpdate",
    "ExceptionKind",
    "InvalidBookingError",
    "InvalidInputError",
    "InvalidTransitionError",
    "NotFoundError",
    "OutsideAvailabilityError",
    "Post",
    "PostCreate",
    "PostResponse",
    "PractitionerEventType",
    "QueryError",
    "Settings",
    "TimeSlot",
    "User",
    "UserCreate",
    "UserResponse",
    "UserWithPosts",
    "__version__",
    "add_extra_availability",
    "add_time_off",
    "async_session_maker",
    "availability_frame",
    "bookings_frame",
    "bookings_per_day",
    "capacity_by_weekday_hour",
    "create_db_and_tables",
    "create_event_type",
    "create_example",
    "create_post",
    "create_user",
    "delete_example",
    "dispose_engine",
    "engine",
    "event_types_frame",
    "examples_frame",
    "find_first_free_slot",
    "find_users_by_email",
    "generate_bookings",
    "get_availability_exceptions",
    "get_engine",
    "get_event_type",
    "get_event_types",
    "get_example",
    "get_examples",
    "get_offered_event_types",
    "get_session",
    "get_session_maker",
    "get_settings",
    "get_user",
    "get_user_with_posts",
    "get_weekly_availability",
    "iter_bookings_frames",
    "load_bookings",
    "make_engine",
    "make_session_maker",
    "posts_frame",
    "practitioner_summary",
    "read_frame",
    "reload_settings",
    "remove_time_off",
    "scratch_database",
    "set_offered_event_types",
    "set_weekly_availability",
    "settings",
    "update_example",
    "users_frame",
    "utilisation_frame",
    "weekday_hour_counts",
]

__version__ = "0.1.0"

# Where each public name lives; the module is imported when the name is first used.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "africare_data.config": (
        "Settings",
        "get_settings",
        "reload_settings",
        "settings",
    ),
    "africare_data.database": (
        "Base",
        "async_session_maker",
        "create_db_and_tables",
        "dispose_engine",
        "engine",
        "get_engine",
        "get_session",
        "get_session_maker",
        "make_engine",
        "make_session_maker",
        "scratch_database",
    ),
    "africare_data.errors": (
        "AfricareDataError",
        "AvailabilityConflictError",
        "BookingConflictError",
        "ConfigurationError",
        "DatabaseUnavailableError",
        "DuplicateEmailError",
        "EmbeddedServerError",
        "InvalidBookingError",
        "InvalidInputError",
        "InvalidTransitionError",
        "NotFoundError",
        "OutsideAvailabilityError",
        "QueryError",
    ),
    "africare_data.frames": (
        "availability_frame",
        "bookings_frame",
        "bookings_per_day",
        "capacity_by_weekday_hour",
        "event_types_frame",
        "examples_frame",
        "iter_bookings_frames",
        "posts_frame",
        "practitioner_summary",
        "read_frame",
        "users_frame",
        "utilisation_frame",
        "weekday_hour_counts",
    ),
    "africare_data.models": (
        "AvailabilityException",
        "AvailabilityRule",
        "Booking",
        "BookingStatus",
        "EventType",
        "Example",
        "ExceptionKind",
        "Post",
        "PractitionerEventType",
        "User",
    ),
    "africare_data.schemas": (
        "BookingCreate",
        "BookingResponse",
        "EventTypeCreate",
        "EventTypeResponse",
        "ExampleCreate",
        "ExampleResponse",
        "ExampleUpdate",
        "PostCreate",
        "PostResponse",
        "TimeSlot",
        "UserCreate",
        "UserResponse",
        "UserWithPosts",
    ),
    "africare_data.services": (
        "BookingService",
        "add_extra_availability",
        "add_time_off",
        "create_event_type",
        "create_example",
        "create_post",
        "create_user",
        "delete_example",
        "find_first_free_slot",
        "find_users_by_email",
        "get_availability_exceptions",
        "get_event_type",
        "get_event_types",
        "get_example",
        "get_examples",
        "get_offered_event_types",
        "get_user",
        "get_user_with_posts",
        "get_weekly_availability",
        "remove_time_off",
        "set_offered_event_types",
        "set_weekly_availability",
        "update_example",
    ),
    "africare_data.synthetic": (
        "generate_bookings",
        "load_bookings",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first access (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext africare_data``: the ``%sql`` magics and short toolkit errors in IPython.

    An IPython hook rather than a public name; it imports IPython and pandas only when called.
    """
    from africare_data.ipython import register

    register(ipython)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
