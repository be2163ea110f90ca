"""Typed DataFrames: column order and dtypes (also empty), filters, time zones, analytics numbers
against a small hand-computed fixture, chunked iteration, and the ``COPY`` fast path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Integer, Numeric, cast, extract, func, insert, literal, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from africare_data.errors import QueryError
from africare_data.frames import (
    STATUS_DTYPE,
    bookings_frame,
    bookings_per_day,
    event_types_frame,
    examples_frame,
    iter_bookings_frames,
    posts_frame,
    practitioner_summary,
    read_frame,
    reading,
    transport,
    users_frame,
    weekday_hour_counts,
)
from africare_data.frames.tables import bookings_select
from africare_data.models import Booking, BookingStatus, EventType, Example, Post, User

UTC_TS = "datetime64[us, UTC]"
BOOKING_DTYPES = {
    "id": "int64",
    "practitioner_id": "int64",
    "patient_id": "int64",
    "event_type_id": "Int64",
    "start_time": UTC_TS,
    "end_time": UTC_TS,
    "status": STATUS_DTYPE,
    "created_at": UTC_TS,
    "updated_at": UTC_TS,
    "cancelled_at": UTC_TS,
    "cancellation_reason": "string",
    "duration_minutes": "int64",
}
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday

# practitioner, patient, start (hours after Monday 00:00 UTC), minutes, status
FIXTURE = [
    (1, 10, 8, 30, BookingStatus.CONFIRMED),  # Mon 08:00
    (1, 11, 9, 60, BookingStatus.PENDING),  # Mon 09:00
    (1, 10, 9, 30, BookingStatus.CANCELLED),  # Mon 09:00, cancelled: may overlap
    (2, 12, 23.5, 45, BookingStatus.CONFIRMED),  # Mon 23:30 UTC = Tue 02:30 Nairobi
    (2, 10, 48 + 14, 15, BookingStatus.CONFIRMED),  # Wed 14:00
]


def dtypes_of(frame: pd.DataFrame) -> dict[str, object]:
    return {name: frame[name].dtype for name in frame.columns}


async def add_fixture(db: AsyncSession, weeks_later: int = 0) -> None:
    rows = [
        {
            "practitioner_id": practitioner,
            "patient_id": patient,
            "start_time": MONDAY + timedelta(weeks=weeks_later, hours=hours),
            "end_time": MONDAY + timedelta(weeks=weeks_later, hours=hours, minutes=minutes),
            "status": status,
        }
        for practitioner, patient, hours, minutes, status in FIXTURE
    ]
    await db.execute(insert(Booking), rows)


@pytest.fixture
async def booked(session: AsyncSession) -> AsyncSession:
    await add_fixture(session)
    return session


async def test_empty_bookings_frame_keeps_columns_and_dtypes(session: AsyncSession) -> None:
    frame = await bookings_frame(session)
    assert frame.empty
    assert dtypes_of(frame) == BOOKING_DTYPES


async def test_bookings_frame_dtypes_order_and_duration(booked: AsyncSession) -> None:
    frame = await bookings_frame(booked)
    assert dtypes_of(frame) == BOOKING_DTYPES
    assert list(frame["status"].cat.categories) == ["pending", "confirmed", "cancelled"]
    starts = list(frame["start_time"])
    assert starts == sorted(starts)
    # Same start: ordered by id.
    same = frame[frame["start_time"] == MONDAY + timedelta(hours=9)]
    assert list(same["id"]) == sorted(same["id"])
    assert list(frame["duration_minutes"]) == [30, 60, 30, 45, 15]


async def test_bookings_frame_filters_combine(booked: AsyncSession) -> None:
    assert len(await bookings_frame(booked, practitioner_id=1)) == 3
    assert len(await bookings_frame(booked, patient_id=10)) == 3
    assert len(await bookings_frame(booked, practitioner_id=1, patient_id=10)) == 2
    active = await bookings_frame(booked, status=["pending", BookingStatus.CONFIRMED])
    assert len(active) == 4
    assert set(active["status"]) == {"pending", "confirmed"}
    assert len(await bookings_frame(booked, status="cancelled")) == 1
    window = await bookings_frame(
        booked, start=MONDAY + timedelta(hours=9), end=MONDAY + timedelta(days=1)
    )
    assert len(window) == 3
    empty = await bookings_frame(booked, practitioner_id=99)
    assert empty.empty
    assert dtypes_of(empty) == BOOKING_DTYPES


async def test_an_agenda_runs_again_with_other_values_of_the_same_filters(
    booked: AsyncSession,
) -> None:
    # One statement per combination of filters, run with each call's values: none may stick.
    monday = {"start": MONDAY, "end": MONDAY + timedelta(days=1)}
    first = await bookings_frame(booked, practitioner_id=1, status="confirmed", **monday)
    second = await bookings_frame(booked, practitioner_id=2, status="confirmed", **monday)
    third = await bookings_frame(booked, practitioner_id=1, status="confirmed", **monday)
    assert list(first["patient_id"]) == [10]
    assert list(second["patient_id"]) == [12]
    pd.testing.assert_frame_equal(third, first)
    whole_week = await bookings_frame(
        booked, practitioner_id=2, start=MONDAY, end=MONDAY + timedelta(weeks=1)
    )
    assert list(whole_week["patient_id"]) == [12, 10]
    by_patient = await bookings_frame(
        booked, patient_id=10, status=["cancelled", "confirmed", "cancelled"], end=MONDAY
    )
    assert by_patient.empty
    by_patient = await bookings_frame(booked, patient_id=10, status=["cancelled", "confirmed"])
    assert list(by_patient["status"]) == ["confirmed", "cancelled", "confirmed"]
    nothing = await bookings_frame(booked, practitioner_id=1, status=[])
    assert nothing.empty
    assert dtypes_of(nothing) == BOOKING_DTYPES


async def test_naive_filter_datetimes_are_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="timezone info"):
        await bookings_frame(session, start=datetime(2026, 3, 2))


async def test_tz_converts_timestamps(booked: AsyncSession) -> None:
    frame = await bookings_frame(booked, tz="Africa/Nairobi")
    assert str(frame["start_time"].dtype) == "datetime64[us, Africa/Nairobi]"
    assert frame["start_time"].iloc[0] == pd.Timestamp("2026-03-02 11:00", tz="Africa/Nairobi")
    utc = await bookings_frame(booked)
    assert (frame["start_time"] == utc["start_time"]).all()


async def test_other_entity_frames(session: AsyncSession) -> None:
    empty = {
        "examples": await examples_frame(session),
        "users": await users_frame(session),
        "posts": await posts_frame(session),
        "event_types": await event_types_frame(session),
    }
    assert {name: list(frame.columns) for name, frame in empty.items()} == {
        "examples": ["id", "name", "description", "created_at", "updated_at"],
        "users": ["id", "name", "email", "created_at", "post_count"],
        "posts": ["id", "title", "content", "author_id", "author_name"],
        "event_types": ["id", "name", "duration_minutes", "created_at"],
    }
    session.add_all(
        [
            Example(name="first", description=None),
            EventType(name="Consultation", duration_minutes=30),
            ada := User(name="Ada", email="ada@example.org"),
            User(name="Kofi", email="kofi@example.org"),
        ]
    )
    await session.flush()
    session.add_all([Post(title=f"t{i}", content="c", author_id=ada.id) for i in range(2)])
    await session.flush()
    full = {
        "examples": await examples_frame(session),
        "users": await users_frame(session),
        "posts": await posts_frame(session),
        "event_types": await event_types_frame(session),
    }
    for name, frame in full.items():
        assert dtypes_of(frame) == dtypes_of(empty[name]), name
    assert dtypes_of(full["users"]) == {
        "id": "int64",
        "name": "string",
        "email": "string",
        "created_at": UTC_TS,
        "post_count": "int64",
    }
    assert full["examples"]["description"].isna().all()
    assert str(full["examples"]["updated_at"].dtype) == UTC_TS
    assert list(full["users"]["post_count"]) == [2, 0]
    assert list(full["posts"]["author_name"]) == ["Ada", "Ada"]
    assert full["event_types"]["duration_minutes"].dtype == "int64"


@pytest.mark.parametrize("rows", [3, 1500])  # built directly, and through Arrow
async def test_numeric_columns_are_float64_on_every_path(session: AsyncSession, rows: int) -> None:
    amount = cast(func.generate_series(1, rows), Numeric(10, 2)) / 4
    frame = await read_frame(session, select(amount.label("amount")), method="session")
    assert frame["amount"].dtype == "float64"
    assert frame["amount"].tolist() == [value / 4 for value in range(1, rows + 1)]


async def test_read_frame_on_a_connection_and_with_orm_entities(db_engine: AsyncEngine) -> None:
    async with db_engine.connect() as connection:
        frame = await read_frame(connection, select(Booking).where(Booking.id < 0))
    assert list(frame.columns) == [column.name for column in Booking.__table__.columns]
    assert frame["status"].dtype == STATUS_DTYPE


async def test_bookings_per_day(booked: AsyncSession) -> None:
    utc = await bookings_per_day(booked)
    assert list(utc.columns) == ["day", "pending", "confirmed", "cancelled", "total"]
    assert str(utc["day"].dtype) == UTC_TS
    assert all(utc[name].dtype == "int64" for name in utc.columns[1:])
    # Mon: 2 confirmed, 1 pending, 1 cancelled; Tue: nothing (zeros); Wed: 1 confirmed.
    assert utc.drop(columns="day").to_numpy().tolist() == [[1, 2, 1, 4], [0, 0, 0, 0], [0, 1, 0, 1]]
    nairobi = await bookings_per_day(booked, tz="Africa/Nairobi")
    assert nairobi["day"].iloc[0] == pd.Timestamp("2026-03-02", tz="Africa/Nairobi")
    assert list(nairobi["total"]) == [3, 1, 1]  # the 23:30 UTC booking is Tuesday there
    windowed = await bookings_per_day(booked, start=MONDAY - timedelta(days=1), end=MONDAY)
    assert windowed["total"].tolist() == [0]
    empty = await bookings_per_day(booked, start=MONDAY, end=MONDAY)
    assert empty.empty
    assert dtypes_of(empty) == dtypes_of(utc)


async def test_practitioner_summary(booked: AsyncSession) -> None:
    summary = await practitioner_summary(booked)
    assert dtypes_of(summary) == {
        "practitioner_id": "int64",
        "bookings": "int64",
        "pending": "int64",
        "confirmed": "int64",
        "cancelled": "int64",
        "confirmation_rate": "float64",
        "cancellation_rate": "float64",
        "booked_hours": "float64",
    }
    assert summary.to_dict("list") == {
        "practitioner_id": [1, 2],
        "bookings": [3, 2],
        "pending": [1, 0],
        "confirmed": [1, 2],
        "cancelled": [1, 0],
        "confirmation_rate": [1 / 3, 1.0],
        "cancellation_rate": [1 / 3, 0.0],
        "booked_hours": [1.5, 1.0],
    }
    empty = await practitioner_summary(booked, start=MONDAY, end=MONDAY)
    assert empty.empty
    assert dtypes_of(empty) == dtypes_of(summary)


async def test_weekday_hour_counts(booked: AsyncSession) -> None:
    utc = await weekday_hour_counts(booked)
    assert utc.shape == (7, 24)
    assert (utc.dtypes == "int64").all()
    assert list(utc.index) == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert utc.to_numpy().sum() == 4  # the cancelled booking is not counted
    assert utc.loc["Monday", 8] == 1
    assert utc.loc["Monday", 9] == 1
    assert utc.loc["Monday", 23] == 1
    assert utc.loc["Wednesday", 14] == 1
    nairobi = await weekday_hour_counts(booked, tz="Africa/Nairobi")
    assert nairobi.loc["Tuesday", 2] == 1
    assert nairobi.loc["Monday", 11] == 1
    assert (await weekday_hour_counts(booked, start=MONDAY, end=MONDAY)).to_numpy().sum() == 0


@pytest.mark.parametrize("chunksize", [1, 2, 100])
async def test_chunked_iteration_equals_the_full_frame(
    booked: AsyncSession, chunksize: int
) -> None:
    chunks = [chunk async for chunk in iter_bookings_frames(booked, chunksize=chunksize)]
    assert all(len(chunk) <= chunksize for chunk in chunks)
    joined = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(joined, await bookings_frame(booked))
    filtered = [c async for c in iter_bookings_frames(booked, chunksize=2, practitioner_id=2)]
    pd.testing.assert_frame_equal(
        pd.concat(filtered, ignore_index=True), await bookings_frame(booked, practitioner_id=2)
    )


@pytest.fixture
def copy_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each query that took the ADBC ``COPY`` path."""
    calls: list[str] = []
    fetch = transport.adbc_fetch

    def spy(uri: str, snapshot: str, sql: str) -> object:
        calls.append(sql)
        return fetch(uri, snapshot, sql)

    monkeypatch.setattr(transport, "adbc_fetch", spy)
    return calls


