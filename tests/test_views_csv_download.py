"""Tables the apps show are safe to download as CSV: formula-like text gets a leading quote."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import polars as pl
from marimo._plugins.ui._impl.tables.utils import get_table_manager

from workbench.quotes.engine import QuoteResult
from workbench.server.views import for_display, quotes_frame

NOTES = ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "'=quoted", None]
#: what a spreadsheet-safe cell holds: one more leading quote on a formula start (OWASP)
SAFE = [
    "'=cmd|' /C calc'!A0",
    "'+1+2",
    "'-2+3",
    "'@SUM(A1)",
    "'\tx",
    "'\rx",
    "plain",
    "''=quoted",
    None,
]


def _ledger() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [dt.date(2024, 1, d + 1) for d in range(len(NOTES))],
            "note": NOTES,
            "amount": [Decimal("-5.25")] * len(NOTES),
        },
        schema={"date": pl.Date, "note": pl.String, "amount": pl.Decimal(18, 8)},
    )


def test_for_display_quotes_formula_text_and_leaves_numbers() -> None:
    """Text starting with = + - @ tab CR (after any quotes) gets one more quote; a money
    amount of -5.25 stays the number -5.25; dates are unchanged."""
    shown = for_display(_ledger(), money_columns=("amount",))
    assert shown["note"].to_list() == SAFE
    assert shown["date"].to_list() == _ledger()["date"].to_list()
    assert shown.schema["amount"] == pl.Float64
    assert shown["amount"].to_list() == [-5.25] * len(NOTES)


def test_the_csv_marimo_downloads_carries_no_live_formula() -> None:
    """The bytes marimo's table download writes (its table manager's to_csv) for a displayed
    frame: no field starts with a formula character."""
    data = get_table_manager(for_display(_ledger())).to_csv()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    notes = [row[1] for row in rows[1:]]
    assert all(not note or note[0] not in "=+-@\t\r" for note in notes)
    assert notes[0] == "'=cmd|' /C calc'!A0"
    assert rows[1][2] == "-5.25"  # numbers are written as numbers, unquoted


def test_quotes_frame_quotes_a_formula_symbol() -> None:
    """A symbol typed as =1+1 in the quotes app is shown (and downloaded) as '=1+1."""
    frame = quotes_frame([QuoteResult(symbol="=1+1", error="not found")])
    assert frame["symbol"].to_list() == ["'=1+1"]
    assert frame["error"].to_list() == ["not found"]
