"""Files written to hurt: poison dates, formula cells, bad bytes, repeated columns, escapes.

Each test names the problem it guards against; every refused import leaves the database as
it was.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import InvalidRow, InvalidRows, WorkbenchError, escape_controls
from workbench.ledger import import_csv, import_frame
from workbench.ledger.csv_text import neutralise_formulas
from workbench.ledger.export import export_table
from workbench.ledger.prices_csv import import_prices_csv
from workbench.store import connect, read_prices, read_transactions, upsert_prices

WriteCsv = Callable[..., Path]
HEADER = "date,type,amount,note\n"


def _refused(db: Path, path: Path, *, prices: bool = False) -> InvalidRows:
    """Import ``path`` expecting InvalidRows; checks that nothing was stored."""
    with pytest.raises(InvalidRows) as caught:
        (import_prices_csv if prices else import_csv)(db, path)
    if db.exists():
        with connect(db, read_only=True) as con:
            assert read_transactions(con).is_empty()
            assert read_prices(con).is_empty()
    return caught.value


# --- poison dates ----------------------------------------------------------------------------

# the documented range, computed here from the calendar rather than from the code
NEXT_YEAR_END = dt.date(dt.date.today().year + 1, 12, 31)
RANGE = f"out of range (expected 1900-01-01 to {NEXT_YEAR_END})"


@pytest.mark.parametrize(
    "day",
    [
        pytest.param("0001-01-01", id="year-1"),
        pytest.param("-0001-01-01", id="negative-year"),
        pytest.param("9999-12-31", id="year-9999"),
        pytest.param("1899-12-31", id="day-before-1900"),
        pytest.param(f"{NEXT_YEAR_END.year + 1}-01-01", id="day-after-next-year"),
    ],
)
def test_a_ledger_date_outside_the_range_is_refused(
    db_path: Path, write_csv: WriteCsv, day: str
) -> None:
    """A date before 1900 or after the end of next year is named with file, line and value."""
    text = HEADER + "2024-01-02,DEPOSIT,100,\n" + f"{day},DEPOSIT,100,\n"
    error = _refused(db_path, write_csv(text))
    assert [(p.line, p.field) for p in error.problems] == [(3, "date")]
    assert error.problems[0].message == f"{RANGE}: '{day}'"


def test_the_first_and_last_allowed_dates_import(db_path: Path, write_csv: WriteCsv) -> None:
    """1900-01-01 and the last day of next year are inside the range."""
    text = HEADER + f"1900-01-01,DEPOSIT,1,\n{NEXT_YEAR_END},DEPOSIT,2,\n"
    assert import_csv(db_path, write_csv(text)).added == 2


@pytest.mark.parametrize("day", ["0001-01-01", "-0001-01-01", "9999-12-31"])
def test_a_price_date_outside_the_range_is_refused(
    db_path: Path, write_csv: WriteCsv, day: str
) -> None:
    """Price files get the same bound: line 3 is named, the good bar on line 2 is not stored."""
    text = f"date,symbol,close\n2024-01-02,ACME,10\n{day},ACME,11\n"
    error = _refused(db_path, write_csv(text, "prices.csv"), prices=True)
    assert [(p.line, p.field, p.message) for p in error.problems] == [(3, "date", RANGE)]


def test_the_apps_default_period_ends_today_at_the_latest(db_path: Path) -> None:
    """A stored bar dated 9999-12-31 (a database from before the bound) does not move the apps'
    default as-of past today; nor does a bar dated within next year."""
    from workbench.server.views import load_choices

    today = dt.date.today()
    import_csv(db_path, _write(db_path.parent / "l.csv", HEADER + "2024-01-02,DEPOSIT,100,\n"))
    for day in (today + dt.timedelta(days=30), dt.date(9999, 12, 31)):
        bar = pl.DataFrame(
            {"symbol": ["ACME"], "date": [day], "close": [1.0], "provider": ["test"]},
        ).with_columns(fetched_at=pl.lit(dt.datetime.now(dt.UTC)))
        with connect(db_path) as con:
            upsert_prices(con, bar)
        choices = load_choices(db_path)
        assert (choices.first_date, choices.last_date) == (dt.date(2024, 1, 2), today)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- formula injection -----------------------------------------------------------------------

FORMULA_NOTES = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "plain note",
    "'just a quote",
]


def _store_notes(db: Path) -> None:
    """One deposit per note in FORMULA_NOTES, stored as given (a frame, not a CSV file)."""
    days = [dt.date(2024, 1, 2 + i).isoformat() for i in range(len(FORMULA_NOTES))]
    frame = pl.DataFrame({"date": days, "type": "DEPOSIT", "amount": "100", "note": FORMULA_NOTES})
    import_frame(db, frame, source="notes")


def test_csv_export_neutralises_formula_cells(db_path: Path, tmp_path: Path) -> None:
    """Text cells starting with = + - @ get a leading quote; numbers and other text do not."""
    _store_notes(db_path)
    out = tmp_path / "export.csv"
    export_table(db_path, "transactions", fmt="csv", out=out)
    with out.open(newline="", encoding="utf-8") as handle:
        cells = list(csv.DictReader(handle))
    assert [c["note"] for c in cells] == [
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'-2+3",
        "'@SUM(A1:A2)",
        "''=already quoted",
        "plain note",
        "'just a quote",
    ]
    assert {c["amount"] for c in cells} == {"100.00000000"}


def test_neutralising_covers_tab_and_carriage_return_and_leaves_numbers_alone() -> None:
    """A leading tab or CR is neutralised too; negative numbers in number columns are numbers."""
    frame = pl.DataFrame(
        {"text": ["\tx", "\rx", "x=1", "", None], "number": [-5.0, -1.5, 0.0, 1.0, None]}
    )
    out = neutralise_formulas(frame)
    assert out["text"].to_list() == ["'\tx", "'\rx", "x=1", "", None]
    assert out["number"].to_list() == [-5.0, -1.5, 0.0, 1.0, None]


def test_a_neutralised_export_round_trips(db_path: Path, tmp_path: Path) -> None:
    """The export re-imports as duplicates, a fresh import restores the original notes, and
    exporting that gives the same file byte for byte."""
    _store_notes(db_path)
    first = tmp_path / "first.csv"
    export_table(db_path, "transactions", fmt="csv", out=first)
    assert import_csv(db_path, first).added == 0
    fresh = tmp_path / "fresh.duckdb"
    assert import_csv(fresh, first).added == len(FORMULA_NOTES)
    with connect(fresh, read_only=True) as con:
        assert read_transactions(con)["note"].to_list() == FORMULA_NOTES
    second = tmp_path / "second.csv"
    export_table(fresh, "transactions", fmt="csv", out=second)
    assert second.read_bytes() == first.read_bytes()
    assert import_csv(fresh, second).added == 0


def test_a_neutralised_price_export_round_trips(
    db_path: Path, write_csv: WriteCsv, tmp_path: Path
) -> None:
    """A symbol like =CMD is exported quoted in prices too and read back as =CMD."""
    import_prices_csv(db_path, write_csv("date,symbol,close\n2024-01-02,=CMD,10\n", "p.csv"))
    out = tmp_path / "prices.csv"
    export_table(db_path, "prices", fmt="csv", out=out)
    assert out.read_text().splitlines()[1].startswith("'=CMD,2024-01-02,")
    fresh = tmp_path / "fresh.duckdb"
    import_prices_csv(fresh, out)
    with connect(fresh, read_only=True) as con:
        assert read_prices(con)["symbol"].to_list() == ["=CMD"]


# --- bytes that are not UTF-8 in the header --------------------------------------------------


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param('2024-01-02,DEPOSIT,100,"two\nlines"\n', id="quoted-multi-line-field"),
        pytest.param("2024-01-02,DEPOSIT,100,plain\n", id="plain-rows"),
    ],
)
def test_a_header_that_is_not_utf8_is_named(db_path: Path, write_csv: WriteCsv, rows: str) -> None:
    """Byte 0xff in the header is line 1, not a traceback nor an ignored column 'x\\ufffd'."""
    path = write_csv("")
    path.write_bytes(b"date,type,amount,x\xff\n" + rows.encode())
    error = _refused(db_path, path)
    assert [str(p) for p in error.problems] == [
        f"{path}:1: file: not UTF-8 text (byte 0xff); save it as UTF-8"
    ]


# --- repeated columns ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "named"),
    [
        pytest.param("date,date,type,amount", "'date' (column 1), 'date' (column 2)", id="same"),
        pytest.param(
            "date,trade_date,type,amount",
            "'date' (column 1), 'trade_date' (column 2)",
            id="synonym",
        ),
        pytest.param(
            "Date,type,amount,DATE", "'Date' (column 1), 'DATE' (column 4)", id="case-and-order"
        ),
    ],
)
def test_two_columns_meaning_one_field_are_refused(
    db_path: Path, write_csv: WriteCsv, header: str, named: str
) -> None:
    """Columns that mean the same field are an error on line 1 naming both, not a silent pick."""
    path = write_csv(f"{header}\n2024-01-02,2024-01-03,DEPOSIT,100\n")
    error = _refused(db_path, path)
    assert [str(p) for p in error.problems] == [
        f"{path}:1: date: 2 columns mean date: {named}; keep one"
    ]


def test_ignored_columns_are_named_as_the_file_writes_them(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """Two unknown columns with one name are ignored under that name (not Polars' rename)."""
    path = write_csv("date,type,amount,memo2,memo2\n2024-01-02,DEPOSIT,100,a,b\n")
    assert import_csv(db_path, path).ignored_columns == ["memo2", "memo2"]


# --- control characters in messages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "raw", "shown"),
    [
        # an ANSI sequence is shown as \x1b[2J, never sent to the terminal raw
        pytest.param("\x1b[2J\x1b[31m2024-01-02", ["\x1b"], "'\\x1b[2J\\x1b[31m2024-01-02'", id="ansi"),
        # a quoted line break and a bidi override keep the error on one line
        pytest.param('"2024\n\u202e01-02"', ["\n", "\u202e"], "'2024\\n\\u202e01-02'", id="line-break-bidi"),
    ],
)  # fmt: skip
def test_control_characters_in_a_value_are_escaped_in_the_error(
    db_path: Path, write_csv: WriteCsv, cell: str, raw: list[str], shown: str
) -> None:
    """Control characters in a bad date (an ANSI sequence; a line break and a bidi override)
    are shown escaped in the one-line error naming file, line and field, never raw."""
    path = write_csv(HEADER + f"{cell},DEPOSIT,100,\n")
    message = str(_refused(db_path, path))
    for char in raw:
        assert char not in message
    assert message.endswith(f"ledger.csv:2: date: not a date (expected YYYY-MM-DD): {shown}")