@pytest.fixture
async def committed(committed_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with AsyncSession(committed_engine) as db:
        await add_fixture(db)
        await db.commit()
    yield committed_engine


async def test_a_copy_read_the_server_refuses_raises_its_message_as_a_query_error(
    committed: AsyncEngine, copy_calls: list[str]
) -> None:
    stmt = select((Booking.id / (Booking.id - Booking.id)).label("x"))
    async with AsyncSession(committed) as db:
        with pytest.raises(QueryError) as refused:
            await read_frame(db, stmt, method="copy")
    assert str(refused.value) == "division by zero"
    assert len(copy_calls) == 1


async def test_copy_fast_path_equals_the_session_path(
    committed: AsyncEngine, copy_calls: list[str]
) -> None:
    stmt = bookings_select().order_by(Booking.start_time, Booking.id)
    async with AsyncSession(committed) as db:
        fast = await read_frame(db, stmt, method="copy", tz="Africa/Lagos")
        slow = await read_frame(db, stmt, method="session", tz="Africa/Lagos")
    pd.testing.assert_frame_equal(fast, slow)
    assert dtypes_of(fast)["status"] == STATUS_DTYPE
    assert len(copy_calls) == 1


async def test_copy_fast_path_sees_the_session_snapshot(
    committed: AsyncEngine, copy_calls: list[str]
) -> None:
    stmt = bookings_select().order_by(Booking.id)
    async with AsyncSession(committed) as reader, AsyncSession(committed) as writer:
        await reader.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        before = await read_frame(reader, stmt, method="session")
        await add_fixture(writer, weeks_later=1)  # committed by another session meanwhile...
        await writer.execute(
            Booking.__table__.delete().where(Booking.status == BookingStatus.CANCELLED)
        )
        await writer.commit()
        # ...is invisible to the repeatable-read reader, on the COPY path too.
        pd.testing.assert_frame_equal(await read_frame(reader, stmt, method="copy"), before)
    assert len(copy_calls) == 1


async def test_uncommitted_writes_are_seen_on_every_path(
    committed: AsyncEngine, copy_calls: list[str]
) -> None:
    async with AsyncSession(committed) as db:
        await add_fixture(db, weeks_later=1)
        frame = await read_frame(db, bookings_select(), method="copy")
        assert len(frame) == 2 * len(FIXTURE)
        await db.rollback()
    assert copy_calls == []  # the session had written: it stayed on its own connection


INJECTION = "'; DROP TABLE bookings; --"


def test_only_values_of_safe_types_are_inlined() -> None:
    safe = select(Booking.id).where(
        Booking.practitioner_id.in_([1, 2]),
        Booking.start_time >= MONDAY,
        Booking.status == "confirmed",  # one of the enum's values
        Booking.status.in_([BookingStatus.PENDING]),
    )
    sql = transport.literal_sql(safe)
    assert sql is not None
    assert "IN (1, 2)" in sql
    assert "'confirmed'" in sql
    assert "'2026-03-02 00:00:00+00:00'" in sql
    text_values = [
        select(Booking.id).where(Booking.cancellation_reason == INJECTION),
        select(Booking.id).where(Booking.cancellation_reason.in_(["ok", INJECTION])),
        select(Booking.id).where(Booking.status == INJECTION),  # not one of the enum's values
        select(Booking.id, literal("plain text").label("note")),
    ]
    assert [transport.literal_sql(stmt) for stmt in text_values] == [None] * len(text_values)


async def test_text_values_travel_as_parameters(
    committed: AsyncEngine, copy_calls: list[str]
) -> None:
    async with AsyncSession(committed) as db:
        await db.execute(
            Booking.__table__.update()
            .where(Booking.id == 1)
            .values(status=BookingStatus.CANCELLED, cancellation_reason=INJECTION)
        )
        await db.commit()
        stmt = select(Booking.id, Booking.cancellation_reason, literal(INJECTION).label("echo"))
        frame = await read_frame(
            db, stmt.where(Booking.cancellation_reason == INJECTION), method="copy"
        )
        assert frame.to_dict("list") == {
            "id": [1],
            "cancellation_reason": [INJECTION],
            "echo": [INJECTION],
        }
        everything = await read_frame(db, bookings_select(), method="copy")  # no text value
    assert len(everything) == len(FIXTURE)  # the table is still there, every row in it
    assert len(copy_calls) == 1  # only the statement without text values took the COPY path


# A duration of exactly half a minute more than a whole number rounds away from zero, as
# PostgreSQL rounds numeric to integer; a microsecond less rounds down.
DURATIONS = [
    timedelta(minutes=29, seconds=30),
    timedelta(minutes=29, seconds=29, microseconds=999_999),
    timedelta(minutes=29, seconds=30, microseconds=1),
    timedelta(microseconds=1),
    timedelta(days=3, hours=1, seconds=29),
    timedelta(minutes=45),
]


@pytest.fixture
async def many(committed_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Bookings over several pages of the table, stored in an order unrelated to their starts
    (many sharing a start), with durations that test the rounding."""
    rows = [
        {
            "practitioner_id": 1 + number % 40,
            "patient_id": 1 + number % 7,
            "start_time": MONDAY + timedelta(minutes=15 * ((number * 7919) % 97)),
            "end_time": MONDAY
            + timedelta(minutes=15 * ((number * 7919) % 97))
            + DURATIONS[number % len(DURATIONS)],
            "status": BookingStatus.CANCELLED,  # cancelled bookings may overlap
            "cancellation_reason": None if number % 3 else f"reason {number}",
        }
        for number in range(1500)
    ]
    async with AsyncSession(committed_engine) as db:
        await db.execute(insert(Booking), rows)
        await db.commit()
    async with committed_engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("ANALYZE bookings")
    yield committed_engine


def reference_select() -> Any:
    """The frame's rows as a user would ask the server for them: sorted and with the duration
    computed in SQL."""
    minutes = cast(extract("epoch", Booking.end_time - Booking.start_time) / 60, Integer)
    return select(*Booking.__table__.columns, minutes.label("duration_minutes")).order_by(
        Booking.start_time, Booking.id
    )


@pytest.mark.parametrize("streams", [1, 2, 3])
async def test_parallel_copy_streams_give_the_servers_order_and_durations(
    many: AsyncEngine,
    copy_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    streams: int,
) -> None:
    monkeypatch.setattr(reading, "FAST_PATH_MIN_ROWS", 0)
    monkeypatch.setattr(reading, "ROWS_PER_STREAM", 1)
    monkeypatch.setattr(reading, "_CORES", streams)
    async with AsyncSession(many) as db:
        fast = await bookings_frame(db, tz="Africa/Nairobi")
        expected = await read_frame(db, reference_select(), tz="Africa/Nairobi", method="session")
        windowed = await bookings_frame(
            db,
            start=MONDAY + timedelta(hours=3),
            end=MONDAY + timedelta(hours=20),
            tz="Africa/Nairobi",
        )
    assert len(copy_calls) == 2 * streams
    pd.testing.assert_frame_equal(fast, expected, check_exact=True)
    assert len(set(fast["start_time"])) < len(fast) == 1500  # ties on start, ordered by id
    assert set(fast["duration_minutes"]) == {30, 29, 0, 4380, 45}
    in_window = expected[
        (expected["start_time"] >= MONDAY + timedelta(hours=3))
        & (expected["start_time"] < MONDAY + timedelta(hours=20))
    ].reset_index(drop=True)
    pd.testing.assert_frame_equal(windowed, in_window, check_exact=True)


async def test_agenda_and_chunks_compute_durations_as_the_server_does(many: AsyncEngine) -> None:
    async with AsyncSession(many) as db:
        expected = await read_frame(db, reference_select(), method="session")
        agenda = await bookings_frame(db, practitioner_id=3)
        chunks = [chunk async for chunk in iter_bookings_frames(db, chunksize=400)]
    pd.testing.assert_frame_equal(
        agenda,
        expected[expected["practitioner_id"] == 3].reset_index(drop=True),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), expected, check_exact=True)


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        (
            "postgresql+asyncpg://app:p%40ss@db.example:6543/care?ssl=require&application_name=nb",
            "postgresql://app:p%40ss@db.example:6543/care?application_name=nb&sslmode=require",
        ),
        (
            "postgresql+asyncpg://app@db.example/care?sslmode=verify-full&sslrootcert=/ca.pem"
            "&prepared_statement_cache_size=0",
            "postgresql://app@db.example/care?sslmode=verify-full&sslrootcert=%2Fca.pem",
        ),
        (
            "postgresql+asyncpg:///?host=/run/pg%20sock",
            "postgresql://me@/mine?host=%2Frun%2Fpg%20sock",
        ),
    ],
)
def test_the_copy_connections_keep_the_urls_libpq_options(url: str, uri: str) -> None:
    """Credentials, host or socket, and the options libpq shares with the URL go to the ``COPY``
    connections; the session's user and database stand in for what the URL leaves out."""
    built = transport.libpq_uri(make_url(url), user="me", database="mine", socket="/tmp")
    assert built == uri
