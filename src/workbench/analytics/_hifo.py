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
linear merge by (parent block, rank) and a forward fill. Only sells can be minima (a buy
raises ``Y``), so the time axis is the sells: after ``ceil(log2(sells + 1))`` levels the block
is the whole group and ``m(r)`` is read off its rows. Each level is a few whole-array
operations over the rows of every group together (NumPy when (block, rank) packs into one
integer, Polars otherwise); there is no Python loop over rows or groups, only over the
~log2 levels and over classes of groups needing as many levels.

Three shortcuts cut the passes, each exact (:func:`_leaves`, :func:`_size_class`):

* only *candidate* sells are leaves: a sell followed by holdings as low or lower is never a
  minimum, and a sale to zero empties the group, so what precedes it is dropped;
* the first ``bits`` levels are one pass: a block of up to ``2**bits`` leaves takes its ``m``
  at each lot as the least over its leaves of one running sum per leaf;
* when every quantity is a whole number of 1e-8 units, running sums are global sums of those
  integers less the sum before the group (exact, and no window per group).
"""

from __future__ import annotations

import sys

import polars as pl

from workbench.analytics._frames import EPS

_INF = float("inf")
#: (block, rank) packed in one int64 (NumPy merges) up to this many bits; else frame merges
_PACK_BITS = 62
#: below this many rows the frame merges win: importing NumPy alone costs ~0.1 s
_ARRAY_ROWS = 200_000
#: up to 2**_BLOCK_BITS leaves are solved in one pass (one running sum per leaf), then merged
_BLOCK_BITS = 4
#: the columns of :func:`_leaves` that the size classes read
_KEEP = ["g", "seq", "buy", "units", "unit_cost", "q", "gid", "last", "_cand", "leaf",
         "leaf_sold", "leaves", "levels", "merges"]  # fmt: skip
#: the ledger's quantities have 8 decimals: units x 1e8 are whole numbers (see _decimal_units)
_SCALE = 10**8


def hifo_remaining(trades: pl.DataFrame) -> pl.DataFrame:
    """What remains of the buys under HIFO: g, seq, units, unit_cost, remaining (end units).

    ``trades`` holds the BUY and SELL rows in apply order with ``g`` (an integer group key),
    ``seq`` (apply order), ``buy`` (bool), ``units`` (end units) and ``unit_cost`` (cost per
    end unit, fee included; read on buys only). Buys up to a group's last sale to zero are
    left out: nothing remains of them.
    """
    schema: dict[str, pl.DataType] = {
        "g": trades.schema["g"], "seq": pl.Int64(), "units": pl.Float64(),
        "unit_cost": pl.Float64(), "remaining": pl.Float64(),
    }  # fmt: skip
    if trades.is_empty():
        return pl.DataFrame(schema=schema)
    exact = _decimal_units(trades)
    bits = _BLOCK_BITS
    rows = _leaves(trades, exact=exact, bits=bits)
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    # groups needing as many merges are done together; with many rows the groups that need
    # none are split by leaves too (the one-pass block is as wide as the most leaves)
    many = rows.height >= _ARRAY_ROWS
    size = pl.when((pl.col("merges") > 0) | many).then("levels").otherwise(0).alias("_class")
    parts = [
        _size_class(part, exact=exact, bits=bits)
        for part in rows.with_columns(size).partition_by("_class", maintain_order=False)
    ]
    return pl.concat(parts).select(list(schema))


def _decimal_units(trades: pl.DataFrame) -> bool:
    """Whether every quantity is a whole number of 1e-8 units (the ledger's 8 decimals; not
    after a split into thirds, say) whose sums fit 63 bits: then running sums are taken on
    those integers, exact and without a window per group (a global sum less the sum before
    the group), else on floats per group."""
    scaled = pl.col("units") * _SCALE
    ok, total = trades.select(
        ok=((scaled - scaled.round()).abs() <= 1e-3 + scaled.abs() * 4e-16).all(),
        total=scaled.abs().sum(),
    ).row(0)
    return bool(ok) and float(total or 0.0) < 2.0**62


def _running(value: pl.Expr, *, exact: bool, group: str = "gid") -> pl.Expr:
    """Running sum of ``value`` within each group (rows sorted by it): on integers a global
    running sum less its value before the group's first row, on floats a window."""
    if not exact:
        return value.cum_sum().over(group)
    run = value.cum_sum()
    start = pl.col(group) != pl.col(group).shift(1).fill_null(-1)
    return run - pl.when(start).then(run - value).otherwise(None).forward_fill()


