"""Multi-currency analytics (DESIGN 3b): hand-computed ledgers in a reporting currency.

Every expected number is worked out in the comments beside it, from the rates and rows of
the test; none is read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from _analytics_helpers import ledger, price_frame, row

from workbench.analytics.report import Report, build_report
from workbench.errors import MissingRate

D = dt.date


def rates(points: list[tuple[str, str, str, float]]) -> pl.DataFrame:
    """A rates frame from (date, base, quote, rate) tuples: 1 base = rate quote."""
    return pl.DataFrame(
        {
            "date": [D.fromisoformat(p[0]) for p in points],
            "base": [p[1] for p in points],
            "quote": [p[2] for p in points],
            "rate": [p[3] for p in points],
            "source": ["test"] * len(points),
        }
    )


def report(
    rows: list[dict[str, Any]],
    closes: list[tuple[str, str, float]],
    fx: pl.DataFrame,
    *,
    currency: str,
    as_of: str,
    method: str = "fifo",
) -> Report:
    """build_report over frames made here."""
    return build_report(
        ledger(rows),
        price_frame(closes),
        as_of=D.fromisoformat(as_of),
        cost_method=method,
        base_currency=currency,
        rates=fx,
    )


def position(rep: Report, symbol: str) -> dict[str, Any]:
    """The one position row of ``symbol``."""
    found = rep.positions.filter(pl.col("symbol") == symbol).to_dicts()
    assert len(found) == 1
    return found[0]


def check_balance(rep: Report) -> None:
    """DESIGN 3b: total_value - net_deposits = unrealized + realized + dividends + interest
    - FEE rows - taxes - fees on non-trade rows + cash_fx_gain."""
    t = rep.totals
    trade_fees = float(rep.positions["trade_fees"].sum())
    right = (
        t["unrealized_pnl"] + t["realized_pnl"] + t["dividends"] + t["interest"]
        - t["taxes"] - (t["fees"] - trade_fees) + t["cash_fx_gain"]
    )  # fmt: skip
    assert t["total_value"] - t["net_deposits"] == pytest.approx(right, abs=1e-6)


# EUR -> USD on the dates of the EUR stock example
EURUSD = rates([("2024-01-02", "EUR", "USD", 1.10), ("2024-06-28", "EUR", "USD", 1.07),
                ("2024-12-31", "EUR", "USD", 1.04)])  # fmt: skip
EU_STOCK = [
    row("2024-01-02", "DEPOSIT", amount=10_000, currency="EUR", account="eu"),
    row("2024-01-02", "BUY", "SAP", 10, 150, fee=5, currency="EUR", account="eu"),
]


def test_eur_stock_in_a_usd_report() -> None:
    """A EUR stock in USD: cost at the buy date's rate, value at the as-of rate, FX part apart."""
    rep = report(EU_STOCK, [("SAP", "2024-12-31", 180.0)], EURUSD, currency="USD",
                 as_of="2024-12-31")  # fmt: skip
    sap = position(rep, "SAP")
    assert sap["currency"] == "EUR"
    assert sap["price"] == pytest.approx(180.0)  # native
    assert sap["fx_rate"] == pytest.approx(1.04)
    # cost: (10 x 150 + 5) EUR = 1505 EUR x 1.10 = 1655.50 USD
    assert sap["cost_basis"] == pytest.approx(1655.50)
    # value: 10 x 180 EUR x 1.04 = 1872.00 USD; unrealized 1872.00 - 1655.50 = 216.50
    assert sap["market_value"] == pytest.approx(1872.00)
    assert sap["unrealized_pnl"] == pytest.approx(216.50)
    # FX part: 1505 x 1.04 - 1655.50 = 1565.20 - 1655.50 = -90.30; price part
    # (1800 - 1505) x 1.04 = 306.80, and 306.80 - 90.30 = 216.50
    assert sap["unrealized_fx_pnl"] == pytest.approx(-90.30)
    t = rep.totals
    # cash: 10000 - 1505 = 8495 EUR x 1.04 = 8834.80 USD
    assert rep.cash_by_currency == {"EUR": pytest.approx(8495.0)}
    assert t["cash"] == pytest.approx(8834.80)
    # deposit at its date's rate: 10000 x 1.10 = 11000
    assert t["net_deposits"] == pytest.approx(11_000.0)
    # cash FX gain: 8495 x (1.04 - 1.10) = -509.70
    assert t["cash_fx_gain"] == pytest.approx(-509.70)
    assert t["total_value"] == pytest.approx(1872.00 + 8834.80)
    assert t["fees"] == pytest.approx(5 * 1.10)
    check_balance(rep)


