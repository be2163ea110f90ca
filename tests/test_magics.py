"""The ``%sql`` magics in a real IPython shell against a real PostgreSQL database.

The database is a scratch database of this module with 25,000 synthetic bookings, enough for a
whole-table query to take the ``COPY`` path.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import adbc_driver_manager
import pandas as pd
import psycopg
import pyarrow as pa
import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from africare_data import frames, migrations
from africare_data.database import make_engine, make_session_maker, scratch_database
from africare_data.errors import DatabaseUnavailableError, QueryError
from africare_data.frames import transport
from africare_data.frames.assembly import Assembler
from africare_data.ipython import SqlMagics, register, sql_copy, sql_runner
from africare_data.ipython.sql_params import UnboundParameterError, bind_parameters
from africare_data.synthetic import generate_demo, load_demo

BOOKINGS = 25_000
BOOKING_DTYPES = {
    "id": "int64",
    "practitioner_id": "int64",
    "patient_id": "int64",
    "event_type_id": "Int64",
    "start_time": "datetime64[us, UTC]",
    "end_time": "datetime64[us, UTC]",
    "status": frames.STATUS_DTYPE,
    "created_at": "datetime64[us, UTC]",
    "updated_at": "datetime64[us, UTC]",
    "cancelled_at": "datetime64[us, UTC]",
    "cancellation_reason": pd.StringDtype("pyarrow"),
}


@pytest.fixture(scope="module")
async def magic_engine(server_url: URL) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated scratch database holding :data:`BOOKINGS` bookings."""
    async with scratch_database("magics", url=server_url) as url:
        engine = make_engine(url)
        try:
            await migrations.upgrade(engine)
            async with make_session_maker(engine)() as session:
                assert await load_demo(session, generate_demo(BOOKINGS, seed=3)) == BOOKINGS
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE bookings"))
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture
def shell(magic_engine: AsyncEngine) -> Iterator[InteractiveShell]:
    """IPython's shell with the magics loaded by ``%load_ext`` and pointed at the test database."""
    ipython = InteractiveShell.instance()
    ipython.run_cell("%load_ext africare_data", store_history=False)
    magics = register(ipython, magic_engine)
    yield ipython
    magics.runner.close()
    for name in ("agenda", "needle", "zero"):
        ipython.user_ns.pop(name, None)


def run(shell: InteractiveShell, cell: str) -> Any:
    """Run ``cell`` and return its result; fail on any error."""
    result = shell.run_cell(cell, store_history=False)
    result.raise_error()
    return result.result


