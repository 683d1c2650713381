"""Corporate actions in lots, P&L, the report and the gains report, hand-computed per method.

Every case starts from ``BASE`` (tests/_corporate_helpers.py): lots of X bought 10 @ 100
(2023-01-02), 10 @ 130 (2023-06-01), 10 @ 110 (2023-07-01), then 5 sold @ 140 (2023-09-01).
What that sale leaves, per method (shares/cost):

    FIFO     L1 5/500    L2 10/1300  L3 10/1100   basis 2900  realized 700 - 500 = 200
    LIFO     L1 10/1000  L2 10/1300  L3 5/550     basis 2850  realized 700 - 550 = 150
    HIFO     L1 10/1000  L2 5/650    L3 10/1100   basis 2750  realized 700 - 650 =  50
    AVERAGE  every lot x 25/30                    basis 2833.33 (3400 x 25/30)
                                                  realized 700 - 566.67 = 133.33
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from _analytics_helpers import eur_usd_rates, price_frame, row
from _corporate_helpers import BASE, act, corp_ledger

from workbench.analytics import build_report, open_lots, position_pnl
from workbench.analytics.gains import realized_gains
from workbench.errors import CorporateActionError, OversoldError

METHODS = ("fifo", "lifo", "hifo", "average")
AS_OF = dt.date(2024, 6, 28)


def _pnl(rows: list[dict[str, object]], method: str) -> dict[str, tuple[float, float, float]]:
    out = position_pnl(corp_ledger(BASE + rows), method=method)
    return {
        s: (q, c, r)
        for s, q, c, r in out.select("symbol", "quantity", "cost_basis", "realized_pnl").rows()
    }


def _close(actual: dict[str, tuple[float, ...]], expected: dict[str, tuple[float, ...]]) -> None:
    assert set(actual) == set(expected)
    for key, values in expected.items():
        assert actual[key] == pytest.approx(values, abs=1e-6), key


def _balances(report: object) -> None:
    """DESIGN 3b: total value - net deposits = unrealized + realized + dividends + interest
    - FEE rows - taxes + cash FX gain (no fees in these ledgers)."""
    t = report.totals  # type: ignore[attr-defined]
    left = t["total_value"] - t["net_deposits"]
    right = (
        t["unrealized_pnl"] + t["realized_pnl"] + t["dividends"] + t["interest"] - t["taxes"]
        + t["cash_fx_gain"]
    )  # fmt: skip
    assert left == pytest.approx(right, abs=1e-6)


# ------------------------------------------------------------------------- SYMBOL_CHANGE

CHANGE = [
    act("2024-01-02", "SYMBOL_CHANGE", "X", target="Y", ratio=(2, 1)),
    row("2024-03-01", "SELL", "Y", 12, 80.0),  # proceeds 960
]
#: X -> Y at 2:1: every lot doubles in shares and keeps its cost and date, then 12 Y sold:
#: FIFO  Y lots 10/500 20/1300 20/1100: takes 10 (500) + 2 (130) = 630, realized 330
#: LIFO  Y lots 20/1000 20/1300 10/550: takes 10 (550) + 2 (130) = 680, realized 280
#: HIFO  Y lots 20/1000 10/650 20/1100 (65 a share first): 10 (650) + 2 (110) = 760, 200
#: AVG   50 shares, 2833.33: takes 12/50 = 680, realized 280, left 2153.33
CHANGE_EXPECTED = {
    "fifo": {"X": (0, 0, 200), "Y": (38, 2270, 330)},
    "lifo": {"X": (0, 0, 150), "Y": (38, 2170, 280)},
    "hifo": {"X": (0, 0, 50), "Y": (38, 1990, 200)},
    "average": {"X": (0, 0, 700 - 3400 / 6), "Y": (38, 2833.3333333 - 680, 280)},
}


@pytest.mark.parametrize("method", METHODS)
def test_symbol_change_moves_lots_and_keeps_earlier_sales_old(method: str) -> None:
    """A symbol change moves every open lot to the new symbol (shares x 2, cost kept); the
    sale before it stays the old symbol's realized P&L."""
    _close(_pnl(CHANGE, method), CHANGE_EXPECTED[method])


