"""Polars preparation for charts: downsample, cumulate and reshape before anything is drawn.

Every chart builder in :mod:`workbench.charts` passes its input through one of these first, so a
chart never carries more rows than it can show: a 10-year daily series becomes at most
``max_points`` points per line, a return series becomes one cell per month.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: points per line a chart keeps; a ~900 px wide plot shows no more
DEFAULT_MAX_POINTS = 400


def as_float(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Cast the named numeric columns (Decimal, Int) to Float64 for plotting."""
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(pl.col(present).cast(pl.Float64))


def downsample(
    frame: pl.DataFrame,
    *,
    date: str = "date",
    by: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    lowest: str | None = None,
) -> pl.DataFrame:
    """Keep at most ``max_points`` rows per group: one row from each equal-width date bucket.

    By default the last row of a bucket is kept (not a mean), so values that are levels, such
    as portfolio value or a close, stay values that occurred, and the series' last day is
    always kept. With ``lowest`` the row with the smallest value of that column is kept
    instead, so an underwater curve keeps its troughs.

    Args:
        frame: rows with a Date column ``date``.
        date: the date column.
        by: an optional group column (one line per group, e.g. ``symbol``).
        max_points: the most rows to keep per group (at least 2).
        lowest: keep each bucket's minimum of this column instead of its last row.
    """
    if frame.is_empty():
        return frame
    max_points = max(int(max_points), 2)
    keys = [by] if by else []
    counts = frame.group_by(keys).len() if keys else pl.DataFrame({"len": [frame.height]})
    if int(counts["len"].max() or 0) <= max_points:  # type: ignore[arg-type]
        return frame.sort([*keys, date])
    first = pl.col(date).min().over(keys) if keys else pl.col(date).min()
    last = pl.col(date).max().over(keys) if keys else pl.col(date).max()
    span = (last - first).dt.total_days() + 1
    # bucket width in days so that span / step <= max_points - 1, leaving room for the last day
    step = (span / (max_points - 1)).ceil().cast(pl.Int64).clip(lower_bound=1)
    bucket = (pl.col(date) - first).dt.total_days() // step
    # the last day of each bucket (so the series' last day is kept), or its lowest value
    if lowest is None:
        pick = pl.col(date) == pl.col(date).max()
    else:
        pick = pl.col(lowest) == pl.col(lowest).min()
    out = (
        frame.sort([*keys, date])
        .with_columns(bucket.alias("_bucket"))
        .filter(pick.over([*keys, "_bucket"]))
        .unique([*keys, "_bucket"], keep="first", maintain_order=True)
        .drop("_bucket")
    )
    return out.sort([*keys, date])


def cumulative_returns(
    returns: pl.DataFrame, *, columns: Sequence[str], date: str = "date"
) -> pl.DataFrame:
    """Cumulative compounded return per column, starting from 0 before the first day.

    ``returns`` holds simple daily returns (fractions); nulls count as 0 (no change). The
    result has a row for the day before the first return with every series at 0, so lines
    start together.
    """
    ordered = returns.sort(date).select(date, *columns)
    ordered = as_float(ordered, columns).with_columns(pl.col(columns).fill_null(0.0).fill_nan(0.0))
    growth = ordered.with_columns(((pl.col(c) + 1.0).cum_prod() - 1.0).alias(c) for c in columns)
    if growth.is_empty():
        return growth
    start = growth.select(
        (pl.col(date).first() - pl.duration(days=1)).alias(date),
        *[pl.lit(0.0).alias(c) for c in columns],
    )
    return pl.concat([start, growth], how="vertical")


def drawdowns(returns: pl.DataFrame, *, column: str = "return", date: str = "date") -> pl.DataFrame:
    """Underwater curve: wealth / running peak - 1, with the initial capital as the first peak.

    Matches empyrical's max drawdown (measured from initial capital): the minimum of the
    ``drawdown`` column equals ``max_drawdown`` of the same returns.
    """
    ordered = as_float(returns.sort(date).select(date, column), [column])
    wealth = (pl.col(column).fill_null(0.0).fill_nan(0.0) + 1.0).cum_prod()
    peak = pl.max_horizontal(wealth.cum_max(), pl.lit(1.0))
    return ordered.select(date, (wealth / peak - 1.0).alias("drawdown"))


def monthly_returns(
    returns: pl.DataFrame, *, column: str = "return", date: str = "date"
) -> pl.DataFrame:
    """Compounded return per calendar month: columns year, month (1-12), month_name, return."""
    ordered = as_float(returns.sort(date).select(date, column), [column])
    return (
        ordered.with_columns(
            pl.col(date).dt.year().alias("year"), pl.col(date).dt.month().alias("month")
        )
        .group_by("year", "month")
        .agg(((pl.col(column).fill_null(0.0).fill_nan(0.0) + 1.0).product() - 1.0).alias("return"))
        .sort("year", "month")
        .with_columns(pl.date("year", "month", 1).dt.strftime("%b").alias("month_name"))
        .select("year", "month", "month_name", "return")
    )


def to_long(
    frame: pl.DataFrame,
    *,
    columns: Sequence[str],
    names: Sequence[str] | None = None,
    date: str = "date",
    variable: str = "series",
    value: str = "value",
) -> pl.DataFrame:
    """Wide (one column per series) to long (date, series, value), renaming series for legends."""
    labels = list(names) if names is not None else list(columns)
    renamed = frame.select(
        date, *[pl.col(c).alias(label) for c, label in zip(columns, labels, strict=True)]
    )
    return renamed.unpivot(index=date, variable_name=variable, value_name=value).drop_nulls(value)


def top_n(
    frame: pl.DataFrame, *, label: str, value: str, n: int = 15, other: str = "Other"
) -> pl.DataFrame:
    """The ``n`` largest rows by |value|; the rest summed into one ``other`` row."""
    if frame.height <= n:
        return frame.select(label, value)
    ordered = frame.select(label, value).sort(pl.col(value).abs(), descending=True)
    head = ordered.head(n - 1)
    rest = ordered.slice(n - 1).select(pl.lit(other).alias(label), pl.col(value).sum())
    return pl.concat([head, rest.cast(head.schema)], how="vertical")
