"""Availability over HTTP: weekly hours, time off, free slots, event types, and refusals."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("fastapi")

from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data.database import make_session_maker
from africare_data.services import create_event_type

WEEK = {
    "time_zone": "Africa/Cairo",
    "valid_from": "2026-03-02",
    "rules": [
        {"weekday": 1, "start_local": "09:00", "end_local": "12:00"},
        {"weekday": 1, "start_local": "13:00", "end_local": "15:00"},
    ],
}
MONDAY_UTC = "2026-03-02T00:00:00Z"  # Cairo is UTC+2 in March: 09:00 local is 07:00 UTC


async def test_weekly_hours_round_trip(client: httpx.AsyncClient) -> None:
    put = await client.put("/practitioners/4/availability", json=WEEK)
    assert put.status_code == 200, put.text
    assert [(r["weekday"], r["start_local"], r["end_local"]) for r in put.json()] == [
        (1, "09:00:00", "12:00:00"),
        (1, "13:00:00", "15:00:00"),
    ]
    got = await client.get("/practitioners/4/availability", params={"on": "2026-03-02"})
    assert got.json() == put.json()
    before = await client.get("/practitioners/4/availability", params={"on": "2026-03-01"})
    assert before.json() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"rules": [{"weekday": 9, "start_local": "09:00", "end_local": "10:00"}]}, "weekday"),
        ({"rules": [{"weekday": 1, "start_local": "10:00", "end_local": "09:00"}]}, "end_local"),
    ],
)
async def test_bad_weekly_hours_are_422(
    client: httpx.AsyncClient, change: dict[str, object], field: str
) -> None:
    response = await client.put("/practitioners/4/availability", json={**WEEK, **change})
    assert response.status_code == 422, response.text
    assert field in response.text
    assert (await client.get("/practitioners/4/availability")).json() == []


async def test_free_slots_time_off_and_bookings(client: httpx.AsyncClient) -> None:
    await client.put("/practitioners/4/availability", json=WEEK)
    window = {"start": MONDAY_UTC, "end": "2026-03-03T00:00:00Z", "duration": 60, "step": 60}
    slots = (await client.get("/practitioners/4/free-slots", params=window)).json()
    assert [slot["start"] for slot in slots] == [
        "2026-03-02T07:00:00Z",
        "2026-03-02T08:00:00Z",
        "2026-03-02T09:00:00Z",
        "2026-03-02T11:00:00Z",
        "2026-03-02T12:00:00Z",
    ]
    off = await client.post(
        "/practitioners/4/time-off",
        json={"starts_at": "2026-03-02T11:00:00Z", "ends_at": "2026-03-02T13:00:00Z"},
    )
    assert off.status_code == 201, off.text
    assert off.json()["kind"] == "time_off"
    booking = {"practitioner_id": 4, "patient_id": 1}
    outside = await client.post(
        "/bookings/",
        json={**booking, "start_time": "2026-03-02T11:00:00Z", "end_time": "2026-03-02T11:30:00Z"},
    )
    assert outside.status_code == 409, outside.text
    assert "not available" in outside.json()["detail"]
    inside = await client.post(
        "/bookings/",
        json={**booking, "start_time": "2026-03-02T07:00:00Z", "end_time": "2026-03-02T08:00:00Z"},
    )
    assert inside.status_code == 201, inside.text
    slots = (await client.get("/practitioners/4/free-slots", params=window)).json()
    assert [slot["start"] for slot in slots] == ["2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"]
    listed = (await client.get("/practitioners/4/time-off")).json()
    assert [item["id"] for item in listed] == [off.json()["id"]]
    assert (await client.delete(f"/practitioners/5/time-off/{off.json()['id']}")).status_code == 404
    deleted = await client.delete(f"/practitioners/4/time-off/{off.json()['id']}")
    assert deleted.status_code == 204
    too_long = {**window, "end": "2026-12-31T00:00:00Z"}
    refused = await client.get("/practitioners/4/free-slots", params=too_long)
    assert refused.status_code == 422 and "at most 92 days" in refused.text


async def test_event_types_and_the_first_free_slot(
    client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    async with make_session_maker(committed_engine)() as db:  # no route creates event types
        event_type = (await create_event_type(db, "Consultation", 30)).id
    assert (await client.put("/practitioners/4/event-types", json=[event_type])).json() == [
        event_type
    ]
    missing = await client.put("/practitioners/4/event-types", json=[event_type + 100])
    assert missing.status_code == 404
    await client.put("/practitioners/4/availability", json=WEEK)
    first = await client.get(
        f"/event-types/{event_type}/first-free-slot", params={"after": MONDAY_UTC}
    )
    assert first.json() == {
        "practitioner_id": 4,
        "start": "2026-03-02T07:00:00Z",
        "end": "2026-03-02T07:30:00Z",
    }
