"""The toolkit's exception hierarchy, and the one place that translates database errors into it.

Every error the toolkit raises on purpose derives from :class:`AfricareDataError`, so a caller can
catch the whole family with one ``except`` and a notebook shows a message instead of a driver
traceback.

PostgreSQL enforces the rules that must hold under concurrency (no overlapping bookings, unique
e-mail addresses, ...). When one fires, :func:`translate_integrity_errors` recognises it by its
SQLSTATE and the constraint's stable name (see ``models.base.NAMING_CONVENTION``) and raises the
matching domain error, so a raw ``IntegrityError`` never reaches a caller for a case we know. It is
the one translation: the caller passes what it was writing (ids, the e-mail address) in, and a
booking conflict is described from the error itself (the rule names both bookings, see
``docs/architecture.md``), never by querying again after the failure.

This module is a leaf: it imports nothing from the rest of the toolkit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, IntegrityError

__all__ = [
    "AfricareDataError",
    "AvailabilityConflictError",
    "BookingConflictError",
    "ConfigurationError",
    "ConstraintViolationError",
    "DatabaseUnavailableError",
    "DuplicateEmailError",
    "EmbeddedServerError",
    "InvalidBookingError",
    "InvalidInputError",
    "InvalidTransitionError",
    "NotFoundError",
    "OutsideAvailabilityError",
    "QueryError",
    "UniqueViolationError",
    "constraint_name",
    "sqlstate",
    "translate_integrity_errors",
]

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
CHECK_VIOLATION = "23514"
FOREIGN_KEY_VIOLATION = "23503"


class AfricareDataError(Exception):
    """Root of every error the toolkit raises deliberately."""


class ConfigurationError(AfricareDataError, ValueError):
    """A setting (environment variable or ``.env`` entry) has a value the toolkit cannot use."""


class DatabaseUnavailableError(AfricareDataError, ConnectionError):
    """The database server could not be reached or refused the connection.

    The message names the server and database (never the password), why the connection failed and
    what to do about it.
    """


class EmbeddedServerError(AfricareDataError, RuntimeError):
    """The embedded PostgreSQL server could not be initialised, started or stopped.

    The message names the data directory and the server's log file, which says why.
    """


class NotFoundError(AfricareDataError, LookupError):
    """A row the caller named (directly or through a reference) does not exist."""

    def __init__(self, entity: str, identifier: object = None, message: str | None = None):
        self.entity = entity
        self.identifier = identifier
        if message is None:
            message = (
                f"{entity} not found"
                if identifier is None
                else f"{entity} with id {identifier!r} not found"
            )
        super().__init__(message)


class InvalidInputError(AfricareDataError, ValueError):
    """Input refused before anything was written; the message names the field and the reason."""


class InvalidBookingError(InvalidInputError):
    """Bad times or ids given for a booking (naive datetimes, end not after start, ...)."""


class ConstraintViolationError(AfricareDataError):
    """A database constraint refused a write; ``constraint`` names it when PostgreSQL did."""

    def __init__(self, message: str, *, constraint: str | None = None):
        self.constraint = constraint
        super().__init__(message)


class UniqueViolationError(ConstraintViolationError):
    """A value that must be unique already exists."""


class DuplicateEmailError(UniqueViolationError):
    """A user with this e-mail address already exists."""

    def __init__(self, email: str | None = None, *, constraint: str | None = "ix_users_email"):
        self.email = email
        subject = "this e-mail address" if email is None else f"e-mail address {email!r}"
        super().__init__(f"a user with {subject} already exists", constraint=constraint)


class BookingConflictError(ConstraintViolationError):
    """The requested time overlaps a pending or confirmed booking of the same practitioner.

    ``conflicting_booking_id``, ``conflicting_start`` and ``conflicting_end`` describe the booking
    it collides with, as the no-overlap rule reported it; they are ``None`` when the error did not
    say (a rule older than the one the migrations install).
    """

    def __init__(
        self,
        conflicting_booking_id: int | None = None,
        conflicting_start: datetime | None = None,
        conflicting_end: datetime | None = None,
        *,
        practitioner_id: int | None = None,
    ):
        self.conflicting_booking_id = conflicting_booking_id
        self.conflicting_start = conflicting_start
        self.conflicting_end = conflicting_end
        self.practitioner_id = practitioner_id
        who = "the practitioner" if practitioner_id is None else f"practitioner {practitioner_id}"
        if conflicting_booking_id is None:
            message = f"the requested time overlaps an existing booking of {who}"
        else:
            message = (
                f"the requested time overlaps booking {conflicting_booking_id} of {who} "
                f"({_iso(conflicting_start)} to {_iso(conflicting_end)})"
            )
        super().__init__(message, constraint="ex_bookings_no_overlap")


class AvailabilityConflictError(ConstraintViolationError):
    """A weekly availability interval overlaps another of the same practitioner and weekday
    whose validity overlaps it (rule ``ex_availability_rules_no_overlap``)."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or "the availability interval overlaps another of the same practitioner and weekday "
            "in the same validity period; change or end that one first",
            constraint="ex_availability_rules_no_overlap",
        )


