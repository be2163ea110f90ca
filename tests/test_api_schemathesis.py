"""The API against its own OpenAPI document, by schemathesis: generated requests, valid and not.

Every operation is called with requests generated from ``/openapi.json`` (a fixed seed and a small
example budget, so the run is repeatable and short) on the run's scratch database. Each response
must pass the server-error, status-code, content-type and response-schema checks: no 500, only
documented statuses, and bodies shaped as documented. Needs the ``dev`` extra (schemathesis);
skipped without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import URL  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from africare_data.api import create_app  # noqa: E402
from africare_data.database import get_session, make_engine, make_session_maker  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 30


APP = create_app()
SESSION_MAKERS: list[async_sessionmaker[AsyncSession]] = []
"""The sessions on the current test's database; the fixture below fills it for each test."""


async def scratch_session() -> AsyncIterator[AsyncSession]:
    async with SESSION_MAKERS[-1]() as db:
        yield db


APP.dependency_overrides[get_session] = scratch_session
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True)
def scratch_database(database_url: URL, committed_engine: AsyncEngine) -> Iterator[None]:
    """Serve the run's scratch database to ``APP`` (``committed_engine`` empties it afterwards).

    schemathesis runs the app on its own event loop (in a thread), so the app gets an engine
    without a pool: every connection is made, used and closed on that loop.
    """
    SESSION_MAKERS.append(make_session_maker(make_engine(database_url, poolclass=NullPool)))
    yield
    SESSION_MAKERS.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
