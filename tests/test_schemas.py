"""The Pydantic schemas: field limits, the booking rules, and responses read from ORM objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from africare_data.models import Booking, BookingStatus, Example, Post, User
from africare_data.schemas import (
    BookingCancel,
    BookingCreate,
    BookingResponse,
    EventTypeCreate,
    ExampleCreate,
    ExampleResponse,
    ExampleUpdate,
    Id,
    Integer,
    Page,
    PostCreate,
    StorableText,
    Timestamp,
    UserCreate,
    UserWithPosts,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def booking(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "practitioner_id": 1,
        "patient_id": 2,
        "start_time": NINE,
        "end_time": NINE + timedelta(minutes=30),
    }
    data.update(overrides)
    return data


def test_example_create_keeps_the_seed_limits() -> None:
    assert ExampleCreate(name="n" * 255, description="d" * 1000).name == "n" * 255
    with pytest.raises(ValidationError, match="name"):
        ExampleCreate(name="n" * 256)
    with pytest.raises(ValidationError, match="description"):
        ExampleCreate(name="n", description="d" * 1001)
    with pytest.raises(ValidationError, match="name"):
        ExampleCreate(name="")


def test_example_update_is_all_optional() -> None:
    assert ExampleUpdate().model_dump(exclude_unset=True) == {}
    assert ExampleUpdate(description="x").model_dump(exclude_unset=True) == {"description": "x"}
    with pytest.raises(ValidationError, match="name"):
        ExampleUpdate(name="n" * 256)


def test_example_response_reads_an_orm_object() -> None:
    orm = Example(id=3, name="n", description=None, created_at=CREATED, updated_at=None)
    response = ExampleResponse.model_validate(orm)
    assert response.model_dump() == {
        "name": "n",
        "description": None,
        "id": 3,
        "created_at": CREATED,
        "updated_at": None,
    }


def test_user_with_posts_reads_loaded_posts() -> None:
    user = User(id=1, name="Ada", email="ada@example.org", created_at=CREATED)
    user.posts = [Post(id=5, title="t", content="c", author_id=1)]
    response = UserWithPosts.model_validate(user)
    assert [post.id for post in response.posts] == [5]


@pytest.mark.parametrize("email", ["no-at-sign", "a@b", "a b@c.org", "@example.org"])
def test_user_create_refuses_malformed_emails(email: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        UserCreate(name="Ada", email=email)


def test_post_create_needs_a_positive_author() -> None:
    assert PostCreate(title="t", content="c", author_id=1).author_id == 1
    with pytest.raises(ValidationError, match="author_id"):
        PostCreate(title="t", content="c", author_id=0)


def test_event_type_duration_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="duration_minutes"):
        EventTypeCreate(name="Consultation", duration_minutes=0)


def test_booking_create_accepts_any_timezone() -> None:
    lagos = timezone(timedelta(hours=1))
    created = BookingCreate(**booking(start_time=NINE.astimezone(lagos)))  # type: ignore[arg-type]
    assert created.start_time == NINE


def test_booking_of_exactly_a_day_is_allowed() -> None:
    BookingCreate(**booking(end_time=NINE + timedelta(hours=24)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"start_time": NINE.replace(tzinfo=None)}, "start_time", "timezone"),
        ({"end_time": NINE.replace(tzinfo=None)}, "end_time", "timezone"),
        ({"end_time": NINE}, "end_time", "must be after start_time"),
        ({"end_time": NINE - timedelta(minutes=5)}, "end_time", "must be after start_time"),
        ({"end_time": NINE + timedelta(hours=24, seconds=1)}, "end_time", "at most 1 day"),
        ({"practitioner_id": 0}, "practitioner_id", "greater than 0"),
        ({"patient_id": -3}, "patient_id", "greater than 0"),
        ({"event_type_id": 0}, "event_type_id", "greater than 0"),
    ],
    ids=[
        "naive-start",
        "naive-end",
        "empty",
        "end-before-start",
        "longer-than-a-day",
        "practitioner-zero",
        "patient-negative",
        "event-type-zero",
    ],
)
def test_booking_create_refuses(overrides: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BookingCreate(**booking(**overrides))  # type: ignore[arg-type]
    message = str(caught.value)
    assert field in message
    assert reason in message


def test_booking_response_reads_an_orm_booking() -> None:
    orm = Booking(
        id=1,
        practitioner_id=1,
        patient_id=2,
        event_type_id=None,
        start_time=NINE,
        end_time=NINE + timedelta(minutes=30),
        status=BookingStatus.CANCELLED,
        created_at=CREATED,
        updated_at=None,
        cancelled_at=CREATED,
        cancellation_reason="ill",
    )
    response = BookingResponse.model_validate(orm)
    assert response.status is BookingStatus.CANCELLED
    assert response.cancellation_reason == "ill"
    assert response.model_dump(mode="json")["status"] == "cancelled"


# --- the shared input types (schemas.types) --------------------------------------------------

ID = TypeAdapter(Id)
INTEGER = TypeAdapter(Integer)
TEXT = TypeAdapter(StorableText)
TIMESTAMP = TypeAdapter(Timestamp)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "not a boolean"),
        (False, "not a boolean"),
        ("1", "valid integer"),
        (1.5, "valid integer"),
        (0, "greater than 0"),
        (2**31, "less than or equal to 2147483647"),
        (2**63, "less than or equal to 2147483647"),
    ],
)
def test_id_refuses_what_is_not_an_id(value: object, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ID.validate_python(value)


def test_id_and_integer_accept_integers_of_other_libraries() -> None:
    assert ID.validate_python(np.int64(7)) == 7
    assert ID.validate_json("7.0") == 7  # JSON Schema counts 7.0 as an integer
    assert type(ID.validate_python(np.int32(7))) is int
    assert INTEGER.validate_python(-(2**70)) == -(2**70)
    with pytest.raises(ValidationError, match="valid integer"):
        INTEGER.validate_python(np.bool_(True))  # numpy's bool is no Integral: refused as well
    assert ID.validate_json("7") == 7
    with pytest.raises(ValidationError, match="not a boolean"):
        ID.validate_json("true")


def test_storable_text_refuses_nul_only() -> None:
    assert TEXT.validate_python("tab\there, é, 😀") == "tab\there, é, 😀"
    with pytest.raises(ValidationError, match="pattern"):
        TEXT.validate_python("a\x00b")
    with pytest.raises(ValidationError, match="unicode"):
        TEXT.validate_python("\ud800")  # a lone surrogate cannot be encoded either


@pytest.mark.parametrize(
    "value",
    [1, 1.5, Decimal(1), True, "1", "1.5", "-1", "1e9", "now", ""],
)
def test_timestamp_refuses_numbers(value: object) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        TIMESTAMP.validate_python(value)


def test_timestamp_wants_a_timezone_and_a_moment_utc_can_express() -> None:
    assert TIMESTAMP.validate_python("2026-03-02T09:00:00+01:00") == NINE - timedelta(hours=1)
    assert TIMESTAMP.validate_python(NINE) == NINE
    with pytest.raises(ValidationError, match="timezone"):
        TIMESTAMP.validate_python("2026-03-02T09:00:00")
    lagos = timezone(timedelta(hours=1))
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        TIMESTAMP.validate_python(datetime(1, 1, 1, tzinfo=lagos))


def test_page_reads_query_strings_but_not_booleans() -> None:
    assert Page.model_validate({"limit": "5", "offset": "10"}) == Page(limit=5, offset=10)
    assert Page() == Page(limit=100, offset=0)
    for field, value in [("limit", True), ("limit", 1001), ("offset", -1), ("offset", 2**63)]:
        with pytest.raises(ValidationError, match=field):
            Page.model_validate({field: value})


@pytest.mark.parametrize(
    ("schema", "data", "field"),
    [
        (ExampleCreate, {"name": "a\x00"}, "name"),
        (ExampleUpdate, {"description": "a\x00"}, "description"),
        (UserCreate, {"name": "Ada", "email": "a\x00@b.org"}, "email"),
        (PostCreate, {"title": "t", "content": "c", "author_id": True}, "author_id"),
        (EventTypeCreate, {"name": "x", "duration_minutes": True}, "duration_minutes"),
        (EventTypeCreate, {"name": "x", "duration_minutes": "30"}, "duration_minutes"),
        (BookingCancel, {"reason": "a\x00"}, "reason"),
        (BookingCreate, booking(start_time=1), "start_time"),
        (BookingCreate, booking(practitioner_id=True), "practitioner_id"),
    ],
)
def test_schemas_use_the_shared_types(
    schema: type[BaseModel], data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        schema.model_validate(data)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
