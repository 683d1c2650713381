"""Returns and risk against a benchmark, under a chosen convention (empyrical, quantstats, calendar 365)."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Risk")

with app.setup:
    import marimo as mo
    import polars as pl

    from workbench import analytics, charts
    from workbench.errors import WorkbenchError
    from workbench.server import ensure_database
    from workbench.server.views import (
        align_returns,
        in_window,
        load_choices,
        percent,
        price_returns,
        ratio,
        read_prices_for,
    )


@app.cell
def title():
    mo.md("""
    # Risk

    Daily returns of the portfolio against a benchmark. Conventions differ in annualization
    (252 trading days or 365 calendar days) and in a few definitions; each figure below says
    which one it used.
    """)
    return


@app.cell
def database():
    db = ensure_database()
    choices = load_choices(db)
    return choices, db


@app.cell
def controls(choices):
    ALL_ACCOUNTS = "All accounts"
    account_picker = mo.ui.dropdown(
        options=[ALL_ACCOUNTS, *choices.accounts], value=ALL_ACCOUNTS, label="Account"
    )
    benchmark_picker = mo.ui.dropdown(
        options=choices.priced_symbols,
        value=choices.default_benchmark or (choices.priced_symbols or [None])[0],
        label="Benchmark",
    )
    convention_picker = mo.ui.radio(
        options=list(analytics.CONVENTIONS), value="empyrical", label="Convention", inline=True
    )
    window_picker = mo.ui.dropdown(
        options={
            "1 month (21)": 21,
            "3 months (63)": 63,
            "6 months (126)": 126,
            "1 year (252)": 252,
        },
        value="3 months (63)",
        label="Rolling window",
    )
    date_picker = mo.ui.date_range(
        start=choices.first_date,
        stop=choices.last_date,
        value=(choices.first_date, choices.last_date),
        label="Period",
    )
    currency_picker = mo.ui.dropdown(
        options=analytics.REPORTING_CURRENCIES,
        value=analytics.reporting_currency(),
        label="Currency",
    )
    mo.hstack(
        [
            account_picker,
            benchmark_picker,
            date_picker,
            window_picker,
            convention_picker,
            currency_picker,
        ],
        wrap=True,
        gap=1,
    )
    return (
        ALL_ACCOUNTS,
        account_picker,
        benchmark_picker,
        convention_picker,
        currency_picker,
        date_picker,
        window_picker,
    )


@app.cell
async def load(
    ALL_ACCOUNTS,
    account_picker,
    benchmark_picker,
    convention_picker,
    currency_picker,
    date_picker,
    db,
):
    start, as_of = date_picker.value
    convention = convention_picker.value
    benchmark = benchmark_picker.value
    try:
        report = await analytics.areport(
            db,
            as_of=as_of,
            account=None if account_picker.value == ALL_ACCOUNTS else account_picker.value,
            benchmark=benchmark,
            convention=convention,
            currency=currency_picker.value,
        )
    except WorkbenchError as _exc:  # e.g. a benchmark without prices in the chosen period
        mo.stop(True, mo.callout(mo.md(f"Cannot build the report: {_exc}"), kind="warn"))
    return as_of, benchmark, convention, report, start


@app.cell
def returns(as_of, benchmark, convention, db, report, start):
    portfolio_returns = in_window(report.returns, start, as_of)
    _prices = read_prices_for(db, [benchmark], end=as_of)
    benchmark_returns = in_window(price_returns(_prices, benchmark), start, as_of)
    aligned = align_returns(portfolio_returns, benchmark_returns)
    portfolio_risk = analytics.risk_metrics(
        portfolio_returns, benchmark_returns=benchmark_returns, convention=convention
    )
    benchmark_risk = analytics.risk_metrics(benchmark_returns, convention=convention)
    return aligned, benchmark_risk, portfolio_returns, portfolio_risk


@app.cell
def metrics_table(benchmark, benchmark_risk, portfolio_risk):
    _pct = {"volatility", "annual_return", "max_drawdown", "var_historical", "cvar_historical",
            "var_parametric", "cvar_parametric", "alpha", "tracking_error"}  # fmt: skip
    _rows = ["annual_return", "volatility", "sharpe", "sortino", "max_drawdown", "calmar",
             "var_historical", "cvar_historical", "var_parametric", "cvar_parametric",
             "beta", "alpha", "tracking_error", "information_ratio"]  # fmt: skip
    _p, _b = portfolio_risk.as_dict(), benchmark_risk.as_dict()

    def _fmt(key, value):
        if key in _pct:
            return percent(value, signed=key not in ("volatility", "tracking_error"))
        return ratio(value)

    risk_table = pl.DataFrame(
        {
            "measure": [r.replace("_", " ") for r in _rows],
            "portfolio": [_fmt(r, _p.get(r)) for r in _rows],
            benchmark: [
                _fmt(r, _b.get(r)) if r not in ("beta", "alpha", "tracking_error",
                                                "information_ratio") else "—"
                for r in _rows
            ],
        }
    )  # fmt: skip
    mo.vstack(
        [
            mo.md(
                f"## Risk measures\n\n{portfolio_risk.observations} daily returns,"
                f" {portfolio_risk.periods_per_year} periods a year, convention"
                f" **{portfolio_risk.convention}**; VaR/CVaR at"
                f" {portfolio_risk.confidence:.0%}. Max drawdown from"
                f" {portfolio_risk.max_drawdown_peak} to {portfolio_risk.max_drawdown_trough}."
            ),
            mo.ui.table(risk_table, selection=None, pagination=False),
        ]
    )
    return (risk_table,)


@app.cell
def return_charts(aligned, benchmark):
    mo.vstack(
        [
            charts.returns_chart(aligned, benchmark="benchmark", benchmark_label=benchmark),
            charts.drawdown_chart(aligned),
            charts.monthly_heatmap(aligned),
        ]
    )
    return


@app.cell
def rolling(convention, portfolio_returns, window_picker):
    rolling_frame = analytics.rolling_risk(
        portfolio_returns, window=window_picker.value, convention=convention
    )
    charts.rolling_chart(rolling_frame)
    return (rolling_frame,)


if __name__ == "__main__":
    app.run()
