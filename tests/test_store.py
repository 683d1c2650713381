"""The DuckDB store: schema, migrations, read-only opening and the bounded busy wait."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from workbench.errors import SchemaError, StoreBusy, StoreError
from workbench.store import SCHEMA_VERSION, connect, current_version, migrate
from workbench.store.schema import MIGRATIONS


def test_connect_creates_every_table(db_path: Path) -> None:
    """A read-write open creates the file with every table at the current schema version."""
    with connect(db_path) as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert current_version(con) == SCHEMA_VERSION
    assert {
        "accounts",
        "instruments",
        "transactions",
        "prices",
        "quotes",
        "imports",
        "schema_version",
    } <= tables


def test_money_columns_are_exact_decimals(db_path: Path) -> None:
    """Quantities, prices, fees and amounts are DECIMAL, so 0.1 + 0.2 sums to exactly 0.3."""
    with connect(db_path) as con:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'transactions'"
            ).fetchall()
        )
        assert (
            types["quantity"]
            == types["price"]
            == types["fee"]
            == types["amount"]
            == "DECIMAL(18,8)"
        )
        con.execute(
            "CREATE TEMP TABLE d AS SELECT 0.1::DECIMAL(18,8) AS x UNION ALL SELECT 0.2::DECIMAL(18,8)"
        )
        assert str(con.execute("SELECT sum(x) FROM d").fetchall()[0][0]) == "0.30000000"


def test_migrates_a_version_1_database(db_path: Path) -> None:
    """A file left at schema version 1 is migrated to the current version, keeping its rows."""
    con = duckdb.connect(str(db_path))
    migrate(con, target=1)
    con.execute(
        "INSERT INTO imports (id, file_name, file_hash, rows, added) VALUES (1, 'old.csv', 'abc', 3, 3)"
    )
    assert current_version(con) == 1
    assert "quotes" not in {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()

    with connect(db_path) as con:
        assert current_version(con) == SCHEMA_VERSION
        assert con.execute("SELECT file_name, kind FROM imports").fetchall() == [
            ("old.csv", "transactions")
        ]
        assert con.execute("SELECT count(*) FROM quotes").fetchall()[0][0] == 0
        versions = [
            r[0]
            for r in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        ]
    assert versions == list(range(1, max(MIGRATIONS) + 1))


def test_read_only_refuses_an_old_schema(db_path: Path) -> None:
    """A read-only open of a file at an older schema says to run `workbench init`."""
    con = duckdb.connect(str(db_path))
    migrate(con, target=1)
    con.close()
    with pytest.raises(SchemaError, match="workbench init"), connect(db_path, read_only=True):
        pass


def test_newer_schema_is_refused(db_path: Path) -> None:
    """A file written by a newer workbench is refused rather than misread."""
    with connect(db_path) as con:
        con.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(SchemaError, match="newer"), connect(db_path):
        pass


def test_read_only_open_of_missing_file_is_clear(tmp_path: Path) -> None:
    """Opening a missing database read-only names the file instead of creating it."""
    missing = tmp_path / "nope.duckdb"
    with pytest.raises(StoreError, match=r"nope\.duckdb"), connect(missing, read_only=True):
        pass
    assert not missing.exists()


def test_read_only_connection_cannot_write(db_path: Path) -> None:
    """A read-only connection refuses writes."""
    with connect(db_path):
        pass
    with connect(db_path, read_only=True) as con, pytest.raises(duckdb.Error):
        con.execute("INSERT INTO accounts (name, currency) VALUES ('x', 'USD')")


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@contextmanager
def _hold_lock(db_path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding a read-write connection for `seconds` (killed on exit)."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        try:
            yield proc
        finally:
            if proc.poll() is None and seconds > 5:
                proc.kill()
            proc.wait()


def test_store_busy_names_the_file_after_a_bounded_wait(db_path: Path) -> None:
    """While another process holds the file, an open waits about `timeout` then raises StoreBusy."""
    with connect(db_path):
        pass
    with _hold_lock(db_path, 30):
        started = time.monotonic()
        with (
            pytest.raises(StoreBusy, match=re.escape(str(db_path))) as info,
            connect(db_path, timeout=0.5),
        ):
            pass
        waited = time.monotonic() - started
        assert info.value.path == db_path
        assert 0.4 <= waited < 10  # bounded: it neither gave up at once nor hung


def test_open_succeeds_once_the_other_process_lets_go(db_path: Path) -> None:
    """An open that meets a lock retries and gets in when the holder closes within the wait."""
    with connect(db_path):
        pass
    with _hold_lock(db_path, 0.5), connect(db_path, read_only=True, timeout=20) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]


def test_date_span_and_symbol_lists(db_path: Path, tmp_path: Path) -> None:
    """The span and symbol lists come from the ledger and price tables, None/empty when empty."""
    from workbench.ledger import import_csv
    from workbench.ledger.prices_csv import import_prices_csv
    from workbench.store import date_span, priced_symbols, stored_price_dates, traded_symbols

    with connect(db_path) as con:
        assert date_span(con) == (None, None, None)
        assert (priced_symbols(con), traded_symbols(con)) == ([], [])
    ledger = tmp_path / "l.csv"
    ledger.write_text(
        "date,type,symbol,quantity,price,amount\n2024-01-02,DEPOSIT,,,,100\n2024-03-01,BUY,ZED,1,10,\n"
    )
    prices = tmp_path / "p.csv"
    prices.write_text("date,symbol,close\n2024-04-05,ACME,1\n2024-04-06,ZED,2\n")
    import_csv(db_path, ledger)
    import_prices_csv(db_path, prices)
    with connect(db_path, read_only=True) as con:
        assert date_span(con) == (dt.date(2024, 1, 2), dt.date(2024, 3, 1), dt.date(2024, 4, 6))
        assert priced_symbols(con) == ["ACME", "ZED"]
        assert traded_symbols(con) == ["ZED"]
        assert stored_price_dates(
            con, ["ZED", "ACME", "NONE"], dt.date(2024, 4, 6), dt.date(2024, 4, 30)
        ) == {
            "ZED": {dt.date(2024, 4, 6)},
            "ACME": set(),
            "NONE": set(),
        }