# the EUR stock with 4 of its 10 shares sold on 2024-06-28
SOLD_ONCE = [
    *EU_STOCK,
    row("2024-06-28", "SELL", "SAP", 4, 170, fee=5, currency="EUR", account="eu"),
]


def test_eur_stock_sold_once_in_usd() -> None:
    """A sale's proceeds convert at the sale date; realized FX = native cost consumed x sale rate - C cost."""
    rep = report(
        SOLD_ONCE, [("SAP", "2024-12-31", 180.0)], EURUSD, currency="USD", as_of="2024-12-31"
    )
    sap = position(rep, "SAP")
    # proceeds (4 x 170 - 5) = 675 EUR x 1.07 = 722.25 USD; FIFO consumes 4/10 of the lot:
    # 602 EUR, 662.20 USD; realized 722.25 - 662.20 = 60.05; FX part 602 x 1.07 - 662.20 = -18.06
    assert sap["realized_pnl"] == pytest.approx(60.05)
    assert sap["realized_fx_pnl"] == pytest.approx(-18.06)
    # 6 left: 993.30 USD, 903 EUR; value 6 x 180 x 1.04 = 1123.20; FX part 903 x 1.04 - 993.30
    assert sap["cost_basis"] == pytest.approx(993.30)
    assert sap["unrealized_pnl"] == pytest.approx(129.90)
    assert sap["unrealized_fx_pnl"] == pytest.approx(-54.18)
    # cash 9170 EUR x 1.04 = 9536.80; booked 11000 - 1655.50 + 722.25 = 10066.75
    assert rep.totals["cash_fx_gain"] == pytest.approx(9536.80 - 10066.75)
    check_balance(rep)


def test_the_same_ledger_in_its_own_currency_has_no_fx_part() -> None:
    """Reported in EUR, the EUR ledger has native figures and zero FX parts."""
    rep = report(
        SOLD_ONCE, [("SAP", "2024-12-31", 180.0)], EURUSD, currency="EUR", as_of="2024-12-31"
    )
    sap = position(rep, "SAP")
    # realized 675 - 602 = 73; unrealized 6 x 180 - 903 = 177
    assert sap["realized_pnl"] == pytest.approx(73.0)
    assert sap["unrealized_pnl"] == pytest.approx(177.0)
    assert sap["fx_rate"] == 1.0
    assert (sap["realized_fx_pnl"], sap["unrealized_fx_pnl"]) == (0.0, 0.0)
    assert rep.totals["cash_fx_gain"] == 0.0


# two lots and two sales at different rates: EUR -> USD 1.10, 1.20, 1.00, 1.05, 1.10
TWO_LOTS_FX = rates([("2024-01-02", "EUR", "USD", 1.10), ("2024-02-01", "EUR", "USD", 1.20),
                     ("2024-03-01", "EUR", "USD", 1.00), ("2024-04-01", "EUR", "USD", 1.05),
                     ("2024-05-02", "EUR", "USD", 1.10)])  # fmt: skip
TWO_LOTS = [
    row("2024-01-02", "DEPOSIT", amount=3000, currency="EUR"),
    # lot 1: 1050 EUR = 1155 USD (115.50 a share); lot 2: 1000 EUR = 1200 USD (120 a share)
    row("2024-01-02", "BUY", "SIE", 10, 105, currency="EUR"),
    row("2024-02-01", "BUY", "SIE", 10, 100, currency="EUR"),
    # proceeds 550 EUR = 550 USD, then 600 EUR = 630 USD
    row("2024-03-01", "SELL", "SIE", 5, 110, currency="EUR"),
    row("2024-04-01", "SELL", "SIE", 5, 120, currency="EUR"),
]


