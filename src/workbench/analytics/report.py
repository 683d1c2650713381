"""The portfolio report: positions, totals, performance and risk on one date.

:func:`build_report` is pure (frames in, a :class:`Report` out); :func:`load_report` reads the
store read-only, closes it and builds; :func:`areport` does that in a worker thread so an
event loop (a notebook, the server) keeps running. ``Report.to_json()`` is the
``workbench report --json`` contract of DESIGN section 4; ``Report.to_text()`` the table.

Multi-currency (DESIGN 3b, :mod:`workbench.analytics.currency`): every money figure is in the
reporting currency C (``base_currency``), each row converted at its date's rate and holdings
and cash at the as-of rates; unrealized and realized P&L carry their FX parts, cash its
currency gain (``cash_fx_gain``), and ``warnings`` lists stale rates.

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
from workbench.analytics import fx as fxm
from workbench.analytics._frames import ledger_symbols, prepare
from workbench.analytics.cash import income_and_costs
from workbench.analytics.currency import cash_in_reporting, converted, position_pnl_fx
from workbench.analytics.lots import COST_METHODS
from workbench.analytics.positions import marks
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
    "account", "symbol", "currency", "quantity", "cost_basis", "price", "fx_rate",
    "market_value", "unrealized_pnl", "unrealized_fx_pnl", "realized_pnl", "realized_fx_pnl",
    "dividends",
]  # fmt: skip
TOTAL_FIELDS = [
    "market_value", "cash", "total_value", "cost_basis", "unrealized_pnl", "unrealized_fx_pnl",
    "realized_pnl", "realized_fx_pnl", "dividends", "interest", "fees", "taxes",
    "net_deposits", "cash_fx_gain",
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
    #: native cash per currency (every account in scope)
    cash_by_currency: dict[str, float] = field(default_factory=dict)
    #: stale rates used (see :data:`workbench.analytics.fx.STALE_AFTER_DAYS`)
    warnings: list[str] = field(default_factory=list)
    #: the as-of rate of each currency held or traded: C per unit
    rates: dict[str, float] = field(default_factory=dict)
    #: every rate looked up: date, currency, fx (C per unit), rate_date (published)
    fx_lookups: pl.DataFrame = field(default_factory=pl.DataFrame)
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
            {
                k: (_number(v) if k == "fx_rate" else _money(v)) if isinstance(v, float) else v
                for k, v in row.items()
            }
            for row in self.positions.select(POSITION_FIELDS).iter_rows(named=True)
        ]
        return {
            "as_of": self.as_of.isoformat(),
            "base_currency": self.base_currency,
            "cost_method": self.cost_method,
            "account": self.account,
            "currencies": self.currencies,
            "positions": positions,
            "totals": {k: _money(self.totals[k]) for k in TOTAL_FIELDS}
            | {"cash_by_currency": {k: _money(v) for k, v in self.cash_by_currency.items()}},
            "warnings": self.warnings,
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


def _with_rates(
    tx: pl.DataFrame, as_of: dt.date, target: str, table: fxm.RateTable
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows with ``fx`` (their date's rate to C), and every lookup made: each row's (date,
    currency) and the as-of date for every currency the rows hold or pay in."""
    fx_rows = tx.filter(pl.col("type") == "FX")
    used = pl.concat(
        [tx.select(pl.col("currency").unique()), fx_rows.select(currency=pl.col("symbol"))]
    ).unique()
    if used["currency"].to_list() == [target]:  # one currency, C itself: nothing to convert
        lookups = pl.DataFrame(
            {"date": [as_of], "currency": [target], "fx": [1.0], "rate_date": [None]},
            schema=fxm.LOOKUP_SCHEMA,
        )
        return tx.with_columns(fx=pl.lit(1.0)), lookups
    wanted = pl.concat(
        [tx.select("date", "currency"), used.select(pl.lit(as_of).alias("date"), "currency")]
    ).unique()
    lookups = fxm.lookup(wanted, target, table)
    rated = tx.join(
        lookups.select("date", "currency", "fx"),
        on=["date", "currency"],
        how="left",
        maintain_order="left",
    )
    return rated, lookups


