"""HIFO lots in ``O(n log n)``, vectorized: divide and conquer over time, all groups at once.

Sells take the units with the highest cost per share first (the older lot on a tie). Rank the
buys of a group by that priority (rank 1 = taken first). The units of ranks ``1..r`` that are
still held after the last trade form a queue reflected at zero: arrivals are the buys of those
ranks, departures are *all* sells (a sell takes from them while any are left). By Lindley's
recursion its final size is

    pool(r) = Y_r(T) - min(0, min_t Y_r(t)),   Y_r(t) = A_r(t) - S(t)

where ``A_r(t)`` is the units of ranks ``<= r`` bought up to trade ``t`` and ``S(t)`` all units
sold up to ``t``. The lot of rank ``r`` keeps ``pool(r) - pool(r - 1)``.

Pairing every lot with every trade to find ``m(r) = min_t Y_r(t)`` costs ``lots x trades``
per group (fatal for an active trader: 10,000 trades of one symbol are 50 million pairs). Here
``m`` is found by merging halves of the trade sequence, level by level like a merge sort. For a
block of consecutive trades let ``m_b(r) = min over t in b of (-S(t) + units of ranks <= r
bought in b up to t)``: a step function of ``r`` that changes only at the ranks of the block's
own lots, so a block is stored as one row per lot (its rank, ``m_b`` and ``a_b``, the block's
units of ranks up to it) plus a sentinel row for ``r`` below every lot. Two adjacent blocks
``L`` and ``R`` merge as

    m(r) = min(m_L(r), a_L(r) + m_R(r)),   a(r) = a_L(r) + a_R(r)

where each side's value at a rank of the other side is its last row at or below that rank: a
sort by (parent block, rank) and a forward fill. After ``ceil(log2(trades))`` levels the block
is the whole group and ``m(r)`` is read off its rows. Each level is one sort and a handful of
column expressions over the rows of every group together; there is no Python loop over rows
or groups (only over the ~log2 levels). A group is set aside once it is a single block.
"""

from __future__ import annotations

import math

import polars as pl

_INF = float("inf")