def test_the_import_summary_escapes_ignored_column_names(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """An unknown column named with an escape sequence is listed escaped."""
    path = write_csv("date,type,amount,\x1b[2Jx\n2024-01-02,DEPOSIT,100,a\n")
    summary = import_csv(db_path, path).summary()
    assert summary.endswith("(ignored columns: \\x1b[2Jx)")


def test_every_workbench_error_escapes_what_it_quotes() -> None:
    """Any WorkbenchError's text is escaped; printable text (quotes, backslashes, accents) is not."""
    assert str(WorkbenchError("bad \x1b[2J\r\n\t\x00\x7f\x9b\u202e")) == (
        "bad \\x1b[2J\\r\\n\\t\\x00\\x7f\\x9b\\u202e"
    )
    kept = "C:\\path 'q' \"d\" café €"
    assert str(WorkbenchError(kept)) == kept == escape_controls(kept)
    assert escape_controls(escape_controls("\x1b")) == "\\x1b"
    assert str(InvalidRow("f\x1b.csv", 2, "no\tte", "x\x1by")) == "f\\x1b.csv:2: no\\tte: x\\x1by"


# --- the same bounds and escaping on the command line ----------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["report", "--as-of", "9999-12-31"], id="report-as-of-9999"),
        pytest.param(["history", "ACME", "--start", "0001-01-01"], id="history-start-year-1"),
        pytest.param(
            ["history", "ACME", "--start", "2024-01-01", "--end", "9999-12-31"],
            id="history-end-9999",
        ),
    ],
)
def test_the_cli_refuses_dates_outside_the_range(db_path: Path, args: list[str]) -> None:
    """A poison date on the command line is a usage error naming the range (nothing computed)."""
    from click.testing import CliRunner

    from workbench.cli import cli

    result = CliRunner().invoke(cli, [*args, "--db", str(db_path)])
    assert result.exit_code == 2
    assert f"is out of range (1900-01-01 to {NEXT_YEAR_END})" in result.stderr
    assert not db_path.exists()


