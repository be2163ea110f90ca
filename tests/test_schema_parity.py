"""The same rules hold however the schema is built: Alembic migrations or ``create_all``.

``create_db_and_tables()`` (``Base.metadata.create_all``) is the quick path; the migrations are the
managed one. A database built each way must have the same tables, columns, constraints, indexes,
triggers, functions and enum types, as PostgreSQL's catalogs describe them, and must refuse an
overlapping booking in the same way. Whoever changes the no-overlap rule in a new migration must
change ``africare_data/models/no_overlap.py`` too, or this test fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import migrations
from africare_data.database import (
    create_db_and_tables,
    make_engine,
    make_session_maker,
    scratch_database,
)
from africare_data.errors import (
    BookingConflictError,
    InvalidBookingError,
    translate_integrity_errors,
)
from africare_data.models import Base
from africare_data.services import BookingService

# What matters of a schema, from the catalogs; Alembic's own bookkeeping table is left out.
CATALOG_QUERIES = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
          FROM pg_attribute AS a
          JOIN pg_class AS c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND c.relname <> 'alembic_version' AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace
           AND conrelid::regclass::text <> 'alembic_version'
         ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> 'alembic_version'
         ORDER BY 1, 2""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, tgenabled::text, pg_get_triggerdef(oid)
          FROM pg_trigger
         WHERE NOT tgisinternal
         ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
         WHERE pronamespace = 'public'::regnamespace
         ORDER BY 1""",
    "enums": """
        SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
          FROM pg_type AS t JOIN pg_enum AS e ON e.enumtypid = t.oid
         WHERE t.typnamespace = 'public'::regnamespace
         GROUP BY t.typname
         ORDER BY 1""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, max_value
          FROM pg_sequences
         WHERE schemaname = 'public'
         ORDER BY 1""",
}

BUILDS = ["migrations", "create_all"]
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def schema_catalog(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalog row of :data:`CATALOG_QUERIES`, by kind."""
    async with engine.connect() as connection:
        return {
            kind: [tuple(row) for row in await connection.execute(text(query))]
            for kind, query in CATALOG_QUERIES.items()
        }


async def build(engine: AsyncEngine, how: str) -> None:
    if how == "migrations":
        await migrations.upgrade(engine)
    else:
        await create_db_and_tables(engine)


@pytest.fixture
async def built(server_url: URL, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """An engine on a scratch database whose schema was built as ``request.param`` says."""
    async with scratch_database("parity", url=server_url) as url:
        engine = make_engine(url)
        try:
            await build(engine, request.param)
            yield engine
        finally:
            await engine.dispose()


async def test_migrations_and_create_all_build_the_same_schema(server_url: URL) -> None:
    catalogs = {}
    for how in BUILDS:
        async with scratch_database("parity", url=server_url) as url:
            engine = make_engine(url)
            try:
                await build(engine, how)
                catalogs[how] = await schema_catalog(engine)
            finally:
                await engine.dispose()
    by_migrations, by_create_all = catalogs["migrations"], catalogs["create_all"]
    assert by_migrations["triggers"], "the migrations built no trigger: the query is wrong"
    for kind in CATALOG_QUERIES:
        assert by_create_all[kind] == by_migrations[kind], f"{kind} differ"


@pytest.mark.parametrize("built", BUILDS, indirect=True)
async def test_an_overlap_is_refused_alike_on_every_build(built: AsyncEngine) -> None:
    async with make_session_maker(built)() as db:
        first = await BookingService.create_booking(db, 1, 7, NINE, NINE + timedelta(minutes=30))
        with pytest.raises(BookingConflictError) as refused:
            await BookingService.create_booking(
                db, 1, 8, NINE + timedelta(minutes=15), NINE + timedelta(minutes=45)
            )
        assert refused.value.conflicting_booking_id == first.id
        assert refused.value.constraint == "ex_bookings_no_overlap"
    raw_inserts = {
        "an overlap": (BookingConflictError, NINE + timedelta(minutes=5)),
        "an end before the start": (InvalidBookingError, NINE - timedelta(minutes=5)),
    }
    async with built.connect() as connection:  # past the services: raw SQL
        for what, (error_class, end) in raw_inserts.items():
            with pytest.raises(error_class), translate_integrity_errors():
                await connection.execute(
                    text(
                        "INSERT INTO bookings (practitioner_id, patient_id, start_time, end_time) "
                        f"VALUES (1, 9, '{NINE.isoformat()}', '{end.isoformat()}')"
                    )
                )
            await connection.rollback()
            count = await connection.scalar(text("SELECT count(*) FROM bookings"))
            assert count == 1, f"{what} was written"


@pytest.mark.parametrize("built", ["create_all"], indirect=True)
async def test_drop_all_removes_the_rule_with_the_table(built: AsyncEngine) -> None:
    async with built.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
    catalog = await schema_catalog(built)
    assert catalog["functions"] == [] and catalog["triggers"] == []
