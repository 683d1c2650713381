"""Ledgers with corporate actions for the tests: rows with ``target`` and ``cost_fraction``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import polars as pl
from _analytics_helpers import ledger, row

MONEY = pl.Decimal(18, 8)


def act(
    day: dt.date | str,
    kind: str,
    symbol: str,
    *,
    target: str | None = None,
    quantity: float | None = None,
    price: float | None = None,
    amount: float | None = None,
    ratio: tuple[float, float] | None = None,
    cost_fraction: float | None = None,
    account: str = "default",
    currency: str = "USD",
) -> dict[str, Any]:
    """One corporate-action row as the store keeps it."""
    return row(
        day, kind, symbol, quantity, price, amount=amount, account=account, ratio=ratio,
        currency=currency,
    ) | {"target": target, "cost_fraction": cost_fraction}  # fmt: skip


def corp_ledger(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A transactions frame like ``store.read_transactions``, with the corporate columns."""
    items = [{"target": None, "cost_fraction": None} | r for r in rows]
    extra = pl.DataFrame(
        [{k: r[k] for k in ("target", "cost_fraction")} for r in items],
        schema={"target": pl.String, "cost_fraction": pl.Float64},
        orient="row",
    )
    base = ledger([{k: v for k, v in r.items() if k not in ("target", "cost_fraction")}
                   for r in items])  # fmt: skip
    # ledger() sorts by (date, id): ids are in row order, so the extra columns follow by id
    extra = extra.with_columns(id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    return base.join(extra, on="id", how="left", maintain_order="left").with_columns(
        pl.col("cost_fraction").cast(MONEY)
    )


#: three lots of X, then a sale of 5 on 2023-09-01 at 140 (README's worked examples):
#: lot 1 2023-01-02 10 @ 100, lot 2 2023-06-01 10 @ 130, lot 3 2023-07-01 10 @ 110
BASE = [
    row("2023-01-01", "DEPOSIT", amount=5000.0),
    row("2023-01-02", "BUY", "X", 10, 100.0),
    row("2023-06-01", "BUY", "X", 10, 130.0),
    row("2023-07-01", "BUY", "X", 10, 110.0),
    row("2023-09-01", "SELL", "X", 5, 140.0),
]
