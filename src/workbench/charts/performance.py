"""Charts of a portfolio through time: value, cumulative return, drawdown, monthly and rolling.

Each builder takes a small frame, reduces it in Polars (:mod:`workbench.charts.frames`) and
returns an Altair chart that carries only the rows it draws.

    from workbench import charts
    charts.value_chart(series)                      # date, value, net_deposits
    charts.returns_chart(daily, benchmark="bench")  # date, return, bench
"""

from __future__ import annotations

import altair as alt
import polars as pl

from workbench.charts.frames import (
    DEFAULT_MAX_POINTS,
    as_float,
    cumulative_returns,
    downsample,
    drawdowns,
    monthly_returns,
    to_long,
)

HEIGHT = 260
#: concatenated charts cannot size to their container in Vega-Lite, so panels get a width
PANEL_WIDTH = 860
#: portfolio first, benchmark second: the same two colours in every chart
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def series_color(field: str, order: list[str]) -> alt.Color:
    """The colour channel every multi-series chart shares: palette order, legend on top."""
    return alt.Color(
        f"{field}:N",
        title=None,
        sort=order,
        scale=alt.Scale(range=PALETTE),
        legend=alt.Legend(orient="top"),
    )


def value_chart(
    series: pl.DataFrame,
    *,
    value: str = "value",
    deposits: str = "net_deposits",
    max_points: int = DEFAULT_MAX_POINTS,
    title: str = "Portfolio value and net deposits",
) -> alt.Chart:
    """Portfolio value against cumulative net deposits, one line each.

    Args:
        series: one row per day with ``date``, ``value`` and ``net_deposits`` (cumulative).
        value: the value column.
        deposits: the cumulative net-deposit column.
        max_points: the most points per line.
    """
    frame = downsample(as_float(series, [value, deposits]), max_points=max_points)
    long = to_long(
        frame, columns=[value, deposits], names=["Portfolio value", "Net deposits"], value="amount"
    )
    chart: alt.Chart = (
        alt.Chart(long, title=title)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("amount:Q", title="Amount", axis=alt.Axis(format=",.0f")),
            color=series_color("series", ["Portfolio value", "Net deposits"]),
            tooltip=[
                alt.Tooltip("date:T"),
                alt.Tooltip("series:N"),
                alt.Tooltip("amount:Q", format=",.2f"),
            ],
        )
        .properties(width="container", height=HEIGHT)
    )
    return chart


def returns_chart(
    returns: pl.DataFrame,
    *,
    column: str = "return",
    benchmark: str | None = None,
    label: str = "Portfolio (TWR)",
    benchmark_label: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    title: str = "Cumulative time-weighted return",
) -> alt.Chart:
    """Cumulative compounded return of the portfolio, and of a benchmark when given.

    Args:
        returns: daily simple returns: ``date``, ``column`` and optionally ``benchmark``.
        column: the portfolio's daily-return column.
        benchmark: the benchmark's daily-return column, if any.
        label, benchmark_label: legend names.
    """
    columns = [column] if benchmark is None else [column, benchmark]
    names = [label] if benchmark is None else [label, benchmark_label or benchmark]
    cumulative = downsample(cumulative_returns(returns, columns=columns), max_points=max_points)
    long = to_long(cumulative, columns=columns, names=names, value="cumulative")
    chart: alt.Chart = (
        alt.Chart(long, title=title)
        .mark_line()
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("cumulative:Q", title="Cumulative return", axis=alt.Axis(format=".0%")),
            color=series_color("series", names),
            tooltip=[
                alt.Tooltip("date:T"),
                alt.Tooltip("series:N"),
                alt.Tooltip("cumulative:Q", format=".2%"),
            ],
        )
        .properties(width="container", height=HEIGHT)
    )
    return chart


def drawdown_chart(
    returns: pl.DataFrame,
    *,
    column: str = "return",
    max_points: int = DEFAULT_MAX_POINTS,
    title: str = "Drawdown (underwater)",
) -> alt.Chart:
    """The underwater curve: how far below its running peak the portfolio stood each day.

    Downsampling keeps each bucket's deepest point, so the maximum drawdown is always drawn.
    """
    under = downsample(drawdowns(returns, column=column), max_points=max_points, lowest="drawdown")
    chart: alt.Chart = (
        alt.Chart(under, title=title)
        .mark_area(color="#d62728", opacity=0.5, line={"color": "#d62728"})
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("drawdown:Q", title="Drawdown", axis=alt.Axis(format=".0%")),
            tooltip=[alt.Tooltip("date:T"), alt.Tooltip("drawdown:Q", format=".2%")],
        )
        .properties(width="container", height=HEIGHT * 2 // 3)
    )
    return chart


def monthly_heatmap(
    returns: pl.DataFrame, *, column: str = "return", title: str = "Monthly returns"
) -> alt.LayerChart:
    """A year x month grid of compounded monthly returns, labelled in percent."""
    months = monthly_returns(returns, column=column)
    order = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    limit = float(months["return"].abs().max() or 0.01)  # type: ignore[arg-type]
    base = alt.Chart(months, title=title).encode(
        x=alt.X("month_name:O", title=None, sort=order),
        y=alt.Y("year:O", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "return:Q",
            title="Return",
            scale=alt.Scale(scheme="redyellowgreen", domain=[-limit, limit]),
            legend=alt.Legend(format=".0%"),
        ),
        tooltip=[
            alt.Tooltip("year:O"),
            alt.Tooltip("month_name:O", title="month"),
            alt.Tooltip("return:Q", format=".2%"),
        ],
    )
    labels = base.mark_text(fontSize=10).encode(text=alt.Text("return:Q", format=".1%"))
    years = max(months["year"].n_unique(), 1)
    chart: alt.LayerChart = (cells + labels).properties(
        width="container", height=min(28 * years + 20, 400)
    )
    return chart


def rolling_chart(
    rolling: pl.DataFrame,
    *,
    columns: tuple[str, ...] = ("volatility", "sharpe"),
    titles: tuple[str, ...] = ("Rolling volatility (annualized)", "Rolling Sharpe ratio"),
    formats: tuple[str, ...] = (".0%", ".1f"),
    max_points: int = DEFAULT_MAX_POINTS,
) -> alt.VConcatChart:
    """Rolling risk measures stacked one above the other, sharing the date axis.

    Args:
        rolling: ``date`` and one column per measure (nulls before the window fills).
        columns: the measures to draw, top to bottom.
        titles, formats: a title and a d3 axis format per measure.
    """
    present = [c for c in columns if c in rolling.columns]
    frame = downsample(
        as_float(rolling.select("date", *present), present).drop_nulls(present),
        max_points=max_points,
    )
    panels: list[alt.Chart] = []
    for name, heading, fmt in zip(columns, titles, formats, strict=True):
        if name not in present:
            continue
        panels.append(
            alt.Chart(frame.select("date", name), title=heading)
            .mark_line(color=PALETTE[len(panels)])
            .encode(
                x=alt.X("date:T", title=None),
                y=alt.Y(f"{name}:Q", title=None, axis=alt.Axis(format=fmt)),
                tooltip=[alt.Tooltip("date:T"), alt.Tooltip(f"{name}:Q", format=fmt)],
            )
            .properties(width=PANEL_WIDTH, height=HEIGHT // 2)
        )
    stacked: alt.VConcatChart = alt.vconcat(*panels).resolve_scale(x="shared")
    return stacked
