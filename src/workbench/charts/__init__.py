"""Altair chart builders over small, already-aggregated Polars frames.

Each builder reduces its input in Polars first (downsampling long series, compounding
returns into cumulative or monthly figures), so a chart carries only the rows it draws.

    from workbench import charts
    charts.value_chart(series)                        # date, value, net_deposits
    charts.returns_chart(daily, benchmark="SPY")      # date, return, SPY
    charts.pnl_chart(positions)                       # clickable: selects a symbol
    charts.pnl_fx_chart(report.positions)             # the same, price and FX parts apart
    charts.gains_by_month_chart(gains.rows)           # realized gains by month and term
"""

from __future__ import annotations

from workbench.charts.currency import pnl_fx_chart, pnl_parts
from workbench.charts.frames import (
    DEFAULT_MAX_POINTS,
    cumulative_returns,
    downsample,
    drawdowns,
    monthly_returns,
)
from workbench.charts.gains import gains_by_month_chart, monthly_gains, sale_methods_chart
from workbench.charts.holdings import (
    POSITION_SELECTION,
    allocation_chart,
    pnl_chart,
    price_chart,
    sparklines,
)
from workbench.charts.performance import (
    drawdown_chart,
    monthly_heatmap,
    returns_chart,
    rolling_chart,
    value_chart,
)

__all__ = [
    "DEFAULT_MAX_POINTS",
    "POSITION_SELECTION",
    "allocation_chart",
    "cumulative_returns",
    "downsample",
    "drawdown_chart",
    "drawdowns",
    "gains_by_month_chart",
    "monthly_gains",
    "monthly_heatmap",
    "monthly_returns",
    "pnl_chart",
    "pnl_fx_chart",
    "pnl_parts",
    "price_chart",
    "returns_chart",
    "rolling_chart",
    "sale_methods_chart",
    "sparklines",
    "value_chart",
]
