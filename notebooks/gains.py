"""Realized gains lot by lot, totals by holding term, and "what if I sold N shares today"."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Realized gains")

with app.setup:
    import datetime as dt

    import marimo as mo
    import polars as pl

    from workbench import analytics, charts
    from workbench.analytics.gains import load_gains
    from workbench.analytics.whatif import (
        MONEY_FIELDS,
        load_holdings,
        load_sale_preview,
        parse_price,
    )
    from workbench.errors import WorkbenchError
    from workbench.server import ensure_database
    from workbench.server.views import for_display, load_choices, money
    from workbench.store import run_in_thread


@app.cell
def title():
    mo.md("""
    # Realized gains

    Each sale with the lots it consumed: proceeds, cost, gain, holding term (long: sold after
    the first anniversary of the purchase) and, in a reporting currency other than the
    instrument's, the FX part of the gain. AVERAGE pools the lots, so its rows have no single
    acquisition date or term.
    """)
    return


@app.cell
def database():
    db = ensure_database()
    choices = load_choices(db)
    today = dt.date.today()
    return choices, db, today


@app.cell
def controls(choices, today):
    ALL_ACCOUNTS = "All accounts"
    CUSTOM = "Custom range"
    _years = [str(y) for y in range(today.year, choices.first_date.year - 1, -1)]
    period_picker = mo.ui.dropdown(options=[*_years, CUSTOM], value=_years[0], label="Period")
    _first = min(choices.first_date, today)
    range_picker = mo.ui.date_range(
        start=_first,
        stop=today,
        value=(max(dt.date(today.year, 1, 1), _first), today),
        label="From / to (custom range)",
    )
    method_picker = mo.ui.dropdown(
        options=list(analytics.COST_METHODS), value="fifo", label="Cost method"
    )
    currency_picker = mo.ui.dropdown(
        options=analytics.REPORTING_CURRENCIES,
        value=analytics.reporting_currency(),
        label="Currency",
    )
    account_picker = mo.ui.dropdown(
        options=[ALL_ACCOUNTS, *choices.accounts], value=ALL_ACCOUNTS, label="Account"
    )
    mo.hstack(
        [period_picker, range_picker, method_picker, currency_picker, account_picker],
        wrap=True,
        gap=1,
    )
    return (
        ALL_ACCOUNTS,
        CUSTOM,
        account_picker,
        currency_picker,
        method_picker,
        period_picker,
        range_picker,
    )


@app.cell
def selection(
    ALL_ACCOUNTS,
    CUSTOM,
    account_picker,
    currency_picker,
    method_picker,
    period_picker,
    range_picker,
):
    if period_picker.value == CUSTOM:
        start, end = range_picker.value
    else:
        start = dt.date(int(period_picker.value), 1, 1)
        end = dt.date(int(period_picker.value), 12, 31)
    account = None if account_picker.value == ALL_ACCOUNTS else account_picker.value
    cost_method = method_picker.value
    currency = currency_picker.value
    return account, cost_method, currency, end, start


@app.cell
async def load(account, cost_method, currency, db, end, start):
    # in a worker thread: the kernel stays responsive while the ledger is read and matched
    try:
        gains = await run_in_thread(
            load_gains, db, method=cost_method, currency=currency, start=start, end=end,
            account=account,
        )  # fmt: skip
    except WorkbenchError as _exc:  # e.g. no rate for the reporting currency
        mo.stop(True, mo.callout(mo.md(f"Cannot compute the gains: {_exc}"), kind="warn"))
    return (gains,)


@app.cell
def term_totals(gains):
    gain_totals = gains.totals()
    _ccy = gains.base_currency
    _names = {"short": "Short term", "long": "Long term", "unassigned": "Average (no term)",
              "total": "Total"}  # fmt: skip
    _tiles = [
        mo.stat(
            money(figures["gain"], currency=_ccy),
            label=f"{_names[term]} gain",
            caption=f"proceeds {money(figures['proceeds'])}, cost {money(figures['cost'])},"
            f" of it FX {money(figures['fx_gain'])}",
        )
        for term, figures in gain_totals.items()
    ]
    mo.vstack(
        [
            mo.hstack(_tiles, wrap=True, justify="start", gap=1),
            mo.md(
                f"<small>Sales from {gains.start} to {gains.end}, cost method"
                f" {gains.cost_method}, amounts in {_ccy}: each lot at its buy date's rate,"
                " each sale at its own.</small>"
            ),
            *(
                mo.callout(mo.md("  \n".join(gains.warnings)), kind="warn")
                for _ in [0]
                if gains.warnings
            ),
        ]
    )
    return (gain_totals,)


@app.cell
def lots_table(gains):
    _shown = gains.rows.select(
        "account", "symbol", "currency", "quantity",
        pl.col("acquired").cast(pl.String).fill_null("various"), "sold", "proceeds", "cost",
        "gain", "fx_gain", pl.col("term").fill_null("-"),
    )  # fmt: skip
    mo.vstack(
        [
            mo.md(f"## Lots sold\n\n**{gains.rows.height:,}** rows (one per sale and lot)"),
            mo.ui.table(
                for_display(_shown, money_columns=("proceeds", "cost", "gain", "fx_gain")),
                page_size=15,
                selection=None,
                label="Realized gains",
            )
            if gains.rows.height
            else mo.md("_No sales in the period._"),
        ]
    )
    return


@app.cell
def monthly_chart(gains):
    charts.gains_by_month_chart(gains.rows) if gains.rows.height else None
    return


@app.cell
def whatif_title():
    mo.md("""
    ## What if I sold today?

    The lots each cost method would sell, the gain by term and its FX part, and the basis that
    would remain. The price is the latest stored quote or close unless you type one.
    """)
    return


@app.cell
def holdings(account, db, today):
    held = load_holdings(db, account=account, as_of=today)
    position_picker = mo.ui.dropdown(
        options=held["label"].to_list(),
        value=held["label"].to_list()[0] if held.height else None,
        label="Position",
    )
    # shown beside the quantity and price below
    None if held.height else mo.md("_No open positions._")
    return held, position_picker


@app.cell
def sale_controls(held, position_picker):
    mo.stop(position_picker.value is None)
    picked = held.filter(pl.col("label") == position_picker.value).row(0, named=True)
    _all = float(picked["quantity"])
    _half = _all / 2 if _all < 2 else float(int(_all / 2))
    quantity_picker = mo.ui.number(
        start=0, stop=_all, step=1 if _all >= 2 else _all / 100, value=_half, label="Quantity"
    )
    price_input = mo.ui.text(placeholder="latest close", label="Price (blank: latest)")
    mo.hstack([position_picker, quantity_picker, price_input], justify="start", gap=1)
    return picked, price_input, quantity_picker


@app.cell
async def sale_preview(currency, db, picked, price_input, quantity_picker, today):
    try:
        preview = await run_in_thread(
            load_sale_preview, db, symbol=picked["symbol"], account=picked["account"],
            quantity=float(quantity_picker.value), price=parse_price(price_input.value),
            as_of=today, currency=currency,
        )  # fmt: skip
    except WorkbenchError as _exc:  # more than held, a bad price, no rate
        mo.stop(True, mo.callout(mo.md(f"Cannot preview the sale: {_exc}"), kind="warn"))
    return (preview,)


@app.cell
def sale_comparison(preview):
    _p = preview
    _since = f" ({_p.price_source} of {_p.price_date})" if _p.price_date else ""
    _lots = {
        method: mo.ui.table(
            for_display(
                _p.lots.filter(pl.col("method") == method).select(
                    pl.col("acquired").cast(pl.String).fill_null("various"), "quantity",
                    "proceeds", "cost", "gain", "fx_gain", pl.col("term").fill_null("-"),
                ),
                money_columns=("proceeds", "cost", "gain", "fx_gain"),
            ),
            selection=None,
        )
        for method in _p.summary["method"].to_list()
    }  # fmt: skip
    mo.vstack(
        [
            mo.md(
                f"Selling **{_p.quantity:,.8g}** of {_p.held:,.8g} {_p.symbol} from {_p.account}"
                f" on {_p.as_of} at {_p.price:,.4f} {_p.currency}{_since}; amounts in"
                f" {_p.base_currency}."
            ),
            mo.ui.table(
                for_display(_p.summary, money_columns=MONEY_FIELDS),
                selection=None,
                label="By cost method",
            ),
            charts.sale_methods_chart(_p.gain_by_term()),
            mo.md("Lots each method would sell:"),
            mo.ui.tabs(_lots),
            *(mo.callout(mo.md("  \n".join(_p.warnings)), kind="warn") for _ in [0] if _p.warnings),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