@pytest.mark.parametrize(
    ("method", "realized", "realized_fx", "unrealized", "unrealized_fx"),
    [
        # FIFO takes lot 1 (525 EUR = 577.50 USD per sale): realized 1180 - 1155 = 25;
        # FX 525 x 1.00 + 525 x 1.05 - 1155 = -78.75; left lot 2: 1430 - 1200, FX 1100 - 1200
        pytest.param("fifo", 25.0, -78.75, 230.0, -100.0, id="fifo"),
        # LIFO takes lot 2 (500 EUR per sale): realized 1180 - 1200 = -20;
        # FX 500 x 1.00 + 500 x 1.05 - 1200 = -175; left lot 1: 1430 - 1155, FX 1155 - 1155
        pytest.param("lifo", -20.0, -175.0, 275.0, 0.0, id="lifo"),
        # HIFO in USD ranks lot 2 (120 a share) above lot 1 (115.50): as LIFO
        pytest.param("hifo", -20.0, -175.0, 275.0, 0.0, id="hifo"),
        # AVERAGE: 20 shares cost 2355 USD / 2050 EUR; each sale takes 588.75 USD / 512.50 EUR;
        # realized 1180 - 1177.50 = 2.50; FX 512.50 x (1.00 + 1.05) - 1177.50 = -126.875;
        # left 1177.50 USD / 1025 EUR: unrealized 1430 - 1177.50, FX 1127.50 - 1177.50
        pytest.param("average", 2.5, -126.875, 252.5, -50.0, id="average"),
    ],
)
def test_two_sales_at_two_rates_in_usd(
    method: str, realized: float, realized_fx: float, unrealized: float, unrealized_fx: float
) -> None:
    """Each sale's native cost converts at that sale's rate, under every cost method."""
    rep = report(TWO_LOTS, [("SIE", "2024-05-02", 130.0)], TWO_LOTS_FX, currency="USD",
                 as_of="2024-05-02", method=method)  # fmt: skip
    sie = position(rep, "SIE")
    assert sie["realized_pnl"] == pytest.approx(realized)
    assert sie["realized_fx_pnl"] == pytest.approx(realized_fx)
    # value 10 x 130 EUR x 1.10 = 1430 USD
    assert sie["market_value"] == pytest.approx(1430.0)
    assert sie["unrealized_pnl"] == pytest.approx(unrealized)
    assert sie["unrealized_fx_pnl"] == pytest.approx(unrealized_fx)
    # cash 3000 - 1050 - 1000 + 550 + 600 = 2100 EUR x 1.10 = 2310; booked
    # 3300 - 1155 - 1200 + 550 + 630 = 2125: gain 185
    assert rep.totals["cash_fx_gain"] == pytest.approx(185.0)
    check_balance(rep)


def test_hifo_in_usd_and_in_eur_picks_different_lots() -> None:
    """HIFO ranks by cost per share in the reporting currency: lot 1 in EUR, lot 2 in USD."""
    close = [("SIE", "2024-05-02", 130.0)]
    usd = report(TWO_LOTS, close, TWO_LOTS_FX, currency="USD", as_of="2024-05-02", method="hifo")
    eur = report(TWO_LOTS, close, TWO_LOTS_FX, currency="EUR", as_of="2024-05-02", method="hifo")
    # USD: lot 2 (120 > 115.50) sold, lot 1 left: 1155 USD
    assert position(usd, "SIE")["cost_basis"] == pytest.approx(1155.0)
    # EUR: lot 1 (105 > 100) sold, lot 2 left: 1000 EUR; realized 1150 - 1050 = 100
    eur_sie = position(eur, "SIE")
    assert eur_sie["cost_basis"] == pytest.approx(1000.0)
    assert eur_sie["realized_pnl"] == pytest.approx(100.0)
    assert eur_sie["unrealized_pnl"] == pytest.approx(300.0)


@pytest.mark.parametrize(("method", "left_cost"), [("fifo", 605.0), ("lifo", 550.0)])
def test_rows_on_one_date_apply_in_file_order(method: str, left_cost: float) -> None:
    """Two buys and a sell on one day: FIFO sells the first bought in file order, LIFO the second."""
    fx = rates([("2024-01-02", "EUR", "USD", 1.10)])
    rows = [
        row("2024-01-02", "BUY", "SAP", 5, 100, currency="EUR"),
        row("2024-01-02", "BUY", "SAP", 5, 110, currency="EUR"),
        row("2024-01-02", "SELL", "SAP", 5, 120, currency="EUR"),
    ]
    rep = report(rows, [], fx, currency="USD", as_of="2024-01-02", method=method)
    sap = position(rep, "SAP")
    # FIFO keeps 5 x 110 = 550 EUR = 605 USD, realized (600 - 500) x 1.10 = 110;
    # LIFO keeps 5 x 100 = 500 EUR = 550 USD, realized (600 - 550) x 1.10 = 55
    assert sap["cost_basis"] == pytest.approx(left_cost)
    assert sap["realized_pnl"] == pytest.approx(110.0 if method == "fifo" else 55.0)