class OutsideAvailabilityError(AfricareDataError):
    """A booking was asked for a time the practitioner is not available (outside their weekly
    hours and extra hours, or in their time off). Practitioners with no availability recorded
    at all accept any time."""

    def __init__(self, practitioner_id: int, start: datetime, end: datetime):
        self.practitioner_id = practitioner_id
        self.start = start
        self.end = end
        super().__init__(
            f"practitioner {practitioner_id} is not available from {start.isoformat()} to "
            f"{end.isoformat()}; pick a time from their free slots"
        )


class QueryError(AfricareDataError):
    """PostgreSQL refused a SQL statement written by hand (the ``%sql`` magics).

    The message is PostgreSQL's own, followed by the statement's line with a caret under the
    position it names, so the mistake can be fixed without reading a driver traceback.
    """


class InvalidTransitionError(AfricareDataError):
    """A strict status change was asked for a booking whose status does not allow it."""

    def __init__(self, booking_id: int, current: str, target: str):
        self.booking_id = booking_id
        self.current = current
        self.target = target
        super().__init__(f"booking {booking_id} is {current} and cannot become {target}")


def _iso(moment: datetime | None) -> str:
    return "?" if moment is None else moment.isoformat()


def sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of the driver error under ``error`` (asyncpg and psycopg both expose it)."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


_CONSTRAINT_IN_MESSAGE = re.compile(r'constraint "([^"]+)"')

# The DETAIL of a no-overlap refusal: the booking the statement wrote, the one it overlaps, whose
# practitioner (africare_data.models.no_overlap), times in ISO 8601.
_CONFLICT_DETAIL = re.compile(
    r"Booking (?P<written>\d+) \[[^,]+, [^)]+\) overlaps booking (?P<hit>\d+) "
    r"\[(?P<start>[^,]+), (?P<end>[^)]+)\) of practitioner (?P<practitioner>\d+)\."
)


def constraint_name(error: IntegrityError) -> str | None:
    """The name of the constraint (or unique index) that ``error`` reports, if any."""
    name = _diagnostic(error, "constraint_name")
    if name is not None:
        return name
    match = _CONSTRAINT_IN_MESSAGE.search(str(error.orig))
    return match.group(1) if match else None


def _diagnostic(error: DBAPIError, field: str) -> str | None:
    """A field of the server's error report (``constraint_name``, ``detail``), either driver."""
    cause = getattr(error.orig, "__cause__", None)
    for candidate in (cause, error.orig):
        value = getattr(candidate, field, None)  # asyncpg
        if isinstance(value, str):
            return value
        psycopg_field = "message_detail" if field == "detail" else field
        value = getattr(getattr(candidate, "diag", None), psycopg_field, None)  # psycopg
        if isinstance(value, str):
            return value
    return None


