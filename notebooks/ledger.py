"""The ledger: filter transactions, explore them in SQL; preview and import files, and trade, in
the editor only."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Ledger")

with app.setup:
    import datetime as dt

    import marimo as mo

    from workbench import store
    from workbench.errors import WorkbenchError
    from workbench.ledger.preview import (
        UPLOAD_TYPES,
        import_upload,
        preset_choices,
        preview_upload,
    )
    from workbench.quotes.providers import PROVIDER_NAMES
    from workbench.quotes.trading import trade_at_market
    from workbench.refresh import describe_fetch_times, last_fetch_times
    from workbench.server import ensure_database, run_sql, writes_allowed
    from workbench.server.views import filter_transactions, for_display


@app.cell
def title():
    mo.md("""
    # Ledger

    Every transaction in the database, filterable, and a SQL explorer over the tables.
    SQL runs read-only on a snapshot of the tables, with no file access, locked settings,
    a deadline and a cap on the rows shown.
    """)
    return


@app.cell
def database():
    db = ensure_database()
    can_write = writes_allowed(mo.app_meta().mode)
    get_revision, set_revision = mo.state(0)
    return can_write, db, get_revision, set_revision


@app.cell
def load_ledger(db, get_revision):
    get_revision()  # re-read after an import or a trade in the editor
    with store.connect(db, read_only=True) as _con:
        transactions = store.read_transactions(_con)
    return (transactions,)


@app.cell
def data_freshness(db, get_revision):
    get_revision()
    mo.md(
        "<small>"
        + describe_fetch_times(last_fetch_times(db))
        + " `workbench refresh` updates them.</small>"
    )
    return


@app.cell
def filter_controls(transactions):
    _first = transactions["date"].min() if transactions.height else dt.date.today()
    _last = transactions["date"].max() if transactions.height else dt.date.today()
    account_filter = mo.ui.multiselect(
        options=sorted(transactions["account"].unique().to_list()), label="Accounts"
    )
    type_filter = mo.ui.multiselect(
        options=sorted(transactions["type"].unique().to_list()), label="Types"
    )
    symbol_filter = mo.ui.text(placeholder="e.g. ACME", label="Symbol contains")
    date_filter = mo.ui.date_range(start=_first, stop=_last, value=(_first, _last), label="Dates")
    mo.hstack([account_filter, type_filter, symbol_filter, date_filter], wrap=True, gap=1)
    return account_filter, date_filter, symbol_filter, type_filter


@app.cell
def filtered_ledger(account_filter, date_filter, symbol_filter, transactions, type_filter):
    shown = filter_transactions(
        transactions,
        accounts=account_filter.value,
        types=type_filter.value,
        symbol=symbol_filter.value,
        start=date_filter.value[0],
        end=date_filter.value[1],
    )
    mo.vstack(
        [
            mo.md(f"**{shown.height:,}** of {transactions.height:,} transactions"),
            mo.ui.table(
                for_display(shown, money_columns=("amount", "fee")),
                page_size=15,
                selection=None,
                label="Transactions",
            ),
        ]
    )
    return (shown,)


@app.cell
def sql_title():
    mo.md("""
    ## SQL explorer

    Tables: `transactions`, `prices`, `quotes`, `instruments`, `accounts`, `imports`.
    """)
    return


@app.cell
def sql_editor():
    sql_input = mo.ui.code_editor(
        value=(
            "SELECT account, type, count(*) AS n, sum(amount) AS amount\n"
            "FROM transactions\nGROUP BY ALL\nORDER BY account, type"
        ),
        language="sql",
        min_height=120,
        label="SQL (read-only)",
    )
    sql_input
    return (sql_input,)


@app.cell
def sql_query(sql_input):
    sql_text = sql_input.value
    return (sql_text,)


@app.cell
def sql_result(db, sql_text):
    # a snapshot in a sandbox of its own, with a deadline and a row cap (workbench.server)
    _result = run_sql(db, sql_text)
    sql_error, sql_frame = _result.error, _result.frame
    if sql_error is not None:
        _view = mo.callout(mo.md(f"`{sql_error}`"), kind="danger")
    elif sql_frame is None:
        _view = mo.md("_(the statement returned no rows)_")
    else:
        _table = mo.ui.table(for_display(sql_frame), page_size=10, selection=None)
        _view = mo.vstack([mo.md(f"_{_result.note()}_"), _table]) if _result.truncated else _table
    _view
    return sql_error, sql_frame


@app.cell
def edit_notice(can_write):
    mo.md("") if can_write else mo.md(
        "_This app is read-only. Open the notebook in the marimo editor to import or trade._"
    )
    return


@app.cell
def import_controls(can_write):
    # not even created in app mode, so no viewer can set their values through the kernel API
    _detect = "Detect from the header"
    csv_upload = (
        mo.ui.file(filetypes=list(UPLOAD_TYPES), label="Ledger CSV or broker export", kind="area")
        if can_write
        else None
    )
    preset_picker = (
        mo.ui.dropdown(options={_detect: "", **preset_choices()}, value=_detect, label="Preset")
        if can_write
        else None
    )
    account_input = (
        mo.ui.text(label="Account (for files that name none)", placeholder="e.g. broker")
        if can_write
        else None
    )
    skip_unknown = mo.ui.checkbox(label="Leave out unknown actions") if can_write else None
    mo.vstack(
        [
            mo.md("## Import\n\nA preview shows what the file would add; nothing is written"
                  " until you press the import button."),
            csv_upload,
            mo.hstack([preset_picker, account_input, skip_unknown], justify="start", gap=1),
        ]
    ) if can_write else None  # fmt: skip
    return account_input, csv_upload, preset_picker, skip_unknown


@app.cell
def import_preview(account_input, can_write, csv_upload, db, preset_picker, skip_unknown):
    mo.stop(not can_write or csv_upload is None or not csv_upload.value)
    _upload = csv_upload.value[0]
    import_options = {
        "preset": preset_picker.value or None,
        "account": account_input.value.strip() or None,
        "skip_unknown": bool(skip_unknown.value),
    }
    preview = preview_upload(db, _upload.name, _upload.contents, **import_options)
    _parts = [mo.callout(mo.md(preview.headline()), kind="info" if preview.ok else "danger")]
    if preview.mapping:
        _parts.append(mo.accordion({"Mapping": mo.plain_text("\n".join(preview.mapping))}))
    if preview.counts:
        _parts.append(
            mo.ui.table(for_display(preview.counts_frame()), selection=None, label="Rows by type")
        )
    if preview.unmapped or preview.skipped:
        _parts.append(
            mo.ui.table(
                for_display(preview.unmapped_frame()), selection=None, label="Rows left out"
            )
        )
    if preview.problems:
        _parts.append(
            mo.ui.table(
                for_display(preview.problems_frame()), selection=None, label="Errors", page_size=20
            )
        )
    mo.vstack(_parts)
    return import_options, preview


@app.cell
def import_action(preview):
    # its own cell: the button is what a click changes, the preview above stays as it is
    import_button = mo.ui.run_button(
        label=f"Import {preview.to_add:,} rows",
        kind="success",
        disabled=not preview.ok or preview.to_add == 0,
    )
    import_button
    return (import_button,)


@app.cell
def run_import(can_write, csv_upload, db, import_button, import_options, set_revision):
    mo.stop(not can_write or not import_button.value)
    _upload = csv_upload.value[0]
    try:
        _report = import_upload(db, _upload.name, _upload.contents, **import_options)
    except WorkbenchError as _exc:  # e.g. the ledger changed since the preview: an oversell
        _message = mo.callout(mo.md(f"Nothing imported: {_exc}"), kind="danger")
    else:
        _done = _report.result
        _message = mo.callout(
            mo.md(
                f"Imported **{_done.added:,}** rows ({_done.duplicates:,} already there)"
                + (f", import id {_done.import_id}." if _done.import_id is not None else ".")
            ),
            kind="success",
        )
        set_revision(lambda n: n + 1)
    _message
    return


@app.cell
def trade_controls(can_write, transactions):
    trade_form = (
        mo.md(
            """
            ## Record a trade at the live price

            {side} {symbol} {quantity} {account} {fee} {provider}
            """
        )
        .batch(
            side=mo.ui.dropdown(options=["buy", "sell"], value="buy", label="Side"),
            symbol=mo.ui.text(label="Symbol", placeholder="ACME"),
            quantity=mo.ui.number(start=0, step=1, value=1, label="Quantity"),
            account=mo.ui.dropdown(
                options=sorted(transactions["account"].unique().to_list()) or ["default"],
                value=(sorted(transactions["account"].unique().to_list()) or ["default"])[0],
                label="Account",
            ),
            fee=mo.ui.number(start=0, step=0.01, value=0, label="Fee"),
            provider=mo.ui.dropdown(options=list(PROVIDER_NAMES), value="demo", label="Provider"),
        )
        .form(submit_button_label="Record at live price", clear_on_submit=False)
        if can_write
        else None
    )
    trade_form
    return (trade_form,)


@app.cell
async def run_trade(can_write, db, set_revision, trade_form):
    mo.stop(not can_write or trade_form is None or not trade_form.value)
    _order = trade_form.value
    try:
        _done = await trade_at_market(
            db,
            side=_order["side"],
            symbol=_order["symbol"].strip().upper(),
            quantity=str(_order["quantity"]),
            fee=str(_order["fee"]),
            account=_order["account"],
            provider=_order["provider"],
        )
    except WorkbenchError as _exc:  # refused trade or no quote: nothing was stored
        _message = mo.callout(mo.md(f"Not recorded: {_exc}"), kind="danger")
    else:
        _message = mo.callout(
            mo.md(
                f"Recorded transaction **{_done.transaction_id}**: {_order['side']}"
                f" {_order['quantity']} {_done.quote.symbol} at {_done.quote.price}"
                f" {_done.quote.currency or ''} ({_done.provider})."
            ),
            kind="success",
        )
        set_revision(lambda n: n + 1)
    _message
    return


if __name__ == "__main__":
    app.run()
