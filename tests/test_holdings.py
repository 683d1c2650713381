"""The holdings check against a row-by-row replay in exact fractions (an independent reference)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from _ledger_helpers import HOLDINGS_SCHEMA
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.ledger.holdings import oversold_rows

SCHEMA = HOLDINGS_SCHEMA
DAY0 = dt.date(2024, 1, 1)
#: 2:1 and 4:2 are the same split written two ways
RATIOS = [(2, 1), (3, 1), (1, 2), (3, 2), (4, 2)]


def _frame(rows: list[dict[str, Any]], extra: str) -> pl.DataFrame:
    schema = {**SCHEMA, extra: pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _row(account: str, symbol: str, day: int, kind: str, qty: int, ratio: int) -> dict[str, Any]:
    new, old = RATIOS[ratio] if kind == "SPLIT" else (None, None)
    return {
        "account": account,
        "symbol": symbol,
        "date": DAY0 + dt.timedelta(days=day),
        "type": kind,
        "quantity": None if kind == "SPLIT" else qty,
        "ratio_new": new,
        "ratio_old": old,
    }


def _event(r: dict[str, Any]) -> tuple[Any, ...]:
    """A split event: its symbol, date and factor (2:1 and 4:2 are one event)."""
    return (r["symbol"], r["date"], Fraction(r["ratio_new"], r["ratio_old"]))


def replay(existing: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Violations by applying rows one at a time in (date, stored first, id or line) order."""
    ordered = sorted(
        [(r["date"], 0, r["id"], r) for r in existing]
        + [(r["date"], 1, r["line"], r) for r in new],
        key=lambda t: t[:3],
    )
    first_record: dict[tuple[Any, ...], tuple[int, int]] = {}
    for _day, src, order, r in ordered:
        if r["type"] == "SPLIT":
            first_record.setdefault(_event(r), (src, order))
    new_events = [(k[0], order) for k, (src, order) in first_record.items() if src == 1]
    new_split_symbols = {symbol for symbol, _ in new_events}
    touched = {
        (r["account"], r["symbol"])
        for _, src, _, r in ordered
        if (src == 1 and r["type"] == "SELL")
        or (r["type"] != "SPLIT" and r["symbol"] in new_split_symbols)
    }
    holding: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    found = []
    for day, src, order, r in ordered:
        pair = (r["account"], r["symbol"])
        if r["type"] == "SPLIT":
            if first_record[_event(r)] == (src, order):
                for held_pair in holding:
                    if held_pair[1] == r["symbol"]:
                        holding[held_pair] *= Fraction(r["ratio_new"]) / Fraction(r["ratio_old"])
        elif r["type"] == "BUY":
            holding[pair] += r["quantity"]
        else:
            before = holding[pair]
            holding[pair] -= r["quantity"]
            if holding[pair] < 0 and pair in touched:
                lines = [
                    x["line"]
                    for x in new
                    if (x["account"], x["symbol"]) == pair and x["type"] != "SPLIT"
                ]
                lines += [line for symbol, line in new_events if symbol == r["symbol"]]
                found.append(
                    (
                        *pair,
                        day,
                        r.get("line"),
                        r.get("id"),
                        float(before),
                        float(r["quantity"]),
                        min(lines),
                    )
                )
    return sorted(found, key=lambda v: (v[0], v[1], v[2], v[3] is not None, v[3] or v[4]))


row_spec = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(["X", "Y"]),
    st.integers(0, 5),
    st.sampled_from(["BUY", "BUY", "SELL", "SPLIT"]),
    st.integers(1, 6),
    st.integers(0, len(RATIOS) - 1),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(row_spec, max_size=12), st.lists(row_spec, min_size=1, max_size=12))
def test_matches_a_row_by_row_replay(stored_specs: list[Any], new_specs: list[Any]) -> None:
    # stored ids in any date order (backdated rows get later ids), new lines from 2
    existing = [{**_row(*s), "id": 10 + i} for i, s in enumerate(stored_specs)]
    new = [{**_row(*s), "line": 2 + i} for i, s in enumerate(new_specs)]
    got = oversold_rows(_frame(existing, "id"), _frame(new, "line"))
    expected = replay(existing, new)
    actual = [
        (v["account"], v["symbol"], v["date"], v["line"], v["id"], v["held"], v["quantity"],
         v["first_new_line"])
        for v in got.iter_rows(named=True)
    ]  # fmt: skip
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a[:5] == e[:5]
        assert a[7] == e[7]
        assert a[5:7] == pytest.approx(e[5:7], abs=1e-9)


def test_hand_case_split_in_another_account_and_a_stored_sell() -> None:
    """b holds 4 (stored buy 4, stored sell 4 on day 8); a new 1:4 reverse split on day 4,
    recorded in account a, leaves b 1 share on day 8, so the stored sell (id 11) fails,
    holding 1, and the violation points at the split's line 2."""
    existing = [
        {**_row("b", "X", 1, "BUY", 4, 0), "id": 10},
        {**_row("b", "X", 8, "SELL", 4, 0), "id": 11},
    ]
    split = _row("a", "X", 4, "SPLIT", 0, 0) | {"ratio_new": 1, "ratio_old": 4, "line": 2}
    got = oversold_rows(_frame(existing, "id"), _frame([split], "line"))
    assert got.select("account", "id", "line", "held", "first_new_line").rows() == [
        ("b", 11, None, 1.0, 2)
    ]


def test_a_split_written_2_1_in_one_account_and_4_2_in_another_counts_once() -> None:
    """a holds 1 X; the same split is recorded as 2:1 (account a) and 4:2 (account b) on day
    2, so a holds 2, not 4, and a sell of 3 on day 3 is short by 1."""
    new = [
        {**_row("a", "X", 1, "BUY", 1, 0), "line": 2},
        {**_row("a", "X", 2, "SPLIT", 0, 0), "line": 3},
        {**_row("b", "X", 2, "SPLIT", 0, 4), "line": 4},
        {**_row("a", "X", 3, "SELL", 3, 0), "line": 5},
    ]
    got = oversold_rows(_frame([], "id"), _frame(new, "line"))
    assert got.select("account", "line", "held", "quantity").rows() == [("a", 5, 2.0, 3.0)]