def _booking_conflict(error: IntegrityError, context: dict[str, object]) -> BookingConflictError:
    """The conflict as the rule reported it: the booking in the way, its times, its practitioner."""
    match = _CONFLICT_DETAIL.search(_diagnostic(error, "detail") or "")
    practitioner = context.get("practitioner_id")
    if match is None:
        return BookingConflictError(
            practitioner_id=practitioner if isinstance(practitioner, int) else None
        )
    return BookingConflictError(
        int(match["hit"]),
        _moment(match["start"]),
        _moment(match["end"]),
        practitioner_id=int(match["practitioner"]),
    )


def _moment(text: str) -> datetime | None:
    """An ISO 8601 time from the server, in UTC; ``None`` for one Python cannot hold
    ('infinity', possible in rows written by raw SQL)."""
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


# Check constraints whose violation means the caller's input was bad.
_CHECK_MESSAGES: dict[str, tuple[type[InvalidInputError], str]] = {
    "ck_bookings_end_after_start": (InvalidBookingError, "end_time must be after start_time"),
    "ck_event_types_duration_positive": (
        InvalidInputError,
        "duration_minutes must be greater than 0",
    ),
    "ck_availability_rules_end_after_start": (
        InvalidInputError,
        "end_local must be after start_local (split an interval that crosses midnight in two)",
    ),
    "ck_availability_rules_weekday_range": (
        InvalidInputError,
        "weekday must be from 1 (Monday) to 7 (Sunday)",
    ),
    "ck_availability_rules_valid_until_after_valid_from": (
        InvalidInputError,
        "valid_until must not be before valid_from",
    ),
    "ck_availability_exceptions_ends_after_starts": (
        InvalidInputError,
        "ends_at must be after starts_at",
    ),
}

# Foreign keys whose violation means a referenced row is missing: constraint -> (entity, column).
_REFERENCES: dict[str, tuple[str, str]] = {
    "fk_posts_author_id_users": ("User", "author_id"),
    "fk_bookings_event_type_id_event_types": ("EventType", "event_type_id"),
    "fk_practitioner_event_types_event_type_id_event_types": ("EventType", "event_type_id"),
}


def _translated(error: IntegrityError, context: dict[str, object]) -> AfricareDataError | None:
    code, name = sqlstate(error), constraint_name(error)
    if code == EXCLUSION_VIOLATION and name == "ex_bookings_no_overlap":
        return _booking_conflict(error, context)
    if code == EXCLUSION_VIOLATION and name == "ex_availability_rules_no_overlap":
        return AvailabilityConflictError()
    if code == UNIQUE_VIOLATION:
        if name == "ix_users_email":
            email = context.get("email")
            return DuplicateEmailError(email if isinstance(email, str) else None)
        return UniqueViolationError(f"duplicate value refused by {name or 'a unique index'}")
    if code == CHECK_VIOLATION and name in _CHECK_MESSAGES:
        error_class, message = _CHECK_MESSAGES[name]
        return error_class(message)
    if code == FOREIGN_KEY_VIOLATION and name in _REFERENCES:
        entity, column = _REFERENCES[name]
        if context.get(column) is not None:
            return NotFoundError(entity, context[column])
        return NotFoundError(entity, message=f"the referenced {entity} does not exist")
    return None


@contextmanager
def translate_integrity_errors(**context: object) -> Iterator[None]:
    """Turn an ``IntegrityError`` raised inside the block into the matching domain error.

    ``context`` is what the block writes, by column name (``email="a@b.org"``,
    ``event_type_id=3``): the domain error names it (``EventType with id 3 not found``). Works
    around ``await`` expressions too (it is a plain ``with`` block). Violations of constraints
    this module does not know are re-raised unchanged, so nothing is hidden. The original error
    stays available as ``__cause__``.
    """
    try:
        yield
    except IntegrityError as error:
        domain_error = _translated(error, context)
        if domain_error is None:
            raise
        raise domain_error from error