def test_symbol_change_keeps_lot_dates_and_gains_terms() -> None:
    """The new symbol's lots keep their acquisition dates: the FIFO sale of 12 Y on
    2024-03-01 is 10 shares of the 2023-01-02 lot (long: 800 - 500 = 300) and 2 of the
    2023-06-01 lot (short: 160 - 130 = 30)."""
    tx = corp_ledger(BASE + CHANGE)
    lots = open_lots(tx, method="fifo")
    assert lots.select("symbol", "date", "quantity", "cost_basis").rows() == [
        ("Y", dt.date(2023, 6, 1), 18.0, 1170.0),
        ("Y", dt.date(2023, 7, 1), 20.0, 1100.0),
    ]
    gains = realized_gains(tx, method="fifo", start=dt.date(2024, 1, 1)).rows
    assert gains.select("symbol", "quantity", "acquired", "proceeds", "cost", "gain", "term").rows() == [
        ("Y", 10.0, dt.date(2023, 1, 2), 800.0, 500.0, 300.0, "long"),
        ("Y", 2.0, dt.date(2023, 6, 1), 160.0, 130.0, 30.0, "short"),
    ]  # fmt: skip


def test_selling_the_old_symbol_after_the_change_is_an_oversell() -> None:
    """After X became Y, X is no longer held: selling it is an oversell."""
    tx = corp_ledger([*BASE, CHANGE[0], row("2024-02-01", "SELL", "X", 1, 100.0)])
    with pytest.raises(OversoldError, match="X"):
        position_pnl(tx, method="fifo")


def test_symbol_change_values_old_prices_before_and_new_prices_after() -> None:
    """The value series uses X's closes before the change and Y's from it: 25 X at 120 on
    2024-01-01 is 3000, 50 Y at 61 on 2024-01-02 is 3050."""
    tx = corp_ledger([*BASE, CHANGE[0]])
    prices = price_frame([("X", "2023-12-29", 120.0), ("Y", "2024-01-02", 61.0)])
    report = build_report(tx, prices, as_of=dt.date(2024, 1, 5))
    series = report.series.filter(pl.col("date").is_in([dt.date(2024, 1, 1), dt.date(2024, 1, 2)]))
    assert series["market_value"].to_list() == [3000.0, 3050.0]
    _balances(report)


# ------------------------------------------------------------------------------ SPINOFF

SPINOFF = [
    act("2024-01-02", "SPINOFF", "X", target="K", quantity=5, cost_fraction=0.25),
    row("2024-03-01", "SELL", "K", 2, 60.0),  # proceeds 120
]
#: 5 K for 25 X, 25% of the cost moves; each X lot gives K 5 x lot/25 shares:
#: FIFO  K 1/125 2/325 2/275 (725); X keeps 75%: 2175. Sell 2: 125 + 162.5 = 287.5, -167.5
#: LIFO  K 2/250 2/325 1/137.5 (712.5); X 2137.5. Sell 2 newest: 137.5 + 162.5 = 300, -180
#: HIFO  K 2/250 1/162.5 2/275 (687.5); X 2062.5. 162.5 a share, then 137.5: 300, -180
#: AVG   K 5/708.33; X 2125. Sell 2/5: 283.33, -163.33
SPINOFF_EXPECTED = {
    "fifo": {"X": (25, 2175, 200), "K": (3, 437.5, -167.5)},
    "lifo": {"X": (25, 2137.5, 150), "K": (3, 412.5, -180)},
    "hifo": {"X": (25, 2062.5, 50), "K": (3, 387.5, -180)},
    "average": {"X": (25, 2125, 700 - 3400 / 6), "K": (3, 425, 120 - 283.3333333)},
}


@pytest.mark.parametrize("method", METHODS)
def test_spinoff_moves_a_fraction_of_each_lots_cost(method: str) -> None:
    """A spin-off gives each parent lot a child lot with 25% of its cost; the parent keeps 75%."""
    _close(_pnl(SPINOFF, method), SPINOFF_EXPECTED[method])


def test_spinoff_child_lots_keep_the_parents_dates() -> None:
    """Each FIFO child lot carries its parent's acquisition date and id."""
    lots = open_lots(corp_ledger(BASE + SPINOFF[:1]), method="fifo").filter(pl.col("symbol") == "K")
    assert lots.select("lot_id", "date", "quantity", "cost_basis").rows() == [
        (2, dt.date(2023, 1, 2), 1.0, 125.0),
        (3, dt.date(2023, 6, 1), 2.0, 325.0),
        (4, dt.date(2023, 7, 1), 2.0, 275.0),
    ]


def test_spinoff_of_a_symbol_not_held_is_an_error() -> None:
    """A spin-off needs a holding of the parent to take the cost from."""
    tx = corp_ledger([*BASE, act("2024-01-02", "SPINOFF", "Z", target="K", quantity=5, cost_fraction=0.25)])  # fmt: skip
    with pytest.raises(CorporateActionError, match="holds none"):
        position_pnl(tx)


