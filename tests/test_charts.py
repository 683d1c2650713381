"""Chart builders: rows bounded, encodings right, values computed from frames we know."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import empyrical
import numpy as np
import polars as pl
import pytest

from workbench import charts

TEN_YEARS = pl.date_range(dt.date(2015, 1, 1), dt.date(2024, 12, 31), eager=True)


def rows(chart: Any) -> list[list[dict[str, Any]]]:
    """The inline datasets an Altair chart would ship to the browser."""
    spec = chart.to_dict()
    return list(spec.get("datasets", {}).values())


def only_rows(chart: Any) -> list[dict[str, Any]]:
    """The single dataset of a one-dataset chart."""
    data = rows(chart)
    assert len(data) == 1
    return data[0]


def encoding(chart: Any) -> dict[str, Any]:
    """The encoding block of a single-view chart."""
    return chart.to_dict()["encoding"]


def daily_returns(values: list[float]) -> pl.DataFrame:
    """A frame of consecutive daily returns starting 2024-01-01."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(len(values))]
    return pl.DataFrame({"date": days, "return": values}, schema_overrides={"return": pl.Float64})


def test_downsample_bounds_rows_and_keeps_last_day() -> None:
    """A ten-year daily series is cut to at most max_points rows, ending on its last day."""
    frame = pl.DataFrame({"date": TEN_YEARS, "v": range(TEN_YEARS.len())})
    out = charts.downsample(frame, max_points=120)
    assert 100 < out.height <= 120
    assert out["date"][-1] == dt.date(2024, 12, 31)
    assert out["v"][-1] == TEN_YEARS.len() - 1
    assert out["date"].is_sorted()


def test_downsample_leaves_short_series_alone() -> None:
    """A series shorter than max_points comes back whole."""
    frame = pl.DataFrame({"date": TEN_YEARS[:50], "v": range(50)})
    assert charts.downsample(frame, max_points=120).equals(frame)


def test_downsample_per_group_and_lowest() -> None:
    """Groups are thinned independently, and lowest= keeps each bucket's minimum."""
    a = pl.DataFrame({"date": TEN_YEARS, "symbol": "A", "v": [0.0] * TEN_YEARS.len()})
    a = a.with_columns(
        pl.when(pl.col("date") == dt.date(2020, 3, 16)).then(-0.5).otherwise(0.0).alias("v")
    )
    b = pl.DataFrame({"date": TEN_YEARS[:30], "symbol": "B", "v": [1.0] * 30})
    out = charts.downsample(pl.concat([a, b]), by="symbol", max_points=50, lowest="v")
    counts = dict(out.group_by("symbol").len().iter_rows())
    assert counts["B"] == 30
    assert counts["A"] <= 50
    assert out.filter(pl.col("symbol") == "A")["v"].min() == -0.5


def test_value_chart_two_lines_bounded() -> None:
    """Value and net deposits are two step lines of at most max_points rows each."""
    n = TEN_YEARS.len()
    series = pl.DataFrame(
        {"date": TEN_YEARS, "value": [1000.0 + i for i in range(n)], "net_deposits": [1000.0] * n}
    )
    chart = charts.value_chart(series, max_points=200)
    data = only_rows(chart)
    assert len(data) <= 400
    last = {r["series"]: r["amount"] for r in data if r["date"].startswith("2024-12-31")}
    assert last == {"Portfolio value": 1000.0 + n - 1, "Net deposits": 1000.0}
    enc = encoding(chart)
    assert (enc["x"]["field"], enc["x"]["type"]) == ("date", "temporal")
    assert (enc["y"]["field"], enc["y"]["type"]) == ("amount", "quantitative")
    assert enc["color"]["field"] == "series"


def test_value_chart_accepts_decimals() -> None:
    """Decimal money columns from the store are plotted as numbers."""
    series = pl.DataFrame(
        {"date": [dt.date(2024, 1, 1)], "value": ["12.5"], "net_deposits": ["10"]}
    ).with_columns(pl.col("value", "net_deposits").cast(pl.Decimal(18, 8)))
    data = only_rows(charts.value_chart(series))
    assert sorted(r["amount"] for r in data) == [10.0, 12.5]


