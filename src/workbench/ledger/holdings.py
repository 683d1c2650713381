"""Refuse sells of more than is held, checked over whole frames (no loop per row).

Within each (account, symbol), rows apply in (date, existing before new, id or file line)
order. A split is an event of its symbol: it multiplies every account's holding by new/old,
and the same split (symbol, date, ratio) recorded in several accounts counts once, as in
``workbench.analytics``. To keep the check a cumulative sum, every quantity is expressed in
the units after the last split: a trade's signed quantity times ``after``, the product of the
factors of its symbol's split events that come after it (found with an as-of join, so split
rows never enter the running sums). The running sum per (account, symbol) is then the
holding in those units, and dividing by ``after`` gives the holding as it stood at that row.
Quantities are compared as floats with a tolerance of a millionth of a share.
"""

from __future__ import annotations

import polars as pl

TOLERANCE = 1e-6

#: apply order as one integer: date (days), then existing (0) before new (1), then id or line
_POSITION = (
    pl.col("date").to_physical().cast(pl.Int64) * (1 << 41)
    + pl.col("src").cast(pl.Int64) * (1 << 40)
    + pl.col("order").cast(pl.Int64)
).alias("pos")

#: one integer per (account, symbol), so groups and sorts never compare text
_PAIR = (
    pl.col("account").cast(pl.Categorical).to_physical().cast(pl.UInt64) * (1 << 32)
    + pl.col("symbol").cast(pl.Categorical).to_physical().cast(pl.UInt64)
).alias("_pair")


def oversold_rows(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Sells that would take a holding below zero.

    Args:
        existing: stored rows of the affected (account, symbol) pairs with account, symbol,
            date, id, type, quantity, ratio_new, ratio_old.
        new: rows being added with the same columns plus ``line`` (``id`` may be null). Only
            pairs with a new SELL, or whose symbol has a new split, are checked: buys alone
            never lower a holding.

    Returns:
        One row per violation: account, symbol, date, type, line (null for stored rows),
        id, held (the holding just before the row), quantity, first_new_line (the first new
        line that touches the pair: a trade of it or a split of its symbol).
    """
    columns = ["account", "symbol", "date", "type", "quantity", "ratio_new", "ratio_old"]
    rows = pl.concat(
        [
            existing.select(
                *columns,
                pl.col("id").alias("order"),
                pl.lit(0).alias("src"),
                pl.lit(None, dtype=pl.Int64).alias("line"),
                "id",
            ),
            new.select(
                *columns,
                pl.col("line").alias("order"),
                pl.lit(1).alias("src"),
                pl.col("line").cast(pl.Int64),
                pl.lit(None, dtype=pl.Int64).alias("id"),
            ),
        ],
        how="vertical_relaxed",
    ).with_columns(_POSITION)
    is_split = pl.col("type") == "SPLIT"
    events = _split_events(rows.filter(is_split))
    trades = rows.filter(pl.col("type").is_in(["BUY", "SELL"])).with_columns(_PAIR)
    if trades.is_empty():
        return _no_violations(trades)
    # pairs a new row can lower: a new SELL in the pair, or a new split of its symbol
    new_split_symbols = events.filter(pl.col("src") == 1)["symbol"].implode()
    lowering = trades.filter(
        ((pl.col("src") == 1) & (pl.col("type") == "SELL"))
        | pl.col("symbol").is_in(new_split_symbols)
    )["_pair"].unique()
    trades = trades.filter(pl.col("_pair").is_in(lowering.implode()))
    if not trades["pos"].is_sorted():
        trades = trades.sort("pos")
    qty = pl.col("quantity").cast(pl.Float64).fill_null(0.0)
    signed = pl.when(pl.col("type") == "BUY").then(qty).otherwise(-qty)
    # only trades of symbols with splits (few) need the as-of join; the rest have after = 1
    split_symbols = events["symbol"].unique().implode()
    in_split_symbol = pl.col("symbol").is_in(split_symbols)
    parts = [
        trades.lazy().filter(~in_split_symbol).with_columns(pl.lit(1.0).alias("after")),
        trades.lazy()
        .filter(in_split_symbol)
        .join_asof(
            events.lazy().select("symbol", "pos", "after"),
            on="pos",
            by="symbol",
            strategy="forward",
            check_sortedness=False,  # both sorted by pos above
        )
        .with_columns(pl.col("after").fill_null(1.0)),
    ]
    checked = (
        pl.concat(
            [
                part.with_columns(
                    ((signed * pl.col("after")).cum_sum().over("_pair") / pl.col("after")).alias(
                        "held_after"
                    )
                ).filter((pl.col("type") == "SELL") & (pl.col("held_after") < -TOLERANCE))
                for part in parts
            ]
        )
        .collect(engine="in-memory")
        .sort(["account", "symbol", "pos"])
    )
    if checked.is_empty():
        return _no_violations(checked)
    first_new = (
        pl.concat(
            [
                trades.filter(pl.col("src") == 1)
                .join(checked.select("_pair").unique(), on="_pair", how="semi")
                .select("_pair", "line"),
                checked.select("_pair", "symbol")
                .unique()
                .join(events.filter(pl.col("src") == 1), on="symbol")
                .select("_pair", "line"),
            ]
        )
        .group_by("_pair")
        .agg(pl.col("line").min().alias("first_new_line"))
    )
    return checked.join(first_new, on="_pair", how="left", maintain_order="left").select(
        "account", "symbol", "date", "type", "line", "id",
        (pl.col("held_after") + qty).alias("held"), qty.alias("quantity"), "first_new_line",
    )  # fmt: skip


def _split_events(splits: pl.DataFrame) -> pl.DataFrame:
    """Distinct split events (symbol, date, ratio) where each was first recorded in apply
    order, sorted by position, with ``after``: the product of the factors of that event and
    every later event of its symbol."""
    factor = pl.col("ratio_new").cast(pl.Float64) / pl.col("ratio_old").cast(pl.Float64)
    return (
        splits.sort("pos")
        .unique(["symbol", "date", "ratio_new", "ratio_old"], keep="first", maintain_order=True)
        .with_columns(factor.cum_prod(reverse=True).over("symbol").alias("after"))
    )


def _no_violations(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.head(0).select("account", "symbol", "date", "type", "line", "id")
