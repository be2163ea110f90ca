"""Bad input over HTTP: a 422 naming the field (never a 500), and nothing written.

Every text field gets a NUL character, every integer 2**63, every id ``true`` and every timestamp
a number; the same inputs through the Python services are in ``test_bad_input.py``. Also here:
the methods a path allows (``OPTIONS``, 405 with a complete ``Allow``), a body that cannot be
decoded (the documented 400), and ``end_time == start_time``, which the schema and the service
both refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.api import create_app
from africare_data.errors import InvalidBookingError
from africare_data.models import Base
from africare_data.schemas import BookingCreate
from africare_data.services import BookingService

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)
NUL = "a\x00b"
TOO_BIG = 2**63


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on the run's scratch database, holding one user and one booking."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        user = {"name": "Amina", "email": "amina@example.org"}
        assert (await http.post("/users/", json=user)).status_code == 201
        assert (await http.post("/examples/", json={"name": "kept"})).status_code == 201
        assert (await http.post("/bookings/", json=booking())).status_code == 201
        yield http


def booking(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "practitioner_id": 1,
        "patient_id": 2,
        "start_time": NINE.isoformat(),
        "end_time": (NINE + HALF_HOUR).isoformat(),
    }
    body.update(overrides)
    return body


def later_booking(**overrides: Any) -> dict[str, Any]:
    """A booking that would not overlap the fixture's, so only the bad field can refuse it."""
    start = NINE + timedelta(hours=2)
    times = {"start_time": start.isoformat(), "end_time": (start + HALF_HOUR).isoformat()}
    return booking(**{**times, **overrides})


POST = "POST"
REFUSED = [
    # A NUL in every text field.
    pytest.param(POST, "/examples/", None, {"name": NUL}, "name", id="example-name-nul"),
    pytest.param(
        POST, "/examples/", None, {"name": "x", "description": NUL}, "description", id="desc-nul"
    ),
    pytest.param("PATCH", "/examples/1", None, {"name": NUL}, "name", id="patch-name-nul"),
    pytest.param(
        "PATCH", "/examples/1", None, {"description": NUL}, "description", id="patch-desc-nul"
    ),
    pytest.param(POST, "/users/", None, {"name": NUL, "email": "b@c.org"}, "name", id="user-nul"),
    pytest.param(
        POST, "/users/", None, {"name": "B", "email": "b\x00@c.org"}, "email", id="email-nul"
    ),
    pytest.param(
        POST, "/posts/", None, {"author_id": 1, "title": NUL, "content": "c"}, "title", id="title"
    ),
    pytest.param(
        POST, "/posts/", None, {"author_id": 1, "title": "t", "content": NUL}, "content", id="body"
    ),
    pytest.param(POST, "/bookings/1/cancel", None, {"reason": NUL}, "reason", id="reason-nul"),
    # Integers beyond PostgreSQL's range.
    pytest.param("GET", "/examples/", {"offset": TOO_BIG}, None, "offset", id="offset-big"),
    pytest.param("GET", "/examples/", {"limit": TOO_BIG}, None, "limit", id="limit-big"),
    pytest.param(
        POST, "/bookings/", None, later_booking(practitioner_id=TOO_BIG), "practitioner_id", id="p"
    ),
    pytest.param(
        POST, "/bookings/", None, later_booking(patient_id=TOO_BIG), "patient_id", id="patient-big"
    ),
    pytest.param(
        POST, "/bookings/", None, later_booking(event_type_id=TOO_BIG), "event_type_id", id="et"
    ),
    pytest.param(
        POST,
        "/posts/",
        None,
        {"author_id": TOO_BIG, "title": "t", "content": "c"},
        "author_id",
        id="author-big",
    ),
    # Booleans are not ids (nor counts).
    pytest.param(
        POST, "/bookings/", None, later_booking(practitioner_id=True), "practitioner_id", id="pt"
    ),
    pytest.param(
        POST, "/bookings/", None, later_booking(patient_id=True), "patient_id", id="patient-true"
    ),
    pytest.param(
        POST, "/bookings/", None, later_booking(event_type_id=True), "event_type_id", id="ett"
    ),
    pytest.param(
        POST,
        "/posts/",
        None,
        {"author_id": True, "title": "t", "content": "c"},
        "author_id",
        id="author-true",
    ),
    pytest.param("GET", "/examples/", {"limit": "true"}, None, "limit", id="limit-true"),
    pytest.param("GET", "/examples/true", None, None, "example_id", id="path-id-true"),
    # Ids of the wrong JSON type.
    pytest.param(
        POST, "/bookings/", None, later_booking(practitioner_id="1"), "practitioner_id", id="ps"
    ),
    pytest.param(
        POST, "/bookings/", None, later_booking(practitioner_id=1.5), "practitioner_id", id="pf"
    ),
    # Numbers are not timestamps.
    pytest.param(
        POST, "/bookings/", None, booking(start_time=1, end_time=2), "start_time", id="numbers"
    ),
    pytest.param(
        POST, "/bookings/", None, booking(start_time="1", end_time="2"), "start_time", id="strings"
    ),
    pytest.param(
        "GET", "/practitioners/1/bookings/", {"start": "0.5"}, None, "start", id="query-number"
    ),
    # The same moment for start and end: the schema refuses it, as the service does.
    pytest.param(
        POST,
        "/bookings/",
        None,
        later_booking(end_time=(NINE + timedelta(hours=2)).isoformat()),
        "body",
        id="end-equals-start",
    ),
]


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table.name: await connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


