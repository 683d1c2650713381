"""Portfolio analytics in Polars: pure functions, frames in and frames out, no I/O.

Holdings and P&L: :func:`positions` (fast open quantities), :func:`position_pnl` (quantity,
cost basis, realized P&L, dividends per cost method), :func:`open_lots` (the lots behind a
position), :func:`valued_positions` (with price, market value, unrealized P&L).
Cash: :func:`cash_flows`, :func:`cash_balances`.
Valuation and returns: :func:`value_series` (daily value and flows), :func:`daily_returns`,
:func:`twr`, :func:`annualize`, :func:`modified_dietz`, :func:`xirr`, :func:`xirr_flows`,
:func:`window_returns` (MTD, YTD, 1Y, since inception).
Risk: :func:`risk_metrics`, :func:`drawdown`, :func:`rolling_risk`, :data:`CONVENTIONS`.
Allocation: :func:`allocation`, :func:`group_summary`.
Report: :class:`Report`, :func:`build_report`, :func:`load_report` (reads the store
read-only), :func:`areport` (the same in a worker thread, for async callers), all in a
reporting currency (:mod:`workbench.analytics.currency`, rates looked up by
:mod:`workbench.analytics.fx`); :func:`explain_rates` lists the rates behind a position.
The frame-level helpers above (positions, position_pnl, valued_positions, value_series)
add amounts as they stand, in each row's own currency.

Conventions are documented in README.md ("Conventions") and in each module's docstring.
"""

from __future__ import annotations

from workbench.analytics.allocation import allocation, group_summary
from workbench.analytics.cash import cash_balances, cash_flows
from workbench.analytics.lots import COST_METHODS, open_lots, position_pnl
from workbench.analytics.positions import positions, valued_positions
from workbench.analytics.report import (
    REPORTING_CURRENCIES,
    Report,
    areport,
    build_report,
    explain_rates,
    load_report,
    reporting_currency,
)
from workbench.analytics.returns import (
    annualize,
    daily_returns,
    modified_dietz,
    twr,
    window_returns,
    xirr,
    xirr_flows,
)
from workbench.analytics.risk import CONVENTIONS, RiskMetrics, drawdown, risk_metrics, rolling_risk
from workbench.analytics.valuation import value_series

__all__ = [
    "CONVENTIONS",
    "COST_METHODS",
    "REPORTING_CURRENCIES",
    "Report",
    "RiskMetrics",
    "allocation",
    "annualize",
    "areport",
    "build_report",
    "cash_balances",
    "cash_flows",
    "daily_returns",
    "drawdown",
    "explain_rates",
    "group_summary",
    "load_report",
    "modified_dietz",
    "open_lots",
    "position_pnl",
    "positions",
    "reporting_currency",
    "risk_metrics",
    "rolling_risk",
    "twr",
    "value_series",
    "valued_positions",
    "window_returns",
    "xirr",
    "xirr_flows",
]
