"""How validation normalizes text columns, held to a row-by-row Python reference.

Validation judges the low-cardinality columns (type, symbol, currency, target) by their
distinct values and rewrites only the values that change; notes are judged row by row. These
tests state the rules per row (strip blanks, a cell of blanks is empty, upper-case codes,
``GBp`` is ``GBX`` and ``ZAc`` is ``ZAC``, an FX row's symbol is a currency code) and check
typed rows and problems against them.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.ledger.validate import validate_rows

BASE = "EUR"
SUBUNITS = {"GBp": "GBX", "ZAc": "ZAC"}
COLUMNS = ("date", "account", "type", "symbol", "quantity", "price", "amount", "currency", "note")


def _text(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as the CSV reader gives them: text columns and the file line (header is line 1)."""
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    return frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))


def _clean(value: str | None) -> str | None:
    """A cell with blanks around it stripped; a cell of blanks is empty."""
    return None if value is None or not value.strip() else value.strip()


def _code(value: str) -> str:
    """A currency code normalized: pence and cents keep their own codes."""
    return SUBUNITS.get(value, value).upper()


def _expected(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """(typed values of symbol, currency, type, note, account per row; (line, field) of each
    problem), worked out row by row."""
    typed, problems = [], []
    for line, row in enumerate(rows, start=2):
        kind = _clean(row["type"]).upper()  # type: ignore[union-attr]
        symbol, currency = _clean(row["symbol"]), _clean(row["currency"])
        if currency is not None and not re.fullmatch(r"[A-Za-z]{3,5}", currency):
            problems.append((line, "currency"))
        if kind == "FX":
            assert symbol is not None
            if not re.fullmatch(r"[A-Za-z]{3,5}", symbol):
                problems.append((line, "symbol"))
            if _code(symbol) == (_code(currency) if currency else BASE):
                problems.append((line, "symbol"))
        typed.append(
            {
                "symbol": (_code(symbol) if kind == "FX" else symbol.upper()) if symbol else None,
                "currency": _code(currency) if currency else BASE,
                "type": kind,
                "note": _clean(row["note"]),
                "account": _clean(row["account"]) or "default",
            }
        )
    return typed, problems


codes = st.sampled_from(["GBp", "ZAc", "gbp", "zac", "Usd", "EUR", "eur", "GBX", "chf", "E1"])
blank = st.sampled_from(["", " ", "  \t"])
trade = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["BUY", "buy", "Buy", " BUY", "buy "]),
        "symbol": st.sampled_from(["abc", "AbC", "GBp", "ZAc", "gbp", " xyz ", "Zac", "ok"]),
        "quantity": st.just("2"),
        "price": st.just("10"),
        "amount": st.none(),
    }
)
exchange = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["FX", "fx", "Fx"]),
        "symbol": codes,
        "quantity": st.just("100"),
        "price": st.just("1.1"),
        "amount": st.none(),
    }
)
deposit = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["DEPOSIT", "deposit"]),
        "symbol": st.none(),
        "quantity": st.none(),
        "price": st.none(),
        "amount": st.just("50"),
    }
)