def test_load_ext_registers_the_line_and_cell_magic(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    assert "sql" in magics["line"]
    assert "sql" in magics["cell"]
    assert isinstance(shell.magics_manager.registry["SqlMagics"], SqlMagics)


def test_a_row_is_typed_like_frames(shell: InteractiveShell) -> None:
    frame = run(shell, "%sql SELECT * FROM bookings WHERE id = 1")
    assert isinstance(frame, pd.DataFrame)
    assert frame["id"].tolist() == [1]
    assert dict(frame.dtypes) == BOOKING_DTYPES
    assert frame["status"].iloc[0] in {"pending", "confirmed", "cancelled"}


def test_an_empty_result_keeps_its_dtypes(shell: InteractiveShell) -> None:
    frame = run(shell, "%sql SELECT * FROM bookings WHERE id < 0")
    assert frame.empty
    assert dict(frame.dtypes) == BOOKING_DTYPES


def test_computed_columns_are_nullable_and_typed_by_their_sql_type(shell: InteractiveShell) -> None:
    frame = run(
        shell,
        "%sql SELECT count(*) AS n, avg(patient_id) AS mean, 'x'::text AS label, "
        "now()::date AS day, true AS flag FROM bookings",
    )
    assert frame["n"].tolist() == [BOOKINGS]
    assert dict(frame.dtypes) == {
        "n": "Int64",
        "mean": "float64",
        "label": pd.StringDtype("pyarrow"),
        "day": "object",
        "flag": "boolean",
    }


def test_numeric_columns_of_large_results_are_floats(shell: InteractiveShell) -> None:
    frame = run(
        shell,
        "%sql SELECT patient_id, avg((end_time - start_time > interval '30 minutes')::int) "
        "AS long_share FROM bookings GROUP BY patient_id ORDER BY patient_id",
    )
    assert len(frame) > 1_000
    assert frame["long_share"].dtype == "float64"


def test_cell_magic_stores_the_result_with_o(shell: InteractiveShell) -> None:
    shell.user_ns["needle"] = 7
    frame = run(
        shell,
        "%%sql -o agenda\n"
        "SELECT id, start_time, status\n"
        "FROM bookings WHERE practitioner_id = :needle ORDER BY start_time, id",
    )
    assert shell.user_ns["agenda"] is frame
    assert len(frame) > 0
    assert frame["start_time"].is_monotonic_increasing
    assert frame["status"].dtype == frames.STATUS_DTYPE


def test_a_parameter_is_a_value_never_sql(shell: InteractiveShell) -> None:
    shell.user_ns["needle"] = "'; DROP TABLE bookings; --"
    frame = run(
        shell,
        "%sql SELECT :needle AS needle, count(*) AS matches FROM bookings "
        "WHERE cancellation_reason = :needle",
    )
    assert frame["needle"].tolist() == ["'; DROP TABLE bookings; --"]
    assert frame["matches"].tolist() == [0]
    assert run(shell, "%sql SELECT count(*) AS n FROM bookings")["n"].tolist() == [BOOKINGS]


def _copied(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The statements of each read the ``COPY`` path makes from now on (one list per read)."""
    reads: list[list[str]] = []
    real_read = sql_copy.read_parts

    def counted(uri: str, snapshot: str, sqls: Sequence[str], *args: Any) -> Any:
        reads.append(list(sqls))
        return real_read(uri, snapshot, sqls, *args)

    monkeypatch.setattr(sql_copy, "read_parts", counted)
    return reads


def test_a_large_result_takes_the_copy_path_with_the_same_frame(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = _copied(monkeypatch)
    whole = run(shell, "%sql SELECT * FROM bookings ORDER BY id")
    assert len(copies) == 1
    shell.user_ns["zero"] = 0
    # A parameter keeps the query on the psycopg connection: the other path, same frame.
    rows = run(shell, "%sql SELECT * FROM bookings WHERE id > :zero ORDER BY id")
    assert len(copies) == 1
    assert len(whole) == BOOKINGS
    pd.testing.assert_frame_equal(whole, rows)
    assert dict(whole.dtypes) == BOOKING_DTYPES


def test_a_scan_of_one_table_is_read_in_block_ranges_in_the_order_of_one_scan(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = _copied(monkeypatch)
    monkeypatch.setattr(sql_runner, "streams_for", lambda planned: 1)
    one = run(shell, "%sql SELECT b.*, b.id * 2 AS twice FROM bookings AS b")
    monkeypatch.setattr(sql_runner, "streams_for", lambda planned: 3)
    three = run(shell, "%sql SELECT b.*, b.id * 2 AS twice FROM bookings AS b")
    assert [len(sqls) for sqls in copies] == [1, 3]
    assert all("b.ctid" in sql for sql in copies[1])
    assert len(three) == BOOKINGS
    pd.testing.assert_frame_equal(three, one)  # the same rows, in the same order


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM bookings ORDER BY id",
        "SELECT * FROM bookings WHERE id > 0",
        "SELECT DISTINCT patient_id, practitioner_id, id FROM bookings",
        "SELECT * FROM bookings LIMIT 100000",
        "SELECT b.* FROM bookings AS b JOIN bookings AS c ON c.id = b.id",
        "SELECT *, (SELECT max(id) FROM bookings) AS top FROM bookings",
        "SELECT *, count(*) OVER () AS n FROM bookings",
        "SELECT *, generate_series(1, 1) AS g FROM bookings",
        "SELECT * FROM bookings -- a comment FROM bookings",
    ],
)
def test_other_statements_are_one_stream(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    copies = _copied(monkeypatch)
    monkeypatch.setattr(sql_runner, "streams_for", lambda planned: 2)
    frame = run(shell, f"%sql {sql}")
    assert [len(sqls) for sqls in copies] == [1]
    assert len(frame) == BOOKINGS


def test_each_large_read_opens_its_streams_connections_and_closes_them(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real_connect = transport.adbc_connect

    def counted(uri: str) -> Any:
        opened.append(real_connect(uri))
        return opened[-1]

    monkeypatch.setattr(transport, "adbc_connect", counted)
    monkeypatch.setattr(sql_runner, "streams_for", lambda planned: 2)
    first = run(shell, "%sql SELECT * FROM bookings")
    second = run(shell, "%sql SELECT * FROM bookings")
    assert len(opened) == 4  # two streams per cell, none kept for the next one
    for connection in opened:  # closed: the driver refuses a statement on it
        with pytest.raises(adbc_driver_manager.ProgrammingError):
            connection.cursor()
    pd.testing.assert_frame_equal(first, second)


def test_a_connection_lost_while_the_rows_stream_is_a_clear_error_and_the_next_read_works(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    magics = shell.magics_manager.registry["SqlMagics"]
    run(shell, "%sql SELECT 1 AS one")  # the magics' own connection, which stays up
    real_add = Assembler.add
    ended: list[bool] = []
    once = threading.Lock()
    both_copying = threading.Barrier(2, timeout=30)
    waited: set[int] = set()

    def add_then_end_the_streams(self: Assembler, batch: pa.RecordBatch) -> None:
        if threading.get_ident() not in waited:  # a stream's first batch: its COPY has started
            waited.add(threading.get_ident())
            both_copying.wait()
        with once:  # the streams add at once: one of them ends them both
            if not ended:
                with psycopg.connect(magics.runner._conninfo, autocommit=True) as other:
                    ended.extend(
                        row[0]
                        for row in other.execute(
                            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                            "WHERE pid <> pg_backend_pid() AND query LIKE %s",
                            ("COPY (SELECT b.*, repeat(%",),  # this read's streams only
                        )
                    )
        real_add(self, batch)

    monkeypatch.setattr(Assembler, "add", add_then_end_the_streams)
    monkeypatch.setattr(sql_runner, "streams_for", lambda planned: 2)
    # 25 MB in all: more than the sockets buffer, so each server is still sending when it ends.
    padded = "%sql SELECT b.*, repeat('x', 1000) AS pad FROM bookings AS b"
    result = shell.run_cell(padded, store_history=False)
    assert ended == [True, True]
    assert isinstance(result.error_in_exec, DatabaseUnavailableError)
    assert "the connection to the database was lost" in str(result.error_in_exec)
    monkeypatch.setattr(Assembler, "add", real_add)
    assert len(run(shell, "%sql SELECT * FROM bookings")) == BOOKINGS


def test_an_arrow_error_building_the_frame_is_not_taken_for_a_lost_connection(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Assembler, batch: pa.RecordBatch) -> None:
        raise pa.ArrowInvalid("a value this column cannot hold")

    monkeypatch.setattr(Assembler, "add", refuse)
    result = shell.run_cell("%sql SELECT * FROM bookings", store_history=False)
    assert isinstance(result.error_in_exec, pa.ArrowInvalid)
    assert str(result.error_in_exec) == "a value this column cannot hold"


def test_a_statement_refused_while_its_rows_stream_shows_postgresql_message_once(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _copied(monkeypatch)
    result = shell.run_cell("%sql SELECT 1 / (id - 20000) AS x FROM bookings", store_history=False)
    assert isinstance(result.error_in_exec, QueryError)
    assert str(result.error_in_exec) == "division by zero"
    assert len(reads) == 1
    assert len(run(shell, "%sql SELECT * FROM bookings")) == BOOKINGS


def test_a_large_result_with_a_type_copy_cannot_read_uses_the_driver(
    shell: InteractiveShell,
) -> None:
    frame = run(shell, "%sql SELECT id, tstzrange(start_time, end_time) AS slot FROM bookings")
    assert len(frame) == BOOKINGS
    slot = frame["slot"].iloc[0]
    assert not isinstance(slot, bytes)
    assert slot.lower < slot.upper


def _terminate(magics: SqlMagics) -> None:
    """End the magics' server session from another connection, as a server restart would."""
    connection = magics.runner._connection
    assert connection is not None
    with psycopg.connect(magics.runner._conninfo, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))


def test_a_read_runs_again_after_the_connection_was_lost(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.registry["SqlMagics"]
    assert run(shell, "%sql SELECT 1 AS one")["one"].tolist() == [1]
    _terminate(magics)
    assert run(shell, "%sql SELECT 2 AS two")["two"].tolist() == [2]


def test_a_write_is_not_repeated_after_the_connection_was_lost(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.registry["SqlMagics"]
    run(shell, "%sql SELECT 1 AS one")
    _terminate(magics)
    result = shell.run_cell("%sql CREATE TEMPORARY TABLE scratch (x int)", store_history=False)
    assert isinstance(result.error_in_exec, DatabaseUnavailableError)
    assert "may or may not have taken effect" in str(result.error_in_exec)
    assert run(shell, "%sql SELECT 3 AS three")["three"].tolist() == [3]


def test_arrow_output(shell: InteractiveShell) -> None:
    table = run(shell, "%sql --arrow SELECT id, status FROM bookings ORDER BY id LIMIT 3")
    assert isinstance(table, pa.Table)
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.schema.field("id").type == pa.int64()


def test_polars_output_or_a_clear_message(shell: InteractiveShell) -> None:
    try:
        import polars
    except ImportError:
        result = shell.run_cell("%sql --polars SELECT 1 AS one", store_history=False)
        assert "pip install 'africare-data[polars]'" in str(result.error_in_exec)
    else:
        frame = run(shell, "%sql --polars SELECT 1 AS one")
        assert isinstance(frame, polars.DataFrame)
        assert frame["one"].to_list() == [1]


def test_a_statement_without_rows_returns_nothing(shell: InteractiveShell) -> None:
    assert run(shell, "%sql CREATE TEMPORARY TABLE scribble (x int)") is None
    assert run(shell, "%sql INSERT INTO scribble VALUES (1), (2)") is None
    assert run(shell, "%sql SELECT sum(x) AS total FROM scribble")["total"].tolist() == [3]


def test_a_sql_error_shows_postgresql_message_and_position(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell("%%sql\nSELECT id,\n  nope FROM bookings", store_history=False)
    assert type(result.error_in_exec).__name__ == "QueryError"
    shown = capsys.readouterr().out.splitlines()
    assert shown[:3] == [
        'QueryError: column "nope" does not exist',
        "LINE 2:   nope FROM bookings",
        "          ^",
    ]
    assert len(shown) <= 5


def test_options_and_usage_errors(shell: InteractiveShell) -> None:
    for cell, message in [
        ("%sql", "no SQL to run"),
        ("%sql -o", "-o needs a variable name"),
        ("%sql -x SELECT 1", "unknown option -x"),
        ("%sql SELECT :undefined_variable", ":undefined_variable in the SQL names no variable"),
    ]:
        result = shell.run_cell(cell, store_history=False)
        assert message in str(result.error_in_exec), cell
    assert run(shell, "%%sql -- a comment, not an option\nSELECT 1 AS one")["one"].tolist() == [1]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT :a, :b", ("SELECT %(a)s, %(b)s", {"a": 1, "b": "two"})),
        ("SELECT '50%', :a", ("SELECT '50%%', %(a)s", {"a": 1})),
        ("SELECT 1::int, ':a', \":a\", $$ :a $$ -- :a\n/* :a /* :a */ */", None),
        ("SELECT E'\\' :a', arr[lo:hi] FROM t", None),
    ],
)
def test_only_parameters_in_sql_code_are_bound(
    sql: str, expected: tuple[str, dict[str, Any]] | None
) -> None:
    bound = bind_parameters(sql, {"a": 1, "b": "two"})
    assert (bound.query, bound.params) == (expected or (sql, None))
    assert bound.text == sql


def test_error_positions_map_back_to_the_sql_as_written() -> None:
    # Sent as "SELECT $1, $2 + $1 FROM tt": 0-based offsets of $1, $2, '+', the second $1, FROM.
    bound = bind_parameters("SELECT :long_name, :b + :long_name FROM tt", {"long_name": 1, "b": 2})
    written = [bound.written_position(sent) for sent in (7, 11, 14, 16, 19)]
    assert written == [7, 19, 22, 24, 35]
    assert [bound.text[offset] for offset in written] == [":", ":", "+", ":", "F"]


def test_a_sql_error_after_a_parameter_points_at_the_sql_as_written(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.user_ns["needle"] = 7
    shell.run_cell("%sql SELECT :needle AS n, nope FROM bookings", store_history=False)
    shown = capsys.readouterr().out.splitlines()
    assert shown[1:3] == [
        "LINE 1: SELECT :needle AS n, nope FROM bookings",
        "                             ^",
    ]


def test_an_unbound_parameter_names_itself() -> None:
    with pytest.raises(UnboundParameterError, match=r"^:missing in the SQL"):
        bind_parameters("SELECT :missing", {})
