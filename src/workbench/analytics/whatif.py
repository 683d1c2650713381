""" "What if I sold N shares today": the lots each cost method would consume, side by side.

No second lot engine: the preview appends a hypothetical ``SELL`` of N shares to the ledger
(dated ``as_of``, after every stored row of that day) and runs the realized-gains machinery of
:mod:`workbench.analytics.gains` once per cost method. A second hypothetical sale of whatever
would still be held, at the same price and without a fee, measures what would remain: its
cost is the open basis left (in the reporting currency, at each lot's buy-date rate) and its
gain the unrealized gain left at that price. So the preview agrees with ``workbench gains``
and the report by construction, splits, fees and FX parts included.

    >>> preview = sale_preview(tx, prices, symbol="ACME", quantity=10, account="taxable",
    ...                        as_of=date(2025, 6, 30))
    >>> preview.summary.select("method", "gain", "short_term", "long_term")
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.analytics._frames import EPS
from workbench.analytics.gains import realized_gains
from workbench.analytics.lots import COST_METHODS
from workbench.analytics.positions import valued_positions
from workbench.errors import OversoldError, WorkbenchError

#: one row per (method, lot the sale would consume)
LOT_FIELDS = ["method", "acquired", "quantity", "proceeds", "cost", "gain", "fx_gain", "term",
              "lot_id"]  # fmt: skip
#: one row per method
SUMMARY_FIELDS = ["method", "proceeds", "cost", "gain", "short_term", "long_term", "unassigned",
                  "fx_gain", "remaining_quantity", "remaining_basis", "remaining_gain"]  # fmt: skip
#: the summary's money columns (in ``base_currency``), for an app's table
MONEY_FIELDS = [f for f in SUMMARY_FIELDS if f not in ("method", "remaining_quantity")]


@dataclass(frozen=True)
class SalePreview:
    """A hypothetical sale priced under each cost method.

    ``lots``: method, acquired, quantity, proceeds, cost, gain, fx_gain, term, lot_id (AVERAGE
    has one row with ``acquired`` and ``term`` null). ``summary``: per method the proceeds,
    cost and gain, the gain split by term (``unassigned`` for AVERAGE's pooled lots), its FX
    part, and what would remain: quantity, open basis and unrealized gain at ``price``.
    Money is in ``base_currency``; ``price`` is per share in the instrument's ``currency``.
    """

    account: str
    symbol: str
    currency: str
    quantity: float
    held: float
    price: float
    price_date: dt.date | None
    price_source: str
    fee: float
    as_of: dt.date
    base_currency: str
    lots: pl.DataFrame
    summary: pl.DataFrame
    warnings: list[str] = field(default_factory=list)

    def gain_by_term(self) -> pl.DataFrame:
        """method, term, gain: the summary in long form (for a stacked chart), zero terms
        left out."""
        return (
            self.summary.select("method", "short_term", "long_term", "unassigned")
            .unpivot(
                index="method",
                on=["short_term", "long_term", "unassigned"],
                variable_name="term",
                value_name="gain",
            )
            .with_columns(pl.col("term").str.replace("_term", ""))
            .filter(pl.col("gain").abs() > EPS)
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``workbench gains --what-if ... --json`` document."""

        def money(row: dict[str, Any]) -> dict[str, Any]:
            return {k: round(v, 8) if isinstance(v, float) else v for k, v in row.items()}

        lots = [
            money({**r, "acquired": r["acquired"].isoformat() if r["acquired"] else None})
            for r in self.lots.iter_rows(named=True)
        ]
        return {
            "account": self.account,
            "symbol": self.symbol,
            "currency": self.currency,
            "quantity": self.quantity,
            "held": self.held,
            "price": self.price,
            "price_date": self.price_date.isoformat() if self.price_date else None,
            "price_source": self.price_source,
            "fee": self.fee,
            "as_of": self.as_of.isoformat(),
            "base_currency": self.base_currency,
            "methods": [money(r) for r in self.summary.iter_rows(named=True)],
            "lots": lots,
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """The comparison table, then each method's lots."""
        from workbench.analytics.report import fmt_num, text_table

        since = f" ({self.price_source} of {self.price_date})" if self.price_date else ""
        out = [
            f"What if {self.account} sold {self.quantity:g} of {self.held:g} {self.symbol} on"
            f" {self.as_of} at {fmt_num(self.price, 4)} {self.currency}{since}"
            + (f", fee {fmt_num(self.fee)}" if self.fee else "")
            + f" (amounts in {self.base_currency})",
            "",
        ]
        headers = ["method", "proceeds", "cost", "gain", "short", "long", "unassigned",
                   "of it FX", "left qty", "left basis", "left unrealized"]  # fmt: skip
        rows = [
            [r["method"], *(fmt_num(r[k]) for k in SUMMARY_FIELDS[1:8]),
             fmt_num(r["remaining_quantity"], 4), fmt_num(r["remaining_basis"]),
             fmt_num(r["remaining_gain"])]
            for r in self.summary.iter_rows(named=True)
        ]  # fmt: skip
        out += text_table(headers, rows)
        for method in self.summary["method"].to_list():
            part = self.lots.filter(pl.col("method") == method)
            out += ["", f"{method}: lots sold"]
            out += text_table(
                ["acquired", "quantity", "proceeds", "cost", "gain", "of it FX", "term"],
                [
                    [r["acquired"].isoformat() if r["acquired"] else "various",
                     fmt_num(r["quantity"], 4), fmt_num(r["proceeds"]), fmt_num(r["cost"]),
                     fmt_num(r["gain"]), fmt_num(r["fx_gain"]), r["term"] or "-"]
                    for r in part.iter_rows(named=True)
                ],
            )  # fmt: skip
        if self.warnings:
            out += ["", "Warnings", *(f"  {w}" for w in self.warnings)]
        return "\n".join(out)


def _position(
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    symbol: str,
    account: str | None,
    as_of: dt.date,
) -> dict[str, Any]:
    """The open position sold from: account, quantity, price, price_date, price_source."""
    held = valued_positions(transactions, prices, as_of=as_of, account=account).filter(
        (pl.col("symbol") == symbol) & (pl.col("quantity") > EPS)
    )
    where = f"account {account!r}" if account else "any account"
    if held.is_empty():
        raise WorkbenchError(f"no open position in {symbol!r} in {where} on {as_of}")
    if held.height > 1:
        names = ", ".join(held["account"].to_list())
        raise WorkbenchError(f"{symbol} is held in several accounts ({names}): name one")
    return held.row(0, named=True)


def _latest_quote(
    quotes: pl.DataFrame | None, symbol: str, currency: str, after: dt.date | None, day: dt.date
) -> tuple[float, dt.date] | None:
    """A stored quote in ``currency`` dated after ``after`` and on or before ``day``."""
    if quotes is None or quotes.is_empty():
        return None
    found = quotes.filter(
        (pl.col("symbol") == symbol)
        & (pl.col("currency").is_null() | (pl.col("currency") == currency))
        & pl.col("price").is_not_null()
    ).with_columns(day=pl.col("quote_time").dt.date())
    found = found.filter(pl.col("day") <= day)
    if after is not None:
        found = found.filter(pl.col("day") > after)
    if found.is_empty():
        return None
    best = found.sort("quote_time").row(-1, named=True)
    return float(best["price"]), best["day"]


def _hypothetical(
    transactions: pl.DataFrame, sales: list[tuple[float, float]], **values: Any
) -> tuple[pl.DataFrame, list[int]]:
    """``transactions`` with one SELL row per (quantity, fee), dated and keyed by ``values``,
    ids after every stored row; returns the ledger and the new ids."""
    top = transactions["id"].max() if transactions.height else None
    first = (top if isinstance(top, int) else 0) + 1
    ids = list(range(first, first + len(sales)))
    rows = [
        {**{c: None for c in transactions.columns}, **values, "id": i, "type": "SELL",
         "quantity": q, "fee": f}
        for i, (q, f) in zip(ids, sales, strict=True)
    ]  # fmt: skip
    extra = pl.DataFrame(
        rows,
        schema={c: (pl.Float64 if d.is_decimal() else d) for c, d in transactions.schema.items()},
    ).cast(transactions.schema)
    return pl.concat([transactions, extra], how="vertical"), ids


def sale_preview(
    transactions: pl.DataFrame,
    prices: pl.DataFrame | None = None,
    *,
    symbol: str,
    quantity: float,
    account: str | None = None,
    price: float | None = None,
    fee: float = 0.0,
    as_of: dt.date | None = None,
    target: str = "USD",
    rates: pl.DataFrame | None = None,
    quotes: pl.DataFrame | None = None,
) -> SalePreview:
    """What selling ``quantity`` of ``symbol`` on ``as_of`` (default today) would realize,
    under each cost method.

    ``price`` (per share, in the instrument's currency) defaults to a stored quote dated after
    the last close (``quotes``: symbol, price, currency, quote_time), else the last close on or
    before ``as_of`` (``prices``: symbol, date, close), else the last trade price. ``account``
    may be left out when one account holds the symbol.

    Raises:
        OversoldError: ``quantity`` is more than the account holds on ``as_of``.
        WorkbenchError: a quantity, price or fee that is not positive (fee: negative), no open
            position, a symbol held in several accounts without ``account``.
        MissingRate: the instrument's currency has no rate to ``target``.
    """
    if not 0 < quantity < math.inf:
        raise WorkbenchError(f"quantity to sell must be a positive number, not {quantity:g}")
    if price is not None and not 0 < price < math.inf:
        raise WorkbenchError(f"price must be a positive number, not {price:g}")
    if not 0 <= fee < math.inf:
        raise WorkbenchError(f"fee must be a number, not negative: not {fee:g}")
    day = as_of or dt.date.today()
    closes = (
        prices.filter(pl.col("symbol") == symbol)  # only this symbol is valued
        if prices is not None
        else pl.DataFrame(schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64})
    )
    pos = _position(transactions, closes, symbol=symbol, account=account, as_of=day)
    name, held = str(pos["account"]), float(pos["quantity"])
    if quantity - held > EPS:
        raise OversoldError(
            f"cannot sell {quantity:g} {symbol} from account {name!r}: it holds {held:g} on {day}"
        )
    currency = (
        transactions.filter(
            (pl.col("account") == name)
            & (pl.col("symbol") == symbol)
            & pl.col("type").is_in(["BUY", "SELL"])
            & (pl.col("date") <= day)
        )["currency"]
        .drop_nulls()
        .tail(1)
        .to_list()
        or [target]
    )[0]
    price_date, source = pos["price_date"], str(pos["price_source"])
    if price is None:
        quoted = _latest_quote(quotes, symbol, currency, price_date, day)
        if quoted is not None:
            price, price_date, source = quoted[0], quoted[1], "quote"
        elif pos["price"] is None:
            raise WorkbenchError(f"no stored price for {symbol} on or before {day}: give one")
        else:
            price = float(pos["price"])
    else:
        price_date, source = None, "given"
    left = round(held - quantity, 8)
    sales = [(quantity, fee)] + ([(left, 0.0)] if left > EPS else [])
    ledger, ids = _hypothetical(
        transactions, sales, date=day, account=name, symbol=symbol, price=price, currency=currency
    )
    lots, summary, warnings = [], [], []
    for method in COST_METHODS:
        gains = realized_gains(
            ledger, method=method, target=target, rates=rates, start=day, end=day, account=name
        )
        warnings = gains.warnings
        sold = gains.rows.filter(pl.col("sale_id") == ids[0])
        rest = gains.rows.filter(pl.col("sale_id") == ids[-1]) if len(ids) > 1 else None
        lots.append(sold.select(LOT_FIELDS[1:]).with_columns(method=pl.lit(method)))
        by_term = dict(sold.group_by("term").agg(pl.col("gain").sum()).iter_rows())
        summary.append({
            "method": method,
            **{k: float(sold[k].sum()) for k in ("proceeds", "cost", "gain", "fx_gain")},
            "short_term": float(by_term.get("short", 0.0)),
            "long_term": float(by_term.get("long", 0.0)),
            "unassigned": float(by_term.get(None, 0.0)),
            "remaining_quantity": left if left > EPS else 0.0,
            "remaining_basis": float(rest["cost"].sum()) if rest is not None else 0.0,
            "remaining_gain": float(rest["gain"].sum()) if rest is not None else 0.0,
        })  # fmt: skip
    return SalePreview(
        account=name, symbol=symbol, currency=currency, quantity=quantity, held=held,
        price=float(price), price_date=price_date, price_source=source, fee=fee, as_of=day,
        base_currency=target, lots=pl.concat(lots).select(LOT_FIELDS),
        summary=pl.DataFrame(summary).select(SUMMARY_FIELDS), warnings=warnings,
    )  # fmt: skip


def load_sale_preview(
    db: str | os.PathLike[str] | None,
    *,
    symbol: str,
    quantity: float,
    account: str | None = None,
    price: float | None = None,
    fee: float = 0.0,
    as_of: dt.date | None = None,
    currency: str | None = None,
) -> SalePreview:
    """Read the store read-only (briefly), then :func:`sale_preview`.

    ``currency`` is the reporting currency (default ``WORKBENCH_BASE_CURRENCY``, else USD);
    rates come from the store, and from the bundled ECB history for pairs it lacks.

    Raises:
        WorkbenchError: an unknown account, and everything :func:`sale_preview` raises.
    """
    from workbench import store
    from workbench.analytics.report import check_account, reporting_currency, stored_rates

    day = as_of or dt.date.today()
    target = reporting_currency(currency)
    with store.connect(db, read_only=True) as con:
        transactions = store.read_transactions(con, as_of=day)
        prices = store.read_prices(con, symbols=[symbol], end=day)
        quotes = store.read_latest_quotes(con)
        accounts = set(store.read_accounts(con)["name"].to_list())
        # every currency of the ledger: the sweep converts all of the account's trades
        rates = stored_rates(con, transactions, target)
    check_account(account, accounts, transactions)
    return sale_preview(
        transactions, prices, symbol=symbol, quantity=quantity, account=account, price=price,
        fee=fee, as_of=day, target=target, rates=rates, quotes=quotes,
    )  # fmt: skip


def load_holdings(
    db: str | os.PathLike[str] | None, *, account: str | None = None, as_of: dt.date | None = None
) -> pl.DataFrame:
    """account, symbol, quantity, label: the open positions a sale could come from, on
    ``as_of`` (default today), by account and symbol; ``label`` is ``"account · symbol
    (quantity)"`` for a picker."""
    from workbench import store
    from workbench.analytics.positions import positions

    day = as_of or dt.date.today()
    with store.connect(db, read_only=True) as con:
        transactions = store.read_transactions(con, as_of=day)
    held = positions(transactions, as_of=day, account=account).filter(pl.col("quantity") > EPS)
    held = held.sort("account", "symbol")
    labels = [f"{a} · {s} ({q:,.8g})" for a, s, q in held.iter_rows()]
    return held.with_columns(label=pl.Series(labels, dtype=pl.String))


def parse_price(text: str) -> float | None:
    """A price typed into a form: blank is None (use the latest close), else a positive
    finite number (``1,234.5`` reads as 1234.5).

    Raises:
        WorkbenchError: anything else, quoting what was typed.
    """
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise WorkbenchError(f"not a price: {text.strip()[:40]!r} (a positive number, or blank)")
    return value
