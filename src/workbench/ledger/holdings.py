"""Refuse sells of more than is held, checked over whole frames (no loop per row).

Within each (account, symbol), rows apply in (date, existing before new, id or file line)
order. A split is an event of its symbol: it multiplies every account's holding by new/old,
and the same split (symbol, date, ratio) recorded in several accounts counts once, as in
``workbench.analytics``. To keep the check a cumulative sum, every
quantity is expressed in the units after the last split: a row's signed quantity times the
product of the split factors that come after it. The running sum is then the holding in those
units, and dividing by the same product gives the holding as it stood at that row.
Quantities are compared as floats with a tolerance of a millionth of a share.
"""

from __future__ import annotations

import polars as pl

TOLERANCE = 1e-6


def oversold_rows(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Sells (and later rows) that would take a holding below zero.

    Args:
        existing: stored rows of the affected (account, symbol) pairs with account, symbol,
            date, id, type, quantity, ratio_new, ratio_old.
        new: rows being added with the same columns plus ``line`` (``id`` may be null). Only
            pairs with a new SELL or SPLIT are checked: buys alone never lower a holding.

    Returns:
        One row per violation: account, symbol, date, type, line (null for stored rows),
        id, held (the holding just before the row), quantity, first_new_line.
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
    ).filter(pl.col("type").is_in(["BUY", "SELL", "SPLIT"]))
    if rows.is_empty():
        return rows.head(0)
    rows = _splits_for_every_holder(rows)
    key = ["account", "symbol"]
    # Group by one integer per (account, symbol) and sort only by the integer apply order:
    # sorting a million rows by two text keys cost more than the rest of the check. Window
    # expressions keep each group's rows in frame order, so after this sort every running
    # product and sum below runs in (date, existing before new, id or line) order.
    pair = (
        pl.col("account").cast(pl.Categorical).to_physical().cast(pl.UInt64) * (1 << 32)
        + pl.col("symbol").cast(pl.Categorical).to_physical().cast(pl.UInt64)
    ).alias("_pair")
    rows = rows.with_columns(pair)
    lowering = rows.filter((pl.col("src") == 1) & (pl.col("type") != "BUY"))["_pair"].unique()
    rows = rows.filter(pl.col("_pair").is_in(lowering.implode()))
    if not _in_apply_order(rows):
        rows = rows.sort(["date", "src", "order"], maintain_order=True)
    qty = pl.col("quantity").cast(pl.Float64).fill_null(0.0)
    factor = (
        pl.when(pl.col("type") == "SPLIT")
        .then(pl.col("ratio_new").cast(pl.Float64) / pl.col("ratio_old").cast(pl.Float64))
        .otherwise(1.0)
    )
    signed = (
        pl.when(pl.col("type") == "BUY").then(qty)
        .when(pl.col("type") == "SELL").then(-qty)
        .otherwise(0.0)
    )  # fmt: skip
    # the reverse product of split factors only matters in pairs with a split (few), so the
    # other pairs skip that window
    split_pairs = rows.filter(pl.col("type") == "SPLIT")["_pair"].unique().implode()
    in_split_pair = pl.col("_pair").is_in(split_pairs)
    after = pl.col("factor").cum_prod(reverse=True).over("_pair") / pl.col("factor")
    parts = [
        rows.lazy().filter(~in_split_pair).with_columns(pl.lit(1.0).alias("after")),
        rows.lazy()
        .filter(in_split_pair)
        .with_columns(factor.alias("factor"))
        .with_columns(after.alias("after")),
    ]
    checked = (
        pl.concat(
            [
                part.with_columns(signed.alias("signed"))
                .with_columns(
                    (pl.col("signed") * pl.col("after")).cum_sum().over("_pair").alias("cum")
                )
                .with_columns((pl.col("cum") / pl.col("after")).alias("held_after"))
                .filter((pl.col("type") == "SELL") & (pl.col("held_after") < -TOLERANCE))
                .select(*rows.columns, "held_after")
                for part in parts
            ]
        )
        .collect(engine="in-memory")
        .sort([*key, "date", "src", "order"], maintain_order=True)
    )
    if checked.is_empty():
        return checked.select(*key, "date", "type", "line", "id")
    first_new = (
        rows.join(checked.select("_pair").unique(), on="_pair", how="semi")
        .group_by("_pair")
        .agg(pl.col("line").min().alias("first_new_line"))
    )
    return checked.join(first_new, on="_pair", how="left", maintain_order="left").select(
        *key, "date", "type", "line", "id",
        (pl.col("held_after") + qty).alias("held"), qty.alias("quantity"), "first_new_line",
    )  # fmt: skip


def _splits_for_every_holder(rows: pl.DataFrame) -> pl.DataFrame:
    """Replace SPLIT rows by one copy of each distinct split event per holder of the symbol.

    An event sits where it was first recorded in apply order; copies keep that row's date,
    order, line and id, so a violation caused by a new split in another account still
    names the split's line.
    """
    is_split = pl.col("type") == "SPLIT"
    if not rows.select(is_split.any()).item():
        return rows
    events = (
        rows.filter(is_split)
        .sort(["date", "src", "order"], maintain_order=True)
        .unique(["symbol", "date", "ratio_new", "ratio_old"], keep="first", maintain_order=True)
        .drop("account")
    )
    trades = rows.filter(~is_split)
    holders = trades.select("account", "symbol").unique(maintain_order=True)
    copies = holders.join(events, on="symbol", how="inner").select(trades.columns)
    return pl.concat([trades, copies], how="vertical_relaxed")


def _in_apply_order(rows: pl.DataFrame) -> bool:
    """Whether rows already stand in (date, src, order) order (a file listed by date with
    nothing stored yet), so the sort can be skipped."""
    if rows.height < 2:
        return True
    step = {c: pl.col(c).to_physical().cast(pl.Int64).diff() for c in ("date", "src", "order")}
    later = (step["date"] > 0) | (
        (step["date"] == 0) & ((step["src"] > 0) | ((step["src"] == 0) & (step["order"] > 0)))
    )
    ordered = rows.select(later.slice(1).all()).item()
    return bool(ordered)