def test_a_holiday_takes_the_rate_of_the_day_before() -> None:
    """No ECB rate on Easter Monday 2024-04-01: a buy that day costs at Thursday's 1.0811."""
    fx = rates([("2024-03-28", "EUR", "USD", 1.0811), ("2024-04-02", "EUR", "USD", 1.0765)])
    rows = [row("2024-04-01", "BUY", "SAP", 10, 100, currency="EUR")]
    rep = report(rows, [], fx, currency="USD", as_of="2024-04-01")
    # 1000 EUR x 1.0811 (2024-03-28) = 1081.10 USD, never the later 1.0765
    assert position(rep, "SAP")["cost_basis"] == pytest.approx(1081.10)
    assert rep.warnings == []  # four days old: a long weekend, not stale


def test_stale_rates_are_listed_in_the_warnings() -> None:
    """A rate three weeks old on the as-of date is used and named in the warnings."""
    fx = rates([("2024-03-28", "EUR", "USD", 1.0811)])
    rows = [row("2024-03-28", "BUY", "SAP", 10, 100, currency="EUR")]
    rep = report(rows, [], fx, currency="USD", as_of="2024-04-18")
    assert rep.warnings == [
        "stale rate: EUR->USD on 2024-04-18 uses the rate of 2024-03-28 (21 days old)"
    ]
    assert '"warnings": [' in rep.to_json()


def test_one_leg_missing_on_a_day_uses_that_legs_previous_rate() -> None:
    """GBP -> USD crosses through EUR with each leg as of the day: EUR->USD lacks 01-03."""
    fx = rates([("2024-01-02", "EUR", "USD", 1.10), ("2024-01-02", "EUR", "GBP", 0.85),
                ("2024-01-03", "EUR", "GBP", 0.86)])  # fmt: skip
    rows = [
        row("2024-01-02", "BUY", "BP", 100, 5, currency="GBP"),
        row("2024-01-03", "BUY", "BP", 100, 5, currency="GBP"),
    ]
    rep = report(rows, [], fx, currency="USD", as_of="2024-01-03")
    # 500 GBP x 1.10 / 0.85 = 647.0588235 and 500 GBP x 1.10 / 0.86 = 639.5348837
    assert position(rep, "BP")["cost_basis"] == pytest.approx(500 * 1.10 / 0.85 + 500 * 1.10 / 0.86)
    # value 200 x 5 GBP at the as-of cross 1.10 / 0.86
    assert position(rep, "BP")["market_value"] == pytest.approx(1000 * 1.10 / 0.86)


def test_pence_quoted_instrument() -> None:
    """A GBp (pence) price is 1/100 of a pound: 100 shares at 250p are worth 250 GBP."""
    fx = rates([("2024-01-02", "EUR", "GBP", 0.85), ("2024-01-02", "EUR", "USD", 1.10)])
    rows = [row("2024-01-02", "BUY", "VOD", 100, 240, currency="GBX")]
    rep = report(rows, [("VOD", "2024-01-02", 250.0)], fx, currency="GBP", as_of="2024-01-02")
    vod = position(rep, "VOD")
    assert vod["price"] == pytest.approx(250.0)
    assert vod["fx_rate"] == pytest.approx(0.01)
    assert vod["market_value"] == pytest.approx(250.0)
    assert vod["cost_basis"] == pytest.approx(240.0)
    usd = report(rows, [("VOD", "2024-01-02", 250.0)], fx, currency="USD", as_of="2024-01-02")
    # 250 GBP x 1.10 / 0.85 USD
    assert position(usd, "VOD")["market_value"] == pytest.approx(250 * 1.10 / 0.85)


def test_broker_fx_rate_away_from_reference_shows_in_cash_fx_gain() -> None:
    """Buying 10000 EUR at 1.12 USD when the reference is 1.10 costs 200 USD of cash FX gain."""
    fx = rates([("2024-01-02", "EUR", "USD", 1.10)])
    rows = [
        row("2024-01-02", "DEPOSIT", amount=12_000),
        row("2024-01-02", "FX", "EUR", 10_000, 1.12, fee=5),
    ]
    rep = report(rows, [], fx, currency="USD", as_of="2024-01-02")
    t = rep.totals
    # USD 12000 - (10000 x 1.12 + 5) = 795; EUR 10000
    assert rep.cash_by_currency == {"EUR": pytest.approx(10_000.0), "USD": pytest.approx(795.0)}
    # value 795 + 10000 x 1.10 = 11795; booked 12000 - 11205 + 11200 = 11995: gain -200
    assert t["cash"] == pytest.approx(11_795.0)
    assert t["cash_fx_gain"] == pytest.approx(-200.0)
    assert t["fees"] == pytest.approx(5.0)
    check_balance(rep)
    eur = report(rows, [], fx, currency="EUR", as_of="2024-01-02")
    # in EUR every amount is the USD one / 1.10: gain -200 / 1.10 = -181.818...
    assert eur.totals["cash_fx_gain"] == pytest.approx(-200 / 1.10)
    assert eur.totals["net_deposits"] == pytest.approx(12_000 / 1.10)
    check_balance(eur)