@st.composite
def ledger_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-25 rows of trades, deposits and perhaps FX rows with codes in mixed case."""
    kinds = (
        st.one_of(trade, deposit, exchange) if draw(st.booleans()) else st.one_of(trade, deposit)
    )
    rows = draw(st.lists(kinds, min_size=1, max_size=25))
    for row in rows:
        row["date"] = "2024-03-01"
        row["account"] = draw(st.sampled_from(["a", " b ", None, "c"]))
        row["currency"] = draw(st.one_of(st.none(), codes, codes.map(lambda c: f" {c} ")))
        row["note"] = draw(st.one_of(st.none(), blank, st.sampled_from(["x", " x", "y ", "x y"])))
    return rows


@settings(max_examples=200, deadline=None)
@given(ledger_rows())
def test_codes_blanks_and_problems_match_a_row_by_row_reference(rows: list[dict[str, Any]]) -> None:
    """Typed symbol, currency, type, note and account, or the (line, field) of every problem
    in order, are those the per-row rules give."""
    typed, problems = validate_rows(_text(rows), file="f.csv", base_currency=BASE)
    expected_typed, expected_problems = _expected(rows)
    assert [(p.line, p.field) for p in problems] == expected_problems
    if not expected_problems:
        got = typed.select("symbol", "currency", "type", "note", "account").to_dicts()
        assert got == expected_typed


def test_a_bad_code_names_its_line_and_value() -> None:
    """One bad currency code among good ones: its line (3) and the value quoted."""
    rows = [
        {"date": "2024-03-01", "account": "a", "type": "DEPOSIT", "symbol": None,
         "quantity": None, "price": None, "amount": "5", "currency": c, "note": None}
        for c in ("GBp", "E1", "usd")
    ]  # fmt: skip
    _typed, problems = validate_rows(_text(rows), file="f.csv", base_currency=BASE)
    assert [(p.line, p.field, p.message) for p in problems] == [
        (3, "currency", "not a currency code: 'E1'")
    ]


def test_an_fx_type_with_blanks_keeps_pence_apart_from_pounds() -> None:
    """A row typed ' fx ' is an FX row once stripped: its symbol GBp becomes GBX (not GBP),
    while a BUY of symbol GBp is the instrument GBP."""
    rows = [
        {"date": "2024-03-01", "account": "a", "type": t, "symbol": "GBp", "quantity": "1",
         "price": "2", "amount": None, "currency": "USD", "note": None}
        for t in (" fx ", "BUY")
    ]  # fmt: skip
    typed, problems = validate_rows(_text(rows), file="f.csv", base_currency=BASE)
    assert problems == []
    assert typed.select("type", "symbol").rows() == [("FX", "GBX"), ("BUY", "GBP")]


def test_one_note_with_blanks_among_many_distinct_notes_is_stripped() -> None:
    """Of 5,000 distinct notes, only ' n17 ' (line 19) has blanks: it becomes 'n17', and a
    note of blanks alone (line 20) becomes empty; the rest stay as written."""
    notes = [f"n{i}" for i in range(5_000)]
    notes[17], notes[18] = " n17 ", "   "
    rows = [
        {"date": "2024-03-01", "account": "a", "type": "DEPOSIT", "symbol": None,
         "quantity": None, "price": None, "amount": "5", "currency": "EUR", "note": n}
        for n in notes
    ]  # fmt: skip
    typed, problems = validate_rows(_text(rows), file="f.csv", base_currency=BASE)
    assert problems == []
    got = typed["note"].to_list()
    assert got[17] == "n17"
    assert got[18] is None
    assert got[:17] == [f"n{i}" for i in range(17)]
    assert got[19:] == [f"n{i}" for i in range(19, 5_000)]


def test_a_type_written_with_blanks_gets_its_own_checks() -> None:
    """' fx ' is an FX row, so buying the currency paid is refused as for 'FX'; ' Merger ' is a
    MERGER, so a file without a target column is refused as for 'MERGER'."""
    fx = _text(
        [{"date": "2024-01-03", "account": "a", "type": " fx ", "symbol": "usd",
          "quantity": "100", "price": "1.1", "amount": None, "currency": "USD", "note": None}]
    )  # fmt: skip
    _, problems = validate_rows(fx, file="f.csv")
    assert [(p.line, p.field) for p in problems] == [(2, "symbol")]
    assert "the currency bought is the currency paid" in problems[0].message
    merger = fx.with_columns(type=pl.lit(" Merger "), symbol=pl.lit("ACME"), quantity=pl.lit("1"))
    _, problems = validate_rows(merger, file="f.csv")
    missing = {p.field: p.message for p in problems if p.line == 1}
    assert missing["target"] == "required column missing (MERGER rows need it)"
