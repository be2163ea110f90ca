"""Pydantic v2 schemas: the typed inputs and outputs of the services, separate from the ORM models.

Families follow one pattern (``XCreate`` / ``XUpdate`` / ``XResponse``); every response has
``from_attributes=True``, so ``XResponse.model_validate(orm_object)`` works.
"""

from africare_data.schemas.availability import (
    AvailabilityExceptionCreate,
    AvailabilityExceptionResponse,
    AvailabilityRuleCreate,
    AvailabilityRuleResponse,
    PractitionerSlot,
    TimeZoneName,
    Weekday,
    WeeklyAvailabilityUpdate,
)
from africare_data.schemas.booking import (
    MAX_BOOKING_DURATION,
    BookingCancel,
    BookingCreate,
    BookingResponse,
    EventTypeCreate,
    EventTypeResponse,
    TimeSlot,
)
from africare_data.schemas.example import (
    ExampleBase,
    ExampleCreate,
    ExampleResponse,
    ExampleUpdate,
)
from africare_data.schemas.page import MAX_OFFSET, MAX_PAGE_SIZE, Page
from africare_data.schemas.types import Id, Integer, StorableText, Timestamp
from africare_data.schemas.user import (
    PostCreate,
    PostResponse,
    UserCreate,
    UserResponse,
    UserWithPosts,
)

__all__ = [
    "MAX_BOOKING_DURATION",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "AvailabilityExceptionCreate",
    "AvailabilityExceptionResponse",
    "AvailabilityRuleCreate",
    "AvailabilityRuleResponse",
    "BookingCancel",
    "BookingCreate",
    "BookingResponse",
    "EventTypeCreate",
    "EventTypeResponse",
    "ExampleBase",
    "ExampleCreate",
    "ExampleResponse",
    "ExampleUpdate",
    "Id",
    "Integer",
    "Page",
    "PostCreate",
    "PostResponse",
    "PractitionerSlot",
    "StorableText",
    "TimeSlot",
    "TimeZoneName",
    "Timestamp",
    "UserCreate",
    "UserResponse",
    "UserWithPosts",
    "Weekday",
    "WeeklyAvailabilityUpdate",
]
