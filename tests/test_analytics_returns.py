"""Returns: hand-computed TWR, Modified Dietz and XIRR, window returns, and their properties."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from _analytics_helpers import ledger, price_frame, row
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.analytics import (
    annualize,
    daily_returns,
    modified_dietz,
    twr,
    value_series,
    window_returns,
    xirr,
    xirr_flows,
)

D = dt.date


def series(points: list[tuple[dt.date, float, float, float]]) -> pl.DataFrame:
    """A value series from (date, total_value, inflow, outflow) points."""
    return pl.DataFrame(
        {
            "date": [p[0] for p in points],
            "total_value": [p[1] for p in points],
            "inflow": [p[2] for p in points],
            "outflow": [p[3] for p in points],
        }
    )


# January 2024: deposit 1000 on the 1st, +500 at the start of the 5th, -200 at the end of the 8th
JAN = series(
    [
        (D(2024, 1, 1), 1000, 1000, 0),
        (D(2024, 1, 2), 1010, 0, 0),
        (D(2024, 1, 3), 1010, 0, 0),
        (D(2024, 1, 4), 990, 0, 0),
        (D(2024, 1, 5), 1500, 500, 0),
        (D(2024, 1, 6), 1500, 0, 0),
        (D(2024, 1, 7), 1500, 0, 0),
        (D(2024, 1, 8), 1320, 0, 200),
        (D(2024, 1, 9), 1320, 0, 0),
        (D(2024, 1, 10), 1400, 0, 0),
    ]
)


def test_daily_returns_put_inflows_at_start_and_outflows_at_end() -> None:
    """r_t = (V_t + OUT_t) / (V_{t-1} + IN_t) - 1 on the hand series."""
    got = daily_returns(JAN)["return"].to_list()
    expected = [
        0.0,
        0.01,
        0.0,
        990 / 1010 - 1,
        1500 / 1490 - 1,
        0,
        0,
        1520 / 1500 - 1,
        0,
        1400 / 1320 - 1,
    ]
    assert got == pytest.approx(expected, abs=1e-15)


def test_twr_chain_links_the_hand_series() -> None:
    """TWR compounds the daily returns: 1.01 x 990/1010 x 1500/1490 x 1520/1500 x 1400/1320 - 1."""
    expected = 1.01 * (990 / 1010) * (1500 / 1490) * (1520 / 1500) * (1400 / 1320) - 1
    assert twr(daily_returns(JAN)) == pytest.approx(expected, abs=1e-12)


def test_annualize_uses_365_calendar_days() -> None:
    """10% over 730 days annualizes to sqrt(1.1) - 1; a total loss has no annual rate."""
    assert annualize(0.10, 730) == pytest.approx(math.sqrt(1.1) - 1)
    assert annualize(-1.0, 30) is None


def test_annualize_past_the_largest_float_is_infinite() -> None:
    """A millionfold return in a day annualizes past any float: infinity, not an OverflowError."""
    assert annualize(1e6, 1) == math.inf


def test_modified_dietz_weights_flows_by_time_invested() -> None:
    """Since inception (T=10 days): gain 100 over 1000x1 + 500x6/10 - 200x2/10 = 1260."""
    assert modified_dietz(JAN) == pytest.approx(100 / 1260, abs=1e-12)


def test_modified_dietz_over_a_sub_period() -> None:
    """From Jan 4 (V=990) to Jan 10 (T=6): (1400 - 990 - 300) / (990 + 500x6/6 - 200x2/6)."""
    expected = (1400 - 990 - 300) / (990 + 500 - 200 * 2 / 6)
    assert modified_dietz(JAN, start=D(2024, 1, 4)) == pytest.approx(expected, abs=1e-12)


def test_xirr_of_a_year_round_trip() -> None:
    """-1000 on 2024-01-01 and +1100 on 2025-01-01 (366 days) is 1.1^(365/366) - 1 ACT/365."""
    flows = pl.DataFrame({"date": [D(2024, 1, 1), D(2025, 1, 1)], "amount": [-1000.0, 1100.0]})
    assert xirr(flows) == pytest.approx(1.1 ** (365 / 366) - 1, abs=1e-10)


def test_xirr_flows_sign_convention() -> None:
    """Deposits are negative, withdrawals positive, and the end value positive at the end date."""
    flows = xirr_flows(JAN)
    assert flows.to_dicts() == [
        {"date": D(2024, 1, 1), "amount": -1000.0},
        {"date": D(2024, 1, 5), "amount": -500.0},
        {"date": D(2024, 1, 8), "amount": 200.0},
        {"date": D(2024, 1, 10), "amount": 1400.0},
    ]


def test_xirr_without_a_sign_change_is_none() -> None:
    """Only outflows have no internal rate of return."""
    flows = pl.DataFrame({"date": [D(2024, 1, 1), D(2024, 6, 1)], "amount": [-5.0, -7.0]})
    assert xirr(flows) is None


def test_business_returns_fold_weekend_flows_into_monday() -> None:
    """A Saturday deposit joins Monday's period: r_Mon = V_Mon / (V_Fri + deposit) - 1."""
    weekend = series(
        [
            (D(2024, 3, 1), 100, 100, 0),  # Friday
            (D(2024, 3, 2), 150, 50, 0),  # Saturday deposit
            (D(2024, 3, 3), 150, 0, 0),
            (D(2024, 3, 4), 165, 0, 0),  # Monday
        ]
    )
    got = daily_returns(weekend, frequency="business")
    assert got["date"].to_list() == [D(2024, 3, 1), D(2024, 3, 4)]
    assert got["return"].to_list() == pytest.approx([0.0, 165 / 150 - 1])


