"""Positions: quantities per (account, symbol), their marks, market value and P&L.

Valuation on a date uses each symbol's last close on or before that date (DESIGN section 3),
adjusted for any split between that close and the date (prices are stored unadjusted). A
symbol with no stored close on or before the date is marked at its last BUY/SELL price, so a
ledger without price history still values; ``price_source`` says which was used.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.analytics._frames import (
    ACTIONS,
    TRADES,
    has_actions,
    later_split_factor,
    prepare,
    round_qty,
    split_events,
)
from workbench.analytics.lots import GROUP, pnl_from_prepared

_MARK_SCHEMA = {
    "symbol": pl.String, "price": pl.Float64, "price_date": pl.Date, "price_source": pl.String,
}  # fmt: skip


def positions(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Open quantity per (account, symbol) after splits, sorted; zero positions are dropped.

    The fast path for large ledgers: one pass and a group-by, with split factors as
    expressions (no sort) when the ledger has few splits.

        >>> positions(read_transactions(con), as_of=date(2024, 12, 31))
    """
    lf = transactions.lazy()
    if as_of is not None:
        lf = lf.filter(pl.col("date") <= as_of)
    # split rows are the only ones with a ratio: a cheap null check finds them
    raw_splits = (
        lf.filter(pl.col("ratio_new").is_not_null())
        .filter(pl.col("type") == "SPLIT")
        .select("id", "date", "symbol", "ratio_new", "ratio_old")
        .collect()
        .with_columns(pl.col("ratio_new", "ratio_old").cast(pl.Float64))
        .sort("date", "id")
        .with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64), type=pl.lit("SPLIT"))
    )
    later = later_split_factor(split_events(raw_splits))
    if later is None or has_actions(transactions):  # many splits or corporate actions
        tx, _ = prepare(transactions, as_of=as_of, account=account)
        return pnl_from_prepared(tx).filter(pl.col("quantity") != 0).select(*GROUP, "quantity")
    if account is not None:
        lf = lf.filter(pl.col("account") == account)
    qty = pl.col("quantity").cast(pl.Float64)
    kind = pl.col("type")
    # no row filter: filtering would copy the string key columns; other rows add 0 instead
    signed = pl.when(kind == "BUY").then(qty).when(kind == "SELL").then(-qty).otherwise(0.0)
    if not raw_splits.is_empty():
        signed = signed * later
    return (
        lf.group_by(GROUP)
        .agg(quantity=round_qty(signed.sum()))
        .filter(pl.col("quantity") != 0)
        .sort(GROUP)
        .collect()
    )


def marks(
    tx: pl.DataFrame,
    splits: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    as_of: dt.date,
) -> pl.DataFrame:
    """Price per end unit of every traded symbol on ``as_of``: symbol, price, price_date, price_source.

    ``tx`` and ``splits`` come from ``prepare``; ``prices`` has symbol, date, close.
    """
    symbols = tx.filter(pl.col("type").is_in(TRADES)).select("symbol").unique()
    if has_actions(tx):  # the symbols corporate actions bring shares of
        actions = tx.filter(pl.col("type").is_in(ACTIONS))
        targets = actions.filter(pl.col("target").is_not_null()).select(symbol="target")
        symbols = pl.concat([symbols, actions.select("symbol"), targets]).unique()
    if symbols.is_empty():
        return pl.DataFrame(schema=_MARK_SCHEMA)
    closes = (
        prices.lazy()
        .filter(pl.col("date") <= as_of)
        .select("symbol", "date", pl.col("close").cast(pl.Float64))
        .join(symbols.lazy(), on="symbol", how="semi")
        .group_by("symbol")
        .agg(pl.all().sort_by("date").last())
        .collect()
    )
    trades = (
        tx.filter(pl.col("type").is_in(TRADES) & pl.col("price").is_not_null())
        .group_by("symbol")
        .agg(pl.all().sort_by("seq").last())
        .select("symbol", "date", trade_price=pl.col("price") * pl.col("cum") / pl.col("final"))
    )
    out = (
        symbols.join(closes, on="symbol", how="left")
        .join(trades, on="symbol", how="left", suffix="_trade")
        .with_columns(
            price_source=pl.when(pl.col("close").is_not_null())
            .then(pl.lit("close"))
            .otherwise(pl.lit("trade")),
            price_date=pl.coalesce("date", "date_trade"),
        )
    )
    # a close taken before a later split (a gap in the history) is in pre-split shares
    later = (
        out.filter(pl.col("price_source") == "close")
        .select("symbol", "price_date")
        .join(splits.select("symbol", split_date="date", factor="factor"), on="symbol")
        .filter(pl.col("split_date") > pl.col("price_date"))
        .group_by("symbol")
        .agg(after=pl.col("factor").product())
    )
    return (
        out.join(later, on="symbol", how="left")
        .select(
            "symbol",
            price=pl.coalesce(pl.col("close") / pl.col("after").fill_null(1.0), "trade_price"),
            price_date="price_date",
            price_source="price_source",
        )
        .sort("symbol")
    )


def value_positions(pnl: pl.DataFrame, mark_frame: pl.DataFrame) -> pl.DataFrame:
    """Add price, market_value and unrealized_pnl to a :func:`position_pnl` frame."""
    return (
        pnl.join(mark_frame, on="symbol", how="left", maintain_order="left")
        .with_columns(
            market_value=pl.when(pl.col("quantity") == 0)
            .then(0.0)
            .otherwise(pl.col("quantity") * pl.col("price"))
        )
        .with_columns(unrealized_pnl=pl.col("market_value") - pl.col("cost_basis"))
    )


def valued_positions(
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
    method: str = "fifo",
) -> pl.DataFrame:
    """Every (account, symbol) with quantity, cost basis, P&L, price and market value on ``as_of``.

    ``as_of`` defaults to the latest transaction or price date. Columns: account, symbol,
    quantity, cost_basis, price, price_date, price_source, market_value, unrealized_pnl,
    realized_pnl, dividends, bought_cost, proceeds, trade_fees.

        >>> valued_positions(read_transactions(con), read_prices(con), method="fifo")
    """
    day = as_of or latest_date(transactions, prices)
    tx, splits = prepare(transactions, as_of=day, account=account)
    pnl = pnl_from_prepared(tx, method=method)
    valued = value_positions(pnl, marks(tx, splits, prices, as_of=day))
    return valued.select(
        *GROUP, "quantity", "cost_basis", "price", "price_date", "price_source",
        "market_value", "unrealized_pnl", "realized_pnl", "dividends",
        "bought_cost", "proceeds", "trade_fees",
    )  # fmt: skip


def latest_date(transactions: pl.DataFrame, prices: pl.DataFrame) -> dt.date:
    """The latest transaction or price date (today when both are empty)."""
    days = [
        frame["date"].max()
        for frame in (transactions, prices)
        if "date" in frame.columns and not frame.is_empty()
    ]
    found = [d for d in days if isinstance(d, dt.date)]
    return max(found) if found else dt.date.today()
