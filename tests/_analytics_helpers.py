"""Test helpers for the analytics: ledger frames, a tiny store writer, and a reference lot engine.

The reference engine is a deliberately plain, row-by-row implementation of each cost method
(a list of lots consumed in the method's order); the vectorized code is checked against it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from workbench import store

MONEY = pl.Decimal(18, 8)
TX_COLUMNS = [
    "id", "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
    "currency", "ratio_new", "ratio_old", "note",
]  # fmt: skip
_MONEY_COLUMNS = ["quantity", "price", "fee", "amount", "ratio_new", "ratio_old"]


def row(
    day: dt.date | str,
    kind: str,
    symbol: str | None = None,
    quantity: float | None = None,
    price: float | None = None,
    *,
    fee: float = 0.0,
    amount: float | None = None,
    account: str = "default",
    ratio: tuple[float, float] | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """One ledger row as the store keeps it (id assigned by :func:`ledger`)."""
    return {
        "date": dt.date.fromisoformat(day) if isinstance(day, str) else day,
        "account": account,
        "type": kind.upper(),
        "symbol": symbol,
        "quantity": quantity,
        "price": price,
        "fee": fee,
        "amount": amount,
        "currency": currency,
        "ratio_new": ratio[0] if ratio else None,
        "ratio_old": ratio[1] if ratio else None,
        "note": None,
    }


def ledger(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A transactions frame shaped like ``store.read_transactions``: ids in file order, Decimal money."""
    items = [{"id": i + 1, **r} for i, r in enumerate(rows)]
    frame = pl.DataFrame(
        items,
        schema={
            "id": pl.Int64, "date": pl.Date, "account": pl.String, "type": pl.String,
            "symbol": pl.String, "quantity": pl.Float64, "price": pl.Float64, "fee": pl.Float64,
            "amount": pl.Float64, "currency": pl.String, "ratio_new": pl.Float64,
            "ratio_old": pl.Float64, "note": pl.String,
        },
    )  # fmt: skip
    return frame.with_columns(pl.col(_MONEY_COLUMNS).cast(MONEY)).sort("date", "id")


def price_frame(points: Sequence[tuple[str, dt.date | str, float]]) -> pl.DataFrame:
    """Daily closes (symbol, date, close) shaped like ``store.read_prices``."""
    return pl.DataFrame(
        {
            "symbol": [p[0] for p in points],
            "date": [
                dt.date.fromisoformat(p[1]) if isinstance(p[1], str) else p[1] for p in points
            ],
            "close": [p[2] for p in points],
        },
        schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64},
    ).with_columns(pl.col("close").cast(MONEY))


def eur_usd_rates(points: Sequence[tuple[str, float]]) -> pl.DataFrame:
    """EUR->USD reference rates, ``(ISO date, rate)`` each (1 EUR = rate USD)."""
    return pl.DataFrame(
        {
            "date": [dt.date.fromisoformat(d) for d, _ in points],
            "base": "EUR",
            "quote": "USD",
            "rate": [r for _, r in points],
            "source": "test",
        }
    )


def write_store(path: Path, transactions: pl.DataFrame, prices: pl.DataFrame | None = None) -> Path:
    """Create a real DuckDB store at ``path`` and insert the ledger and prices directly."""
    with store.connect(path) as con:
        values = [c for c in transactions.columns if c != "id"]
        staged = transactions.with_columns(  # 1, 2, ... among identical rows, as an import
            occurrence=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(values)
        )
        con.register("_t", staged)
        con.execute(
            "INSERT INTO transactions (id, date, account, type, symbol, quantity, price, fee,"
            " amount, currency, ratio_new, ratio_old, note, occurrence)"
            " SELECT id, date, account, type, symbol, quantity, price, fee, amount, currency,"
            " ratio_new, ratio_old, note, occurrence FROM _t"
        )
        con.unregister("_t")
        con.execute(
            "INSERT INTO accounts (name, currency) SELECT DISTINCT account, 'USD' FROM transactions"
            " ON CONFLICT DO NOTHING"
        )
        symbols = transactions["symbol"].drop_nulls().unique().to_list()
        if symbols:
            store.upsert_instruments(
                con, pl.DataFrame({"symbol": symbols, "currency": ["USD"] * len(symbols)})
            )
        if prices is not None and not prices.is_empty():
            store.upsert_prices(
                con,
                prices.with_columns(
                    pl.col("close").cast(pl.Float64),
                    provider=pl.lit("test"),
                    fetched_at=pl.lit(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
                ),
            )
    return path


# ---------------------------------------------------------------- reference lot engine


def reference_lots(
    transactions: pl.DataFrame, method: str
) -> dict[tuple[str, str], dict[str, float]]:
    """Row-by-row cost basis per (account, symbol): quantity, cost_basis, realized_pnl.

    Lots are [quantity, unit_cost, seq]; splits multiply quantities and divide unit costs of
    every account's lots of the symbol (one split per (symbol, date, ratio)).
    """
    book: dict[tuple[str, str], list[list[float]]] = {}
    realized: dict[tuple[str, str], float] = {}
    applied: set[tuple[str, dt.date, float]] = set()
    rows = transactions.sort("date", "id").iter_rows(named=True)
    for seq, r in enumerate(rows):
        kind = r["type"]
        q = float(r["quantity"] or 0)
        p = float(r["price"] or 0)
        fee = float(r["fee"] or 0)
        key = (r["account"], r["symbol"])
        if kind == "SPLIT":
            factor = float(r["ratio_new"]) / float(r["ratio_old"])
            ident = (r["symbol"], r["date"], factor)
            if ident in applied:
                continue
            applied.add(ident)
            for (_account, sym), lots in book.items():
                if sym == r["symbol"]:
                    for lot in lots:
                        lot[0] *= factor
                        lot[1] /= factor
            continue
        if kind == "BUY":
            book.setdefault(key, []).append([q, (q * p + fee) / q, seq])
            realized.setdefault(key, 0.0)
        elif kind == "SELL":
            lots = book.setdefault(key, [])
            cost = 0.0
            if method == "average":
                held = sum(lot[0] for lot in lots)
                basis = sum(lot[0] * lot[1] for lot in lots)
                cost = basis * q / held
                keep = (held - q) / held
                for lot in lots:
                    lot[0] *= keep
            else:
                if method == "fifo":
                    order = sorted(lots, key=lambda lot: lot[2])
                elif method == "lifo":
                    order = sorted(lots, key=lambda lot: -lot[2])
                else:  # hifo: highest unit cost first, older first on ties
                    order = sorted(lots, key=lambda lot: (-lot[1], lot[2]))
                left = q
                for lot in order:
                    take = min(lot[0], left)
                    lot[0] -= take
                    cost += take * lot[1]
                    left -= take
                    if left <= 1e-12:
                        break
            book[key] = [lot for lot in lots if lot[0] > 1e-9]
            realized[key] = realized.get(key, 0.0) + (q * p - fee) - cost
    out: dict[tuple[str, str], dict[str, float]] = {}
    for key, lots in book.items():
        out[key] = {
            "quantity": sum(lot[0] for lot in lots),
            "cost_basis": sum(lot[0] * lot[1] for lot in lots),
            "realized_pnl": realized.get(key, 0.0),
        }
    return out


def as_decimal(value: float) -> Decimal:
    """A float as the store's 8-decimal money."""
    return Decimal(str(round(value, 8)))
