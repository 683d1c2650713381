"""Cash, valuation and the daily value series: hand-computed ledgers and the split invariance."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from _analytics_helpers import ledger, price_frame, row
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.analytics import cash_balances, cash_flows, value_series, valued_positions
from workbench.analytics.cash import income_and_costs
from workbench.analytics.positions import latest_date

D = dt.date

# Cash, by hand (account "main"):
#   Jan 02 DEPOSIT 5000 (wire fee 5)      +5000 - 5  = 4995
#   Jan 03 BUY 10 A @ 100 fee 2           -1002      = 3993
#   Jan 10 DIVIDEND A amount 15           +15        = 4008
#   Jan 15 DIVIDEND A 10 x 0.5 (no amount) +5        = 4013
#   Feb 01 INTEREST 3                     +3         = 4016
#   Feb 02 FEE 4                          -4         = 4012
#   Feb 03 SELL 4 A @ 110 fee 1.5         +438.5     = 4450.5
#   Feb 04 TAX 20                         -20        = 4430.5
#   Feb 05 WITHDRAWAL 400                 -400       = 4030.5
CASH_ROWS = [
    row("2024-01-02", "DEPOSIT", amount=5000, fee=5, account="main"),
    row("2024-01-03", "BUY", "A", 10, 100, fee=2, account="main"),
    row("2024-01-10", "DIVIDEND", "A", amount=15, account="main"),
    row("2024-01-15", "DIVIDEND", "A", 10, 0.5, account="main"),
    row("2024-02-01", "INTEREST", amount=3, account="main"),
    row("2024-02-02", "FEE", amount=4, account="main"),
    row("2024-02-03", "SELL", "A", 4, 110, fee=1.5, account="main"),
    row("2024-02-04", "TAX", amount=20, account="main"),
    row("2024-02-05", "WITHDRAWAL", amount=400, account="main"),
]


def test_cash_effect_of_every_row_type() -> None:
    """Each row moves cash by its documented effect; the balance is the hand-computed 4030.5."""
    flows = cash_flows(ledger(CASH_ROWS))
    assert flows["cash"].to_list() == pytest.approx([4995, -1002, 15, 5, 3, -4, 438.5, -20, -400])
    assert cash_balances(ledger(CASH_ROWS)).to_dicts() == [
        {"account": "main", "cash": pytest.approx(4030.5)}
    ]


def test_income_and_cost_totals() -> None:
    """Dividends in both forms add up (20); fees = trade fees + wire fee + FEE rows (12.5)."""
    totals = income_and_costs(ledger(CASH_ROWS).pipe(_prepared)).row(0, named=True)
    assert totals["dividends"] == pytest.approx(20)
    assert totals["interest"] == pytest.approx(3)
    assert totals["fees"] == pytest.approx(5 + 2 + 1.5 + 4)
    assert totals["taxes"] == pytest.approx(20)
    assert totals["net_deposits"] == pytest.approx(4600)


def _prepared(frame: pl.DataFrame) -> pl.DataFrame:
    from workbench.analytics._frames import prepare

    return prepare(frame)[0]


def test_cash_as_of_a_mid_period_date() -> None:
    """As of Jan 31 only January's rows count: 4995 - 1002 + 15 + 5 = 4013."""
    got = cash_balances(ledger(CASH_ROWS), as_of=D(2024, 1, 31))
    assert got["cash"].to_list() == pytest.approx([4013])


def test_value_series_by_hand() -> None:
    """Holdings x last close on or before each day (weekends carry Friday's close), plus cash."""
    tx = ledger(
        [
            row("2024-03-01", "DEPOSIT", amount=1000),
            row("2024-03-01", "BUY", "A", 5, 100, fee=1),
            row("2024-03-04", "WITHDRAWAL", amount=100),
        ]
    )
    prices = price_frame([("A", "2024-03-01", 100), ("A", "2024-03-04", 104)])
    got = value_series(tx, prices, end=D(2024, 3, 5))
    assert got["date"].to_list() == [D(2024, 3, d) for d in range(1, 6)]
    assert got["market_value"].to_list() == pytest.approx([500, 500, 500, 520, 520])
    assert got["cash"].to_list() == pytest.approx([499, 499, 499, 399, 399])
    assert got["total_value"].to_list() == pytest.approx([999, 999, 999, 919, 919])
    assert got["inflow"].to_list() == [1000, 0, 0, 0, 0]
    assert got["outflow"].to_list() == [0, 0, 0, 100, 0]
    assert got["net_deposits"].to_list() == [1000, 1000, 1000, 900, 900]