def hifo_remaining(trades: pl.DataFrame) -> pl.DataFrame:
    """What remains of every buy under HIFO: g, seq, units, unit_cost, remaining (end units).

    ``trades`` holds the BUY and SELL rows in apply order with ``g`` (an integer group key),
    ``seq`` (apply order), ``buy`` (bool), ``units`` (end units) and ``unit_cost`` (cost per
    end unit, fee included; read on buys only).
    """
    schema = {
        "g": trades.schema["g"], "seq": pl.Int64, "units": pl.Float64,
        "unit_cost": pl.Float64, "remaining": pl.Float64,
    }  # fmt: skip
    if trades.is_empty():
        return pl.DataFrame(schema=schema)
    sold = pl.when(pl.col("buy")).then(0.0).otherwise(pl.col("units"))
    rows = trades.select(
        "g",
        "seq",
        "buy",
        "units",
        "unit_cost",
        gid=pl.col("g").rank("dense").cast(pl.Int64) - 1,
        pos=pl.int_range(pl.len(), dtype=pl.Int64).over("g"),
        n=pl.len().over("g").cast(pl.Int64),
        cum_sold=sold.cum_sum().over("g"),
    )
    longest = int(rows["n"].max())  # type: ignore[arg-type]
    levels = math.ceil(math.log2(longest)) if longest > 1 else 0
    # the block key: group id in the high bits, block number (position >> level) in the low
    key = (pl.col("gid") * (1 << levels)) + pl.col("pos")
    # a group of n trades is one block after ceil(log2(n)) levels
    done = pl.col("n").cast(pl.Float64).log(2).ceil().cast(pl.Int16)
    buys = (
        rows.filter(pl.col("buy"))
        .sort("gid", "unit_cost", "seq", descending=[False, True, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("gid"))
    )
    # one sentinel (rank 0, below every lot) per trade, one row per lot at its rank
    sentinels = rows.select(
        k=key, r=pl.lit(0, pl.Int64), m=-pl.col("cum_sold"), a=pl.lit(0.0), done=done
    )
    lots = buys.select(k=key, r="rank", m=pl.col("units") - pl.col("cum_sold"), a="units", done=done)
    blocks = pl.concat([sentinels, lots])
    # (parent, rank, side) packed in one integer when it fits: one-key sorts are much faster
    groups = int(rows["gid"].max()) + 1  # type: ignore[arg-type]
    rank_bits = max(1, int(buys["rank"].max() or 0).bit_length()) + 1
    packed = (groups << levels).bit_length() + rank_bits <= 62
    finished: list[pl.DataFrame] = []
    for level in range(levels):
        ready = pl.col("done") <= level
        if int(blocks.select(ready.sum()).item()) * 4 > blocks.height:
            # many groups are a single block: set them aside (their key becomes the group id)
            shift = 1 << (levels - level)
            finished.append(blocks.filter(ready).with_columns(k=pl.col("k") // shift))
            blocks = blocks.filter(~ready)
        blocks = _merge(blocks, rank_bits if packed else None)
    finished.append(blocks)
    whole = pl.concat(finished).sort("k", "r")
    # k is now the group id; at the root the sentinel holds -S(T), lot rows m(r) and a(r)
    total_sold = -pl.col("m").first().over("k")
    pool = pl.col("a") - total_sold - pl.min_horizontal(pl.col("m"), pl.lit(0.0))
    left = (
        whole.with_columns(pool=pool)
        .select(pl.col("r"), remaining=pl.col("pool") - pl.col("pool").shift(1))
        .filter(pl.col("r") > 0)
    )
    # the lot rows, sorted by (group, rank), line up with the buys sorted the same way
    return buys.select("g", "seq", "units", "unit_cost").with_columns(
        remaining=left["remaining"].clip(0.0, buys["units"])
    )


def _merge(blocks: pl.DataFrame, rank_bits: int | None) -> pl.DataFrame:
    """One level: merge each pair of adjacent blocks (keys 2p and 2p + 1) into block p."""
    parent, side = pl.col("k") // 2, pl.col("k") % 2
    left, right = pl.col("_side") == 0, pl.col("_side") == 1
    # each block starts with its sentinel, so a parent's first row is its left sentinel and
    # a forward fill of the left side never crosses into another parent
    staged = blocks.with_columns(_p=parent, _side=side)
    if rank_bits is None:
        ordered = staged.sort("_p", "r", "_side")
    else:
        order = (pl.col("_p") * (1 << rank_bits)) + pl.col("r") * 2 + pl.col("_side")
        ordered = staged.sort(order)
    right_here = pl.when(right).then(pl.col("_p")).otherwise(None).forward_fill() == pl.col("_p")
    merged = ordered.with_columns(
        _ml=pl.when(left).then(pl.col("m")).otherwise(None).forward_fill(),
        _al=pl.when(left).then(pl.col("a")).otherwise(None).forward_fill(),
        _mr=pl.when(right_here)
        .then(pl.when(right).then(pl.col("m")).otherwise(None).forward_fill())
        .otherwise(_INF),
        _ar=pl.when(right_here)
        .then(pl.when(right).then(pl.col("a")).otherwise(None).forward_fill())
        .otherwise(0.0),
    )
    # of the two sentinels of a parent keep the later one (it has seen both sides)
    next_is_sentinel = (pl.col("_p").shift(-1) == pl.col("_p")) & (pl.col("r").shift(-1) == 0)
    keep = (pl.col("r") > 0) | ~next_is_sentinel.fill_null(False)
    return merged.filter(keep).select(
        k="_p",
        r="r",
        m=pl.min_horizontal(pl.col("_ml"), pl.col("_al") + pl.col("_mr")),
        a=pl.col("_al") + pl.col("_ar"),
        done="done",
    )