def _later_low(held: pl.DataFrame, *, exact: bool) -> pl.Expr:
    """The least holding after each row in its group (rows sorted by group; null on a group's
    last row). On integers whose range allows, a global reverse running minimum of
    ``gid * span + holding`` (later groups sit higher, so they never win): no window."""
    window = pl.col("_held").cum_min(reverse=True).shift(-1).over("gid")
    if not exact or held.is_empty():
        return window
    top, groups = held.select(pl.col("_held").abs().max(), pl.col("gid").max()).row(0)
    span = 1 << (int(top).bit_length() + 2)  # every |holding| < span / 2
    if (int(groups) + 2) * span >= 1 << 62:
        return window
    lifted = pl.col("gid") * span + pl.col("_held")
    after = lifted.cum_min(reverse=True).shift(-1)
    return pl.when(~pl.col("last")).then(after - pl.col("gid") * span)


def _leaves(trades: pl.DataFrame, *, exact: bool, bits: int) -> pl.DataFrame:
    """The rows that decide what remains, each with its leaf (see :func:`_size_class`).

    A sell followed (in its group) by holdings as low or lower is never the minimum of any
    ``Y_r`` (``Y_r(t2) - Y_r(t1) <= H(t2) - H(t1)``): only sells below every later holding
    are *candidates*. A candidate that sells to zero empties the group, so what came before
    it is dropped (nothing of it remains). An active trader's ~10,000 sells of a symbol
    leave a handful of candidates after the last sale to zero. ``q`` is the quantity the
    sums run on: units x 1e8 as integers when ``exact``, else the units.
    """
    sell = ~pl.col("buy")
    # rows are grouped (sorted by group): running counts are global sums less the sum
    # before the group (integers: exact), and "the next X in my group" is a backward fill
    # checked against the group id, cheaper than windows
    cand = pl.col("_cand")
    count = cand.cast(pl.Int64).cum_sum()
    first = pl.col("gid") != pl.col("gid").shift(1).fill_null(-1)
    last = pl.col("gid") != pl.col("gid").shift(-1).fill_null(-1)

    def next_in_group(where: pl.Expr, value: str) -> pl.Expr:
        same = pl.when(where).then(pl.col("gid")).otherwise(None).backward_fill()
        found = pl.when(where).then(pl.col(value)).otherwise(None).backward_fill()
        return pl.when(same == pl.col("gid")).then(found)

    q = pl.col("q")
    held = pl.when(pl.col("buy")).then(q).otherwise(-q)
    zero = (cand & (pl.col("_held") <= (0 if exact else EPS))).cast(pl.Int64)
    # zero sales at or after a row in its group: a reverse running count less the count
    # after the group's last row
    zeros = zero.cum_sum(reverse=True)
    zeros_here = zeros - pl.when(pl.col("last")).then(zeros - zero).otherwise(None).backward_fill()
    sold = pl.when(sell).then(q).otherwise(0 if exact else 0.0)
    units = (pl.col("units") * _SCALE).round().cast(pl.Int64) if exact else pl.col("units")
    # holdings first (their range decides how the least later holding is found)
    held_rows = (
        trades.lazy()
        .select("g", "seq", "buy", "units", "unit_cost", q=units)
        .sort("g", maintain_order=True)  # each group's trades together, in apply order
        .with_columns(gid=pl.col("g").rle_id().cast(pl.Int64).set_sorted())
        .with_columns(_held=_running(held, exact=exact), last=last)
        .collect(engine="in-memory")
    )
    later_low = _later_low(held_rows, exact=exact)
    return (
        held_rows.lazy()
        .with_columns(_cand=sell & (pl.col("last") | (pl.col("_held") < later_low)))
        .filter(zeros_here == 0)  # keep what follows the group's last sale to zero
        .with_columns(
            cum_sold=_running(sold, exact=exact),
            _cands=count - pl.when(first).then(count - cand.cast(pl.Int64)).forward_fill(),
        )
        .with_columns(
            # leaf = the candidate a trade belongs to: a candidate its own, a buy the next
            # candidate's (buys after the last one share one more leaf per group)
            leaf=pl.col("_cands") - cand.cast(pl.Int64),
            # S at the trade's leaf: sold up to and including the next candidate (all, if none)
            leaf_sold=pl.coalesce(
                next_in_group(cand, "cum_sold"), next_in_group(pl.col("last"), "cum_sold")
            ),
            leaves=next_in_group(pl.col("last"), "_cands") + 1,
        )
        # a group of n leaves is one block after ceil(log2(n)) levels, the first ``bits``
        # in one pass
        .with_columns(levels=pl.col("leaves").cast(pl.Float64).log(2).ceil().cast(pl.Int64))
        .with_columns(merges=(pl.col("levels") - bits).clip(0, None))
        .filter(pl.col("buy") | cand | pl.col("last"))
        .select(_KEEP)
        .collect(engine="in-memory")
    )