# ------------------------------------------------------------------------------- MERGER

#: X -> M, 1 M per 2 X (12.5 M for 25 X), 250 cash that takes 10% of the cost:
#: realized = 250 - 10% of the basis; M gets 90% of it
MERGER = [
    act("2024-01-10", "MERGER", "X", target="M", ratio=(1, 2), amount=250.0, cost_fraction=0.1)
]
MERGER_EXPECTED = {
    "fifo": {"X": (0, 0, 200 + 250 - 290), "M": (12.5, 2610, 0)},
    "lifo": {"X": (0, 0, 150 + 250 - 285), "M": (12.5, 2565, 0)},
    "hifo": {"X": (0, 0, 50 + 250 - 275), "M": (12.5, 2475, 0)},
    "average": {"X": (0, 0, 700 - 3400 / 6 + 250 - 283.3333333), "M": (12.5, 2550, 0)},
}


@pytest.mark.parametrize("method", METHODS)
def test_merger_with_cash_and_a_stated_fraction(method: str) -> None:
    """Stock and cash: the new symbol gets 90% of the cost, the cash realizes 250 - 10%."""
    _close(_pnl(MERGER, method), MERGER_EXPECTED[method])


def test_merger_cash_is_a_disposal_of_the_old_symbol_lot_by_lot() -> None:
    """FIFO: the 250 splits by quantity over the lots of 5, 10 and 10 shares (50, 100, 100)
    against 10% of each lot's cost (50, 130, 110); the 2023-01-02 lot is long-term on
    2024-01-10, the others short. Quantity: 10% of each lot's shares."""
    gains = realized_gains(corp_ledger(BASE + MERGER), start=dt.date(2024, 1, 1)).rows
    assert gains.select("symbol", "quantity", "acquired", "proceeds", "cost", "term").rows() == [
        ("X", 0.5, dt.date(2023, 1, 2), 50.0, 50.0, "long"),
        ("X", 1.0, dt.date(2023, 6, 1), 100.0, 130.0, "short"),
        ("X", 1.0, dt.date(2023, 7, 1), 100.0, 110.0, "short"),
    ]


def test_merger_cash_in_lieu_takes_the_fraction_not_received() -> None:
    """12 M received of 12.5 due and 30 cash: f = 0.5 / 12.5 = 4%, so FIFO realizes
    30 - 4% x 2900 = -86 and M costs 96% x 2900 = 2784."""
    rows = [act("2024-01-10", "MERGER", "X", target="M", ratio=(1, 2), quantity=12,
                amount=30.0)]  # fmt: skip
    _close(_pnl(rows, "fifo"), {"X": (0, 0, 200 - 86), "M": (12, 2784, 0)})


def test_merger_cash_and_stock_allocated_by_price() -> None:
    """100 cash and 12.5 M worth 60 each: f = 100 / (100 + 750) = 2/17, so FIFO realizes
    100 - 2900 x 2/17 = -241.18 and M costs 2900 x 15/17 = 2558.82."""
    rows = [act("2024-01-10", "MERGER", "X", target="M", ratio=(1, 2), amount=100.0,
                price=60.0)]  # fmt: skip
    _close(
        _pnl(rows, "fifo"), {"X": (0, 0, 200 + 100 - 2900 * 2 / 17), "M": (12.5, 2900 * 15 / 17, 0)}
    )


def test_merger_cash_without_an_allocation_is_an_error() -> None:
    """Cash with all the new shares due and neither cost_fraction nor price: an error."""
    rows = [act("2024-01-10", "MERGER", "X", target="M", ratio=(1, 2), quantity=12.5,
                amount=100.0)]  # fmt: skip
    with pytest.raises(CorporateActionError, match="cost_fraction"):
        position_pnl(corp_ledger(BASE + rows))


# -------------------------------------------------------------------- RETURN_OF_CAPITAL

