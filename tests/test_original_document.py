"""The original design document's code, executed as written.

The platform's design document showed how to use the data layer; the package keeps its names, its
keyword arguments included. :data:`DOCUMENT` is that code, with the placeholder values filled in;
the only translation is the module path (``app.database`` is ``africare_data.database``). It runs
in a fresh interpreter whose ``SQLALCHEMY_DATABASE_URI`` names a scratch database, so the
document's module-level engine and session maker write there and nowhere else. The names the
document takes from its other modules (services, settings, SQLAlchemy) are imported for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from africare_data.database import scratch_database

DOCUMENT = """\
from app.database import engine, async_session_maker, get_session, create_db_and_tables

engine = create_async_engine(str(settings.SQLALCHEMY_DATABASE_URI), echo=settings.DEBUG)

await create_db_and_tables()

async with async_session_maker() as db:
    example = await create_example(db, name="First", description="...")
    fetched = await get_example(db, example_id=example.id)
    updated = await update_example(db, example_id=example.id, name="Renamed")
    deleted = await delete_example(db, example_id=example.id)

start_time = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
async with async_session_maker() as db:
    booking = await BookingService.create_booking(
        db,
        practitioner_id=1,
        patient_id=2,
        start_time=start_time,
        end_time=start_time + timedelta(minutes=30),
    )
    confirmed = await BookingService.confirm_booking(db, booking_id=booking.id)
"""

# Runs DOCUMENT (read from stdin) with top-level await, then prints what it left as JSON.
RUNNER = """\
import ast, asyncio, json, sys
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import create_async_engine

from africare_data.config import settings
from africare_data.services import (
    BookingService, create_example, delete_example, get_example, update_example,
)

source = sys.stdin.read().replace("from app.database import", "from africare_data.database import")
code = compile(source, "<the original document>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
document = dict(globals())


async def run():
    await eval(code, document)
    async with document["engine"].connect():  # the document's own engine connects
        pass
    await document["engine"].dispose()


asyncio.run(run())
print(json.dumps({
    "example_id": document["example"].id,
    "fetched": document["fetched"] is document["example"],
    "updated": document["updated"].name,
    "deleted": document["deleted"],
    "confirmed": document["confirmed"].status.value,
    "engine_password": document["engine"].url.password,
}))
"""
PASSWORD = "document-secret"  # sent and ignored: the test servers trust local connections


@pytest.fixture(scope="module")
async def document_run(server_url: URL) -> AsyncIterator[dict[str, Any]]:
    """What :data:`DOCUMENT` left behind, run once on a scratch database."""
    async with scratch_database("document", url=server_url) as url:
        environment = {
            **os.environ,
            "SQLALCHEMY_DATABASE_URI": url.set(password=PASSWORD).render_as_string(False),
        }
        completed = subprocess.run(
            [sys.executable, "-c", RUNNER],
            input=DOCUMENT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=180,
        )
        assert completed.returncode == 0, completed.stderr
        yield json.loads(completed.stdout.splitlines()[-1])


def test_the_documents_calls_work_as_written(document_run: dict[str, Any]) -> None:
    assert isinstance(document_run["example_id"], int)
    assert document_run["fetched"] is True
    assert document_run["updated"] == "Renamed"
    assert document_run["deleted"] is True
    assert document_run["confirmed"] == "confirmed"


@pytest.mark.xfail(
    strict=True,
    reason="str() of settings.SQLALCHEMY_DATABASE_URI masks the password, so the document's "
    "engine would authenticate with '***'",
)
def test_the_documents_engine_gets_the_real_password(document_run: dict[str, Any]) -> None:
    """``str(settings.SQLALCHEMY_DATABASE_URI)`` must give a usable URL, password included."""
    assert document_run["engine_password"] == PASSWORD
