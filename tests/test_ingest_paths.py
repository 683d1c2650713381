"""The fast paths of a large import give what the plain ones give.

A frame of 100,000 rows or more is validated in two halves side by side while the database
opens; the names of new accounts and instruments are taken in one pass. Each test holds the result to the whole-frame validator or to values
worked out by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import InvalidRows, OversoldError
from workbench.ledger import import_csv, importer
from workbench.ledger.validate import validate_rows
from workbench.store import connect
from workbench.store.ledger_rows import names_of

WriteCsv = Callable[..., Path]

HEADER = "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note"
ROWS = 120_000  # above importer._HALVES_FROM: two halves


def _buys(n: int) -> list[str]:
    """``n`` valid buys of 1 share of S0..S9 in account a, one day each of 2020-2023."""
    return [
        f"202{i % 4}-0{i % 9 + 1}-1{i % 10},a,BUY,S{i % 10},1,10,0,,USD,,n{i}" for i in range(n)
    ]


def _text(lines: list[str]) -> pl.DataFrame:
    """Lines as the reader gives them: text columns and the file line (header is line 1)."""
    frame = pl.DataFrame(
        [line.split(",") for line in lines], schema=HEADER.split(","), orient="row"
    ).with_columns(pl.all().replace("", None))
    return frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))


def test_bad_rows_in_both_halves_are_reported_as_the_whole_frame_reports_them() -> None:
    """Bad values in the first and the second half: the same problems, in line order, as
    one validation of the whole frame; by hand, lines 12 and 100,002."""
    lines = _buys(ROWS)
    lines[10] = lines[10].replace(",1,10,", ",ten,10,")  # line 12
    lines[100_000] = "2024-13-01" + lines[100_000][10:]  # line 100,002
    text = _text(lines)
    with ThreadPoolExecutor(max_workers=1) as pool:
        typed, problems = importer._validate(text, "f.csv", pool)
    whole = validate_rows(text, file="f.csv")[1]
    assert problems == whole
    assert [(p.line, p.field) for p in problems] == [(12, "quantity"), (100_002, "date")]
    assert typed.is_empty()


def test_a_missing_column_needed_by_rows_of_one_half_is_reported_once() -> None:
    """A deposit in the first half, a withdrawal in the second and no amount column: one
    line-1 problem naming both types, as for the whole frame (each half alone sees one)."""
    lines = _buys(ROWS)
    lines[0] = "2024-01-02,a,DEPOSIT,,,,,,USD,,"
    lines[-1] = "2024-01-02,a,WITHDRAWAL,,,,,,USD,,"
    text = _text(lines).drop("amount")
    with ThreadPoolExecutor(max_workers=1) as pool:
        _typed, problems = importer._validate(text, "f.csv", pool)
    assert problems == validate_rows(text, file="f.csv")[1]
    assert [(p.line, p.field) for p in problems] == [(1, "amount")]
    assert "(DEPOSIT, WITHDRAWAL rows need it)" in problems[0].message


def test_good_halves_join_to_the_whole_frame() -> None:
    """Valid rows: the typed halves, joined, equal the whole frame's typed rows."""
    text = _text(_buys(ROWS))
    with ThreadPoolExecutor(max_workers=1) as pool:
        typed, problems = importer._validate(text, "f.csv", pool)
    assert problems == []
    assert typed.equals(validate_rows(text, file="f.csv")[0])
    assert typed.height == ROWS


def test_an_oversell_refuses_a_large_import_validated_in_halves(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """120,000 buys and one sell of 12,001 shares of S3, which holds 12,000 (120,000 / 10
    symbols) after the buys: refused at its line, and nothing of the file is stored."""
    import_csv(db_path, write_csv(f"{HEADER}\n2019-01-02,a,DEPOSIT,,,,,100,USD,,\n", "seed.csv"))
    lines = [*_buys(ROWS), "2024-06-03,a,SELL,S3,12001,10,0,,USD,,"]
    with pytest.raises(OversoldError) as info:
        import_csv(db_path, write_csv(HEADER + "\n" + "\n".join(lines) + "\n"))
    assert [(p.line, p.field) for p in info.value.problems] == [(ROWS + 2, "quantity")]
    assert "holds 12000" in info.value.problems[0].message
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM imports").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM instruments").fetchall() == [(0,)]


def test_a_large_import_stores_every_row_once(db_path: Path, write_csv: WriteCsv) -> None:
    """120,000 valid rows: all stored with ids 1..120,000 in file order; again: none added."""
    path = write_csv(HEADER + "\n" + "\n".join(_buys(ROWS)) + "\n")
    assert import_csv(db_path, path).added == ROWS
    assert import_csv(db_path, path).added == 0
    with connect(db_path, read_only=True) as con:
        got = con.execute(
            "SELECT count(*), min(id), max(id), count(*) FILTER (occurrence = 1) FROM transactions"
        ).fetchall()
        last = con.execute("SELECT note FROM transactions WHERE id = ?", [ROWS]).fetchall()
    assert got == [(ROWS, 1, ROWS, ROWS)]
    assert last == [(f"n{ROWS - 1}",)]


def test_names_keep_the_currency_of_their_first_row_and_skip_fx_symbols() -> None:
    """Accounts and instruments with the currency of their first row (by hand); an FX row's
    symbol (a currency) is no instrument, and a row without a symbol names none."""
    rows = pl.DataFrame(
        {
            "account": ["a", "b", "a", "b", "c"],
            "type": ["FX", "BUY", "BUY", "BUY", "DEPOSIT"],
            "symbol": ["EUR", "X", "EUR", "Y", None],
            "currency": ["USD", "GBP", "CHF", "USD", "JPY"],
        }
    )
    accounts, instruments = names_of(rows)
    assert accounts.rows() == [("a", "USD"), ("b", "GBP"), ("c", "JPY")]
    assert instruments.rows() == [("X", "GBP"), ("EUR", "CHF"), ("Y", "USD")]


def test_a_bad_file_leaves_the_ledger_as_it_was(db_path: Path, write_csv: WriteCsv) -> None:
    """The database opens beside the validation; a refused file still changes nothing."""
    import_csv(db_path, write_csv(f"{HEADER}\n2019-01-02,a,DEPOSIT,,,,,100,USD,,\n", "seed.csv"))
    with pytest.raises(InvalidRows):
        import_csv(db_path, write_csv(f"{HEADER}\n2019-01-03,a,BUY,S1,x,1,0,,USD,,\n"))
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(1,)]


def test_a_refused_import_leaves_no_new_database(tmp_path: Path) -> None:
    """The database opens while the file is read; a refused file into a path with no
    database leaves none, and never removes an existing (even empty) one."""
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n2024-01-02,a,BUY,S,1,oops,0,,USD,,\n")
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n2024-01-02,a,BUY,S,1,10,0,,USD,,\n")
    fresh = tmp_path / "new.duckdb"
    with pytest.raises(InvalidRows):
        import_csv(fresh, bad)
    assert not fresh.exists()
    assert import_csv(fresh, good, dry_run=True).added == 1  # creates it, as `init` would
    with pytest.raises(InvalidRows):
        import_csv(fresh, bad)
    assert fresh.exists()
    assert import_csv(fresh, good).added == 1
    with pytest.raises(InvalidRows):
        import_csv(fresh, bad)
    with connect(fresh, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchone() == (1,)