#: 2700 back on 25 shares = 108 a share off each lot; a lot with less cost goes to zero
#: and the rest is a gain:
#: FIFO  L1 5 sh: 540 > 500 -> 0, gain 40; L2 10: 1300 - 1080 = 220; L3 1100 - 1080 = 20
#: LIFO  L1 10: 1080 > 1000 -> gain 80; L2 10: 220; L3 5: 550 - 540 = 10
#: HIFO  L1 10: gain 80; L2 5: 650 - 540 = 110; L3 10: 20
#: AVG   the pool's 2833.33 - 2700 = 133.33, no gain
ROC = [act("2024-01-10", "RETURN_OF_CAPITAL", "X", amount=2700.0)]
ROC_EXPECTED = {
    "fifo": {"X": (25, 240, 200 + 40)},
    "lifo": {"X": (25, 230, 150 + 80)},
    "hifo": {"X": (25, 130, 50 + 80)},
    "average": {"X": (25, 2833.3333333 - 2700, 700 - 3400 / 6)},
}


@pytest.mark.parametrize("method", METHODS)
def test_return_of_capital_lowers_cost_and_realizes_the_excess(method: str) -> None:
    """Return of capital comes off each lot pro-rata by quantity, a gain past zero."""
    _close(_pnl(ROC, method), ROC_EXPECTED[method])


def test_return_of_capital_past_the_average_pool() -> None:
    """AVERAGE: 3000 back on a pool of 2833.33 takes it to zero and realizes 166.67."""
    rows = [act("2024-01-10", "RETURN_OF_CAPITAL", "X", amount=3000.0)]
    _close(_pnl(rows, "average"), {"X": (25, 0, 700 - 3400 / 6 + 3000 - 3400 * 25 / 30)})


def test_return_of_capital_is_cash_not_income() -> None:
    """The report adds the 2700 to cash and none of it to dividends; the books balance."""
    report = build_report(corp_ledger(BASE + ROC), price_frame([("X", "2024-01-10", 120.0)]),
                          as_of=AS_OF)  # fmt: skip
    # cash: 5000 - 1000 - 1300 - 1100 + 700 + 2700
    assert report.totals["cash"] == pytest.approx(5000.0)
    assert report.totals["dividends"] == 0.0
    _balances(report)


# ----------------------------------------------------------------------- STOCK_DIVIDEND

STOCK = [
    act("2024-01-10", "STOCK_DIVIDEND", "X", quantity=5),
    row("2024-03-01", "SELL", "X", 6, 140.0),  # proceeds 840
]
#: a new lot of 5 at zero cost on 2024-01-10, then 6 sold:
#: FIFO  L1 5 (500) + L2 1 (130) = 630 -> 210; LIFO the new lot 5 (0) + L3 1 (110) -> 730
#: HIFO  L2 5 (650) + L3 1 (110) = 760 -> 80; AVG 30 shares, 2833.33: 6/30 = 566.67 -> 273.33
STOCK_EXPECTED = {
    "fifo": {"X": (24, 2900 - 630, 200 + 210)},
    "lifo": {"X": (24, 2850 - 110, 150 + 730)},
    "hifo": {"X": (24, 2750 - 760, 50 + 80)},
    "average": {"X": (24, 3400 * 25 / 30 * 24 / 30, 700 - 3400 / 6 + 840 - 3400 * 25 / 30 / 5)},
}


@pytest.mark.parametrize("method", METHODS)
def test_stock_dividend_is_a_new_lot_at_zero_cost(method: str) -> None:
    """A stock dividend adds a lot dated on its row at zero cost."""
    _close(_pnl(STOCK, method), STOCK_EXPECTED[method])


def test_stock_dividend_at_a_stated_value_is_income_and_the_books_balance() -> None:
    """5 shares at a stated 12 add a lot costing 60 and 60 of dividends, no cash."""
    rows = [act("2024-01-10", "STOCK_DIVIDEND", "X", quantity=5, price=12.0)]
    report = build_report(corp_ledger(BASE + rows), price_frame([("X", "2024-01-10", 120.0)]),
                          as_of=AS_OF)  # fmt: skip
    position = report.positions.row(0, named=True)
    assert (position["quantity"], position["cost_basis"], position["dividends"]) == (
        pytest.approx(30),
        pytest.approx(2960),
        pytest.approx(60),
    )
    assert report.totals["dividends"] == pytest.approx(60)
    assert report.totals["cash"] == pytest.approx(5000 - 3400 + 700)
    _balances(report)


# --------------------------------------------------------------- every type, the report