def test_a_row_before_the_first_rate_is_an_error_naming_pair_and_date() -> None:
    """No EUR->USD rate on or before 2023-12-29: MissingRate, never a silent 1."""
    rows = [row("2023-12-29", "DEPOSIT", amount=100, currency="EUR")]
    with pytest.raises(MissingRate, match=r"EUR->USD on or before 2023-12-29"):
        report(rows, [], EURUSD, currency="USD", as_of="2024-01-05")


def test_a_currency_without_any_rate_is_an_error() -> None:
    """JPY with only EUR/USD rates cannot be converted: the error names the pair."""
    rows = [row("2024-01-02", "DEPOSIT", amount=100, currency="JPY")]
    with pytest.raises(MissingRate, match=r"JPY->USD"):
        report(rows, [], EURUSD, currency="USD", as_of="2024-01-05")


def test_dividend_and_withholding_convert_at_their_date() -> None:
    """A EUR dividend and its withholding tax convert at the payment date's rate."""
    rows = [
        *EU_STOCK,
        row("2024-06-28", "DIVIDEND", "SAP", amount=20, currency="EUR", account="eu"),
        row("2024-06-28", "TAX", "SAP", amount=3, currency="EUR", account="eu"),
    ]
    rep = report(rows, [("SAP", "2024-12-31", 180.0)], EURUSD, currency="USD", as_of="2024-12-31")
    # 20 x 1.07 = 21.40; 3 x 1.07 = 3.21
    assert rep.totals["dividends"] == pytest.approx(21.40)
    assert rep.totals["taxes"] == pytest.approx(3.21)
    assert position(rep, "SAP")["dividends"] == pytest.approx(21.40)
    check_balance(rep)


def test_daily_series_values_each_day_at_its_rate() -> None:
    """The value series in USD: holdings and cash at each day's rate, the deposit at its own."""
    fx = rates([("2024-01-02", "EUR", "USD", 1.10), ("2024-01-03", "EUR", "USD", 1.20)])
    rows = [
        row("2024-01-02", "DEPOSIT", amount=1000, currency="EUR"),
        row("2024-01-02", "BUY", "SAP", 5, 100, currency="EUR"),
    ]
    closes = [("SAP", "2024-01-02", 100.0), ("SAP", "2024-01-03", 100.0)]
    rep = report(rows, closes, fx, currency="USD", as_of="2024-01-03")
    series = rep.series.select("date", "total_value", "inflow")
    # day 1: 1000 EUR x 1.10 = 1100 (inflow 1100); day 2: 1000 EUR x 1.20 = 1200
    assert series["total_value"].to_list() == pytest.approx([1100.0, 1200.0])
    assert series["inflow"].to_list() == pytest.approx([1100.0, 0.0])
    # the TWR is the currency move alone: 1200 / 1100 - 1
    assert rep.performance["twr"] == pytest.approx(1200 / 1100 - 1)


def test_pnl_chart_splits_price_and_fx_parts() -> None:
    """The chart's parts for the EUR stock: price 306.80 and FX -90.30; none without FX."""
    from workbench import charts

    rep = report(EU_STOCK, [("SAP", "2024-12-31", 180.0)], EURUSD, currency="USD",
                 as_of="2024-12-31")  # fmt: skip
    parts = charts.pnl_parts(rep.positions).row(0, named=True)
    # (1800 - 1505) x 1.04 = 306.80 price; 1505 x 1.04 - 1655.50 = -90.30 FX
    assert parts["unrealized_price"] == pytest.approx(306.80)
    assert parts["unrealized_fx"] == pytest.approx(-90.30)
    without = charts.pnl_parts(rep.positions, with_fx=False).row(0, named=True)
    assert (without["unrealized_price"], without["unrealized_fx"]) == (
        pytest.approx(306.80), 0.0,
    )  # fmt: skip
    spec = charts.pnl_fx_chart(rep.positions).to_dict()
    assert spec["title"] == "P&L by position"
    values = next(iter(spec["datasets"].values()))
    assert {v["part"] for v in values} >= {"Unrealized: price", "Unrealized: FX"}


