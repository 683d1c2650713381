"""`workbench check`: stored rows dated outside the accepted range are reported with their
identity, never changed unless --remove is asked for; on a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench import store
from workbench.cli import cli
from workbench.ledger import import_csv

NEXT_YEAR_END = dt.date(dt.date.today().year + 1, 12, 31)

LEDGER = """date,type,symbol,quantity,price,amount,currency
2024-01-02,DEPOSIT,,,,1000,USD
2024-01-03,BUY,ACME,1,100,,USD
"""


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _counts(db: Path) -> tuple[int, int, int]:
    with store.connect(db, read_only=True) as con:
        return tuple(  # type: ignore[return-value]
            int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("transactions", "prices", "fx_rates")
        )


@pytest.fixture
def old_db(db_path: Path, tmp_path: Path) -> Path:
    """Two good ledger rows imported; then, as an older workbench allowed, a BUY dated 0001,
    a close dated 9999 and a rate dated 1850 written directly, plus rows on both bounds."""
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    import_csv(db_path, ledger)
    with store.connect(db_path) as con:
        con.execute(
            "INSERT INTO transactions (id, date, account, type, symbol, quantity, price,"
            " currency, occurrence) VALUES (9001, DATE '0001-03-04', 'default', 'BUY', 'ACME',"
            " 1, 1, 'USD', 1), (9002, DATE '1900-01-01', 'default', 'DEPOSIT', NULL, NULL,"
            " NULL, 'USD', 1)"
        )
        con.execute(
            "INSERT INTO prices (symbol, date, close, provider, fetched_at) VALUES"
            " ('ACME', DATE '9999-01-01', 5, 'csv', now()), ('ACME', ?, 6, 'csv', now()),"
            " ('ACME', DATE '2024-01-03', 100, 'csv', now())",
            [NEXT_YEAR_END],
        )
        con.execute(
            "INSERT INTO fx_rates VALUES (DATE '1850-01-01', 'EUR', 'USD', 1.1, 'ecb', now()),"
            " (DATE '1899-12-31', 'EUR', 'GBP', 0.9, 'ecb', now())"
        )
    return db_path


def test_out_of_range_rows_are_listed_with_their_identity(old_db: Path) -> None:
    """Exit 1; each bad row named by table and key; rows on 1900-01-01 and 31 Dec next year
    are in range; nothing is deleted."""
    before = _counts(old_db)
    code, out, _ = run("check", "--db", str(old_db))
    assert code == 1
    assert "4 stored row(s) dated outside 1900-01-01" in out
    assert "transactions id=9001: date 0001-03-04, BUY ACME in account default" in out
    assert "prices symbol=ACME, date=9999-01-01: close 5.0 from csv" in out
    assert "fx_rates date=1850-01-01, base=EUR, quote=USD: rate 1.1 from ecb" in out
    assert "fx_rates date=1899-12-31, base=EUR, quote=GBP" in out
    assert "9002" not in out
    assert f"date={NEXT_YEAR_END}" not in out
    assert "Nothing was changed" in out
    assert _counts(old_db) == before


def test_json_lists_the_same_rows(old_db: Path) -> None:
    """--json: the bounds, every out-of-range row with table, key, date, and removed 0."""
    code, out, _ = run("check", "--json", "--db", str(old_db))
    assert code == 1
    payload = json.loads(out)
    assert payload["earliest"] == "1900-01-01"
    assert payload["latest"] == NEXT_YEAR_END.isoformat()
    keys = [(r["table"], r["key"]) for r in payload["out_of_range"]]
    assert keys == [
        ("transactions", {"id": 9001}),
        ("prices", {"symbol": "ACME", "date": "9999-01-01"}),
        ("fx_rates", {"date": "1850-01-01", "base": "EUR", "quote": "USD"}),
        ("fx_rates", {"date": "1899-12-31", "base": "EUR", "quote": "GBP"}),
    ]
    assert payload["removed"] == 0


def test_remove_deletes_exactly_the_rows_listed(old_db: Path) -> None:
    """--remove deletes the 4 rows (1 transaction, 1 price, 2 rates), keeps the rest; a
    second check finds nothing and exits 0."""
    transactions, prices, rates = _counts(old_db)
    code, out, _ = run("check", "--remove", "--db", str(old_db))
    assert code == 0
    assert "removed 4 row(s)" in out
    assert _counts(old_db) == (transactions - 1, prices - 1, rates - 2)
    code, out, _ = run("check", "--db", str(old_db))
    assert code == 0
    assert out.startswith("check: every date is within 1900-01-01")


def test_a_clean_database_passes(db_path: Path, tmp_path: Path) -> None:
    """A database written by imports alone has nothing to report: exit 0."""
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    import_csv(db_path, ledger)
    code, out, _ = run("check", "--db", str(db_path))
    assert (code, out.strip()) == (0, f"check: every date is within 1900-01-01 .. {NEXT_YEAR_END}")


def test_a_missing_database_is_one_clear_line(tmp_path: Path) -> None:
    """check on a file that does not exist: exit 1, one line naming it."""
    code, _, err = run("check", "--db", str(tmp_path / "nope.duckdb"))
    assert code == 1
    assert err.count("\n") == 1
    assert "nope.duckdb" in err