def test_value_falls_back_to_the_last_trade_price() -> None:
    """A symbol without any close is valued at its last trade price."""
    tx = ledger([row("2024-03-01", "BUY", "N", 3, 20), row("2024-03-02", "BUY", "N", 1, 25)])
    got = value_series(tx, price_frame([]), end=D(2024, 3, 3))
    assert got["market_value"].to_list() == pytest.approx([60, 100, 100])
    pos = valued_positions(tx, price_frame([]), as_of=D(2024, 3, 3)).row(0, named=True)
    assert (pos["price"], pos["price_source"], pos["market_value"]) == (25, "trade", 100)


def test_a_close_before_a_split_is_adjusted() -> None:
    """Valued after a 4:1 split with only a pre-split close, the close is divided by 4."""
    tx = ledger(
        [row("2024-03-01", "BUY", "S", 2, 400), row("2024-03-05", "SPLIT", "S", ratio=(4, 1))]
    )
    prices = price_frame([("S", "2024-03-01", 400)])
    pos = valued_positions(tx, prices, as_of=D(2024, 3, 6)).row(0, named=True)
    assert (pos["quantity"], pos["price"], pos["market_value"]) == (8, 100, 800)
    assert value_series(tx, prices, end=D(2024, 3, 6))["market_value"].to_list() == pytest.approx(
        [800] * 6
    )


def test_valued_positions_unrealized() -> None:
    """Unrealized P&L = quantity x price - open basis: 6 x 104 - 6 x 100.2 = 22.8 (FIFO)."""
    tx = ledger(CASH_ROWS)
    prices = price_frame([("A", "2024-02-05", 104)])
    pos = valued_positions(tx, prices, as_of=D(2024, 2, 5)).row(0, named=True)
    assert pos["quantity"] == 6
    assert pos["cost_basis"] == pytest.approx(601.2)
    assert pos["unrealized_pnl"] == pytest.approx(22.8)
    assert pos["realized_pnl"] == pytest.approx(438.5 - 400.8)
    assert pos["dividends"] == pytest.approx(20)


def test_latest_date_is_the_last_transaction_or_price() -> None:
    """Without an as-of date, valuation uses the latest date found in either frame."""
    tx = ledger([row("2024-03-01", "BUY", "A", 1, 1)])
    assert latest_date(tx, price_frame([("A", "2024-03-09", 2)])) == D(2024, 3, 9)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 400), min_size=10, max_size=10),
    st.lists(st.integers(1, 50), min_size=1, max_size=4),
    st.integers(1, 9),
    st.sampled_from([2, 4]),
)
def test_a_split_leaves_value_unchanged(
    closes: list[int], buys: list[int], split_day: int, ratio: int
) -> None:
    """The same holdings with a split (quantities x k, closes / k from that day) value the same."""
    days = [D(2024, 5, 1) + dt.timedelta(days=i) for i in range(10)]
    price = [c / 4 for c in closes]
    base = [row("2024-04-30", "DEPOSIT", amount=100_000)]
    base += [row(days[0], "BUY", "S", q, price[0]) for q in buys]
    held = sum(buys)
    plain = ledger([*base, row(days[-1], "SELL", "S", held, price[-1])])
    split = ledger(
        [
            *base,
            row(days[split_day], "SPLIT", "S", ratio=(ratio, 1)),
            row(days[-1], "SELL", "S", held * ratio, price[-1] / ratio),
        ]
    )
    unadjusted = price_frame([("S", d, p) for d, p in zip(days, price, strict=True)])
    adjusted = price_frame(
        [
            ("S", d, p / ratio if i >= split_day else p)
            for i, (d, p) in enumerate(zip(days, price, strict=True))
        ]
    )
    before = value_series(plain, unadjusted, end=days[-1])
    after = value_series(split, adjusted, end=days[-1])
    assert after["total_value"].to_list() == pytest.approx(
        before["total_value"].to_list(), abs=1e-6
    )
    mid = days[-2]
    one = valued_positions(plain, unadjusted, as_of=mid)["market_value"].sum()
    two = valued_positions(split, adjusted, as_of=mid)["market_value"].sum()
    assert two == pytest.approx(one, abs=1e-6)
