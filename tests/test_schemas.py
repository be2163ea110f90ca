"""The Pydantic schemas: field limits, the booking rules, and responses read from ORM objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from africare_data.models import Booking, BookingStatus, Example, Post, User
from africare_data.schemas import (
    BookingCreate,
    BookingResponse,
    EventTypeCreate,
    ExampleCreate,
    ExampleResponse,
    ExampleUpdate,
    PostCreate,
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
