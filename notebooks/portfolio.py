"""Portfolio dashboard: KPIs, holdings, value and return charts, allocation, and what explains a P&L."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Portfolio")

with app.setup:
    import sys

    import marimo as mo
    import polars as pl

    from workbench import analytics, charts, store
    from workbench.errors import WorkbenchError
    from workbench.server import ensure_database
    from workbench.server.snapshot import load_snapshot
    from workbench.server.views import (
        align_returns,
        explain_position,
        for_display,
        in_window,
        load_choices,
        money,
        percent,
        price_returns,
        ratio,
        read_prices_for,
    )


@app.cell
def title():
    mo.md("""
    # Portfolio
    """)
    return


@app.cell
def database():
    # a static html-wasm export has no WORKBENCH_DB: it reads the snapshot published beside it
    db = (
        load_snapshot(str(mo.notebook_location() / "public" / "snapshot"))
        if sys.platform == "emscripten"
        else ensure_database()
    )
    choices = load_choices(db)
    return choices, db


@app.cell
def controls(choices):
    ALL_ACCOUNTS = "All accounts"
    NO_BENCHMARK = "None"
    account_picker = mo.ui.dropdown(
        options=[ALL_ACCOUNTS, *choices.accounts], value=ALL_ACCOUNTS, label="Account"
    )
    date_picker = mo.ui.date_range(
        start=choices.first_date,
        stop=choices.last_date,
        value=(choices.first_date, choices.last_date),
        label="Period",
    )
    method_picker = mo.ui.dropdown(
        options=list(analytics.COST_METHODS), value="fifo", label="Cost method"
    )
    benchmark_picker = mo.ui.dropdown(
        options=[NO_BENCHMARK, *choices.priced_symbols],
        value=choices.default_benchmark or NO_BENCHMARK,
        label="Benchmark",
    )
    currency_picker = mo.ui.dropdown(
        options=analytics.REPORTING_CURRENCIES,
        value=analytics.reporting_currency(),
        label="Currency",
    )
    fx_effect = mo.ui.switch(value=True, label="With currency effect")
    mo.hstack(
        [account_picker, date_picker, method_picker, benchmark_picker, currency_picker, fx_effect],
        wrap=True,
        gap=1,
    )
    return (
        ALL_ACCOUNTS,
        NO_BENCHMARK,
        account_picker,
        benchmark_picker,
        currency_picker,
        date_picker,
        fx_effect,
        method_picker,
    )


@app.cell
def selection(
    ALL_ACCOUNTS,
    NO_BENCHMARK,
    account_picker,
    benchmark_picker,
    currency_picker,
    date_picker,
    method_picker,
):
    account = None if account_picker.value == ALL_ACCOUNTS else account_picker.value
    benchmark = None if benchmark_picker.value == NO_BENCHMARK else benchmark_picker.value
    start, as_of = date_picker.value
    cost_method = method_picker.value
    currency = currency_picker.value
    return account, as_of, benchmark, cost_method, currency, start


@app.cell
async def load(account, as_of, benchmark, cost_method, currency, db):
    # in a worker thread: the kernel stays responsive while the ledger is read and valued
    try:
        report = await analytics.areport(
            db,
            as_of=as_of,
            account=account,
            cost_method=cost_method,
            benchmark=benchmark,
            currency=currency,
        )
    except WorkbenchError as _exc:  # e.g. a benchmark without prices in the chosen period
        mo.stop(True, mo.callout(mo.md(f"Cannot build the report: {_exc}"), kind="warn"))
    return (report,)


@app.cell
def period(benchmark, db, report, start, as_of):
    period_series = in_window(report.series, start, as_of)
    period_returns = in_window(report.returns, start, as_of)
    benchmark_prices = read_prices_for(db, [benchmark], end=as_of) if benchmark else None
    benchmark_returns = (
        in_window(price_returns(benchmark_prices, benchmark), start, as_of)
        if benchmark_prices is not None
        else None
    )
    aligned = align_returns(period_returns, benchmark_returns)
    period_twr = analytics.twr(period_returns)
    period_risk = analytics.risk_metrics(
        period_returns, benchmark_returns=benchmark_returns, convention=report.convention
    )
    return aligned, period_risk, period_series, period_twr


@app.cell
def kpis(fx_effect, period_risk, period_twr, report):
    _t = report.totals
    _ccy = report.base_currency
    # without the currency effect: every native amount at the as-of rate (the price part)
    _fx = 1.0 if fx_effect.value else 0.0
    kpi_values = {
        "total_value": _t["total_value"],
        "unrealized_pnl": _t["unrealized_pnl"] - (1.0 - _fx) * _t["unrealized_fx_pnl"],
        "realized_pnl": _t["realized_pnl"] - (1.0 - _fx) * _t["realized_fx_pnl"],
        "income": _t["dividends"] + _t["interest"],
        "period_twr": period_twr,
        "xirr": report.performance["xirr"],
        "volatility": period_risk.volatility,
        "sharpe": period_risk.sharpe,
        "max_drawdown": period_risk.max_drawdown,
    }
    _tiles = [
        mo.stat(money(_t["total_value"], currency=_ccy), label="Total value",
                caption=f"cash {money(_t['cash'])}"),
        mo.stat(money(kpi_values["unrealized_pnl"]), label="Unrealized P&L",
                caption=f"of it FX {money(_fx * _t['unrealized_fx_pnl'])}"),
        mo.stat(money(kpi_values["realized_pnl"]), label="Realized P&L",
                caption=f"of it FX {money(_fx * _t['realized_fx_pnl'])}"),
        mo.stat(money(_t["cash_fx_gain"]), label="Cash currency gain",
                caption=", ".join(f"{c} {money(v)}" for c, v in report.cash_by_currency.items())),
        mo.stat(money(kpi_values["income"]), label="Dividends + interest",
                caption=f"fees {money(_t['fees'])}, taxes {money(_t['taxes'])}"),
        mo.stat(percent(period_twr), label="TWR (period)",
                caption=f"XIRR {percent(report.performance['xirr'])} since start"),
        mo.stat(percent(period_risk.volatility, signed=False), label="Volatility",
                caption=f"Sharpe {ratio(period_risk.sharpe)}"),
        mo.stat(percent(period_risk.max_drawdown), label="Max drawdown",
                caption=f"{period_risk.convention} convention"),
    ]  # fmt: skip
    mo.vstack(
        [
            mo.hstack(_tiles, wrap=True, justify="start", gap=1),
            mo.md(
                f"<small>As of {report.as_of}; amounts in {report.base_currency}, each row at"
                " its date's rate and holdings and cash at the as-of rates"
                + ("" if fx_effect.value else " (P&L shown without the currency effect)")
                + ". Demo data is synthetic.</small>"
            ),
            *(
                mo.callout(mo.md("  \n".join(report.warnings)), kind="warn")
                for _ in [0]
                if report.warnings
            ),
        ]
    )
    return (kpi_values,)


@app.cell
def value_and_returns(aligned, benchmark, period_series):
    mo.vstack(
        [
            charts.value_chart(period_series, value="total_value", deposits="net_deposits"),
            charts.returns_chart(
                aligned,
                benchmark="benchmark" if benchmark else None,
                benchmark_label=benchmark,
            ),
            charts.drawdown_chart(aligned),
        ]
    )
    return


@app.cell
def pnl_selector(fx_effect, report):
    pnl_view = mo.ui.altair_chart(charts.pnl_fx_chart(report.positions, with_fx=fx_effect.value))
    mo.vstack([mo.md("## Positions\n\nClick a bar to filter the tables below."), pnl_view])
    return (pnl_view,)


@app.cell
def holdings(pnl_view, report):
    _picked = pnl_view.value
    selected_symbols = (
        sorted(_picked["symbol"].unique().to_list())
        if _picked is not None and len(_picked) and "symbol" in _picked.columns
        else []
    )
    shown_positions = report.positions.filter(
        (pl.col("quantity") != 0) | (pl.col("realized_pnl") != 0)
    )
    if selected_symbols:
        shown_positions = shown_positions.filter(pl.col("symbol").is_in(selected_symbols))
    _columns = ["account", "symbol", "currency", "quantity", "price", "fx_rate", "market_value",
                "cost_basis", "unrealized_pnl", "unrealized_fx_pnl", "realized_pnl",
                "realized_fx_pnl", "dividends"]  # fmt: skip
    mo.ui.table(
        for_display(
            shown_positions.select(_columns),
            money_columns=[c for c in _columns[4:] if c != "fx_rate"],
        ),
        selection=None,
        page_size=15,
        label="Holdings" + (f" — {', '.join(selected_symbols)}" if selected_symbols else ""),
    )
    return selected_symbols, shown_positions


@app.cell
def allocation_controls():
    allocation_by = mo.ui.dropdown(
        options=["sector", "asset_class", "currency", "account", "symbol"],
        value="sector",
        label="Allocate by",
    )
    return (allocation_by,)


@app.cell
def allocation_view(allocation_by, report):
    allocation = report.allocation(by=allocation_by.value)
    mo.vstack(
        [
            mo.md("## Allocation"),
            allocation_by,
            charts.allocation_chart(allocation, label=allocation_by.value, value="market_value"),
        ]
    )
    return (allocation,)


@app.cell
def explain_controls(selected_symbols, shown_positions):
    _held = shown_positions.sort("market_value", descending=True)
    _options = [f"{a} · {s}" for a, s in _held.select("account", "symbol").iter_rows()]
    position_picker = mo.ui.dropdown(
        options=_options,
        value=_options[0] if _options else None,
        label="Position",
    )
    mo.vstack(
        [
            mo.md(
                "## Explain this number\n\nThe lots, flows and prices behind a position's P&L"
                + (" (from the bars you selected)." if selected_symbols else ".")
            ),
            position_picker,
        ]
    )
    return (position_picker,)


@app.cell
def explanation(as_of, cost_method, db, position_picker, report):
    mo.stop(position_picker.value is None, mo.md("_No position to explain._"))
    _account, _symbol = position_picker.value.split(" · ", 1)
    with store.connect(db, read_only=True) as _con:
        _ledger = store.read_transactions(_con, as_of=as_of)
        _prices = store.read_prices(_con, symbols=[_symbol], end=as_of)
    explained = explain_position(
        _ledger, _prices, report.positions,
        account=_account, symbol=_symbol, method=cost_method, as_of=as_of,
    )  # fmt: skip
    _pos = report.positions.filter(
        (pl.col("account") == _account) & (pl.col("symbol") == _symbol)
    ).row(0, named=True)
    _rates = analytics.explain_rates(_ledger, report, account=_account, symbol=_symbol)
    mo.vstack(
        [
            mo.md(explained.summary()),
            mo.md(
                f"In {report.base_currency}: 1 {_pos['currency']} = {_pos['fx_rate']:.6g}"
                f" {report.base_currency} as of {report.as_of}; unrealized FX part"
                f" {money(_pos['unrealized_fx_pnl'])}, realized FX part"
                f" {money(_pos['realized_fx_pnl'])}. Each trade's rate is in *Rates*."
            ),
            mo.ui.tabs(
                {
                    "Open lots": mo.ui.table(
                        for_display(explained.lots, money_columns=("cost_basis", "bought_cost")),
                        selection=None,
                    ),
                    "Flows": mo.ui.table(for_display(explained.flows), selection=None),
                    "Prices": mo.ui.table(for_display(explained.prices), selection=None),
                    "Rates": mo.ui.table(for_display(_rates), selection=None),
                }
            ),
        ]
    )
    return (explained,)


if __name__ == "__main__":
    app.run()
