"""Property tests of multi-currency reports over random ledgers (Hypothesis).

Each random ledger has two accounts, three currencies (USD, EUR, GBP), stocks in each,
currency exchanges at broker rates away from the reference, dividends, taxes and fees, and
rates published on some days only. For every cost method and reporting currency:

* the books balance (DESIGN 3b);
* a plain row-by-row reference (lots with native and reporting-currency cost, each sale's
  native cost at its own rate) gives the same cost basis, realized P&L and its FX part;
* the EUR and USD reports value the same holdings: total values differ by the as-of rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from _analytics_helpers import ledger, price_frame, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analytics_currency import check_balance

from workbench.analytics.fx import rate_on
from workbench.analytics.report import build_report

START = dt.date(2024, 1, 1)
DAYS = 20
SYMBOLS = {"AAA": "USD", "BBB": "EUR", "CCC": "GBP"}
CURRENCIES = ("USD", "EUR", "GBP")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """(rows, rates, prices) of a random multi-currency ledger."""
    # rates: EUR -> USD and EUR -> GBP on the first day and on random later days each
    points = []
    for quote, base_rate in (("USD", 1.1), ("GBP", 0.85)):
        days = {0} | set(draw(st.lists(st.integers(1, DAYS), max_size=8)))
        for day in sorted(days):
            rate = base_rate * draw(st.floats(0.8, 1.2))
            points.append((START + dt.timedelta(days=day), "EUR", quote, round(rate, 6)))
    fx = pl.DataFrame(
        points, schema={"date": pl.Date, "base": pl.String, "quote": pl.String,
                        "rate": pl.Float64}, orient="row",
    ).with_columns(source=pl.lit("test"))  # fmt: skip
    rows = []
    held: dict[tuple[str, str], float] = {}
    for account in ("a1", "a2"):
        for ccy in CURRENCIES:
            rows.append(row(START, "DEPOSIT", amount=draw(st.integers(1000, 5000)),
                            currency=ccy, account=account))  # fmt: skip
    offset = 0
    for _ in range(draw(st.integers(1, 25))):
        # dates never go back, so a sell always follows the buys it draws on
        offset = min(DAYS, offset + draw(st.integers(0, 3)))
        day = START + dt.timedelta(days=offset)
        account = draw(st.sampled_from(("a1", "a2")))
        kind = draw(st.sampled_from(("BUY", "BUY", "SELL", "SELL", "FX", "DIVIDEND", "TAX", "FEE")))
        symbol = draw(st.sampled_from(sorted(SYMBOLS)))
        ccy = SYMBOLS[symbol]
        fee = draw(st.sampled_from((0.0, 0.0, 1.5, 4.9)))
        price = draw(st.integers(50, 150)) + draw(st.sampled_from((0.0, 0.25, 0.5)))
        if kind == "BUY":
            qty = draw(st.integers(1, 20))
            held[(account, symbol)] = held.get((account, symbol), 0) + qty
            rows.append(row(day, kind, symbol, qty, price, fee=fee, currency=ccy, account=account))
        elif kind == "SELL":
            have = held.get((account, symbol), 0)
            if have <= 0:
                continue
            qty = draw(st.integers(1, int(have)))
            held[(account, symbol)] = have - qty
            rows.append(row(day, kind, symbol, qty, price, fee=fee, currency=ccy, account=account))
        elif kind == "FX":
            paid, bought = draw(st.permutations(CURRENCIES))[:2]
            rows.append(row(day, "FX", bought, draw(st.integers(10, 500)),
                            draw(st.floats(0.5, 1.5)), fee=fee, currency=paid, account=account))  # fmt: skip
        elif kind == "DIVIDEND":
            rows.append(row(day, kind, symbol, amount=draw(st.integers(1, 50)), currency=ccy,
                            account=account))  # fmt: skip
        else:
            rows.append(row(day, kind, amount=draw(st.integers(1, 20)), currency=ccy,
                            account=account))  # fmt: skip
    closes = [
        (symbol, START + dt.timedelta(days=day), float(draw(st.integers(40, 160))))
        for symbol in SYMBOLS
        for day in (0, DAYS // 2, DAYS)
    ]
    return rows, fx, price_frame(closes)


def reference(
    tx: pl.DataFrame, rate_of: Callable[[str, dt.date], float], method: str
) -> dict[tuple[str, str], dict[str, float]]:
    """Row by row: lots [qty, native unit, C unit, seq]; each sale at its own rate.

    ``rate_of(currency, day)`` is the reporting-currency value of 1 ``currency`` on ``day``.
    """
    lots: dict[tuple[str, str], list[list[float]]] = {}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for seq, r in enumerate(tx.sort("date", "id").iter_rows(named=True)):
        if r["type"] not in ("BUY", "SELL"):
            continue
        key = (r["account"], r["symbol"])
        rate = rate_of(r["currency"], r["date"])
        q, p, fee = float(r["quantity"]), float(r["price"]), float(r["fee"])
        acc = out.setdefault(key, {"realized": 0.0, "realized_fx": 0.0})
        book = lots.setdefault(key, [])
        if r["type"] == "BUY":
            book.append([q, (q * p + fee) / q, (q * p + fee) * rate / q, seq])
            continue
        if method == "average":
            total = sum(lot[0] for lot in book)
            take = [(lot, lot[0] * q / total) for lot in book]
        else:
            order = {
                "fifo": sorted(book, key=lambda lot: lot[3]),
                "lifo": sorted(book, key=lambda lot: -lot[3]),
                "hifo": sorted(book, key=lambda lot: (-lot[2], lot[3])),
            }[method]
            take, left = [], q
            for lot in order:
                n = min(lot[0], left)
                take.append((lot, n))
                left -= n
        native = sum(n * lot[1] for lot, n in take)
        cost = sum(n * lot[2] for lot, n in take)
        for lot, n in take:
            lot[0] -= n
        acc["realized"] += (q * p - fee) * rate - cost
        acc["realized_fx"] += native * rate - cost
    for key, book in lots.items():
        out[key]["cost_basis"] = sum(lot[0] * lot[2] for lot in book)
    return out


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=scenarios())
def test_random_multi_currency_ledgers_balance_and_match_a_reference(
    method: str, case: tuple[list[dict[str, Any]], pl.DataFrame, pl.DataFrame]
) -> None:
    """Books balance in USD and EUR; lots match a row-by-row reference; reports agree at as-of."""
    rows, fx, prices = case
    tx = ledger(rows)
    as_of = START + dt.timedelta(days=DAYS)
    reports = {}
    for target in ("USD", "EUR"):
        rep = build_report(tx, prices, as_of=as_of, cost_method=method, base_currency=target,
                           rates=fx)  # fmt: skip
        reports[target] = rep
        check_balance(rep)
        assert rep.series["total_value"][-1] == pytest.approx(rep.totals["total_value"], abs=1e-6)
        expected = reference(tx, lambda ccy, day, to=target: rate_on(fx, ccy, to, day).rate, method)
        for pos in rep.positions.filter(pl.col("symbol").is_in(list(SYMBOLS))).iter_rows(
            named=True
        ):
            # a position with dividends only has no lots
            ref = expected.get(
                (pos["account"], pos["symbol"]),
                {"cost_basis": 0.0, "realized": 0.0, "realized_fx": 0.0},
            )
            assert pos["cost_basis"] == pytest.approx(ref["cost_basis"], abs=1e-6)
            assert pos["realized_pnl"] == pytest.approx(ref["realized"], abs=1e-6)
            assert pos["realized_fx_pnl"] == pytest.approx(ref["realized_fx"], abs=1e-6)
    eur_usd = rate_on(fx, "EUR", "USD", as_of).rate
    assert reports["USD"].totals["total_value"] == pytest.approx(
        reports["EUR"].totals["total_value"] * eur_usd, abs=1e-6
    )
