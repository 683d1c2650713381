"""The viewers' SQL sandbox: limits set before locking, no directory, parallel viewers, deadline."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.server import SqlLimits, run_sql, sandbox
from workbench.server.viewer_sql import cancel_thread_queries, running_queries

#: a query that runs for minutes: 10^14 pairs to count
ENDLESS = "SELECT count(*) FROM range(10000000) a, range(10000000) b"


def transactions_in(db: Path) -> int:
    """Transactions counted by DuckDB on the file directly (the independent reference)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql("SELECT count(*) FROM transactions").fetchall()[0][0])


def test_limits_are_set_before_the_configuration_is_locked(demo_db: Path) -> None:
    """memory_limit, threads and a zero temp-directory size are in force, and locked."""
    limits = SqlLimits(memory="64MB", threads=1)
    with sandbox(demo_db, limits=limits) as con:
        settings = dict(
            con.sql(
                "SELECT name, value FROM duckdb_settings() WHERE name IN"
                " ('memory_limit', 'threads', 'max_temp_directory_size', 'temp_directory',"
                " 'lock_configuration', 'enable_external_access')"
            ).fetchall()
        )
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET memory_limit = '10GB'")
    # 64MB is 64 * 10^6 bytes = 61.0 MiB, as DuckDB prints it
    assert settings["memory_limit"] == "61.0 MiB"
    assert settings["threads"] == "1"
    assert settings["max_temp_directory_size"] == "0 bytes"
    assert settings["temp_directory"] == ""
    assert settings["lock_configuration"] == "true"
    assert settings["enable_external_access"] == "false"


def test_no_directory_is_readable_or_writable(demo_db: Path) -> None:
    """COPY TO and glob fail even in <db>.tmp/, DuckDB's own temp directory; nothing is written."""
    spill = demo_db.with_name(demo_db.name + ".tmp")
    spill.mkdir()
    (spill / "planted.csv").write_text("a\n1\n")
    with sandbox(demo_db) as con:
        for statement in (
            f"COPY (SELECT 42 AS x) TO '{spill}/x.csv'",
            f"SELECT * FROM glob('{spill}/*')",
            f"SELECT * FROM read_csv('{spill}/planted.csv')",
            f"SELECT * FROM glob('{demo_db.parent}/*')",
        ):
            with pytest.raises(duckdb.PermissionException):
                con.sql(statement).fetchall()
    assert sorted(p.name for p in spill.iterdir()) == ["planted.csv"]


def test_database_list_names_no_server_path(demo_db: Path) -> None:
    """PRAGMA database_list and duckdb_databases() show no file path of the server."""
    with sandbox(demo_db) as con:
        listed = con.sql("PRAGMA database_list").fetchall()
        databases = con.sql("SELECT path FROM duckdb_databases()").fetchall()
        settings = con.sql("SELECT value FROM duckdb_settings()").fetchall()
    shown = repr(listed) + repr(databases) + repr(settings)
    assert str(demo_db.parent) not in shown
    assert "/root" not in shown
    assert str(Path.home()) not in shown
    assert all(path is None for _seq, _name, path in listed)