def _valued(pnl: pl.DataFrame, mark: pl.DataFrame, at_end: pl.DataFrame) -> pl.DataFrame:
    """Positions with native price, as-of rate, market value and unrealized P&L (both parts)."""
    held = pl.col("quantity") != 0
    return (
        pnl.join(mark, on="symbol", how="left", maintain_order="left")
        .join(at_end.rename({"fx": "fx_rate"}), on="currency", how="left", maintain_order="left")
        .with_columns(
            market_value=pl.when(held)
            .then(pl.col("quantity") * pl.col("price") * pl.col("fx_rate"))
            .otherwise(0.0),
            _native_at_end=pl.col("cost_basis_native") * pl.col("fx_rate"),
        )
        .with_columns(
            unrealized_pnl=pl.col("market_value") - pl.col("cost_basis"),
            unrealized_fx_pnl=pl.when(held)
            .then(pl.col("_native_at_end") - pl.col("cost_basis"))
            .otherwise(0.0),
        )
        .drop("_native_at_end")
    )


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
    rates: pl.DataFrame | None = None,
) -> Report:
    """Compute the report from frames (no I/O); ``instruments`` feeds ``Report.allocation``.

    Money is in ``base_currency`` (the reporting currency C); ``rates`` (``date, base, quote,
    rate``) convert every other currency (DESIGN 3b). A ledger all in C needs none.

    Raises:
        MissingRate: a currency has no rate to C on or before a date it is needed.

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
    target = base_currency
    tx, splits = prepare(transactions, as_of=as_of, account=account)
    table = fxm.RateTable.from_rates(rates if rates is not None else fxm.empty_rates())
    tx, lookups = _with_rates(tx, as_of, target, table)
    at_end = lookups.filter(pl.col("date") == as_of).select("currency", "fx")
    pnl = position_pnl_fx(tx, method=method, target=target)
    positions = _valued(pnl, marks(tx, splits, prices, as_of=as_of), at_end)
    sums = income_and_costs(converted(tx)).select(pl.exclude("account").sum())
    totals = {k: float(sums[k][0]) if sums.height else 0.0 for k in sums.columns}
    for key in ("market_value", "cost_basis", "unrealized_pnl", "unrealized_fx_pnl",
                "realized_pnl", "realized_fx_pnl"):  # fmt: skip
        totals[key] = float(positions[key].fill_null(0.0).sum())
    cash = cash_in_reporting(tx).join(at_end, on="currency", how="left")
    totals["cash"] = float((cash["cash"] * cash["fx"]).sum())
    totals["cash_fx_gain"] = totals["cash"] - float(cash["booked"].sum())
    totals["total_value"] = totals["market_value"] + totals["cash"]
    by_currency = cash.group_by("currency").agg(pl.col("cash").sum()).sort("currency")
    cash_by_currency = dict(by_currency.iter_rows())

    series = value_from_prepared(tx, splits, prices, start=None, end=as_of, target=target,
                                 rates=table)  # fmt: skip
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
    currencies = sorted({*at_end["currency"].to_list()})
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
        cash_by_currency=cash_by_currency,
        warnings=fxm.stale_warnings(lookups, target),
        rates=dict(at_end.sort("currency").iter_rows()),
        fx_lookups=lookups.sort("date", "currency"),
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
    currency: str | None = None,
) -> Report:
    """Read the store read-only (briefly), then build the report; ``as_of`` defaults to today.

    ``currency`` is the reporting currency (default ``WORKBENCH_BASE_CURRENCY``, else USD);
    rates come from the store, and from the bundled ECB history for pairs it lacks.

    Raises:
        WorkbenchError: an unknown account, cost method or convention, or a benchmark without prices.
    """
    from workbench import store

    day = as_of or dt.date.today()
    target = reporting_currency(currency)
    with store.connect(db, read_only=True) as con:
        transactions = store.read_transactions(con, as_of=day)
        symbols = ledger_symbols(transactions)
        if benchmark:
            symbols.append(benchmark)
        prices = store.read_prices(con, symbols=symbols or [""], end=day)
        instruments = store.read_instruments(con)
        accounts = set(store.read_accounts(con)["name"].to_list())
        rates = stored_rates(con, transactions, target)
    check_account(account, accounts, transactions)
    if benchmark and prices.filter(pl.col("symbol") == benchmark).is_empty():
        raise WorkbenchError(
            f"no stored prices for benchmark {benchmark!r}; run `workbench history`"
        )
    return build_report(
        transactions, prices, instruments, as_of=day, account=account,
        cost_method=cost_method, convention=convention, benchmark=benchmark,
        base_currency=target, rates=rates,
    )  # fmt: skip


#: currencies offered by the apps' pickers (any code with rates works on the command line)
REPORTING_CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK"]


def explain_rates(
    transactions: pl.DataFrame, report: Report, *, account: str, symbol: str
) -> pl.DataFrame:
    """The rates behind one position: each of its rows with its trade-date rate (and the date
    that rate was published) and the as-of rate: date, type, currency, quantity, price,
    trade_rate, rate_date, as_of_rate."""
    rows = transactions.filter(
        (pl.col("account") == account)
        & (pl.col("symbol") == symbol)
        & (pl.col("date") <= report.as_of)
    ).select("date", "type", "currency", pl.col("quantity", "price").cast(pl.Float64))
    found = report.fx_lookups
    if found.is_empty():
        return rows.with_columns(
            trade_rate=pl.lit(None, pl.Float64), rate_date=pl.lit(None, pl.Date),
            as_of_rate=pl.lit(None, pl.Float64),
        )  # fmt: skip
    return rows.join(
        found.select("date", "currency", trade_rate="fx", rate_date="rate_date"),
        on=["date", "currency"],
        how="left",
        maintain_order="left",
    ).with_columns(as_of_rate=pl.col("currency").replace_strict(report.rates, default=None))


def check_account(account: str | None, accounts: set[str], transactions: pl.DataFrame) -> None:
    """Raise WorkbenchError when ``account`` is neither a stored account nor in the ledger."""
    if (
        account is not None
        and account not in accounts
        and account not in set(transactions["account"].unique().to_list())
    ):
        raise WorkbenchError(f"unknown account {account!r}")


def reporting_currency(currency: str | None = None) -> str:
    """``currency`` upper-cased, else ``WORKBENCH_BASE_CURRENCY``, else USD."""
    chosen = (currency or os.environ.get("WORKBENCH_BASE_CURRENCY") or "USD").strip()
    if not chosen.isalpha() or not 3 <= len(chosen) <= 5:
        raise WorkbenchError(f"not a currency code: {chosen!r}")
    return chosen if chosen in fxm.SUBUNITS else chosen.upper()


def stored_rates(con: Any, transactions: pl.DataFrame, target: str) -> pl.DataFrame | None:
    """Rates for every currency of the ledger and ``target`` (None when all are ``target``)."""
    codes = set(transactions["currency"].drop_nulls().unique().to_list())
    codes |= set(transactions.filter(pl.col("type") == "FX")["symbol"].drop_nulls().to_list())
    plain = {fxm.split_unit(c)[0] for c in codes | {target}}
    if len(plain) <= 1:
        return None
    from workbench.fx import rates_for

    return rates_for(con, sorted(plain))


async def areport(
    db: str | os.PathLike[str] | None,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    cost_method: str = "fifo",
    benchmark: str | None = None,
    convention: str = "empyrical",
    currency: str | None = None,
) -> Report:
    """:func:`load_report` in a worker thread, so the calling event loop is never blocked.

    >>> report = await areport(db, cost_method="lifo")   # in a marimo async cell
    """
    from workbench.store import run_in_thread

    return await run_in_thread(
        load_report, db, as_of=as_of, account=account, cost_method=cost_method,
        benchmark=benchmark, convention=convention, currency=currency,
    )  # fmt: skip


def fmt_num(value: Any, digits: int = 2) -> str:
    """``value`` with thousands separators and ``digits`` decimals; "-" when missing."""
    number = _number(value)
    return "-" if number is None else f"{number:,.{digits}f}"


def _fmt_pct(value: Any) -> str:
    number = _number(value)
    return "-" if number is None else f"{number * 100:.2f}%"


def text_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of an aligned text table: the first two columns left-aligned, the rest right."""
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
    held = report.positions.filter(pl.col("quantity") != 0)
    closed = report.positions.height - held.height
    # the FX part of each P&L figure stands beside it; the price part is the difference
    headers = ["account", "symbol", "ccy", "quantity", "price", "fx rate", "market value",
               "cost basis", "unrealized", "of it FX", "realized", "of it FX", "dividends"]  # fmt: skip
    rows = [
        [row["account"], row["symbol"], row["currency"] or "", fmt_num(row["quantity"], 4),
         fmt_num(row["price"]), fmt_num(row["fx_rate"], 4), fmt_num(row["market_value"]),
         fmt_num(row["cost_basis"]), fmt_num(row["unrealized_pnl"]),
         fmt_num(row["unrealized_fx_pnl"]), fmt_num(row["realized_pnl"]),
         fmt_num(row["realized_fx_pnl"]), fmt_num(row["dividends"])]
        for row in held.iter_rows(named=True)
    ]  # fmt: skip
    out += text_table(headers, rows) if rows else ["(no open positions)"]
    if closed:
        out.append(
            f"({closed} closed position{'s' if closed != 1 else ''} not shown; their P&L is in the totals)"
        )
    out += ["", f"Totals ({report.base_currency})"]
    out += [f"  {k.replace('_', ' '):<18}{fmt_num(report.totals[k]):>20}" for k in TOTAL_FIELDS]
    if report.cash_by_currency:
        shown = ", ".join(f"{c} {fmt_num(v)}" for c, v in report.cash_by_currency.items())
        out.append(f"  cash by currency: {shown}")
    if report.warnings:
        out += ["", "Warnings", *(f"  {w}" for w in report.warnings)]
    out += ["", "Performance"]
    labels = {
        "twr": "TWR",
        "twr_annualized": "TWR annualized",
        "xirr": "XIRR",
        "modified_dietz": "Modified Dietz",
    }
    out += [
        f"  {labels[k]:<18}{_fmt_pct(report.performance.get(k)):>20}" for k in PERFORMANCE_FIELDS
    ]
    out += ["", f"Risk (daily returns, {report.convention} convention)"]
    for key in [*RISK_FIELDS, *(BENCHMARK_FIELDS if report.benchmark else [])]:
        value = report.risk.get(key)
        shown = (
            _fmt_pct(value)
            if key in ("volatility", "max_drawdown", "alpha", "tracking_error")
            else fmt_num(value)
        )
        out.append(f"  {key.replace('_', ' '):<18}{shown:>20}")
    return "\n".join(out)
