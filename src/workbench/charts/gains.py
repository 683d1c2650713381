"""Charts of realized gains: by month stacked by holding term, and a what-if sale by method.

Both aggregate in Polars first, so a chart carries one row per bar segment.

    charts.gains_by_month_chart(gains.rows)      # sold, gain, term (from realized_gains)
    charts.sale_methods_chart(preview.gain_by_term())  # method, term, gain
"""

from __future__ import annotations

import altair as alt
import polars as pl

from workbench.charts.performance import HEIGHT

#: term labels and colours, in stacking order (AVERAGE's pooled lots have no single term)
TERM_LABELS = {"short": "Short term", "long": "Long term", "unassigned": "Average (no term)"}
TERM_COLORS = ["#ff7f0e", "#1f77b4", "#7f7f7f"]
METHOD_ORDER = ["fifo", "lifo", "hifo", "average"]


def _term_bars(frame: pl.DataFrame, x: alt.X, x_tip: alt.Tooltip, title: str) -> alt.Chart:
    """Bars of ``gain`` along ``x``, stacked by ``term`` (a label of :data:`TERM_LABELS`)."""
    chart: alt.Chart = (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("gain:Q", title="Gain", axis=alt.Axis(format=",.0f"), stack="zero"),
            color=alt.Color(
                "term:N",
                title=None,
                sort=list(TERM_LABELS.values()),
                scale=alt.Scale(domain=list(TERM_LABELS.values()), range=TERM_COLORS),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[x_tip, alt.Tooltip("term:N"), alt.Tooltip("gain:Q", format=",.2f")],
        )
        .properties(width="container", height=HEIGHT)
    )
    return chart


def monthly_gains(rows: pl.DataFrame) -> pl.DataFrame:
    """month (first day), term (label), gain: realized gains summed per month of sale and
    holding term, sorted; months without sales are absent."""
    return (
        rows.select(
            month=pl.col("sold").dt.truncate("1mo"),
            term=pl.col("term").fill_null("unassigned").replace_strict(TERM_LABELS),
            gain=pl.col("gain").cast(pl.Float64),
        )
        .group_by("month", "term")
        .agg(pl.col("gain").sum())
        .sort("month", "term")
    )


def gains_by_month_chart(
    rows: pl.DataFrame, *, title: str = "Realized gains by month"
) -> alt.Chart:
    """Bars per month of sale, short- and long-term gains stacked (losses below zero).

    Args:
        rows: realized-gains rows with ``sold``, ``gain`` and ``term`` (null for AVERAGE).
    """
    return _term_bars(
        monthly_gains(rows),
        alt.X("yearmonth(month):O", title=None),
        alt.Tooltip("yearmonth(month):O", title="month"),
        title,
    )


def sale_methods_chart(
    by_term: pl.DataFrame, *, title: str = "Gain of the sale by cost method"
) -> alt.Chart:
    """Bars per cost method of a hypothetical sale's gain, stacked by holding term.

    Args:
        by_term: ``method``, ``term`` (short, long, unassigned) and ``gain``, as
            :meth:`workbench.analytics.whatif.SalePreview.gain_by_term` gives.
    """
    frame = by_term.select(
        "method",
        term=pl.col("term").replace_strict(TERM_LABELS),
        gain=pl.col("gain").cast(pl.Float64),
    )
    return _term_bars(
        frame, alt.X("method:N", title=None, sort=METHOD_ORDER), alt.Tooltip("method:N"), title
    )