def test_parallel_viewers_do_not_fail_each_other(demo_db: Path) -> None:
    """Four viewers each running 25 queries at once: all 100 succeed with the right count."""
    expected = transactions_in(demo_db)
    results: list[object] = []

    def viewer() -> None:
        for _ in range(25):
            try:
                with sandbox(demo_db) as con:
                    results.append(con.sql("SELECT count(*) FROM transactions").fetchall()[0][0])
            except duckdb.Error as exc:
                results.append(exc)

    threads = [threading.Thread(target=viewer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 100


def test_parallel_run_sql_while_one_viewer_holds_a_sandbox(demo_db: Path) -> None:
    """While one sandbox stays open, other viewers' queries through run_sql all work."""
    expected = transactions_in(demo_db)
    with sandbox(demo_db) as held:
        outcomes = []
        for _ in range(10):
            result = run_sql(demo_db, "SELECT count(*) AS n FROM transactions")
            outcomes.append(result.error or result.frame["n"][0])  # type: ignore[index]
        assert held.sql("SELECT count(*) FROM transactions").fetchall()[0][0] == expected
    assert outcomes == [expected] * 10


def test_query_is_stopped_at_the_deadline_and_the_writer_goes_on(
    demo_db: Path, tmp_path: Path
) -> None:
    """A query of minutes is interrupted at its deadline; an import right after succeeds."""
    from workbench.ledger import import_csv

    result = run_sql(demo_db, ENDLESS, limits=SqlLimits(timeout=1.0))
    assert result.frame is None
    assert result.error is not None
    assert "deadline" in result.error
    assert running_queries() == 0
    csv = tmp_path / "more.csv"
    csv.write_text("date,account,type,amount\n2025-12-31,taxable,DEPOSIT,123.45\n")
    assert import_csv(demo_db, csv).added == 1


def test_writer_is_never_blocked_by_a_running_query(demo_db: Path, tmp_path: Path) -> None:
    """While a viewer's query runs, another process imports at once (the query reads a snapshot)."""
    import os
    import subprocess
    import sys

    done: list[str | None] = []
    worker = threading.Thread(
        target=lambda: done.append(run_sql(demo_db, ENDLESS, limits=SqlLimits(timeout=20.0)).error),
        daemon=True,
    )
    worker.start()
    while running_queries() == 0 and worker.is_alive():
        time.sleep(0.05)
    csv = tmp_path / "more.csv"
    csv.write_text("date,account,type,amount\n2025-12-31,taxable,DEPOSIT,123.45\n")
    env = {"WORKBENCH_BUSY_TIMEOUT": "2"}
    script = f"from workbench.ledger import import_csv; print(import_csv({str(demo_db)!r}, {str(csv)!r}).added)"
    imported = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    cancel_thread_queries(worker.ident, "test over")
    worker.join()
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "1"
    assert done
    assert done[0] is not None
    assert "test over" in done[0]


def test_session_end_cancels_its_query(demo_db: Path) -> None:
    """Closing a viewer's session interrupts the query its kernel thread is running."""
    from workbench.server.app import cancel_on_close_listener

    errors: list[str | None] = []
    kernel = threading.Thread(
        target=lambda: errors.append(
            run_sql(demo_db, ENDLESS, limits=SqlLimits(timeout=120.0)).error
        ),
        daemon=True,
    )
    kernel.start()
    while running_queries() == 0 and kernel.is_alive():
        time.sleep(0.05)
    session = SimpleNamespace(_kernel_manager=SimpleNamespace(kernel_task=kernel))
    started = time.monotonic()
    import asyncio

    asyncio.run(cancel_on_close_listener().on_session_closed(session))
    kernel.join(timeout=30)
    assert not kernel.is_alive(), "the query outlived its session"
    assert time.monotonic() - started < 30
    assert errors
    assert errors[0] is not None
    assert "session ended" in errors[0]


def test_rows_are_capped_with_a_note(demo_db: Path) -> None:
    """A query of 10^8 rows fetches and shows max_rows of them and says there were more."""
    result = run_sql(
        demo_db,
        "SELECT range AS x, range * 2 AS y FROM range(100000000)",
        limits=SqlLimits(max_rows=1000),
    )
    assert result.error is None
    assert result.frame is not None
    assert result.frame.height == 1000
    assert result.frame["y"].to_list()[-1] == 2 * 999
    assert result.truncated
    assert "first 1,000 rows" in (result.note() or "")
    small = run_sql(demo_db, "SELECT * FROM range(1000)", limits=SqlLimits(max_rows=1000))
    assert small.frame is not None
    assert small.frame.height == 1000
    assert not small.truncated


def test_memory_limit_refuses_a_huge_aggregate(demo_db: Path) -> None:
    """A query that needs more memory than the limit fails with a message naming the limit."""
    result = run_sql(
        demo_db,
        "SELECT list(range) FROM range(50000000)",
        limits=SqlLimits(memory="32MB", timeout=30.0),
    )
    assert result.frame is None
    assert result.error is not None
    assert "32MB" in result.error


def test_snapshot_follows_the_writer(demo_db: Path, tmp_path: Path) -> None:
    """After an import the viewer's next query sees the new row."""
    from workbench.ledger import import_csv

    before = run_sql(demo_db, "SELECT count(*) AS n FROM transactions").frame
    assert before is not None
    csv = tmp_path / "more.csv"
    csv.write_text("date,account,type,amount\n2025-12-31,taxable,DEPOSIT,123.45\n")
    import_csv(demo_db, csv)
    after = run_sql(demo_db, "SELECT count(*) AS n FROM transactions").frame
    assert after is not None
    assert after["n"][0] == before["n"][0] + 1 == transactions_in(demo_db)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("WORKBENCH_SQL_TIMEOUT", "soon", id="timeout-word"),
        pytest.param("WORKBENCH_SQL_MAX_ROWS", "0", id="rows-zero"),
        pytest.param("WORKBENCH_SQL_MEMORY", "lots", id="memory-word"),
    ],
)
def test_bad_limits_in_the_environment_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A bad WORKBENCH_SQL_* value is a clear error naming the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(WorkbenchError, match=name):
        SqlLimits.from_env()


def test_snapshot_read_is_bound_by_the_deadline(demo_db: Path) -> None:
    """Reading the tables for a viewer holds the file no longer than the query deadline."""
    with duckdb.connect(str(demo_db)) as con:  # 5M rows: far more than 1 ms to read
        con.execute("CREATE TABLE big AS SELECT range AS x FROM range(5000000)")
    result = run_sql(demo_db, "SELECT count(*) FROM big", limits=SqlLimits(timeout=0.001))
    assert result.frame is None
    assert result.error is not None
    assert "reading the database took longer" in result.error
    full = run_sql(demo_db, "SELECT count(*) AS n FROM big", limits=SqlLimits(timeout=60.0))
    assert full.frame is not None
    assert full.frame["n"][0] == 5_000_000


def test_missing_database_is_a_message_not_an_exception(tmp_path: Path) -> None:
    """A viewer's query over a database that is gone comes back as an error message."""
    result = run_sql(tmp_path / "gone.duckdb", "SELECT 1")
    assert result.frame is None
    assert result.error is not None
    assert "does not exist" in result.error