@pytest.mark.parametrize("method", METHODS)
def test_report_positions_agree_with_position_pnl_and_balance(method: str) -> None:
    """With every type in one ledger, the report's positions match position_pnl's and the
    books balance."""
    rows = [
        *STOCK[:1],
        act("2024-02-01", "SPINOFF", "X", target="K", quantity=6, cost_fraction=0.2),
        act("2024-03-01", "SYMBOL_CHANGE", "X", target="Y", ratio=(3, 1)),
        act("2024-04-01", "RETURN_OF_CAPITAL", "Y", amount=150.0),
        act("2024-05-01", "MERGER", "K", target="M", ratio=(1, 1), amount=20.0, cost_fraction=0.05),
        row("2024-06-03", "SELL", "Y", 40, 45.0),
    ]
    tx = corp_ledger(BASE + rows)
    prices = price_frame([("Y", "2024-06-03", 44.0), ("M", "2024-05-01", 25.0)])
    report = build_report(tx, prices, as_of=AS_OF, cost_method=method)
    plain = position_pnl(tx, method=method)
    columns = ["quantity", "cost_basis", "realized_pnl"]
    mine = report.positions.select("symbol", *columns).sort("symbol")
    theirs = plain.select("symbol", *columns).sort("symbol")
    assert mine["symbol"].to_list() == theirs["symbol"].to_list()
    for column in columns:
        assert mine[column].to_list() == pytest.approx(theirs[column].to_list(), abs=1e-6)
    # shares: 25 + 5 = 30 X -> 90 Y, 40 sold; K 6 -> M 6
    assert dict(mine.select("symbol", "quantity").rows()) == {"K": 0, "M": 6, "X": 0, "Y": 50}
    _balances(report)


# --------------------------------------------------------------- a second currency


def test_merger_of_a_euro_stock_in_a_dollar_report() -> None:
    """10 SAP bought at 100 EUR at 1.10 USD (cost 1000 EUR, 1100 USD); merged 1:1 into NEWCO
    with 100 EUR cash at 1.05 taking 20% of the cost:
    realized = 105 - 220 = -115 USD, its FX part 200 x 1.05 - 220 = -10;
    NEWCO costs 880 USD (800 EUR); at 90 EUR and 1.08: value 972, unrealized 92, of it FX
    800 x 1.08 - 880 = -16."""
    tx = corp_ledger(
        [
            row("2023-01-10", "DEPOSIT", amount=2000.0, currency="EUR"),
            row("2023-01-10", "BUY", "SAP", 10, 100.0, currency="EUR"),
            act("2024-02-01", "MERGER", "SAP", target="NEWCO", ratio=(1, 1), amount=100.0,
                cost_fraction=0.2, currency="EUR"),
        ]
    )  # fmt: skip
    rates = eur_usd_rates([("2023-01-10", 1.10), ("2024-02-01", 1.05), ("2024-06-28", 1.08)])
    prices = price_frame([("NEWCO", "2024-06-28", 90.0)])
    report = build_report(tx, prices, as_of=AS_OF, base_currency="USD", rates=rates)
    by = {p["symbol"]: p for p in report.positions.iter_rows(named=True)}
    assert (by["SAP"]["realized_pnl"], by["SAP"]["realized_fx_pnl"]) == pytest.approx((-115, -10))
    newco = by["NEWCO"]
    assert newco["currency"] == "EUR"
    assert (newco["cost_basis"], newco["market_value"], newco["unrealized_pnl"]) == pytest.approx(
        (880, 972, 92)
    )
    assert newco["unrealized_fx_pnl"] == pytest.approx(-16)
    _balances(report)
    gains = realized_gains(tx, target="USD", rates=rates).rows
    assert gains.select("symbol", "proceeds", "cost", "gain", "fx_gain").rows() == [
        ("SAP", pytest.approx(105), pytest.approx(220), pytest.approx(-115), pytest.approx(-10))
    ]


def test_what_if_sale_of_a_renamed_position_compares_the_four_methods() -> None:
    """A what-if sale of 12 Y at 80 after X became Y (2:1) prices the moved lots under every
    method, as the real sale in CHANGE_EXPECTED did: gains 330, 280, 200, 280."""
    from workbench.analytics.whatif import sale_preview

    tx = corp_ledger([*BASE, CHANGE[0]])
    preview = sale_preview(tx, symbol="Y", quantity=12, price=80, as_of=dt.date(2024, 3, 1))
    gains = dict(preview.summary.select("method", "gain").rows())
    assert gains == pytest.approx({"fifo": 330, "lifo": 280, "hifo": 200, "average": 280})
    fifo = preview.lots.filter(pl.col("method") == "fifo")
    assert fifo.select("acquired", "quantity", "term").rows() == [
        (dt.date(2023, 1, 2), 10.0, "long"),
        (dt.date(2023, 6, 1), 2.0, "short"),
    ]