def test_ghostfolio_published_googl_buy_in_chf() -> None:
    """Ghostfolio's published case (portfolio-calculator-googl-buy.spec.ts), reported in CHF.

    1 GOOGL bought 2023-01-03 at 89.12 USD with a 1 USD fee; USD->CHF 0.9238 that day and
    0.8854 on 2023-07-10, when GOOGL is 116.45 USD. Ghostfolio publishes: value 103.10483 CHF,
    fee 0.9238 CHF, net performance with currency effect 19.851974 CHF, without it
    26.33 x 0.8854 = 23.312582 CHF (every native amount at today's rate).
    """
    fx = rates([("2023-01-03", "USD", "CHF", 0.9238), ("2023-07-10", "USD", "CHF", 0.8854)])
    rows = [row("2023-01-03", "BUY", "GOOGL", 1, 89.12, fee=1)]
    rep = report(rows, [("GOOGL", "2023-07-10", 116.45)], fx, currency="CHF",
                 as_of="2023-07-10")  # fmt: skip
    googl = position(rep, "GOOGL")
    assert googl["market_value"] == pytest.approx(103.10483)
    assert rep.totals["fees"] == pytest.approx(0.9238)
    # with currency effect: 103.10483 - 89.12 x 0.9238 - 1 x 0.9238 = 19.851974
    assert googl["unrealized_pnl"] == pytest.approx(19.851974)
    # without: the price part, (116.45 - 89.12 - 1) x 0.8854 = 23.312582
    assert googl["unrealized_pnl"] - googl["unrealized_fx_pnl"] == pytest.approx(23.312582)


def test_ghostfolio_published_round_trip_with_currency_effect_in_myr() -> None:
    """Ghostfolio's published case (portfolio-calculator-multi-trade-currency-effect.spec.ts).

    USD->MYR is 4 in January, 4.1 in February, 3.9 from March. Buy 10 MU at 100 USD on
    2024-01-01, sell them at 120 on 2024-02-01, buy 3 at 500 on 2024-03-01; on 2024-03-02
    Ghostfolio publishes performance with currency effect 920 MYR, investment 5850, value 5850.
    """
    fx = rates([("2023-12-31", "USD", "MYR", 4.0), ("2024-02-01", "USD", "MYR", 4.1),
                ("2024-03-01", "USD", "MYR", 3.9)])  # fmt: skip
    rows = [
        row("2024-01-01", "BUY", "MU", 10, 100),
        row("2024-02-01", "SELL", "MU", 10, 120),
        row("2024-03-01", "BUY", "MU", 3, 500),
    ]
    rep = report(rows, [("MU", "2024-03-02", 500.0)], fx, currency="MYR", as_of="2024-03-02")
    mu = position(rep, "MU")
    # realized 10 x 120 x 4.1 - 10 x 100 x 4 = 4920 - 4000 = 920; its FX part 1000 x 4.1 - 4000
    assert mu["realized_pnl"] == pytest.approx(920.0)
    assert mu["realized_fx_pnl"] == pytest.approx(100.0)
    # the open lot: 3 x 500 x 3.9 = 5850 cost and value
    assert mu["cost_basis"] == pytest.approx(5850.0)
    assert mu["market_value"] == pytest.approx(5850.0)
    assert mu["realized_pnl"] + mu["unrealized_pnl"] == pytest.approx(920.0)


@pytest.mark.parametrize("method", ["lifo", "hifo"])
def test_sale_sweep_keeps_positions_apart(method: str) -> None:
    """Two accounts holding the same position get the same FX part each (LIFO/HIFO: -175)."""
    rows = [*TWO_LOTS, *(dict(r, account="other") for r in TWO_LOTS)]
    rep = report(rows, [("SIE", "2024-05-02", 130.0)], TWO_LOTS_FX, currency="USD",
                 as_of="2024-05-02", method=method)  # fmt: skip
    # each account as in test_two_sales_at_two_rates_in_usd: 500 x 1.00 + 500 x 1.05 - 1200
    assert rep.positions["realized_fx_pnl"].to_list() == pytest.approx([-175.0, -175.0])
