"""Migrations: upgrade, downgrade to base, upgrade again, and no drift from the models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import migrations
from africare_data.database import make_engine, scratch_database

HEAD = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()


@pytest.fixture
async def empty_database(server_url: URL) -> AsyncIterator[tuple[URL, AsyncEngine]]:
    async with scratch_database("migrations", url=server_url) as url:
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            await engine.dispose()


async def schema_objects(engine: AsyncEngine) -> dict[str, list[str]]:
    """Tables, enum types, constraints, triggers and functions in the public schema (what
    migrations create)."""
    queries = {
        "tables": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version' ORDER BY 1",
        "types": "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE nspname = 'public' AND typtype = 'e' ORDER BY 1",
        "constraints": "SELECT conname FROM pg_constraint c JOIN pg_namespace n "
        "ON n.oid = c.connamespace WHERE nspname = 'public' AND contype IN ('c', 'x') ORDER BY 1",
        "triggers": "SELECT tgname || ':' || tgenabled::text FROM pg_trigger t JOIN pg_class c "
        "ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE nspname = 'public' AND NOT tgisinternal ORDER BY 1",
        "functions": "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE nspname = 'public' ORDER BY 1",
    }
    async with engine.connect() as connection:
        return {
            name: list((await connection.execute(text(query))).scalars())
            for name, query in queries.items()
        }


async def test_upgrade_downgrade_upgrade(empty_database: tuple[URL, AsyncEngine]) -> None:
    _, engine = empty_database
    assert await migrations.current_revision(engine) is None

    await migrations.upgrade(engine)
    assert await migrations.current_revision(engine) == HEAD
    created = await schema_objects(engine)
    assert set(created["tables"]) >= {
        "availability_exceptions",
        "availability_rules",
        "bookings",
        "event_types",
        "examples",
        "posts",
        "practitioner_event_types",
        "users",
    }
    assert created["types"] == ["availability_exception_kind", "booking_status"]
    assert set(created["constraints"]) >= {
        "ck_availability_exceptions_ends_after_starts",
        "ck_availability_rules_end_after_start",
        "ck_availability_rules_weekday_range",
        "ex_availability_rules_no_overlap",
        "ck_bookings_end_after_start",
        "ck_event_types_duration_positive",
    }
    # Since 0003 the no-overlap rule is two triggers, enabled ALWAYS ('A'), not a constraint.
    assert "ex_bookings_no_overlap" not in created["constraints"]
    assert created["triggers"] == [
        "tr_bookings_no_overlap_insert:A",
        "tr_bookings_no_overlap_update:A",
    ]
    assert created["functions"] == [
        "availability_schedules",
        "bookings_no_overlap_check",
        "practitioner_availability",
        "practitioner_exceptions",
    ]

    await migrations.downgrade(engine, "0007")  # the agenda index back to practitioner_id alone
    async with engine.connect() as connection:
        indexes = set(
            await connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'bookings'")
            )
        )
    assert "ix_bookings_practitioner_id" in indexes
    assert "ix_bookings_practitioner_start" not in indexes
    await migrations.downgrade(engine, "0006")
    assert "practitioner_exceptions" not in (await schema_objects(engine))["functions"]
    await migrations.downgrade(engine, "0005")  # one resolution per practitioner again
    assert (await schema_objects(engine))["functions"] == [
        "bookings_no_overlap_check",
        "practitioner_availability",
    ]
    async with engine.connect() as connection:
        body = await connection.scalar(
            text("SELECT prosrc FROM pg_proc WHERE proname = 'practitioner_availability'")
        )
    assert "availability_schedules" not in body
    await migrations.upgrade(engine)
    assert await schema_objects(engine) == created

    await migrations.downgrade(engine, "0004")  # availability gone, bookings untouched
    without_availability = await schema_objects(engine)
    assert not {
        "availability_exceptions",
        "availability_rules",
        "practitioner_event_types",
    } & set(without_availability["tables"])
    assert without_availability["types"] == ["booking_status"]
    assert without_availability["functions"] == ["bookings_no_overlap_check"]
    assert without_availability["triggers"] == created["triggers"]
    await migrations.upgrade(engine)
    assert await schema_objects(engine) == created

    await migrations.downgrade(engine, "0002")  # back to the exclusion constraint, no triggers
    before = await schema_objects(engine)
    assert "ex_bookings_no_overlap" in before["constraints"]
    assert before["triggers"] == [] and before["functions"] == []

    await migrations.downgrade(engine, "base")
    assert await migrations.current_revision(engine) is None
    assert await schema_objects(engine) == {
        "tables": [],
        "types": [],
        "constraints": [],
        "triggers": [],
        "functions": [],
    }

    await migrations.upgrade(engine)
    assert await schema_objects(engine) == created


async def test_models_and_migrations_do_not_drift(empty_database: tuple[URL, AsyncEngine]) -> None:
    _, engine = empty_database
    await migrations.upgrade(engine)
    await migrations.check(engine)  # raises AutogenerateDiffsDetected on drift


async def test_alembic_command_line_uses_the_settings(
    empty_database: tuple[URL, AsyncEngine],
) -> None:
    url, engine = empty_database

    def alembic(*arguments: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False)}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(migrations.PROJECT_ROOT / "alembic.ini"),
                *arguments,
            ],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    upgraded = alembic("upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert await migrations.current_revision(engine) == HEAD
    checked = alembic("check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected." in checked.stdout + checked.stderr
