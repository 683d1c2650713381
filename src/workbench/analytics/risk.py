"""Risk metrics on daily returns under a named convention: empyrical, quantstats, calendar365.

Every convention drops missing returns (null/NaN), uses the sample standard deviation
(ddof=1), a zero risk-free rate and required return, and measures drawdowns from the initial
capital (a first-day loss is a drawdown). They differ as follows:

================  ==========  ===============================  ================================
convention        periods/yr  alpha                            historical CVaR
================  ==========  ===============================  ================================
``empyrical``     252         ``(1 + mean(r - beta b))^252 - 1``  mean of the ``floor((n-1) a) + 1``
                                                                 lowest returns
``quantstats``    252         ``(mean(r) - beta mean(b)) * 252``  mean of returns <= the a-quantile
``calendar365``   365         as empyrical, with 365           as empyrical
================  ==========  ===============================  ================================

Shared definitions: volatility ``std(r) * sqrt(P)``; Sharpe ``mean(r) / std(r) * sqrt(P)``;
Sortino ``mean(r) * P / (sqrt(mean(min(r, 0)^2)) * sqrt(P))`` (downside over *all*
observations); annual return ``prod(1 + r)^(P / n) - 1``; Calmar = annual return / |max
drawdown|; historical VaR the linearly interpolated ``a``-quantile (numpy's percentile);
parametric VaR ``mean + std * z_a`` and CVaR ``mean - std * phi(z_a) / a`` (normal);
beta ``cov(r, b) / var(b)``; tracking error ``std(r - b) * sqrt(P)``; information ratio
``mean(r - b) / std(r - b)``, not annualized (empyrical's ``excess_sharpe``, quantstats'
``information_ratio``). ``a = 1 - confidence`` (0.05 by default). Ratios whose denominator is
zero are None.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

import polars as pl


@dataclass(frozen=True)
class Convention:
    """How risk metrics are computed and annualized."""

    name: str
    periods: int
    alpha: Literal["compound", "arithmetic"]
    cvar: Literal["tail_count", "quantile"]
    description: str


CONVENTIONS: dict[str, Convention] = {
    "empyrical": Convention(
        "empyrical", 252, "compound", "tail_count",
        "empyrical(-reloaded): 252 trading days, ddof=1, NaN dropped",
    ),
    "quantstats": Convention(
        "quantstats", 252, "arithmetic", "quantile",
        "quantstats: 252 trading days, ddof=1, arithmetic alpha, quantile CVaR",
    ),
    "calendar365": Convention(
        "calendar365", 365, "compound", "tail_count",
        "empyrical formulas annualized over 365 calendar days (for calendar-day returns)",
    ),
}  # fmt: skip


def get_convention(name: str) -> Convention:
    """The named convention (ValueError for an unknown name)."""
    try:
        return CONVENTIONS[name.lower()]
    except KeyError:
        known = ", ".join(CONVENTIONS)
        raise ValueError(f"unknown risk convention {name!r}; expected one of {known}") from None


@dataclass(frozen=True)
class Drawdown:
    """The deepest fall from a running peak of the compounded returns."""

    max_drawdown: float | None
    peak: dt.date | None
    trough: dt.date | None
    recovery: dt.date | None


@dataclass(frozen=True)
class RiskMetrics:
    """Risk figures of one return series; ``convention`` names how they were computed."""

    convention: str
    periods_per_year: int
    observations: int
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    annual_return: float | None
    max_drawdown: float | None
    max_drawdown_peak: dt.date | None
    max_drawdown_trough: dt.date | None
    max_drawdown_recovery: dt.date | None
    calmar: float | None
    confidence: float
    var_historical: float | None
    cvar_historical: float | None
    var_parametric: float | None
    cvar_parametric: float | None
    beta: float | None = None
    alpha: float | None = None
    tracking_error: float | None = None
    information_ratio: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The metrics as a plain dict (dates stay ``datetime.date``)."""
        return asdict(self)


def _frame(returns: pl.DataFrame | pl.Series | list[float]) -> pl.DataFrame:
    """Returns as (date, r) with missing values dropped; dates null when not given."""
    if isinstance(returns, pl.DataFrame):
        frame = returns.select(pl.col("date").cast(pl.Date), r=pl.col("return").cast(pl.Float64))
    else:
        series = returns if isinstance(returns, pl.Series) else pl.Series(returns)
        frame = pl.DataFrame({"date": pl.Series([None] * len(series), dtype=pl.Date), "r": series})
        frame = frame.with_columns(pl.col("r").cast(pl.Float64))
    return frame.with_columns(pl.col("r").fill_nan(None)).drop_nulls("r")


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0 or math.isnan(den) or math.isnan(num):
        return None
    return num / den


