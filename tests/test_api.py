"""The web API (``africare_data.api``) over HTTP, against the run's real database.

Requests go through ``httpx.AsyncClient`` on an ``ASGITransport`` (no socket); ``get_session`` is
overridden to hand each request its own session on the scratch database, and the routes really
commit, so the tests use ``committed_engine`` (tables emptied after each test).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from africare_data import cli
from africare_data.api import create_app
from africare_data.errors import (
    BookingConflictError,
    DuplicateEmailError,
    InvalidBookingError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def booking_body(
    start: datetime = NINE,
    end: datetime | None = None,
    practitioner_id: int = 1,
    patient_id: int = 10,
    **extra: Any,
) -> dict[str, Any]:
    end = start + HALF_HOUR if end is None else end
    return {
        "practitioner_id": practitioner_id,
        "patient_id": patient_id,
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        **extra,
    }


# --- examples -------------------------------------------------------------------------------


async def test_example_crud(client: httpx.AsyncClient) -> None:
    created = await client.post("/examples/", json={"name": "Malaria screening"})
    assert created.status_code == 201, created.text
    example = created.json()
    assert example["name"] == "Malaria screening"
    assert example["description"] is None
    assert example["updated_at"] is None

    fetched = await client.get(f"/examples/{example['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == example

    patched = await client.patch(f"/examples/{example['id']}", json={"description": "rapid"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Malaria screening"  # fields left out keep their value
    assert patched.json()["description"] == "rapid"
    assert patched.json()["updated_at"] is not None

    deleted = await client.delete(f"/examples/{example['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await client.get(f"/examples/{example['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Example not found"}


async def test_examples_page_with_limit_and_offset(client: httpx.AsyncClient) -> None:
    for name in ("a", "b", "c", "d"):
        assert (await client.post("/examples/", json={"name": name})).status_code == 201
    everything = await client.get("/examples/")
    assert [item["name"] for item in everything.json()] == ["a", "b", "c", "d"]
    page = await client.get("/examples/", params={"limit": 2, "offset": 1})
    assert page.status_code == 200
    assert [item["name"] for item in page.json()] == ["b", "c"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/examples/999", None),
        ("PATCH", "/examples/999", {"name": "x"}),
        ("DELETE", "/examples/999", None),
    ],
)
async def test_unknown_example_is_404(
    client: httpx.AsyncClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(method, url, json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "Example not found"}


@pytest.mark.parametrize(
    ("method", "url", "params", "body"),
    [
        ("POST", "/examples/", None, {"name": ""}),
        ("POST", "/examples/", None, {"description": "no name"}),
        ("PATCH", "/examples/1", None, {"name": "x" * 256}),
        ("GET", "/examples/", {"limit": 1001}, None),
        ("GET", "/examples/", {"offset": -1}, None),
        ("GET", "/examples/not-a-number", None, None),
    ],
)
async def test_bad_example_input_is_422(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: dict[str, Any] | None,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(method, url, params=params, json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


# --- users and posts ------------------------------------------------------------------------


async def test_user_with_posts(client: httpx.AsyncClient) -> None:
    created = await client.post("/users/", json={"name": "Amina", "email": "amina@example.org"})
    assert created.status_code == 201, created.text
    user = created.json()
    for title in ("First", "Second"):
        post = await client.post(
            "/posts/", json={"author_id": user["id"], "title": title, "content": "..."}
        )
        assert post.status_code == 201, post.text
        assert post.json()["author_id"] == user["id"]

    fetched = await client.get(f"/users/{user['id']}")
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["email"] == "amina@example.org"
    assert [post["title"] for post in body["posts"]] == ["First", "Second"]


async def test_user_errors(client: httpx.AsyncClient) -> None:
    user = {"name": "Amina", "email": "amina@example.org"}
    assert (await client.post("/users/", json=user)).status_code == 201

    duplicate = await client.post("/users/", json=user)
    assert duplicate.status_code == 409
    assert "amina@example.org" in duplicate.json()["detail"]

    assert (await client.post("/users/", json={"name": "B", "email": "nope"})).status_code == 422

    missing = await client.get("/users/999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}

    orphan = await client.post("/posts/", json={"author_id": 999, "title": "t", "content": "c"})
    assert orphan.status_code == 404
    assert "User" in orphan.json()["detail"]


# --- bookings -------------------------------------------------------------------------------


async def test_booking_lifecycle(client: httpx.AsyncClient) -> None:
    created = await client.post("/bookings/", json=booking_body())
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "pending"
    assert datetime.fromisoformat(booking["start_time"]) == NINE

    assert (await client.get(f"/bookings/{booking['id']}")).json() == booking

    confirmed = await client.post(f"/bookings/{booking['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    again = await client.post(f"/bookings/{booking['id']}/confirm")
    assert again.status_code == 404
    assert again.json() == {"detail": "Booking not found or cannot be confirmed"}

    cancelled = await client.post(
        f"/bookings/{booking['id']}/cancel", json={"reason": "patient travelling"}
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "patient travelling"
    assert cancelled.json()["cancelled_at"] is not None
    twice = await client.post(f"/bookings/{booking['id']}/cancel")
    assert twice.status_code == 404
    assert twice.json() == {"detail": "Booking not found or cannot be cancelled"}

    # The cancelled booking freed its slot.
    assert (await client.post("/bookings/", json=booking_body())).status_code == 201


async def test_unknown_booking_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/bookings/999")).json() == {"detail": "Booking not found"}
    confirm = await client.post("/bookings/999/confirm")
    assert confirm.status_code == 404
    assert confirm.json() == {"detail": "Booking not found or cannot be confirmed"}
    cancel = await client.post("/bookings/999/cancel")
    assert cancel.status_code == 404
    unknown_type = await client.post("/bookings/", json=booking_body(event_type_id=999))
    assert unknown_type.status_code == 404
    assert "EventType" in unknown_type.json()["detail"]


async def test_overlap_is_409_naming_the_booking_in_the_way(client: httpx.AsyncClient) -> None:
    first = (await client.post("/bookings/", json=booking_body())).json()
    overlapping = await client.post(
        "/bookings/", json=booking_body(NINE + timedelta(minutes=15), patient_id=11)
    )
    assert overlapping.status_code == 409
    body = overlapping.json()
    assert "overlaps" in body["detail"]
    conflict = body["conflicting_booking"]
    assert conflict["id"] == first["id"]
    assert conflict["practitioner_id"] == 1
    assert datetime.fromisoformat(conflict["start_time"]) == NINE
    assert datetime.fromisoformat(conflict["end_time"]) == NINE + HALF_HOUR
    # Back to back is not an overlap, nor is another practitioner at the same time.
    assert (await client.post("/bookings/", json=booking_body(NINE + HALF_HOUR))).status_code == 201
    other = booking_body(practitioner_id=2)
    assert (await client.post("/bookings/", json=other)).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(booking_body(NINE.replace(tzinfo=None)), id="naive"),
        pytest.param(booking_body(NINE, NINE), id="empty"),
        pytest.param(booking_body(NINE, NINE - HALF_HOUR), id="end-before-start"),
        pytest.param(booking_body(NINE, NINE + timedelta(hours=25)), id="longer-than-a-day"),
        pytest.param(booking_body(practitioner_id=0), id="bad-id"),
        pytest.param({"practitioner_id": 1}, id="incomplete"),
    ],
)
async def test_bad_booking_is_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/bookings/", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert (await client.get("/practitioners/1/bookings/")).json() == []


async def test_practitioner_bookings(client: httpx.AsyncClient) -> None:
    later = (await client.post("/bookings/", json=booking_body(NINE + 2 * HALF_HOUR))).json()
    early = (await client.post("/bookings/", json=booking_body(NINE))).json()
    await client.post("/bookings/", json=booking_body(NINE, practitioner_id=2))
    await client.post(f"/bookings/{early['id']}/confirm")

    listed = await client.get("/practitioners/1/bookings/")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [early["id"], later["id"]]

    confirmed = await client.get("/practitioners/1/bookings/", params={"status": "confirmed"})
    assert [item["id"] for item in confirmed.json()] == [early["id"]]
    window = {"start": (NINE + HALF_HOUR).isoformat(), "end": (NINE + 4 * HALF_HOUR).isoformat()}
    in_window = await client.get("/practitioners/1/bookings/", params=window)
    assert [item["id"] for item in in_window.json()] == [later["id"]]
    assert (await client.get("/practitioners/3/bookings/")).json() == []

    naive = await client.get("/practitioners/1/bookings/", params={"start": "2026-03-02T09:00"})
    assert naive.status_code == 422
    bad_status = await client.get("/practitioners/1/bookings/", params={"status": "done"})
    assert bad_status.status_code == 422


async def test_concurrent_requests_for_one_slot_give_exactly_one_booking(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(client.post("/bookings/", json=booking_body(patient_id=100 + n)) for n in range(20))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19
    (winner,) = (response.json() for response in responses if response.status_code == 201)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["conflicting_booking"]["id"] == winner["id"]
    listed = (await client.get("/practitioners/1/bookings/")).json()
    assert [item["id"] for item in listed] == [winner["id"]]


# --- error handlers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("Thing", 1), 404),
        (BookingConflictError(), 409),
        (DuplicateEmailError("a@b.org"), 409),
        (InvalidTransitionError(1, "cancelled", "confirmed"), 409),
        (InvalidInputError("limit: must be between 0 and 1000"), 422),
        (InvalidBookingError("end_time: must be after start_time"), 422),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
async def test_each_error_class_has_its_handler(
    app: FastAPI, client: httpx.AsyncClient, error: Exception, status: int
) -> None:
    @app.get("/raise")
    async def raise_it() -> None:
        raise error

    response = await client.get("/raise")
    assert response.status_code == status
    detail = response.json()["detail"]
    if status == 422:
        assert detail == [{"loc": [], "msg": str(error), "type": "value_error"}]
    else:
        assert detail == str(error)


# --- OpenAPI --------------------------------------------------------------------------------

# Every status each route can answer besides its success; 422 is FastAPI's validation error,
# 400 a body that cannot be decoded at all (routes that read a body).
DOCUMENTED = {
    ("/examples/", "post"): {"201", "400", "422"},
    ("/examples/", "get"): {"200", "422"},
    ("/examples/{example_id}", "get"): {"200", "404", "422"},
    ("/examples/{example_id}", "patch"): {"200", "400", "404", "422"},
    ("/examples/{example_id}", "delete"): {"204", "404", "422"},
    ("/users/", "post"): {"201", "400", "409", "422"},
    ("/users/{user_id}", "get"): {"200", "404", "422"},
    ("/posts/", "post"): {"201", "400", "404", "422"},
    ("/bookings/", "post"): {"201", "400", "404", "409", "422"},
    ("/bookings/{booking_id}", "get"): {"200", "404", "422"},
    ("/practitioners/{practitioner_id}/bookings/", "get"): {"200", "422"},
    ("/bookings/{booking_id}/confirm", "post"): {"200", "404", "422"},
    ("/bookings/{booking_id}/cancel", "post"): {"200", "400", "404", "422"},
    ("/practitioners/{practitioner_id}/availability", "get"): {"200", "422"},
    ("/practitioners/{practitioner_id}/availability", "put"): {"200", "400", "409", "422"},
    ("/practitioners/{practitioner_id}/time-off", "get"): {"200", "422"},
    ("/practitioners/{practitioner_id}/time-off", "post"): {"201", "400", "422"},
    ("/practitioners/{practitioner_id}/time-off/{exception_id}", "delete"): {"204", "404", "422"},
    ("/practitioners/{practitioner_id}/free-slots", "get"): {"200", "422"},
    ("/event-types/{event_type_id}/first-free-slot", "get"): {"200", "422"},
    ("/practitioners/{practitioner_id}/event-types", "get"): {"200", "422"},
    ("/practitioners/{practitioner_id}/event-types", "put"): {"200", "400", "404", "422"},
}


def test_openapi_schema_is_valid_and_documents_errors() -> None:
    schema = create_app().openapi()
    validate(schema)  # raises on an invalid OpenAPI document
    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == set(DOCUMENTED)
    for key, operation in operations.items():
        responses = operation["responses"]
        assert set(responses) == DOCUMENTED[key], key
        for status, response in responses.items():
            if status.startswith("2"):
                continue
            reference = response["content"]["application/json"]["schema"]["$ref"]
            expected = {
                "400": "ErrorBody",
                "404": "ErrorBody",
                "409": "BookingConflictBody" if key == ("/bookings/", "post") else "ErrorBody",
                "422": "HTTPValidationError",
            }[status]
            assert reference == f"#/components/schemas/{expected}", (key, status)


# --- packaging and the CLI ------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_package_does_not_import_fastapi() -> None:
    result = run_python(
        "import sys, africare_data, africare_data.cli; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_api_extra_the_package_works_and_serve_explains() -> None:
    # None in sys.modules makes `import fastapi` fail as if it were not installed.
    result = run_python(
        "import sys; sys.modules['fastapi'] = None; "
        "import africare_data; from africare_data.cli import main; "
        "print(africare_data.__version__); sys.exit(main(['serve']))"
    )
    assert result.returncode == 1
    assert result.stdout.strip() == "0.1.0"
    assert "needs the api extra (fastapi is not installed)" in result.stderr
    assert "pip install 'africare-data[api]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    assert cli.main(["serve"]) == 0
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "9001"]) == 0
    assert calls == [{"host": "127.0.0.1", "port": 8000}, {"host": "0.0.0.0", "port": 9001}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_answers_over_http() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "africare_data.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["info"]["title"] == "AfriCare data API"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it, so the exit status is -SIGTERM.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