def _size_class(rows: pl.DataFrame, *, exact: bool, bits: int) -> pl.DataFrame:
    """HIFO for groups that all need the same number of merges (``merges``).

    The minimum of ``Y_r`` is reached right after a sell (a buy only raises it), so the
    time axis is the group's candidate sells: a leaf is one with the buys since the one
    before (plus a last leaf for the buys after the last). Up to ``2**bits``
    consecutive leaves form a block solved in one pass: the block's ``m`` at a lot's rank
    is the least over its leaves ``j`` of (units of ranks up to it bought in leaves up to
    ``j``) less ``S`` at ``j``, one running sum per leaf; the blocks are then merged.
    """
    merges = int(rows["merges"][0])
    # one block per group when it fits (as wide as the most leaves), else 2**bits
    width = 1 << bits if merges else int(rows.select(pl.col("leaves").max()).item())
    gid = pl.col("gid") - rows.select(pl.col("gid").min()).item()  # small: the key fits 64 bits
    # group id above, block number below; j = the leaf within its block
    key = (gid * (1 << merges)) + (pl.col("leaf") // width)
    sub = pl.col("leaf") % width
    # the buys in (group, priority) order: highest cost per share first, the older on a tie
    # (a stable sort keeps apply order); r = the place in that order, which ranks the lots of
    # a group as well as a rank within it would
    buys = (
        rows.lazy()
        .filter(pl.col("buy"))
        .select("g", "seq", "units", "unit_cost", "gid", "leaf", "q")
        .sort("gid", "unit_cost", descending=[False, True], maintain_order=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
        .collect(engine="in-memory")
    )
    # S at each leaf of a block (the last leaf, buys after the last candidate, takes it from
    # the group's last row); a leaf past the group's end holds -inf: never the minimum
    sold = (
        rows.lazy()
        .filter(pl.col("_cand") | pl.col("last"))
        .group_by(k=key)
        .agg(
            *(
                pl.col("leaf_sold")
                .filter(sub == j)
                .first()
                .cast(pl.Float64)
                .fill_null(-_INF)
                .alias(f"_s{j}")
                for j in range(width)
            ),
        )
        .sort("k")
        .collect(engine="in-memory")
    )
    # a block: a sentinel (rank 0, below every lot) holding -S at its last leaf, then its
    # lots in rank order with m and a = the block's units up to that rank: running sums per
    # group (see _running) less the sum before the block
    start = pl.col("k") != pl.col("k").shift(1).fill_null(-1)
    zero = 0 if exact else 0.0

    def in_block(units: pl.Expr, run: pl.Expr) -> pl.Expr:
        return (run - pl.when(start).then(run - units).otherwise(None).forward_fill()).cast(
            pl.Float64
        )

    def leaf_units(j: int) -> pl.Expr:  # the units of leaves up to j (the last: all of them)
        return (
            pl.col("q") if j == width - 1 else pl.when(pl.col("j") <= j).then("q").otherwise(zero)
        )

    plan = buys.lazy().select("gid", k=key, j=sub, r="rank", q="q")
    if merges:  # blocks in (block, rank) order; one block per group is already
        plan = plan.sort("k", maintain_order=True)
    plan = plan.join(sold.lazy(), on="k", how="left", maintain_order="left")
    if exact:  # global running sums, each inline: no window, no column kept per leaf
        runs = [in_block(leaf_units(j), leaf_units(j).cum_sum()) for j in range(width)]
    else:  # staged: the windows in one pass after their inputs
        plan = plan.with_columns(leaf_units(j).alias(f"_q{j}") for j in range(width)).with_columns(
            pl.col(f"_q{j}").cum_sum().over("gid").alias(f"_run{j}") for j in range(width)
        )
        runs = [in_block(pl.col(f"_q{j}"), pl.col(f"_run{j}")) for j in range(width)]
    scale = 1.0 / _SCALE if exact else 1.0
    # the least over leaves, four leaves a step: each step keeps one column, not four
    terms = [runs[j] - pl.col(f"_s{j}") for j in range(width)]
    for low in range(0, width, 4):
        least = pl.min_horizontal(*terms[low : low + 4], *([pl.col("_m")] if low else []))
        plan = plan.with_columns(_m=least)
    m = pl.col("_m") * scale
    if not merges:  # one block per group: what remains straight from it (pool(0) = 0)
        total_sold = pl.max_horizontal(pl.col(f"_s{j}") for j in range(width)) * scale
        pool = runs[-1] * scale - total_sold - pl.min_horizontal(m, pl.lit(0.0))
        before = pl.when(start).then(0.0).otherwise(pl.col("_pool").shift(1))
        left = (
            plan.select("k", _pool=pool)
            .select(remaining=pl.col("_pool") - before)
            .collect(engine="in-memory")
        )
        return buys.select("g", "seq", "units", "unit_cost").with_columns(
            remaining=left["remaining"].clip(0.0, buys["units"])
        )
    lots = plan.select("k", "r", m=m, a=runs[-1] * scale).collect(engine="in-memory")
    sentinels = sold.select(
        "k",
        r=pl.lit(0, pl.Int64),
        m=-pl.max_horizontal(pl.col(f"_s{j}") for j in range(width)) * scale,
        a=pl.lit(0.0),
    )
    blocks = sentinels.merge_sorted(lots, key=["k", "r"], maintain_order=True)
    top_rank, top_key = buys.height, int(blocks.select(pl.col("k").max()).item() or 0)
    rank_bits = top_rank.bit_length() + 1  # r is at most the number of buys
    # NumPy once it pays for its import (or was imported already)
    arrays = blocks.height >= _ARRAY_ROWS or (merges > 0 and "numpy" in sys.modules)
    if arrays and (top_key + 1).bit_length() + rank_bits <= _PACK_BITS:
        blocks = _merge_levels(blocks, merges, rank_bits)
    else:  # small, or (parent, rank) does not fit one integer: the frame merge
        for _ in range(merges):
            blocks = _merge(blocks)
    # k is now the group id; the sentinel (first) holds -S(T), the lot rows m(r) and a(r)
    total_sold = -pl.col("m").first().over("k")
    pool = pl.col("a") - total_sold - pl.min_horizontal(pl.col("m"), pl.lit(0.0))
    left = (
        blocks.with_columns(pool=pool)
        .select(pl.col("r"), remaining=pl.col("pool") - pl.col("pool").shift(1))
        .filter(pl.col("r") > 0)
    )
    # the lot rows, sorted by (group, rank), line up with the buys sorted the same way
    return buys.select("g", "seq", "units", "unit_cost").with_columns(
        remaining=left["remaining"].clip(0.0, buys["units"])
    )


def _merge_levels(blocks: pl.DataFrame, levels: int, rank_bits: int) -> pl.DataFrame:
    """All ``levels`` merges on NumPy arrays: the same steps as :func:`_merge`, with
    (parent, rank) packed in one integer so each level's linear merge is two binary searches
    (a few array operations per level instead of a query plan: what small ledgers pay)."""
    import numpy as np

    k = blocks["k"].to_numpy().astype(np.int64)
    r = blocks["r"].to_numpy().astype(np.int64)
    m = blocks["m"].to_numpy().astype(np.float64)
    a = blocks["a"].to_numpy().astype(np.float64)
    for _ in range(levels):
        p, even = k >> 1, (k & 1) == 0
        packed = (p << rank_bits) | r
        ev, od = np.flatnonzero(even), np.flatnonzero(~even)
        # each row's place in the merged order: its place on its side plus the rows of the
        # other side before it (sentinels of a parent tie: the left one first)
        place = np.empty(len(k), dtype=np.int64)
        place[ev] = np.arange(len(ev)) + np.searchsorted(packed[od], packed[ev], side="left")
        place[od] = np.arange(len(od)) + np.searchsorted(packed[ev], packed[od], side="right")
        order = np.empty_like(place)
        order[place] = np.arange(len(k))
        p, even, r, m, a = p[order], even[order], r[order], m[order], a[order]
        rows = np.arange(len(p))
        # last left row at or before each row (a parent opens with its left sentinel)
        left = np.maximum.accumulate(np.where(even, rows, 0))
        right = np.maximum.accumulate(np.where(~even, rows, -1))
        here = (right >= 0) & (p[np.maximum(right, 0)] == p)
        m_right = np.where(here, m[np.maximum(right, 0)], np.inf)
        a_right = np.where(here, a[np.maximum(right, 0)], 0.0)
        m_left, a_left = m[left], a[left]
        # of the two sentinels of a parent keep the later one (it has seen both sides)
        next_sentinel = np.zeros(len(p), dtype=bool)
        next_sentinel[:-1] = (p[1:] == p[:-1]) & (r[1:] == 0)
        keep = (r > 0) | ~next_sentinel
        k, r = p[keep], r[keep]
        m = np.minimum(m_left, a_left + m_right)[keep]
        a = (a_left + a_right)[keep]
    return pl.DataFrame({"k": k, "r": r, "m": m, "a": a})


def _merge(blocks: pl.DataFrame) -> pl.DataFrame:
    """One level: merge each pair of adjacent blocks (keys 2p and 2p + 1) into block p.

    ``blocks`` is sorted by (k, r); so are its even-k rows and its odd-k rows by (k // 2, r),
    and a linear merge of the two puts every parent's rows in rank order. Eager: a lazy plan
    costs more than it saves on the small frames of the upper levels.
    """
    staged = blocks.with_columns(_p=pl.col("k") // 2, _side=pl.col("k") % 2)
    even = staged["_side"] == 0
    ordered = staged.filter(even).merge_sorted(
        staged.filter(~even), key=["_p", "r"], maintain_order=True
    )
    left, right = pl.col("_side") == 0, pl.col("_side") == 1

    def fill(side: pl.Expr, column: str) -> pl.Expr:
        return pl.when(side).then(pl.col(column)).otherwise(None).forward_fill()

    # each block starts with its sentinel, so a parent's first row is its left sentinel and
    # a forward fill of the left side never crosses into another parent
    right_here = fill(right, "_p") == pl.col("_p")
    # of the two sentinels of a parent keep the later one (it has seen both sides)
    next_is_sentinel = (pl.col("_p").shift(-1) == pl.col("_p")) & (pl.col("r").shift(-1) == 0)
    return (
        ordered.select(
            k="_p",
            r="r",
            _ml=fill(left, "m"),
            _al=fill(left, "a"),
            _mr=pl.when(right_here).then(fill(right, "m")).otherwise(_INF),
            _ar=pl.when(right_here).then(fill(right, "a")).otherwise(0.0),
            _keep=(pl.col("r") > 0) | ~next_is_sentinel.fill_null(False),
        )
        .filter(pl.col("_keep"))
        .select(
            "k",
            "r",
            m=pl.min_horizontal(pl.col("_ml"), pl.col("_al") + pl.col("_mr")),
            a=pl.col("_al") + pl.col("_ar"),
        )
    )