def test_batch_refuses_an_as_of_outside_the_range(tmp_path: Path) -> None:
    """`batch --as-of 9999-12-31` is the same usage error as `report`'s (nothing computed)."""
    from click.testing import CliRunner

    from workbench.cli import cli

    out = tmp_path / "out"
    args = ["batch", "--lake", str(tmp_path), "--out", str(out), "--as-of", "9999-12-31"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert f"is out of range (1900-01-01 to {NEXT_YEAR_END})" in result.stderr
    assert not out.exists()


def test_quote_lines_escape_the_symbol_typed(db_path: Path) -> None:
    """`quotes` echoes an unknown symbol holding an escape sequence escaped."""
    from click.testing import CliRunner

    from workbench.cli import cli

    # color=True: click must not strip the sequence itself, as it would not on a terminal
    result = CliRunner().invoke(cli, ["quotes", "\x1b[2JX", "--db", str(db_path)], color=True)
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert result.stdout.startswith("\\x1b[2JX ")


def test_the_refresh_summary_escapes_symbols() -> None:
    """A held symbol holding an escape sequence is listed escaped in the refresh line."""
    from workbench.quotes.engine import QuoteResult
    from workbench.refresh import RefreshResult, Targets

    now = dt.datetime.now(dt.UTC)
    failed = QuoteResult("\x1b[2JX", error="not found")
    line = RefreshResult(Targets(["\x1b[2JX"], None, {}), [failed], [], now, now).summary()
    assert "failed: quote \\x1b[2JX (not found)" in line
    assert "\x1b" not in line