def test_returns_chart_compounds_and_starts_at_zero() -> None:
    """Daily returns 10%, -50%, 20% give cumulative 0, 10%, -45%, -34%; the benchmark too."""
    frame = daily_returns([0.1, -0.5, 0.2]).with_columns(bench=pl.lit(0.01))
    chart = charts.returns_chart(frame, benchmark="bench", benchmark_label="SPY")
    data = only_rows(chart)
    port = [r["cumulative"] for r in data if r["series"] == "Portfolio (TWR)"]
    bench = [r["cumulative"] for r in data if r["series"] == "SPY"]
    assert port == pytest.approx([0.0, 0.1, -0.45, -0.34])
    assert bench == pytest.approx([0.0, 0.01, 1.01**2 - 1, 1.01**3 - 1])
    assert data[0]["date"].startswith("2023-12-31")
    assert encoding(chart)["y"]["axis"]["format"] == ".0%"


def test_drawdown_matches_empyrical_max_drawdown() -> None:
    """The underwater curve's minimum is empyrical's max drawdown of the same returns."""
    pct = [math.nan, 1, 10, -4, 2, 3, 2, 1, -10]
    values = [v / 100 for v in pct]
    under = charts.drawdowns(daily_returns(values))
    expected = empyrical.max_drawdown(np.array(values))
    assert under["drawdown"].min() == pytest.approx(expected, abs=1e-12)
    assert under["drawdown"].min() == pytest.approx(-0.10)  # DESIGN.md section 3


def test_drawdown_from_initial_capital() -> None:
    """A first-day loss is a drawdown from the starting capital, as empyrical measures it."""
    under = charts.drawdowns(daily_returns([-0.2, 0.1]))
    assert under["drawdown"].to_list() == pytest.approx([-0.2, 0.8 * 1.1 - 1])


def test_drawdown_chart_keeps_the_trough_when_thinned() -> None:
    """Downsampling a long underwater curve still draws its deepest point."""
    n = TEN_YEARS.len()
    values = [0.0] * n
    values[1234] = -0.3
    frame = pl.DataFrame({"date": TEN_YEARS, "return": values})
    data = only_rows(charts.drawdown_chart(frame, max_points=100))
    assert len(data) <= 100
    assert min(r["drawdown"] for r in data) == pytest.approx(-0.3)


def test_monthly_heatmap_one_cell_per_month() -> None:
    """Returns compound within a month; the heatmap has one row per month."""
    days = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2025, 3, 3)]
    frame = pl.DataFrame({"date": days, "return": [0.1, 0.1, -0.05, 0.02]})
    chart = charts.monthly_heatmap(frame)
    data = rows(chart)
    assert len(data) == 1
    cells = {(r["year"], r["month_name"]): r["return"] for r in data[0]}
    assert cells == pytest.approx({(2024, "Jan"): 0.21, (2024, "Feb"): -0.05, (2025, "Mar"): 0.02})
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]


def test_monthly_heatmap_ten_years_is_120_cells() -> None:
    """A decade of daily returns becomes 120 monthly cells, not 3,653 rows."""
    frame = pl.DataFrame({"date": TEN_YEARS, "return": [0.001] * TEN_YEARS.len()})
    assert len(rows(charts.monthly_heatmap(frame))[0]) == 120


def test_rolling_chart_panels_and_bounded_rows() -> None:
    """Rolling volatility and Sharpe are two panels; window warm-up nulls are dropped."""
    n = TEN_YEARS.len()
    vol = [None] * 62 + [0.2] * (n - 62)
    frame = pl.DataFrame({"date": TEN_YEARS, "volatility": vol, "sharpe": [1.5] * n})
    chart = charts.rolling_chart(frame, max_points=150)
    spec = chart.to_dict()
    assert [panel["encoding"]["y"]["field"] for panel in spec["vconcat"]] == [
        "volatility",
        "sharpe",
    ]
    for data in rows(chart):
        assert len(data) <= 150
        assert all(r.get("volatility", 0.2) == 0.2 for r in data)


