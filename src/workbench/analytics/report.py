"""The portfolio report: positions, totals, performance and risk on one date.

:func:`build_report` is pure (frames in, a :class:`Report` out); :func:`load_report` reads the
store read-only, closes it and builds; :func:`areport` does that in a worker thread so an
event loop (a notebook, the server) keeps running. ``Report.to_json()`` is the
``workbench report --json`` contract of DESIGN section 4; ``Report.to_text()`` the table.

Multi-currency: there is no FX conversion. Every amount is taken as being in the base
currency and the report lists the currencies it saw (``currencies``), warning in the text
output when there is more than one.

    >>> report = load_report("data/workbench.duckdb", as_of=date(2024, 12, 31), cost_method="hifo")
    >>> print(report.to_text())
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench import config
from workbench.analytics._frames import prepare
from workbench.analytics.cash import income_and_costs
from workbench.analytics.lots import COST_METHODS, pnl_from_prepared
from workbench.analytics.positions import marks, value_positions
from workbench.analytics.returns import (
    annualize,
    covered_days,
    daily_returns,
    modified_dietz,
    twr,
    xirr,
    xirr_flows,
)
from workbench.analytics.risk import CONVENTIONS, get_convention, risk_metrics
from workbench.analytics.valuation import value_from_prepared
from workbench.errors import WorkbenchError

POSITION_FIELDS = [
    "account", "symbol", "quantity", "cost_basis", "price", "market_value",
    "unrealized_pnl", "realized_pnl", "dividends",
]  # fmt: skip
TOTAL_FIELDS = [
    "market_value", "cash", "total_value", "cost_basis", "unrealized_pnl", "realized_pnl",
    "dividends", "interest", "fees", "taxes", "net_deposits",
]  # fmt: skip
PERFORMANCE_FIELDS = ["twr", "twr_annualized", "xirr", "modified_dietz"]
RISK_FIELDS = ["volatility", "sharpe", "sortino", "max_drawdown", "calmar"]
BENCHMARK_FIELDS = ["beta", "alpha", "tracking_error", "information_ratio"]
#: money is rounded to this many decimals in JSON (the ledger's precision)
MONEY_DECIMALS = 8


@dataclass(frozen=True)
class Report:
    """Everything ``workbench report`` shows, plus the frames behind it for notebooks."""

    as_of: dt.date
    base_currency: str
    cost_method: str
    convention: str
    account: str | None
    positions: pl.DataFrame
    totals: dict[str, float]
    performance: dict[str, float | None]
    risk: dict[str, Any]
    currencies: list[str] = field(default_factory=list)
    benchmark: str | None = None
    series: pl.DataFrame = field(default_factory=pl.DataFrame)
    returns: pl.DataFrame = field(default_factory=pl.DataFrame)
    instruments: pl.DataFrame = field(default_factory=pl.DataFrame)

    def allocation(self, *, by: str = "sector", include_cash: bool = True) -> pl.DataFrame:
        """Market value and weight by ``by`` (an instrument attribute, account or symbol)."""
        from workbench.analytics.allocation import allocation

        instruments = self.instruments
        if instruments.is_empty():
            instruments = pl.DataFrame(schema={"symbol": pl.String})
        cash = self.totals["cash"] if include_cash else None
        return allocation(self.positions, instruments, by=by, cash=cash)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as plain Python values (None where undefined)."""
        positions = [
            {k: _money(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in self.positions.select(POSITION_FIELDS).iter_rows(named=True)
        ]
        return {
            "as_of": self.as_of.isoformat(),
            "base_currency": self.base_currency,
            "cost_method": self.cost_method,
            "account": self.account,
            "currencies": self.currencies,
            "positions": positions,
            "totals": {k: _money(self.totals[k]) for k in TOTAL_FIELDS},
            "performance": {k: _number(self.performance.get(k)) for k in PERFORMANCE_FIELDS},
            "risk": {k: v if k in ("convention", "benchmark") else _number(v)
                     for k, v in self.risk.items()},
        }  # fmt: skip

    def to_json(self, *, indent: int | None = 2) -> str:
        """``workbench report --json``: numbers as JSON numbers, fractions (not %), null where undefined."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_text(self) -> str:
        """A readable report: positions table, totals, performance and risk."""
        return _render(self)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _money(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else round(number, MONEY_DECIMALS) + 0.0


def _benchmark_returns(
    prices: pl.DataFrame, splits: pl.DataFrame, symbol: str, as_of: dt.date
) -> pl.DataFrame:
    """Daily close-to-close returns of ``symbol``, with the ledger's splits taken out."""
    closes = (
        prices.filter((pl.col("symbol") == symbol) & (pl.col("date") <= as_of))
        .select("date", close=pl.col("close").cast(pl.Float64))
        .sort("date")
    )
    factors = splits.filter(pl.col("symbol") == symbol).select("date", "cum").sort("date")
    if not factors.is_empty():
        closes = closes.join_asof(factors, on="date", strategy="backward").with_columns(
            close=pl.col("close") * pl.col("cum").fill_null(1.0)
        )
    return closes.select("date", (pl.col("close") / pl.col("close").shift(1) - 1.0).alias("return"))


def build_report(
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    instruments: pl.DataFrame | None = None,
    *,
    as_of: dt.date,
    account: str | None = None,
    cost_method: str = "fifo",
    convention: str = "empyrical",
    benchmark: str | None = None,
    base_currency: str = config.BASE_CURRENCY,
) -> Report:
    """Compute the report from frames (no I/O); ``instruments`` feeds ``Report.allocation``.

    Risk uses weekday returns (252 a year) for ``empyrical``/``quantstats`` and calendar-day
    returns for ``calendar365``; TWR, XIRR and Modified Dietz use calendar days.
    """
    method = cost_method.lower()
    if method not in COST_METHODS:
        raise WorkbenchError(
            f"unknown cost method {cost_method!r}; expected one of {', '.join(COST_METHODS)}"
        )
    if convention.lower() not in CONVENTIONS:
        raise WorkbenchError(
            f"unknown risk convention {convention!r}; expected one of {', '.join(CONVENTIONS)}"
        )
    conv = get_convention(convention)
    tx, splits = prepare(transactions, as_of=as_of, account=account)
    pnl = pnl_from_prepared(tx, method=method)
    positions = value_positions(pnl, marks(tx, splits, prices, as_of=as_of))
    sums = income_and_costs(tx).select(pl.exclude("account").sum())
    totals = {k: float(sums[k][0]) if sums.height else 0.0 for k in sums.columns}
    for key in ("market_value", "cost_basis", "unrealized_pnl", "realized_pnl"):
        totals[key] = float(positions[key].fill_null(0.0).sum())
    totals["total_value"] = totals["market_value"] + totals["cash"]

    series = value_from_prepared(tx, splits, prices, start=None, end=as_of)
    calendar = daily_returns(series, frequency="calendar")
    total_twr = twr(calendar)
    performance = {
        "twr": total_twr,
        "twr_annualized": annualize(total_twr, covered_days(calendar)),
        "xirr": xirr(xirr_flows(series)),
        "modified_dietz": modified_dietz(series),
    }
    frequency = "calendar" if conv.periods == 365 else "business"
    returns = calendar if frequency == "calendar" else daily_returns(series, frequency="business")
    bench = _benchmark_returns(prices, splits, benchmark, as_of) if benchmark else None
    metrics = risk_metrics(returns, benchmark_returns=bench, convention=conv.name).as_dict()
    risk: dict[str, Any] = {k: metrics[k] for k in RISK_FIELDS}
    risk["convention"] = conv.name
    if benchmark:
        risk["benchmark"] = benchmark
        risk |= {k: metrics[k] for k in BENCHMARK_FIELDS}
    currencies = (
        sorted(c for c in tx["currency"].unique().to_list() if c)
        if "currency" in tx.columns
        else []
    )
    return Report(
        as_of=as_of,
        base_currency=base_currency,
        cost_method=method,
        convention=conv.name,
        account=account,
        positions=positions.sort("account", "symbol"),
        totals=totals,
        performance=performance,
        risk=risk,
        currencies=currencies,
        benchmark=benchmark,
        series=series,
        returns=returns,
        instruments=instruments if instruments is not None else pl.DataFrame(),
    )


def load_report(
    db: str | os.PathLike[str] | None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    cost_method: str = "fifo",
    benchmark: str | None = None,
    convention: str = "empyrical",
) -> Report:
    """Read the store read-only (briefly), then build the report; ``as_of`` defaults to today.

    Raises:
        WorkbenchError: an unknown account, cost method or convention, or a benchmark without prices.
    """
    from workbench import store

    day = as_of or dt.date.today()
    with store.connect(db, read_only=True) as con:
        transactions = store.read_transactions(con, as_of=day)
        symbols = transactions["symbol"].drop_nulls().unique().to_list()
        if benchmark:
            symbols.append(benchmark)
        prices = store.read_prices(con, symbols=symbols or [""], end=day)
        instruments = store.read_instruments(con)
        accounts = set(store.read_accounts(con)["name"].to_list())
    if (
        account is not None
        and account not in accounts
        and account not in set(transactions["account"].unique().to_list())
    ):
        raise WorkbenchError(f"unknown account {account!r}")
    if benchmark and prices.filter(pl.col("symbol") == benchmark).is_empty():
        raise WorkbenchError(
            f"no stored prices for benchmark {benchmark!r}; run `workbench history`"
        )
    return build_report(
        transactions, prices, instruments, as_of=day, account=account,
        cost_method=cost_method, convention=convention, benchmark=benchmark,
    )  # fmt: skip


async def areport(
    db: str | os.PathLike[str] | None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    cost_method: str = "fifo",
    benchmark: str | None = None,
    convention: str = "empyrical",
) -> Report:
    """:func:`load_report` in a worker thread, so the calling event loop is never blocked.

    >>> report = await areport(db, cost_method="lifo")   # in a marimo async cell
    """
    from workbench.store import run_in_thread

    return await run_in_thread(
        load_report, db, as_of=as_of, account=account, cost_method=cost_method,
        benchmark=benchmark, convention=convention,
    )  # fmt: skip


def _fmt_num(value: Any, digits: int = 2) -> str:
    number = _number(value)
    return "-" if number is None else f"{number:,.{digits}f}"


def _fmt_pct(value: Any) -> str:
    number = _number(value)
    return "-" if number is None else f"{number * 100:.2f}%"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            if i
        ]
        return "  ".join([first, *rest]).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _render(report: Report) -> str:
    scope = f"account {report.account}" if report.account else "all accounts"
    out = [
        f"Portfolio report as of {report.as_of.isoformat()} ({scope}; cost method "
        f"{report.cost_method}; amounts in {report.base_currency})",
        "",
    ]
    if len(report.currencies) > 1:
        out += [
            f"warning: amounts in {', '.join(report.currencies)} are added without FX conversion",
            "",
        ]
    held = report.positions.filter(pl.col("quantity") != 0)
    closed = report.positions.height - held.height
    headers = ["account", "symbol", "quantity", "price", "market value", "cost basis",
               "unrealized", "realized", "dividends"]  # fmt: skip
    rows = [
        [row["account"], row["symbol"], _fmt_num(row["quantity"], 4), _fmt_num(row["price"]),
         _fmt_num(row["market_value"]), _fmt_num(row["cost_basis"]), _fmt_num(row["unrealized_pnl"]),
         _fmt_num(row["realized_pnl"]), _fmt_num(row["dividends"])]
        for row in held.iter_rows(named=True)
    ]  # fmt: skip
    out += _table(headers, rows) if rows else ["(no open positions)"]
    if closed:
        out.append(
            f"({closed} closed position{'s' if closed != 1 else ''} not shown; their P&L is in the totals)"
        )
    out += ["", "Totals"]
    out += [f"  {k.replace('_', ' '):<16}{_fmt_num(report.totals[k]):>20}" for k in TOTAL_FIELDS]
    out += ["", "Performance"]
    labels = {
        "twr": "TWR",
        "twr_annualized": "TWR annualized",
        "xirr": "XIRR",
        "modified_dietz": "Modified Dietz",
    }
    out += [
        f"  {labels[k]:<16}{_fmt_pct(report.performance.get(k)):>20}" for k in PERFORMANCE_FIELDS
    ]
    out += ["", f"Risk (daily returns, {report.convention} convention)"]
    for key in [*RISK_FIELDS, *(BENCHMARK_FIELDS if report.benchmark else [])]:
        value = report.risk.get(key)
        shown = (
            _fmt_pct(value)
            if key in ("volatility", "max_drawdown", "alpha", "tracking_error")
            else _fmt_num(value)
        )
        out.append(f"  {key.replace('_', ' '):<16}{shown:>20}")
    return "\n".join(out)
