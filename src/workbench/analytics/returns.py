"""Returns: daily returns, TWR, annualized TWR, Modified Dietz, XIRR and window returns.

Conventions (DESIGN section 3), all on a value series from :func:`value_series` that starts
at inception:

* Daily return ``r_t = (V_t + OUT_t) / (V_{t-1} + IN_t) - 1``: deposits arrive at the start of
  the day, withdrawals leave at its end. Undefined (null) when ``V_{t-1} + IN_t <= 0``.
* TWR: the returns compounded, ``prod(1 + r_t) - 1``; annualized ``(1 + R)^(365 / days) - 1``
  with ``days`` the calendar days covered.
* Modified Dietz over ``(start, end]``: ``(V_end - V_start - F) / (V_start + sum(w_i F_i))``,
  ``w_i = (T - t_i) / T`` with ``T`` the days in the period and ``t_i`` the days from the start
  to the flow: a deposit on day ``d`` is counted from the start of ``d``, a withdrawal from its
  end (the same intra-day timing as the TWR).
* XIRR: ACT/365, ``sum(a_i (1 + r)^(-(d_i - d_0) / 365)) = 0`` with deposits negative,
  withdrawals positive and the end value positive on the end date; solved in logs with a
  scan for every sign change (:mod:`workbench.analytics._xirr`, which states the rule when
  several rates solve the flows).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import polars as pl

# the solver lives in _xirr; the names stay importable from here
from workbench.analytics._xirr import xirr as xirr
from workbench.analytics._xirr import xirr_roots as xirr_roots

Frequency = Literal["calendar", "business"]
_RETURN_SCHEMA = {"date": pl.Date, "return": pl.Float64}


def _periods(series: pl.DataFrame, frequency: Frequency) -> pl.DataFrame:
    if frequency == "calendar":
        return series.select("date", "total_value", "inflow", "outflow")
    if frequency != "business":
        raise ValueError(f"unknown frequency {frequency!r}; expected 'calendar' or 'business'")
    # weekend days fold into the following Monday: their flows join Monday's period
    weekday = pl.col("date").dt.weekday()
    period = pl.col("date") + pl.duration(days=pl.when(weekday >= 6).then(8 - weekday).otherwise(0))
    return (
        series.with_columns(_period=period)
        .group_by("_period")
        .agg(
            date=pl.col("date").max(),
            total_value=pl.col("total_value").sort_by("date").last(),
            inflow=pl.col("inflow").sum(),
            outflow=pl.col("outflow").sum(),
        )
        .sort("date")
        .drop("_period")
    )


def daily_returns(series: pl.DataFrame, *, frequency: Frequency = "calendar") -> pl.DataFrame:
    """Daily returns of a value series from inception: date, return (null where undefined).

    ``frequency="business"`` gives one return per weekday (weekend flows fold into Monday),
    the series risk metrics with 252 periods a year expect; ``"calendar"`` one per day.

        >>> daily_returns(value_series(tx, prices), frequency="business")
    """
    if series.is_empty():
        return pl.DataFrame(schema=_RETURN_SCHEMA)
    periods = _periods(series.sort("date"), frequency)
    before = pl.col("total_value").shift(1).fill_null(0.0) + pl.col("inflow")
    after = pl.col("total_value") + pl.col("outflow")
    return periods.select(
        "date",
        pl.when(before > 1e-9).then(after / before - 1.0).otherwise(None).alias("return"),
    )


def _clean(returns: pl.DataFrame | pl.Series) -> pl.Series:
    column = returns if isinstance(returns, pl.Series) else returns["return"]
    return column.cast(pl.Float64).fill_nan(None).drop_nulls()


def twr(returns: pl.DataFrame | pl.Series) -> float | None:
    """Time-weighted return: the daily returns compounded (None when there are none)."""
    clean = _clean(returns)
    if clean.is_empty():
        return None
    return float((clean + 1.0).product()) - 1.0


def annualize(total: float | None, days: int) -> float | None:
    """``(1 + total)^(365 / days) - 1``; None for no return, no days or a total loss, and
    infinity past the largest float (a huge return over a day or two; the JSON shows null)."""
    if total is None or days <= 0 or total <= -1.0:
        return None
    try:
        return float((1.0 + total) ** (365.0 / days) - 1.0)
    except OverflowError:
        return math.inf


def covered_days(returns: pl.DataFrame) -> int:
    """Calendar days covered by dated returns: from the first defined return to the last date."""
    defined = returns.filter(pl.col("return").is_not_null() & pl.col("return").is_not_nan())
    if defined.is_empty():
        return 0
    first, last = defined["date"].min(), returns["date"].max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    return (last - first).days + 1


def _window(series: pl.DataFrame, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    out = series
    if start is not None:
        out = out.filter(pl.col("date") > start)
    if end is not None:
        out = out.filter(pl.col("date") <= end)
    return out


def _value_at(series: pl.DataFrame, day: dt.date | None) -> float:
    if day is None:
        return 0.0
    upto = series.filter(pl.col("date") <= day)
    return 0.0 if upto.is_empty() else float(upto["total_value"][-1])


def modified_dietz(
    series: pl.DataFrame, *, start: dt.date | None = None, end: dt.date | None = None
) -> float | None:
    """Modified Dietz return over ``(start, end]``; ``start=None`` means since inception.

    None when the weighted capital is not positive.
    """
    if series.is_empty():
        return None
    first = series["date"].min()
    last = end or series["date"].max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    begin = start if start is not None and start >= first else first - dt.timedelta(days=1)
    v_start = _value_at(series, begin)
    v_end = _value_at(series, last)
    span = (last - begin).days
    if span <= 0:
        return None
    days = (pl.col("date") - pl.lit(begin)).dt.total_days()
    flows = _window(series, begin, last).select(
        net=(pl.col("inflow") - pl.col("outflow")).sum(),
        weighted=(
            pl.col("inflow") * (span - days + 1) / span - pl.col("outflow") * (span - days) / span
        ).sum(),
    )
    net, weighted = float(flows["net"][0]), float(flows["weighted"][0])
    capital = v_start + weighted
    if capital <= 1e-9:
        return None
    return (v_end - v_start - net) / capital


def xirr_flows(
    series: pl.DataFrame, *, start: dt.date | None = None, end: dt.date | None = None
) -> pl.DataFrame:
    """The investor's cash flows for XIRR over ``(start, end]``: date, amount.

    The start value (if any) and deposits are negative, withdrawals and the end value positive.
    """
    if series.is_empty():
        return pl.DataFrame(schema={"date": pl.Date, "amount": pl.Float64})
    first = series["date"].min()
    last = end or series["date"].max()
    assert isinstance(first, dt.date)
    assert isinstance(last, dt.date)
    begin = start if start is not None and start >= first else None
    parts = [
        _window(series, begin, last).select(
            "date", amount=(pl.col("outflow") - pl.col("inflow")).cast(pl.Float64)
        )
    ]
    if begin is not None:
        parts.insert(0, pl.DataFrame({"date": [begin], "amount": [-_value_at(series, begin)]}))
    parts.append(pl.DataFrame({"date": [last], "amount": [_value_at(series, last)]}))
    return (
        pl.concat(parts, how="vertical_relaxed")
        .group_by("date")
        .agg(pl.col("amount").sum())
        .filter(pl.col("amount") != 0)
        .sort("date")
    )


def window_returns(
    series: pl.DataFrame, *, as_of: dt.date | None = None, frequency: Frequency = "calendar"
) -> pl.DataFrame:
    """TWR, Modified Dietz and XIRR for MTD, YTD, 1Y and since inception, ending ``as_of``.

    Columns: window, start (the valuation date the window measures from), end, twr,
    modified_dietz, xirr, full (False when history is shorter than the window, so the
    figures cover inception to ``as_of``).
    """
    schema = {
        "window": pl.String, "start": pl.Date, "end": pl.Date, "twr": pl.Float64,
        "modified_dietz": pl.Float64, "xirr": pl.Float64, "full": pl.Boolean,
    }  # fmt: skip
    if series.is_empty():
        return pl.DataFrame(schema=schema)
    end = as_of or series["date"].max()
    first = series["date"].min()
    assert isinstance(end, dt.date)
    assert isinstance(first, dt.date)
    inception = first - dt.timedelta(days=1)
    series = series.filter(pl.col("date") <= end)
    one_year = _years_before(end, 1)
    starts = {
        "MTD": end.replace(day=1) - dt.timedelta(days=1),
        "YTD": dt.date(end.year - 1, 12, 31),
        "1Y": one_year,
        "SI": inception,
    }
    returns = daily_returns(series, frequency=frequency)
    rows = []
    for name, begin in starts.items():
        full = begin >= inception
        start = begin if full else inception
        rows.append(
            {
                "window": name,
                "start": start,
                "end": end,
                "twr": twr(_window(returns, start, end)),
                "modified_dietz": modified_dietz(series, start=start if full else None, end=end),
                "xirr": xirr(xirr_flows(series, start=start if full else None, end=end)),
                "full": full,
            }
        )
    return pl.DataFrame(rows, schema=schema)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