async def table_rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        rows: list[tuple[Any, ...]] = []
        for table in Base.metadata.sorted_tables:
            result = await connection.execute(select(table).order_by(*table.primary_key.columns))
            rows.extend(tuple(row) for row in result)
        return rows


@pytest.mark.parametrize(("method", "url", "params", "body", "field"), REFUSED)
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    committed_engine: AsyncEngine,
    method: str,
    url: str,
    params: dict[str, Any] | None,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    before = await table_rows(committed_engine)
    response = await client.request(method, url, params=params, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert field in {str(part) for error in errors for part in error["loc"]}, errors
    assert await table_rows(committed_engine) == before


async def test_end_equal_to_start_is_refused_by_schema_service_and_api_alike(
    session: AsyncSession,
) -> None:
    with pytest.raises(ValueError, match=r"end_time .* must be after start_time"):
        BookingCreate(practitioner_id=1, patient_id=2, start_time=NINE, end_time=NINE)
    with pytest.raises(InvalidBookingError, match=r"end_time .* must be after start_time"):
        await BookingService.create_booking(session, 1, 2, NINE, NINE)
    # The OpenAPI document says so where JSON Schema can: end_time's description.
    schema = create_app().openapi()["components"]["schemas"]["BookingCreate"]
    assert "after start_time" in schema["properties"]["end_time"]["description"]


# --- what the OpenAPI document states --------------------------------------------------------


def test_the_openapi_document_states_the_input_rules() -> None:
    schemas = create_app().openapi()["components"]["schemas"]
    nul_free = "^[^\\x00]*$"
    assert schemas["ExampleCreate"]["properties"]["name"]["pattern"] == nul_free
    assert schemas["BookingCancel"]["properties"]["reason"]["anyOf"][0]["pattern"] == nul_free
    assert "\\x00-\\x20" in schemas["UserCreate"]["properties"]["email"]["pattern"]
    practitioner = schemas["BookingCreate"]["properties"]["practitioner_id"]
    assert practitioner["type"] == "integer"
    assert practitioner["maximum"] == 2**31 - 1
    parameters = create_app().openapi()["paths"]["/examples/"]["get"]["parameters"]
    offset = next(parameter for parameter in parameters if parameter["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**63 - 1


# --- malformed bodies and methods ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status"),
    [
        pytest.param(b"{bad", 422, id="not-json"),
        pytest.param(b'{"name": "\xc3\x28"}', 400, id="not-utf-8"),
    ],
)
async def test_a_malformed_body_gets_a_documented_refusal(
    client: httpx.AsyncClient, committed_engine: AsyncEngine, content: bytes, status: int
) -> None:
    before = await row_counts(committed_engine)
    response = await client.post(
        "/examples/", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    documented = create_app().openapi()["paths"]["/examples/"]["post"]["responses"]
    assert str(status) in documented
    assert await row_counts(committed_engine) == before


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/examples/", "GET, OPTIONS, POST"),
        ("/examples/1", "DELETE, GET, OPTIONS, PATCH"),
        ("/bookings/1/cancel", "OPTIONS, POST"),
    ],
)
async def test_options_and_unsupported_methods_list_every_allowed_method(
    client: httpx.AsyncClient, url: str, allowed: str
) -> None:
    options = await client.options(url)
    assert options.status_code == 204
    assert options.headers["allow"] == allowed
    unsupported = await client.put(url, json={})
    assert unsupported.status_code == 405
    assert unsupported.headers["allow"] == allowed
    assert unsupported.json() == {"detail": "Method Not Allowed"}


async def test_other_http_errors_keep_fastapis_answer(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no/such/path")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    assert (await client.options("/no/such/path")).status_code == 404
