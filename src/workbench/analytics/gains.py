"""Realized gains lot by lot: one row per (sale, lot consumed), with holding term and FX part.

A realized-gains report pairs each sale with the lots it consumed, which is inherently a
matching: after the vectorized preparation (apply order, split factors, rates) one sweep per
(account, symbol) walks the trades in apply order with a deque (FIFO, LIFO), a heap (HIFO)
or running totals (AVERAGE): ``O(n log n)`` over a group's trades. It is a Python loop (about
half a second per 100,000 trades), fine for personal ledgers; the position totals of
:mod:`workbench.analytics.lots` stay loop-free.

Conventions (those of the report, DESIGN sections 3 and 3b, so the gains of a position add up
to its ``realized_pnl`` and their FX parts to its ``realized_fx_pnl``):

* a lot costs ``q * p + buy fee`` (native), and in the reporting currency C that times the
  buy date's rate; a split changes a lot's quantity and cost per share, never its total cost
  or acquisition date;
* a sale's proceeds are ``q * p - sale fee`` at the sale date's rate; the fee comes off once,
  split across the lots the sale consumes in proportion to quantity;
* ``gain = proceeds - cost``; ``fx_gain`` (its FX part) = native cost consumed x the sale
  date's rate - cost in C (0 when the instrument is in C);
* ``quantity`` is in shares as of the sale date (after the splits up to it);
* ``term`` is ``long`` when the sale date is after the first anniversary of the acquisition
  (acquired 2023-03-15: sold 2024-03-15 is short, 2024-03-16 long; acquired on 29 February,
  the anniversary is 28 February), else ``short``;
* HIFO takes the lot with the highest cost per share in C, buy fee included (older first on a
  tie), as the report does;
* AVERAGE (moving average) pools the lots, so it gives one row per sale with ``acquired`` null
  (shown as ``various``) and ``term`` null: the pool mixes holding periods.

    >>> gains = realized_gains(tx, method="fifo", target="USD", rates=rates,
    ...                        start=date(2024, 1, 1), end=date(2024, 12, 31))
    >>> gains.rows.select("symbol", "acquired", "sold", "gain", "term")
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench.analytics import fx as fxm
from workbench.analytics._frames import (
    ACTIONS,
    TRADES,
    end_units,
    has_actions,
    prepare,
    round_qty,
)
from workbench.analytics._matching import sweep_frame
from workbench.analytics.currency import converted
from workbench.analytics.lots import COST_METHODS, GROUP
from workbench.errors import WorkbenchError

ROW_FIELDS = [
    "account", "symbol", "currency", "quantity", "acquired", "sold", "proceeds", "cost",
    "gain", "fx_gain", "term", "lot_id", "sale_id",
]  # fmt: skip
MONEY_FIELDS = ("proceeds", "cost", "gain", "fx_gain")
ROW_SCHEMA: dict[str, Any] = {
    "account": pl.String, "symbol": pl.String, "currency": pl.String, "quantity": pl.Float64,
    "acquired": pl.Date, "sold": pl.Date, "proceeds": pl.Float64, "cost": pl.Float64,
    "gain": pl.Float64, "fx_gain": pl.Float64, "term": pl.String, "lot_id": pl.Int64,
    "sale_id": pl.Int64,
}  # fmt: skip
TERMS = ("short", "long")
#: the totals' key for AVERAGE rows, whose pooled lots have no single holding period
UNASSIGNED = "unassigned"
#: money is rounded to this many decimals in JSON and CSV (the ledger's precision)
MONEY_DECIMALS = 8


@dataclass(frozen=True)
class Gains:
    """The realized-gains report: ``rows`` (one per sale and lot) and totals by term."""

    rows: pl.DataFrame
    cost_method: str
    base_currency: str
    account: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    warnings: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, float]]:
        """Proceeds, cost, gain and fx_gain per term (``short``, ``long``, and ``unassigned``
        when AVERAGE rows are present) and over all rows (``total``)."""
        out: dict[str, dict[str, float]] = {}
        keyed = self.rows.with_columns(pl.col("term").fill_null(UNASSIGNED))
        present = set(keyed["term"].to_list())
        for term in (*TERMS, *([UNASSIGNED] if UNASSIGNED in present else [])):
            part = keyed.filter(pl.col("term") == term)
            out[term] = {k: float(part[k].sum()) for k in MONEY_FIELDS}
        out["total"] = {k: float(self.rows[k].sum()) for k in MONEY_FIELDS}
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``workbench gains --json`` document."""
        rows = [
            {
                **r,
                "acquired": r["acquired"].isoformat() if r["acquired"] else None,
                "sold": r["sold"].isoformat(),
                **{k: round(r[k], MONEY_DECIMALS) for k in MONEY_FIELDS},
            }
            for r in self.rows.iter_rows(named=True)
        ]
        totals = {
            term: {k: round(v, MONEY_DECIMALS) for k, v in figures.items()}
            for term, figures in self.totals().items()
        }
        return {
            "cost_method": self.cost_method,
            "base_currency": self.base_currency,
            "account": self.account,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "rows": rows,
            "totals": totals,
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """The rows as CSV (``acquired`` is ``various`` for AVERAGE rows, money to 8 decimals)."""
        self.rows.with_columns(
            pl.col("acquired").cast(pl.String).fill_null("various"),
            pl.col(*MONEY_FIELDS).round(MONEY_DECIMALS),
        ).write_csv(Path(path))

    def to_text(self) -> str:
        """A table of the rows and the totals by term."""
        from workbench.analytics.report import fmt_num, text_table

        scope = f"account {self.account}" if self.account else "all accounts"
        period = f"{self.start or 'start'} to {self.end or 'today'}"
        out = [
            f"Realized gains, sales from {period} ({scope}; cost method {self.cost_method}; "
            f"amounts in {self.base_currency})",
            "",
        ]
        headers = ["account", "symbol", "ccy", "quantity", "acquired", "sold", "proceeds",
                   "cost", "gain", "of it FX", "term"]  # fmt: skip
        rows = [
            [r["account"], r["symbol"], r["currency"] or "", fmt_num(r["quantity"], 4),
             r["acquired"].isoformat() if r["acquired"] else "various", r["sold"].isoformat(),
             fmt_num(r["proceeds"]), fmt_num(r["cost"]), fmt_num(r["gain"]),
             fmt_num(r["fx_gain"]), r["term"] or "-"]
            for r in self.rows.iter_rows(named=True)
        ]  # fmt: skip
        out += text_table(headers, rows) if rows else ["(no sales in the period)"]
        out += ["", f"Totals by term ({self.base_currency})"]
        keyed = self.rows.with_columns(pl.col("term").fill_null(UNASSIGNED))
        counts = dict(keyed.group_by("term").len().iter_rows())
        totals = [
            [term, str(counts.get(term, self.rows.height if term == "total" else 0)),
             *(fmt_num(figures[k]) for k in MONEY_FIELDS)]
            for term, figures in self.totals().items()
        ]  # fmt: skip
        out += text_table(["term", "rows", "proceeds", "cost", "gain", "of it FX"], totals)
        if self.warnings:
            out += ["", "Warnings", *(f"  {w}" for w in self.warnings)]
        return "\n".join(out)


def long_term() -> pl.Expr:
    """Whether ``sold`` is after the first anniversary of ``acquired`` (29 Feb -> 28 Feb)."""
    return pl.col("sold") > pl.col("acquired").dt.offset_by("1y")


def _rated_trades(
    transactions: pl.DataFrame,
    *,
    target: str,
    rates: pl.DataFrame | None,
    end: dt.date | None,
    account: str | None,
    method: str,
) -> tuple[pl.DataFrame, list[str], pl.DataFrame | None]:
    """Trades in apply order with end units, native and C money, and the split factor from
    end units to units at the row's date; plus stale-rate warnings, and the disposals of the
    positions corporate actions touch (replayed under ``method``; None without actions)."""
    tx, _ = prepare(transactions, as_of=end, account=account)
    with_actions = has_actions(tx)
    kinds = (*TRADES, *ACTIONS) if with_actions else TRADES
    trades = tx.filter(pl.col("type").is_in(kinds) & pl.col("symbol").is_not_null())
    table = fxm.RateTable.from_rates(rates if rates is not None else fxm.empty_rates())
    warnings: list[str] = []
    if trades.is_empty() or trades["currency"].unique().to_list() == [target]:
        trades = trades.with_columns(fx=pl.lit(1.0))
    else:
        found = fxm.lookup(trades.select("date", "currency"), target, table)
        warnings = fxm.stale_warnings(found, target)
        trades = trades.join(
            found.select("date", "currency", "fx"),
            on=["date", "currency"],
            how="left",
            maintain_order="left",
        )
    replayed = None
    if with_actions:  # positions corporate actions touch are replayed
        from workbench.analytics import corporate

        trades, touched = corporate.split_affected(trades)
        replayed = corporate.replay(touched, method=method).disposals
    rows = converted(trades)
    gross = pl.col("quantity") * pl.col("price")
    gross_n = pl.col("quantity") * pl.col("native_price")
    buy = pl.col("type") == "BUY"
    return (
        rows.sort("seq").select(
            *GROUP,
            "id",
            "date",
            "currency",
            "fx",
            buy=buy,
            units=end_units(),
            to_row_units=pl.col("cum") / pl.col("final"),
            # a BUY's cost and a SELL's proceeds, in C and native (fees as DESIGN section 3)
            money=pl.when(buy).then(gross + pl.col("fee")).otherwise(gross - pl.col("fee")),
            money_n=pl.when(buy)
            .then(gross_n + pl.col("native_fee"))
            .otherwise(gross_n - pl.col("native_fee")),
        ),
        warnings,
        replayed,
    )


def realized_gains(
    transactions: pl.DataFrame,
    *,
    method: str = "fifo",
    target: str = "USD",
    rates: pl.DataFrame | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    account: str | None = None,
) -> Gains:
    """The realized gains of sales dated ``start`` to ``end`` (inclusive; None: unbounded).

    Lots are matched over the whole ledger up to ``end`` (a sale before ``start`` consumes
    lots but shows no row). Money is in ``target``, converted with ``rates`` (``date, base,
    quote, rate``); a ledger all in ``target`` needs none.

    Raises:
        WorkbenchError: an unknown cost method, or ``start`` after ``end``.
        MissingRate: a trade's currency has no rate to ``target`` on or before its date.
        OversoldError: a sale of more than the position holds.
    """
    name = method.lower()
    if name not in COST_METHODS:
        raise WorkbenchError(
            f"unknown cost method {method!r}; expected one of {', '.join(COST_METHODS)}"
        )
    if start is not None and end is not None and start > end:
        raise WorkbenchError(f"start {start} is after end {end}")
    trades, warnings, replayed = _rated_trades(
        transactions, target=target, rates=rates, end=end, account=account, method=name
    )
    matched = sweep_frame(trades, name)
    if replayed is not None:
        matched = pl.concat([matched, replayed])
    if start is not None:
        matched = matched.filter(pl.col("sold") >= start)
    rows = (
        matched.with_columns(proceeds=pl.col("sale_money") * pl.col("share"))
        .with_columns(
            quantity=round_qty(pl.col("units") * pl.col("to_row_units")),
            gain=pl.col("proceeds") - pl.col("cost"),
            fx_gain=pl.when(pl.col("currency") == target)
            .then(0.0)
            .otherwise(pl.col("cost_n") * pl.col("fx") - pl.col("cost")),
            term=pl.when(pl.col("acquired").is_null())
            .then(pl.lit(None, pl.String))
            .when(long_term())
            .then(pl.lit("long"))
            .otherwise(pl.lit("short")),
        )
        .select(ROW_FIELDS)
        .sort("sold", "sale_id", "account", "symbol", "acquired", "lot_id", nulls_last=True)
    )
    return Gains(
        rows=rows.cast(pl.Schema(ROW_SCHEMA)),
        cost_method=name,
        base_currency=target,
        account=account,
        start=start,
        end=end,
        warnings=warnings,
    )


def load_gains(
    db: str | os.PathLike[str] | None,
    *,
    method: str = "fifo",
    currency: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    account: str | None = None,
) -> Gains:
    """Read the store read-only (briefly), then compute :func:`realized_gains`.

    ``currency`` is the reporting currency (default ``WORKBENCH_BASE_CURRENCY``, else USD);
    rates come from the store, and from the bundled ECB history for pairs it lacks.

    Raises:
        WorkbenchError: an unknown account, and everything :func:`realized_gains` raises.
    """
    from workbench import store
    from workbench.analytics.report import check_account, reporting_currency, stored_rates

    target = reporting_currency(currency)
    with store.connect(db, read_only=True) as con:
        transactions = store.read_transactions(con, as_of=end)
        accounts = set(store.read_accounts(con)["name"].to_list())
        rates = stored_rates(con, transactions, target)
    check_account(account, accounts, transactions)
    return realized_gains(
        transactions, method=method, target=target, rates=rates, start=start, end=end,
        account=account,
    )  # fmt: skip
