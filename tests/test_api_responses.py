"""Routes answering through ``api.responses.json_response`` send what FastAPI would have sent.

``POST /bookings/`` and ``GET /practitioners/{id}/bookings/`` build their body with pydantic
themselves; ``GET /bookings/{id}`` still returns its schema and lets FastAPI serialise it against
its response model. The same booking must come out as the same bytes, with the same headers,
either way, and match the documented schema.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data.api.deps import _session_engine
from africare_data.schemas import BookingResponse
from tests.test_api import HALF_HOUR, NINE, booking_body

# Times as pydantic writes them: ISO 8601 with seconds, microseconds only when there are some,
# UTC as "Z" (asyncpg returns timestamptz in UTC).
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


async def test_a_created_booking_is_the_bytes_fastapi_sends_for_it(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/bookings/", json=booking_body(NINE + timedelta(microseconds=5)))
    assert created.status_code == 201, created.text
    fetched = await client.get(f"/bookings/{created.json()['id']}")  # serialised by FastAPI

    assert created.content == fetched.content
    assert created.headers["content-type"] == fetched.headers["content-type"] == "application/json"
    assert int(created.headers["content-length"]) == len(created.content)
    body = created.json()
    assert BookingResponse.model_validate_json(created.content).model_dump(mode="json") == body
    assert body["start_time"] == "2026-03-02T09:00:00.000005Z"
    assert all(ISO_UTC.match(body[name]) for name in ("end_time", "created_at")), body


async def test_an_agenda_is_the_bytes_fastapi_sends_for_its_bookings(
    client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    ids = []
    for n in (2, 0, 1):
        response = await client.post("/bookings/", json=booking_body(NINE + n * HALF_HOUR))
        ids.append(response.json()["id"])
    await client.post(f"/bookings/{ids[0]}/cancel", json={"reason": "moved"})
    async with committed_engine.begin() as connection:  # an update time with no microseconds
        await connection.execute(
            text("UPDATE bookings SET updated_at = :at WHERE id = :id"),
            {"at": datetime(2026, 3, 1, 12, tzinfo=UTC), "id": ids[0]},
        )

    listed = await client.get("/practitioners/1/bookings/")
    singles = [(await client.get(f"/bookings/{id_}")).content for id_ in (ids[1], ids[2], ids[0])]

    assert listed.status_code == 200
    assert listed.content == b"[" + b",".join(singles) + b"]"
    assert listed.headers["content-type"] == "application/json"
    assert listed.json()[2]["updated_at"] == "2026-03-01T12:00:00Z"
    empty = await client.get("/practitioners/2/bookings/")
    assert (empty.content, empty.headers["content-type"]) == (b"[]", "application/json")


async def test_routes_without_a_session_refuse_one_bound_to_a_connection() -> None:
    class Bound:
        bind = object()

    with pytest.raises(TypeError, match="bound to an engine"):
        await _session_engine(Bound())  # type: ignore[arg-type]
