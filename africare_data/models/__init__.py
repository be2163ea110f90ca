"""ORM models, one module per aggregate; importing this package completes ``Base.metadata``."""

from africare_data.models.availability import (
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
    PractitionerEventType,
)
from africare_data.models.base import Base
from africare_data.models.booking import Booking, BookingStatus, EventType
from africare_data.models.example import Example
from africare_data.models.user import Post, User

__all__ = [
    "AvailabilityException",
    "AvailabilityRule",
    "Base",
    "Booking",
    "BookingStatus",
    "EventType",
    "Example",
    "ExceptionKind",
    "Post",
    "PractitionerEventType",
    "User",
]
