"""Risk metrics: empyrical's published values and cross-checks against empyrical and quantstats."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from workbench.analytics import CONVENTIONS, drawdown, risk_metrics, rolling_risk

# empyrical's own test fixture ("simple_benchmark"-style one-off returns) and its published values
PUBLISHED = [math.nan, 0.01, 0.10, -0.04, 0.02, 0.03, 0.02, 0.01, -0.10]


def test_empyrical_published_values() -> None:
    """Sharpe, Sortino, annual volatility and max drawdown match empyrical's published test values."""
    got = risk_metrics(PUBLISHED)
    assert got.convention == "empyrical"
    assert got.sharpe == pytest.approx(1.7238613961706866, abs=1e-12)
    assert got.sortino == pytest.approx(2.605531251673693, abs=1e-12)
    assert got.volatility == pytest.approx(0.9136465399704637, abs=1e-12)
    assert got.max_drawdown == pytest.approx(-0.10, abs=1e-12)
    assert got.observations == 8


def _returns(seed: int, n: int = 300) -> tuple[list[float], list[float], list[dt.date]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    bench = rng.normal(0.0004, 0.011, n)
    port = 0.0002 + 1.1 * bench + rng.normal(0, 0.006, n)
    days = [dt.date(2023, 1, 2) + dt.timedelta(days=i) for i in range(n)]
    return port.tolist(), bench.tolist(), days


def _frame(values: list[float], days: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame({"date": days, "return": values})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agrees_with_empyrical(seed: int) -> None:
    """Every metric equals empyrical-reloaded's on the same series, to 1e-9."""
    import empyrical as ep
    import numpy as np

    port, bench, days = _returns(seed)
    r, b = np.array(port), np.array(bench)
    got = risk_metrics(_frame(port, days), benchmark_returns=_frame(bench, days))
    alpha, beta = ep.alpha_beta(r, b)
    expected = {
        "volatility": ep.annual_volatility(r),
        "sharpe": ep.sharpe_ratio(r),
        "sortino": ep.sortino_ratio(r),
        "max_drawdown": ep.max_drawdown(r),
        "calmar": ep.calmar_ratio(r),
        "annual_return": ep.annual_return(r),
        "var_historical": ep.value_at_risk(r),
        "cvar_historical": ep.conditional_value_at_risk(r),
        "beta": beta,
        "alpha": alpha,
        "information_ratio": ep.excess_sharpe(r, b),
    }
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(value, abs=1e-9, rel=1e-9), name


@pytest.mark.parametrize("seed", [4, 5])
def test_calendar365_is_empyrical_with_365_periods(seed: int) -> None:
    """The calendar365 convention equals empyrical called with annualization=365."""
    import empyrical as ep
    import numpy as np

    port, bench, days = _returns(seed)
    r, b = np.array(port), np.array(bench)
    got = risk_metrics(
        _frame(port, days), benchmark_returns=_frame(bench, days), convention="calendar365"
    )
    assert got.periods_per_year == 365
    assert got.volatility == pytest.approx(ep.annual_volatility(r, annualization=365), abs=1e-9)
    assert got.sharpe == pytest.approx(ep.sharpe_ratio(r, annualization=365), abs=1e-9)
    assert got.sortino == pytest.approx(ep.sortino_ratio(r, annualization=365), abs=1e-9)
    assert got.calmar == pytest.approx(ep.calmar_ratio(r, annualization=365), abs=1e-9)
    assert got.alpha == pytest.approx(ep.alpha(r, b, annualization=365), abs=1e-9)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_agrees_with_quantstats(seed: int) -> None:
    """Under the quantstats convention every metric equals quantstats' on the same series."""
    import pandas as pd
    import quantstats as qs

    port, bench, days = _returns(seed)
    index = pd.DatetimeIndex(days)
    r, b = pd.Series(port, index=index), pd.Series(bench, index=index)
    got = risk_metrics(
        _frame(port, days), benchmark_returns=_frame(bench, days), convention="quantstats"
    )
    greeks = qs.stats.greeks(r, b)
    expected = {
        "volatility": qs.stats.volatility(r),
        "sharpe": qs.stats.sharpe(r),
        "sortino": qs.stats.sortino(r),
        "max_drawdown": qs.stats.max_drawdown(r),
        "calmar": qs.stats.calmar(r),
        "var_parametric": qs.stats.value_at_risk(r),
        "cvar_parametric": qs.stats.conditional_value_at_risk(r, method="parametric"),
        "cvar_historical": qs.stats.conditional_value_at_risk(r, method="historical"),
        "beta": greeks["beta"],
        "alpha": greeks["alpha"],
        "information_ratio": qs.stats.information_ratio(r, b),
    }
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(float(value), abs=1e-9, rel=1e-9), name


def test_conventions_differ_where_documented() -> None:
    """Alpha is compounded under empyrical and arithmetic under quantstats; Sharpe is shared."""
    port, bench, days = _returns(9)
    emp = risk_metrics(_frame(port, days), benchmark_returns=_frame(bench, days))
    qst = risk_metrics(
        _frame(port, days), benchmark_returns=_frame(bench, days), convention="quantstats"
    )
    assert emp.sharpe == pytest.approx(qst.sharpe, abs=1e-12)
    assert emp.alpha != pytest.approx(qst.alpha, abs=1e-6)
    assert set(CONVENTIONS) == {"empyrical", "quantstats", "calendar365"}


def test_drawdown_dates_peak_trough_recovery() -> None:
    """Wealth 1.1, 1.21, 0.968, 1.0648, 1.331: peak Jan 2, trough Jan 3 (-20%), recovered Jan 5."""
    days = [dt.date(2024, 1, d) for d in range(1, 6)]
    got = drawdown(_frame([0.10, 0.10, -0.20, 0.10, 0.25], days))
    assert got.max_drawdown == pytest.approx(-0.20)
    assert (got.peak, got.trough, got.recovery) == (
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 5),
    )


def test_drawdown_from_initial_capital() -> None:
    """A first-day loss is a drawdown from the starting capital, peaking the day before."""
    days = [dt.date(2024, 1, d) for d in range(1, 4)]
    got = drawdown(_frame([-0.05, 0.01, 0.01], days))
    assert got.max_drawdown == pytest.approx(-0.05)
    assert got.peak == dt.date(2023, 12, 31)
    assert got.recovery is None


def test_undefined_ratios_are_none() -> None:
    """Constant returns have no Sharpe, no Sortino, no drawdown and no Calmar."""
    got = risk_metrics([0.01] * 10)
    assert got.volatility == 0.0
    assert (got.sharpe, got.sortino, got.calmar) == (None, None, None)
    assert got.max_drawdown == 0.0


def test_unknown_convention_is_refused() -> None:
    """An unknown convention name raises ValueError naming the known ones."""
    with pytest.raises(ValueError, match="empyrical, quantstats, calendar365"):
        risk_metrics([0.01, 0.02], convention="bloomberg")


def test_rolling_risk_matches_empyrical_rolling() -> None:
    """Rolling volatility and Sharpe over 20 days equal empyrical's roll_* functions."""
    import empyrical as ep
    import numpy as np

    port, _, days = _returns(10, n=60)
    got = rolling_risk(_frame(port, days), window=20)
    assert got["volatility"][:19].null_count() == 19
    r = np.array(port)
    assert got["volatility"][19:].to_list() == pytest.approx(
        list(ep.roll_annual_volatility(r, window=20)), abs=1e-12
    )
    assert got["sharpe"][19:].to_list() == pytest.approx(
        list(ep.roll_sharpe_ratio(r, window=20)), abs=1e-9
    )


def test_calmar_past_the_largest_float_is_infinite_not_an_error() -> None:
    """A return so large that annualizing it overflows gives an infinite Calmar ratio
    (JSON null), not an OverflowError: a millionfold day twice, then a 10% drawdown."""
    metrics = risk_metrics([1e6, 1e6, -0.1], convention="empyrical")
    assert metrics.calmar == math.inf