def test_allocation_chart_top_groups_and_other() -> None:
    """Beyond `limit` groups the smallest are summed into Other; weights sum to one."""
    frame = pl.DataFrame(
        {"sector": [f"S{i}" for i in range(20)], "value": [float(i + 1) for i in range(20)]}
    )
    data = only_rows(charts.allocation_chart(frame, label="sector", limit=5))
    assert len(data) == 5
    values = {r["sector"]: r["value"] for r in data}
    assert values == {
        "S19": 20.0,
        "S18": 19.0,
        "S17": 18.0,
        "S16": 17.0,
        "Other": sum(range(1, 17)),
    }
    assert sum(r["weight"] for r in data) == pytest.approx(1.0)


def test_pnl_chart_sums_accounts_and_selects_by_symbol() -> None:
    """Rows per account are summed per symbol; a point selection over symbol is attached."""
    positions = pl.DataFrame(
        {
            "account": ["a", "b", "a"],
            "symbol": ["AAA", "AAA", "BBB"],
            "unrealized_pnl": [10.0, 5.0, -3.0],
            "realized_pnl": [1.0, 0.0, 2.0],
            "dividends": [0.5, 0.5, 0.0],
        }
    )
    chart = charts.pnl_chart(positions)
    data = only_rows(chart)
    assert len(data) == 6  # two symbols x three parts
    parts = {(r["symbol"], r["part"]): r["pnl"] for r in data}
    assert parts[("AAA", "Unrealized")] == 15.0
    assert parts[("AAA", "Dividends")] == 1.0
    assert parts[("BBB", "Realized")] == 2.0
    assert {r["symbol"]: r["total"] for r in data} == {"AAA": 17.0, "BBB": -1.0}
    params = chart.to_dict()["params"]
    assert params[0]["name"] == charts.POSITION_SELECTION
    assert params[0]["select"] == {"type": "point", "fields": ["symbol"]}


def test_price_chart_normalized_and_thinned_per_symbol() -> None:
    """Each symbol keeps at most max_points closes; normalize rebases the first close to 100."""
    n = TEN_YEARS.len()
    prices = pl.concat(
        [
            pl.DataFrame({"symbol": "A", "date": TEN_YEARS, "close": [50.0 + i for i in range(n)]}),
            pl.DataFrame({"symbol": "B", "date": TEN_YEARS[:10], "close": [4.0, 5.0] * 5}),
        ]
    )
    data = only_rows(charts.price_chart(prices, normalize=True, max_points=100))
    a = [r for r in data if r["symbol"] == "A"]
    b = [r for r in data if r["symbol"] == "B"]
    assert len(a) <= 100
    assert len(b) == 10
    assert b[0]["close"] == 100.0
    assert b[1]["close"] == 125.0
    assert a[-1]["close"] == pytest.approx((50.0 + n - 1) / 50.0 * 100)


def test_sparklines_small_and_coloured_by_change() -> None:
    """Sparklines carry at most 60 points per symbol and the change over the window."""
    n = TEN_YEARS.len()
    prices = pl.concat(
        [
            pl.DataFrame(
                {"symbol": "UP", "date": TEN_YEARS, "close": [10.0 + i for i in range(n)]}
            ),
            pl.DataFrame(
                {"symbol": "DOWN", "date": TEN_YEARS[:5], "close": [10.0, 9.0, 8.0, 7.0, 5.0]}
            ),
        ]
    )
    chart = charts.sparklines(prices)
    data = only_rows(chart)
    up = [r for r in data if r["symbol"] == "UP"]
    down = [r for r in data if r["symbol"] == "DOWN"]
    assert len(up) <= 60
    assert down[0]["change"] == pytest.approx(-0.5)
    assert up[0]["change"] == pytest.approx((10.0 + n - 1) / 10.0 - 1)
    assert chart.to_dict()["facet"]["field"] == "symbol"
