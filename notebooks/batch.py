"""Every account at once: the outputs of `workbench batch`, ranked, distributed, drilled into."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Batch")

with app.setup:
    import os

    import marimo as mo

    from workbench import charts
    from workbench.batch import views
    from workbench.server import ensure_database
    from workbench.server.views import for_display


@app.cell
def title():
    mo.md("""
    # Batch results

    The tables `workbench batch` wrote: one row per account (totals, performance and risk) and
    per position. Set `WORKBENCH_BATCH_OUT` to a batch output directory; without it, the demo
    database is exported to a lake and batched here.
    """)
    return


@app.cell
def outputs():
    _configured = os.environ.get("WORKBENCH_BATCH_OUT")
    batch = (
        views.load_outputs(_configured) if _configured else views.demo_outputs(ensure_database())
    )
    mo.md(
        f"**{batch.totals.height:,} accounts** as of {batch.as_of.isoformat()},"
        f" cost method {batch.manifest['cost_method']}, {batch.manifest['engine']} engine"
        f" ({batch.path})"
    )
    return (batch,)


@app.cell
def rankings(batch):
    top, bottom = views.ranked(batch, n=10)
    mo.hstack(
        [
            mo.vstack([mo.md("### Top 10 by TWR"), mo.ui.table(for_display(top), selection=None)]),
            mo.vstack(
                [mo.md("### Bottom 10 by TWR"), mo.ui.table(for_display(bottom), selection=None)]
            ),
        ],
        widths="equal",
    )
    return bottom, top


@app.cell
def distribution(batch):
    mo.ui.altair_chart(views.returns_histogram(batch.performance))
    return


@app.cell
def account_choice(batch):
    account_picker = mo.ui.dropdown(
        options=batch.totals["account"].sort().to_list(),
        value=batch.totals["account"].sort()[0] if batch.totals.height else None,
        label="Account",
    )
    account_picker
    return (account_picker,)


@app.cell
def drill(account_picker, batch):
    mo.stop(account_picker.value is None, mo.md("No account to show."))
    report = views.account_report(batch, account_picker.value)
    mo.vstack(
        [
            mo.md(f"### {account_picker.value}"),
            mo.ui.table(for_display(report.positions), selection=None),
            mo.ui.altair_chart(charts.value_chart(report.series.rename({"total_value": "value"}))),
        ]
    )
    return (report,)


if __name__ == "__main__":
    app.run()