def test_window_returns_mtd_ytd_1y_since_inception() -> None:
    """Windows measure from the prior month end, year end, one year back and inception."""
    path = series(
        [(D(2023, 12, 30), 100, 100, 0), (D(2023, 12, 31), 110, 0, 0)]
        + [(D(2024, 1, d), 110 + d, 0, 0) for d in range(1, 32)]
        + [(D(2024, 2, d), 141 + 2 * d, 0, 0) for d in range(1, 11)]
    )
    got = {r["window"]: r for r in window_returns(path, as_of=D(2024, 2, 10)).iter_rows(named=True)}
    assert got["MTD"]["start"] == D(2024, 1, 31)
    assert got["MTD"]["twr"] == pytest.approx(161 / 141 - 1)
    assert got["YTD"]["twr"] == pytest.approx(161 / 110 - 1)
    assert got["SI"]["twr"] == pytest.approx(161 / 100 - 1)
    assert got["1Y"]["full"] is False
    assert got["1Y"]["twr"] == pytest.approx(161 / 100 - 1)
    assert got["YTD"]["modified_dietz"] == pytest.approx(161 / 110 - 1)


# ---------------------------------------------------------------- properties on real ledgers

DAYS = [D(2024, 1, 1) + dt.timedelta(days=i) for i in range(12)]


def _one_stock_ledger(
    prices: list[float], deposits: dict[int, float]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deposit exactly the cost of some shares and buy them at that day's close (no fees).

    ``deposits`` maps a day index to a share count, so cash stays exactly zero.
    """
    rows = []
    for i, shares in sorted(deposits.items()):
        rows.append(row(DAYS[i], "DEPOSIT", amount=shares * prices[i]))
        rows.append(row(DAYS[i], "BUY", "S", shares, prices[i]))
    closes = price_frame([("S", DAYS[i], p) for i, p in enumerate(prices)])
    return ledger(rows), closes


price_paths = st.lists(st.integers(50, 200), min_size=12, max_size=12).map(
    lambda xs: [x / 4 for x in xs]
)


@settings(max_examples=30, deadline=None)
@given(price_paths, st.integers(1, 10_000))
def test_twr_equals_simple_return_without_external_flows(prices: list[float], amount: int) -> None:
    """One deposit, then no flows: TWR = V_end / deposit - 1 = P_end / P_0 - 1."""
    tx, closes = _one_stock_ledger(prices, {0: float(amount)})
    values = value_series(tx, closes, end=DAYS[-1])
    assert twr(daily_returns(values)) == pytest.approx(prices[-1] / prices[0] - 1, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(price_paths, st.integers(1, 10_000), st.integers(1, 1_000_000), st.integers(3, 10))
def test_twr_ignores_the_size_of_external_flows(
    prices: list[float], first: int, second: int, when: int
) -> None:
    """With the price flat on the flow day, any second deposit leaves TWR at the price return."""
    prices = list(prices)
    prices[when] = prices[when - 1]
    tx, closes = _one_stock_ledger(prices, {0: float(first), when: float(second)})
    values = value_series(tx, closes, end=DAYS[-1])
    assert twr(daily_returns(values)) == pytest.approx(prices[-1] / prices[0] - 1, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-0.5, 2.0),
    st.integers(10, 3000),
    st.floats(1.0, 1e7),
    st.dates(D(2000, 1, 1), D(2030, 1, 1)),
)
def test_xirr_recovers_a_constant_growth_rate(
    rate: float, days: int, amount: float, start: dt.date
) -> None:
    """One deposit grown at a constant annual rate (ACT/365) gives back that rate."""
    end = start + dt.timedelta(days=days)
    final = amount * (1 + rate) ** (days / 365)
    flows = pl.DataFrame({"date": [start, end], "amount": [-amount, final]})
    assert xirr(flows) == pytest.approx(rate, abs=1e-9)
