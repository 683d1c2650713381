"""Live quotes: fetch many symbols concurrently from a chosen provider, with per-symbol errors."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Quotes")

with app.setup:
    import datetime as dt

    import marimo as mo

    from workbench import charts
    from workbench.quotes.engine import fetch_quotes
    from workbench.quotes.history import fetch_history
    from workbench.quotes.providers import PROVIDER_NAMES
    from workbench.refresh import describe_fetch_times, last_fetch_times
    from workbench.server import ensure_database
    from workbench.server.views import history_frame, load_choices, quotes_frame


@app.cell
def title():
    mo.md("""
    # Quotes

    Latest prices, fetched concurrently. Every symbol ends with a price or a short reason
    (`not found`, `rate limited`, `timeout`, ...). The `demo` provider is the bundled quote
    server (synthetic prices) and needs no network; the others call the real services.
    Nothing here writes to the database.
    """)
    return


@app.cell
def database():
    db = ensure_database()
    choices = load_choices(db)
    return choices, db


@app.cell
def data_freshness(db):
    # what `workbench refresh` last stored; the prices fetched below are shown, not stored
    mo.md(f"<small>Stored data: {describe_fetch_times(last_fetch_times(db))}</small>")
    return


@app.cell
def controls(choices):
    _known = sorted(set(choices.traded_symbols) | set(choices.priced_symbols))
    symbol_picker = mo.ui.multiselect(
        options=_known, value=choices.traded_symbols[:8], label="Symbols"
    )
    extra_symbols = mo.ui.text(placeholder="more, comma separated", label="Other symbols")
    provider_picker = mo.ui.dropdown(options=list(PROVIDER_NAMES), value="demo", label="Provider")
    concurrency_picker = mo.ui.slider(1, 64, value=16, label="Concurrency", show_value=True)
    refresh_button = mo.ui.button(value=0, on_click=lambda n: n + 1, label="Refresh")
    mo.hstack(
        [symbol_picker, extra_symbols, provider_picker, concurrency_picker, refresh_button],
        wrap=True,
        gap=1,
    )
    return concurrency_picker, extra_symbols, provider_picker, refresh_button, symbol_picker


@app.cell
def requested(extra_symbols, symbol_picker):
    _extra = [s.strip().upper() for s in extra_symbols.value.split(",") if s.strip()]
    symbols = list(dict.fromkeys([*symbol_picker.value, *_extra]))
    return (symbols,)


@app.cell
async def fetch(concurrency_picker, provider_picker, refresh_button, symbols):
    mo.stop(not symbols, mo.md("_Choose at least one symbol._"))
    _ = refresh_button.value  # a click re-runs this cell
    with mo.status.progress_bar(
        total=len(symbols), title=f"Fetching {len(symbols)} quotes", remove_on_exit=True
    ) as _bar:
        quote_results = await fetch_quotes(
            symbols,
            provider=provider_picker.value,
            concurrency=concurrency_picker.value,
            on_progress=lambda _done, _total: _bar.update(),
        )
    quotes = quotes_frame(quote_results)
    return quote_results, quotes


@app.cell
def quote_table(quote_results, quotes):
    _failed = quotes.filter(quotes["error"].is_not_null())
    _ok = quotes.height - _failed.height
    mo.vstack(
        [
            mo.md(f"**{_ok}** of {quotes.height} symbols priced."),
            mo.callout(
                mo.md(
                    "Failed: "
                    + ", ".join(
                        f"`{s}` ({e})" for s, e in _failed.select("symbol", "error").iter_rows()
                    )
                ),
                kind="warn",
            )
            if _failed.height
            else mo.md(""),
            mo.accordion(
                {
                    "Every attempt's reason": mo.md(
                        "\n".join(
                            f"- `{r.symbol}`: {r.message}" for r in quote_results if r.message
                        )
                    )
                }
            )
            if _failed.height
            else mo.md(""),
            mo.ui.table(quotes, selection=None, pagination=False, label="Latest quotes"),
        ]
    )
    return


@app.cell
def history_controls():
    range_picker = mo.ui.dropdown(
        options={"1 month": 31, "3 months": 92, "1 year": 365, "3 years": 1096},
        value="1 year",
        label="History",
    )
    normalize_switch = mo.ui.switch(value=True, label="Rebase to 100")
    mo.hstack([mo.md("## Price history"), range_picker, normalize_switch], justify="start", gap=1)
    return normalize_switch, range_picker


@app.cell
async def history(concurrency_picker, provider_picker, range_picker, refresh_button, symbols):
    mo.stop(not symbols)
    _ = refresh_button.value
    _end = dt.date.today()
    with mo.status.spinner(title="Fetching price history"):
        history_results = await fetch_history(
            symbols,
            start=_end - dt.timedelta(days=range_picker.value),
            end=_end,
            provider=provider_picker.value,
            concurrency=concurrency_picker.value,
        )
    bars = history_frame(history_results)
    return (bars,)


@app.cell
def history_charts(bars, normalize_switch):
    mo.stop(bars.is_empty(), mo.md("_No price history for these symbols._"))
    mo.vstack(
        [
            charts.price_chart(bars, normalize=normalize_switch.value),
            charts.sparklines(bars),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
