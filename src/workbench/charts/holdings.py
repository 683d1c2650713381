"""Charts of what is held and what it did: allocation, P&L by position, prices, sparklines.

from workbench import charts
charts.allocation_chart(alloc, label="sector")    # sector, value
charts.pnl_chart(positions)                       # symbol, unrealized_pnl, realized_pnl, ...
charts.price_chart(prices)                        # symbol, date, close
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from workbench.charts.frames import DEFAULT_MAX_POINTS, as_float, downsample, to_long, top_n
from workbench.charts.performance import HEIGHT, PALETTE, series_color

#: the name of the point selection on P&L bars; ``mo.ui.altair_chart`` reports it
POSITION_SELECTION = "position"


def allocation_chart(
    allocation: pl.DataFrame,
    *,
    label: str = "group",
    value: str = "value",
    limit: int = 15,
    title: str | None = None,
) -> alt.Chart:
    """Horizontal bars of value per group with its share of the total, largest first.

    Args:
        allocation: one row per group: ``label`` and ``value`` (market value).
        label: the group column (sector, asset class, currency, account, symbol...).
        value: the value column.
        limit: at most this many bars; smaller groups are summed into "Other".
    """
    frame = top_n(as_float(allocation, [value]), label=label, value=value, n=limit)
    total = float(frame[value].sum() or 0.0)
    frame = frame.with_columns(
        (pl.col(value) / total if total else pl.lit(0.0)).alias("weight"),
        pl.col(label).cast(pl.String).fill_null("(none)"),
    )
    chart: alt.Chart = (
        alt.Chart(frame, title=title or f"Allocation by {label}")
        .mark_bar(color=PALETTE[0])
        .encode(
            y=alt.Y(f"{label}:N", title=None, sort="-x"),
            x=alt.X(f"{value}:Q", title="Market value", axis=alt.Axis(format=",.0f")),
            tooltip=[
                alt.Tooltip(f"{label}:N"),
                alt.Tooltip(f"{value}:Q", format=",.2f"),
                alt.Tooltip("weight:Q", format=".1%"),
            ],
        )
        .properties(width="container", height=max(22 * frame.height, 60))
    )
    return chart


def pnl_chart(
    positions: pl.DataFrame,
    *,
    label: str = "symbol",
    columns: Sequence[str] = ("unrealized_pnl", "realized_pnl", "dividends"),
    names: Sequence[str] = ("Unrealized", "Realized", "Dividends"),
    title: str = "P&L by position",
) -> alt.Chart:
    """Stacked bars of P&L parts per position; clicking a bar selects that position.

    Rows for the same ``label`` (e.g. one per account) are summed first. The point selection
    is named :data:`POSITION_SELECTION` over the ``label`` field, so wrapping the chart in
    ``mo.ui.altair_chart`` gives the clicked position's rows as the element's value.
    """
    present = [c for c in columns if c in positions.columns]
    legend = [n for c, n in zip(columns, names, strict=True) if c in present]
    summed = (
        as_float(positions, present)
        .group_by(label)
        .agg(pl.col(present).fill_null(0.0).sum())
        .with_columns(pl.sum_horizontal(present).alias("total"))
        .sort("total", descending=True)
    )
    long = to_long(summed, columns=present, names=legend, date=label, variable="part", value="pnl")
    long = long.join(summed.select(label, "total"), on=label, how="left", maintain_order="left")
    pick = alt.selection_point(name=POSITION_SELECTION, fields=[label])
    order = summed[label].to_list()
    chart: alt.Chart = (
        alt.Chart(long, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{label}:N", title=None, sort=order),
            y=alt.Y("pnl:Q", title="P&L", axis=alt.Axis(format=",.0f")),
            color=series_color("part", legend),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip(f"{label}:N"),
                alt.Tooltip("part:N"),
                alt.Tooltip("pnl:Q", format=",.2f"),
                alt.Tooltip("total:Q", format=",.2f"),
            ],
        )
        .add_params(pick)
        .properties(width="container", height=HEIGHT)
    )
    return chart


def price_chart(
    prices: pl.DataFrame,
    *,
    symbol: str = "symbol",
    close: str = "close",
    normalize: bool = False,
    max_points: int = DEFAULT_MAX_POINTS,
    title: str = "Price history",
) -> alt.Chart:
    """Closing prices per symbol, one line each; ``normalize`` rebases every line to 100.

    Args:
        prices: ``symbol``, ``date`` and ``close`` (any extra columns are dropped).
        normalize: divide each symbol's closes by its first close x 100, to compare symbols.
        max_points: the most points per symbol.
    """
    frame = as_float(prices.select(symbol, "date", close), [close]).drop_nulls(close)
    axis_title = "Close"
    if normalize:
        # rebase on the true first close, before thinning drops it
        frame = frame.sort(symbol, "date").with_columns(
            (pl.col(close) / pl.col(close).first().over(symbol) * 100.0).alias(close)
        )
        axis_title = "Close (first = 100)"
    frame = downsample(frame, by=symbol, max_points=max_points)
    chart: alt.Chart = (
        alt.Chart(frame, title=title)
        .mark_line()
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y(f"{close}:Q", title=axis_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{symbol}:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip(f"{symbol}:N"),
                alt.Tooltip("date:T"),
                alt.Tooltip(f"{close}:Q", format=",.2f"),
            ],
        )
        .properties(width="container", height=HEIGHT)
    )
    return chart


def sparklines(
    prices: pl.DataFrame,
    *,
    symbol: str = "symbol",
    close: str = "close",
    max_points: int = 60,
    columns: int = 4,
) -> alt.FacetChart:
    """A small line per symbol, each on its own scale, coloured by its change over the window.

    Args:
        prices: ``symbol``, ``date`` and ``close``.
        max_points: points per sparkline (a sparkline shows shape, not detail).
        columns: sparklines per row.
    """
    frame = as_float(prices.select(symbol, "date", close), [close]).drop_nulls(close)
    # the change over the whole window, measured before thinning drops the first close
    frame = frame.sort(symbol, "date").with_columns(
        (pl.col(close).last().over(symbol) / pl.col(close).first().over(symbol) - 1.0).alias(
            "change"
        )
    )
    frame = downsample(frame, by=symbol, max_points=max_points)
    chart: alt.FacetChart = (
        alt.Chart(frame)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("date:T", axis=None),
            y=alt.Y(f"{close}:Q", axis=None, scale=alt.Scale(zero=False)),
            color=alt.condition(alt.datum.change >= 0, alt.value("#2ca02c"), alt.value("#d62728")),
            tooltip=[
                alt.Tooltip(f"{symbol}:N"),
                alt.Tooltip("date:T"),
                alt.Tooltip(f"{close}:Q", format=",.2f"),
                alt.Tooltip("change:Q", format="+.1%"),
            ],
        )
        .properties(width=140, height=40)
        .facet(facet=alt.Facet(f"{symbol}:N", title=None), columns=columns)
        .resolve_scale(y="independent", x="independent")
        .configure_view(stroke=None)
    )
    return chart