def _std(values: pl.Series) -> float | None:
    if values.len() < 2:
        return None
    # a constant series has std 0 exactly (avoid the ~1e-18 residue of the mean)
    if values.min() == values.max():
        return 0.0
    return float(values.std(ddof=1))  # type: ignore[arg-type]


def drawdown(returns: pl.DataFrame | pl.Series | list[float]) -> Drawdown:
    """Maximum drawdown from the initial capital, with its peak, trough and recovery dates.

    The peak is the last day at the running high before the trough (the day before the first
    return when the high is the starting capital); recovery is the first day back at that
    high, None if not yet recovered.
    """
    frame = _frame(returns)
    if frame.is_empty():
        return Drawdown(None, None, None, None)
    wealth = (
        frame.with_columns(w=(pl.col("r") + 1.0).cum_prod())
        .with_columns(high=pl.max_horizontal(pl.col("w").cum_max(), pl.lit(1.0)))
        .with_columns(dd=pl.col("w") / pl.col("high") - 1.0, i=pl.int_range(pl.len()))
    )
    worst = float(wealth["dd"].min())  # type: ignore[arg-type]
    if worst >= 0:
        return Drawdown(0.0, None, None, None)
    at = wealth.filter(pl.col("dd") == worst).row(0, named=True)
    high = at["high"]
    before = wealth.filter((pl.col("i") <= at["i"]) & (pl.col("w") >= high))
    first_date = wealth["date"][0]
    if before.is_empty():
        peak = first_date - dt.timedelta(days=1) if first_date is not None else None
    else:
        peak = before["date"][-1]
    after = wealth.filter((pl.col("i") > at["i"]) & (pl.col("w") >= high))
    recovery = after["date"][0] if not after.is_empty() else None
    return Drawdown(worst, peak, at["date"], recovery)


def _tail_cvar(values: pl.Series, cutoff: float, method: str) -> float | None:
    if values.is_empty():
        return None
    if method == "tail_count":
        count = int((values.len() - 1) * cutoff) + 1
        return float(values.sort().head(count).mean())  # type: ignore[arg-type]
    threshold = values.quantile(cutoff, interpolation="linear")
    return float(values.filter(values <= threshold).mean())  # type: ignore[arg-type]


def _annual(growth: float | None, power: float) -> float | None:
    """``growth ** power - 1``: None without growth (or a total loss), infinity past the
    largest float (a huge return over a few days)."""
    if growth is None or growth <= 0:
        return None
    try:
        return float(growth**power - 1.0)
    except OverflowError:
        return math.inf


def risk_metrics(
    returns: pl.DataFrame | pl.Series | list[float],
    *,
    benchmark_returns: pl.DataFrame | pl.Series | list[float] | None = None,
    convention: str = "empyrical",
    confidence: float = 0.95,
) -> RiskMetrics:
    """Volatility, Sharpe, Sortino, drawdown, Calmar, VaR/CVaR and benchmark figures.

    ``returns`` is a frame with ``date`` and ``return`` (as from :func:`daily_returns`), a
    Series or a list of daily fractions. Frames are aligned with ``benchmark_returns`` on
    date; series and lists by position.

        >>> risk_metrics(daily_returns(series, frequency="business"), convention="quantstats")
    """
    conv = get_convention(convention)
    frame = _frame(returns)
    r = frame["r"]
    n = r.len()
    p = conv.periods
    cutoff = 1.0 - confidence
    mean = float(r.mean()) if n else None  # type: ignore[arg-type]
    std = _std(r)
    vol = std * math.sqrt(p) if std is not None else None
    sharpe = _ratio(mean, std)
    downside = math.sqrt(float((r.clip(upper_bound=0.0) ** 2).mean())) if n else None  # type: ignore[arg-type]
    sortino = _ratio(
        mean * p if mean is not None else None,
        downside * math.sqrt(p) if downside is not None else None,
    )
    growth = float((r + 1.0).product()) if n else None
    annual = _annual(growth, p / n) if n else None
    dd = drawdown(frame.rename({"r": "return"}))
    calmar = _ratio(annual, abs(dd.max_drawdown)) if dd.max_drawdown else None
    z = NormalDist().inv_cdf(cutoff)
    var_h = float(r.quantile(cutoff, interpolation="linear")) if n else None  # type: ignore[arg-type]
    var_p = mean + std * z if mean is not None and std is not None else None
    cvar_p = (
        mean - std * NormalDist().pdf(z) / cutoff if mean is not None and std is not None else None
    )
    metrics: dict[str, Any] = {
        "convention": conv.name, "periods_per_year": p, "observations": n,
        "volatility": vol, "sharpe": sharpe * math.sqrt(p) if sharpe is not None else None,
        "sortino": sortino, "annual_return": annual,
        "max_drawdown": dd.max_drawdown, "max_drawdown_peak": dd.peak,
        "max_drawdown_trough": dd.trough, "max_drawdown_recovery": dd.recovery,
        "calmar": calmar, "confidence": confidence,
        "var_historical": var_h, "cvar_historical": _tail_cvar(r, cutoff, conv.cvar),
        "var_parametric": var_p, "cvar_parametric": cvar_p,
    }  # fmt: skip
    if benchmark_returns is not None:
        metrics |= _relative(returns, benchmark_returns, conv)
    return RiskMetrics(**metrics)


def _aligned(
    returns: pl.DataFrame | pl.Series | list[float],
    benchmark: pl.DataFrame | pl.Series | list[float],
) -> pl.DataFrame:
    if isinstance(returns, pl.DataFrame) and isinstance(benchmark, pl.DataFrame):
        left = returns.select("date", r=pl.col("return").cast(pl.Float64))
        right = benchmark.select("date", b=pl.col("return").cast(pl.Float64))
        both = left.join(right, on="date", how="inner").sort("date")
    else:
        r = returns["return"] if isinstance(returns, pl.DataFrame) else pl.Series(returns)
        b = benchmark["return"] if isinstance(benchmark, pl.DataFrame) else pl.Series(benchmark)
        both = pl.DataFrame({"r": r.cast(pl.Float64), "b": b.cast(pl.Float64)})
    return both.with_columns(pl.col("r", "b").fill_nan(None)).drop_nulls(["r", "b"])


def _relative(
    returns: pl.DataFrame | pl.Series | list[float],
    benchmark: pl.DataFrame | pl.Series | list[float],
    conv: Convention,
) -> dict[str, float | None]:
    """Beta, alpha, tracking error and information ratio on the paired observations."""
    both = _aligned(returns, benchmark)
    if both.height < 2:
        return {"beta": None, "alpha": None, "tracking_error": None, "information_ratio": None}
    r, b = both["r"], both["b"]
    b_mean = float(b.mean())  # type: ignore[arg-type]
    centered = b - b_mean
    var_b = float((centered**2).mean())  # type: ignore[arg-type]
    beta = float((centered * r).mean()) / var_b if var_b >= 1e-30 else None  # type: ignore[arg-type]
    alpha: float | None = None
    if beta is not None:
        if conv.alpha == "compound":
            alpha = (1.0 + float((r - beta * b).mean())) ** conv.periods - 1.0  # type: ignore[arg-type]
        else:
            alpha = (float(r.mean()) - beta * b_mean) * conv.periods  # type: ignore[arg-type]
    active = r - b
    te = _std(active)
    return {
        "beta": beta,
        "alpha": alpha,
        "tracking_error": te * math.sqrt(conv.periods) if te is not None else None,
        "information_ratio": _ratio(float(active.mean()), te),  # type: ignore[arg-type]
    }


def rolling_risk(
    returns: pl.DataFrame, *, window: int = 63, convention: str = "empyrical"
) -> pl.DataFrame:
    """Rolling annualized volatility and Sharpe over ``window`` returns: date, volatility, sharpe.

    Missing returns are dropped first; the first ``window - 1`` rows are null.
    """
    periods = get_convention(convention).periods
    frame = _frame(returns)
    std = pl.col("r").rolling_std(window, min_samples=window, ddof=1)
    mean = pl.col("r").rolling_mean(window, min_samples=window)
    return frame.select(
        "date",
        volatility=std * math.sqrt(periods),
        sharpe=pl.when(std > 0).then(mean / std * math.sqrt(periods)),
    )
