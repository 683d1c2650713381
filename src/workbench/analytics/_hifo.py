"""HIFO lots in ``O(n log n)``, vectorized: divide and conquer over time, all groups at once.

Sells take the units with the highest cost per share first (the older lot on a tie). Rank the
buys of a group by that priority (rank 1 = taken first). The units of ranks ``1..r`` that are
still held after the last trade form a queue reflected at zero: arrivals are the buys of those
ranks, departures are *all* sells (a sell takes from them while any are left). By Lindley's
recursion its final size is

    pool(r) = Y_r(T) - min(0, min_t Y_r(t)),   Y_r(t) = A_r(t) - S(t)

where ``A_r(t)`` is the units of ranks ``<= r`` bought up to trade ``t`` and ``S(t)`` all units
sold up to ``t``. The lot of rank ``r`` keeps ``pool(r) - pool(r - 1)``.

Only sells can be minima (a buy raises ``Y``), and only *candidate* sells: a sell followed by
holdings as low or lower never is, and a sale to zero empties the group, so what precedes it
is dropped (:func:`_leaves`). A *leaf* is a candidate sell with the buys since the one before
(plus a last leaf for the buys after the last candidate).

Groups of up to ``2**_BLOCK_BITS`` leaves (nearly every group of a real ledger, and every
group of an active trader once dominated sells are dropped) are solved in one pass
(:func:`_one_block`): in each group's rows (its sales, then its lots by priority) the running
sum of a signed quantity over the rows of leaves up to ``j`` is, at the lot of rank ``r``,
``Y_r`` right after leaf ``j``'s sale, and ``m(r) = min_t Y_r(t)`` is the least over ``j``.
That is one running sum per leaf over all groups at once; the order within groups comes from
a hash group-by sorting each group's few rows, not a sort of the whole frame.

Larger groups (holdings that only climb: every sell a candidate) would cost ``lots x
leaves``; there ``m`` is found by merging halves of the leaf sequence, level by level like a
merge sort (:func:`_size_class`). For a block of consecutive leaves let ``m_b(r) = min over
t in b of (-S(t) + units of ranks <= r bought in b up to t)``: a step function of ``r`` that
changes only at the ranks of the block's own lots, so a block is stored as one row per lot
(its rank, ``m_b`` and ``a_b``, the block's units of ranks up to it) plus a sentinel row for
``r`` below every lot. Two adjacent blocks ``L`` and ``R`` merge as

    m(r) = min(m_L(r), a_L(r) + m_R(r)),   a(r) = a_L(r) + a_R(r)

where each side's value at a rank of the other side is its last row at or below that rank: a
linear merge by (parent block, rank) and a forward fill. Blocks of ``2**_WIDE_BITS`` leaves
are one pass as above; after ``ceil(log2(leaves))`` levels the block is the whole group.
Each level is a few whole-array operations over the rows of every group together: one sort
by a packed (parent, rank, side) key and four forward fills, with groups padded to whole
blocks (empty blocks) so that every parent has both children, all levels in one Polars plan;
NumPy once the frame is large; a merge of two frames when keys do not pack. There is no
Python loop over rows or groups, only over the ~log2 levels and over classes of groups
needing as many levels.

When every quantity is a whole number of 1e-8 units, the sums run on those integers: exact,
and global running sums replace windows per group (each group's, or block's, closing rows
bring its sums back to zero).
"""

from __future__ import annotations

import sys

import polars as pl

from workbench.analytics._frames import EPS
from workbench.analytics._hifo_merge import merge, merge_arrays, merge_full

_INF = float("inf")
#: (block, rank) packed in one int64 (NumPy merges) up to this many bits; else frame merges
_PACK_BITS = 62
#: below this many rows the frame merges win: importing NumPy alone costs ~0.1 s
_ARRAY_ROWS = 200_000
#: NumPy merges whenever NumPy is imported already (no import to pay for)
_NUMPY_IF_LOADED = True
#: lean merges pad every group to 2**merges blocks: up to this many keys per row
_PAD_RATIO = 2
#: groups of up to 2**_BLOCK_BITS leaves are solved in one pass (one running sum per leaf)
_BLOCK_BITS = 4
#: larger groups: blocks of 2**_WIDE_BITS leaves in one pass, then merged
_WIDE_BITS = 4
#: the columns of :func:`_leaves` that the solvers read
_KEEP = ["_o", "buy", "unit_cost", "q", "gid", "last", "_cand", "leaf", "_step", "_close"]
#: the ledger's quantities have 8 decimals: units x 1e8 are whole numbers (see _decimal_units)
_SCALE = 10**8


#: from this many trades, the groups are solved in two halves side by side
_HALVES_FROM = 200_000


def hifo_remaining(trades: pl.DataFrame) -> pl.DataFrame:
    """What remains of the buys under HIFO: g, seq, units, unit_cost, remaining (end units).

    ``trades`` holds the BUY and SELL rows in apply order with ``g`` (an integer group key),
    ``seq`` (apply order), ``buy`` (bool), ``units`` (end units) and ``unit_cost`` (cost per
    end unit, fee included; read on buys only). Buys up to a group's last sale to zero are
    left out: nothing remains of them. Rows come back in no particular order.

    Groups are independent, so a large frame is solved in two halves of its groups, one on a
    second thread: many of the solver's steps are one-threaded (running sums, group-by of
    few rows), and Polars releases the interpreter while it works. Measured on the demo
    ledger of 1M rows (2 cores): the lots step 3.3x FIFO's in one piece, 2.7x in halves.
    """
    if trades.height < _HALVES_FROM:
        return _remaining(trades)
    from concurrent.futures import ThreadPoolExecutor

    odd = (pl.col("g").hash() % 2) == 1
    first, second = trades.filter(~odd), trades.filter(odd)
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(_remaining, second)
        done = _remaining(first)
        return pl.concat([done, later.result()])


def _remaining(trades: pl.DataFrame) -> pl.DataFrame:
    """:func:`hifo_remaining` of ``trades`` in one piece."""
    schema: dict[str, pl.DataType] = {
        "g": trades.schema["g"], "seq": pl.Int64(), "units": pl.Float64(),
        "unit_cost": pl.Float64(), "remaining": pl.Float64(),
    }  # fmt: skip
    if trades.is_empty():
        return pl.DataFrame(schema=schema)
    exact = _decimal_units(trades)
    bits = _BLOCK_BITS
    lots, marks = _leaves(trades, exact=exact)
    if lots.is_empty():
        return pl.DataFrame(schema=schema)
    # leaves per group, read on its last row: its leaf, plus one if that row is a candidate
    wide = max(bits, _WIDE_BITS)
    leaves = pl.col("leaf") + pl.col("_cand").cast(pl.Int64) + 1
    levels = leaves.cast(pl.Float64).log(2).ceil().cast(pl.Int64)
    groups = (
        marks.lazy()
        .filter(pl.col("last"))
        .select("gid", leaves=leaves, large=leaves > 1 << bits, merges=(levels - wide).clip(0))
        .collect(engine="in-memory")
    )
    top, widest = groups.select(
        pl.col("large").any(), pl.col("leaves").filter(~pl.col("large")).max()
    ).row(0)
    parts = []
    if top:  # groups of many leaves apart, by the number of merges they need
        many = groups.filter(pl.col("large")).select("gid", "merges")
        within = pl.col("gid").is_in(many["gid"].implode())
        classes = many.partition_by("merges", as_dict=True)
        for (count,), part in classes.items():
            if len(classes) == 1 and widest is None:  # every group: nothing to pick
                these_lots, these_marks = lots, marks
            else:
                these = pl.col("gid").is_in(part["gid"].implode())
                these_lots, these_marks = lots.filter(these), marks.filter(these)
            parts.append(_size_class(these_lots, these_marks, int(count), exact=exact, bits=wide))
    if widest is not None:
        small_lots, small_marks = lots.lazy(), marks.lazy()
        if top:
            small_lots, small_marks = small_lots.filter(~within), small_marks.filter(~within)
        parts.append(_one_block(small_lots, small_marks, int(widest), exact=exact))
    left = parts[0] if len(parts) == 1 else pl.concat(parts)
    # the lots' own columns, read where they were (what remains: within 0 and the units)
    return (
        trades.lazy()
        .select(pl.col("g", "seq", "units", "unit_cost").gather(left["_o"]))
        .with_columns(remaining=pl.lit(left["remaining"]).clip(0.0, pl.col("units")))
        .collect(engine="in-memory")
    )


def _one_block(lots: pl.LazyFrame, marks: pl.LazyFrame, width: int, *, exact: bool) -> pl.DataFrame:
    """HIFO for groups of at most ``width`` leaves, each solved in one pass.

    Each group's rows are its sales, then its lots by priority (highest cost per share
    first, the older on a tie). Along them ``x`` is a lot's units or minus what a sale's
    leaf sold. On integers each leaf also has a closing row, minus what the leaf added to
    the holdings, summed into the next group's sale row of the same leaf: every group then
    sums to zero for every ``j`` below, so global running sums need no correction per
    group (on floats the sums are windows per group). The running sum of ``x`` over the rows of
    leaves up to ``j`` is, at a lot of rank ``r``, ``Y_r`` right after the sale of leaf
    ``j``; ``m(r)`` is the least over ``j`` (``j = width - 1``: ``Y_r(T)``), and what
    remains of the ranks up to ``r`` is ``pool(r) = Y_r(T) - min(0, m(r))``. Returns each
    lot's ``_o`` (its row in the trades) and ``remaining`` (not yet clipped to the lot).
    """
    zero = 0 if exact else 0.0
    x = pl.col("x")
    bounds = marks.filter(pl.col("_cand")).select("gid", "leaf", x=-pl.col("_step"))
    if exact:  # a group's closing rows go first in the next group, with its sales
        closing = marks.filter(pl.col("_close").is_not_null())
        bounds = pl.concat([bounds, closing.select(pl.col("gid") + 1, "leaf", x="_close")])
    events = pl.concat(
        [
            lots.select("gid", "leaf", key=_priority(), x="q", _o="_o"),
            bounds.select("gid", "leaf", key=pl.lit(_INF), x="x", _o=pl.lit(None, pl.UInt32)),
        ]
    ).collect(engine="in-memory")
    # within each group a stable sort (apply order on ties: the older lot first), the
    # groups in order (a group's closing rows are in the next one's first rows)
    order = (
        events.lazy()
        .select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_e"), "gid", "key")
        .group_by("gid")
        .agg(pl.col("_e").sort_by("key", descending=True, maintain_order=True))
        .sort("gid")
        .select(pl.col("_e").explode())
        .collect(engine="in-memory")["_e"]
    )
    needed = ["leaf", "x", "_o"] if exact else ["gid", "leaf", "x", "_o"]
    ordered = events.lazy().select(pl.col(needed).gather(order))
    leaf = pl.col("leaf")

    def run(value: pl.Expr) -> pl.Expr:
        return value.cum_sum() if exact else value.cum_sum().over("gid")

    runs = [
        run(x if j == width - 1 else pl.when(leaf <= j).then(x).otherwise(zero))
        for j in range(width)
    ]
    plan = ordered
    # the least over leaves, two leaves a step: each step keeps one column (less memory
    # held at once than four a step, and no slower)
    for low in range(0, width - 1, 2):
        least = pl.min_horizontal(*runs[low : low + 2], *([pl.col("_m")] if low else []))
        plan = plan.with_columns(_m=least)
    m = pl.col("_m") if width > 1 else runs[0]
    pool = runs[-1] - pl.min_horizontal(m, pl.lit(zero))
    # pool(0) = 0: before a group's first lot is a sale row or another group
    before = pl.col("_pool").shift(1, fill_value=zero)
    if not exact:  # float sums come back to about zero: take 0 across groups exactly
        before = pl.when(pl.col("gid") == pl.col("gid").shift(1)).then(before).otherwise(zero)
    scale = 1.0 / _SCALE if exact else 1.0
    return (
        plan.with_columns(_pool=pool)
        .select("_o", remaining=((pl.col("_pool") - before) * scale).cast(pl.Float64))
        .filter(pl.col("_o").is_not_null())
        .collect(engine="in-memory")
    )


def _priority() -> pl.Expr:
    """A lot's place in the order of sale: its cost per share (a lot of no units, whose cost
    per share is not a number, last)."""
    return pl.when(pl.col("unit_cost").is_finite()).then("unit_cost").otherwise(-_INF)


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


def _leaves(trades: pl.DataFrame, *, exact: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The lots and the leaf ends that decide what remains, grouped and in apply order.

    A sell followed (in its group) by holdings as low or lower is never the minimum of any
    ``Y_r`` (``Y_r(t2) - Y_r(t1) <= H(t2) - H(t1)``): only sells below every later holding
    are *candidates*. A candidate that sells to zero empties the group, so what came before
    it is dropped (nothing of it remains). An active trader's ~10,000 sells of a symbol
    leave a handful of candidates after the last sale to zero. ``q`` is the quantity the
    sums run on: units x 1e8 as integers when ``exact``, else the units.

    Returns the lots (``gid, _o`` = row in ``trades``, ``unit_cost, q, leaf``) and the
    marks: each candidate and each group's last row (``gid, leaf, _cand, last``) with, on a
    candidate, ``_step`` = what its leaf sold, and on a leaf's last row (its candidate, or
    the group's last row if a buy) ``_close`` = minus what the leaf added to the holdings.
    """
    sell = ~pl.col("buy")
    cand = pl.col("_cand")
    count = cand.cast(pl.Int64).cum_sum()
    first = pl.col("gid") != pl.col("gid").shift(1).fill_null(-1)
    last = pl.col("gid") != pl.col("gid").shift(-1).fill_null(-1)
    q = pl.col("q")
    held = pl.when(pl.col("buy")).then(q).otherwise(-q)
    sold = pl.when(sell).then(q).otherwise(0 if exact else 0.0)
    zero = (cand & (pl.col("_held") <= (0 if exact else EPS))).cast(pl.Int64)
    # zero sales at or after a row in its group: a reverse running count less the count
    # after the group's last row
    zeros = zero.cum_sum(reverse=True)
    zeros_here = zeros - pl.when(pl.col("last")).then(zeros - zero).otherwise(None).backward_fill()
    units = (pl.col("units") * _SCALE).round().cast(pl.Int64) if exact else pl.col("units")
    # holdings first (their range decides how the least later holding is found)
    held_rows = (
        trades.lazy()
        .select(
            _o=pl.int_range(pl.len(), dtype=pl.UInt32),
            g="g",
            buy="buy",
            unit_cost="unit_cost",
            q=units,
        )
        .sort("g", maintain_order=True)  # each group's trades together, in apply order
        .with_columns(gid=pl.col("g").rle_id().cast(pl.Int64).set_sorted())
        .with_columns(_held=_running(held, exact=exact), last=last)
        .collect(engine="in-memory")
    )
    later_low = _later_low(held_rows, exact=exact)
    # sold so far: global on integers (only differences within a group are read)
    so_far = sold.cum_sum() if exact else sold.cum_sum().over("gid")
    kept = (
        held_rows.lazy()
        .with_columns(_cand=sell & (pl.col("last") | (pl.col("_held") < later_low)))
        .filter(zeros_here == 0)  # keep what follows the group's last sale to zero
        .with_columns(
            _sold=so_far,
            _first=first,
            # candidates in the group up to here (integers: exact globally)
            _cands=count - pl.when(first).then(count - cand.cast(pl.Int64)).forward_fill(),
        )
        # leaf = the candidate a trade belongs to: a candidate its own, a buy the next
        # candidate's (buys after the last one share one more leaf per group)
        .with_columns(leaf=pl.col("_cands") - cand.cast(pl.Int64))
        .select(
            "gid",
            "_o",
            "buy",
            "unit_cost",
            "q",
            "leaf",
            "_cand",
            "last",
            "_first",
            "_held",
            "_sold",
            _dh=held,
            _ds=sold,
        )
    )
    lots = kept.filter(pl.col("buy")).select("gid", "_o", "unit_cost", "q", "leaf")

    def since(total: str, step: str) -> pl.Expr:
        """``total`` (a running sum) since the mark before in the group: the candidate
        before, or the start of the group (its first row, less that row's own step)."""
        before_group = pl.col(total) - pl.col(step)
        mark = pl.when(cand).then(total).otherwise(before_group)
        return pl.col(total) - pl.when("_first").then(before_group).otherwise(mark.shift(1))

    # the marks with each group's first row (where a group's sums start), read in order
    marks = (
        kept.filter(cand | pl.col("last") | pl.col("_first"))
        .with_columns(_step=since("_sold", "_ds"), _close=-since("_held", "_dh"))
        .filter(cand | pl.col("last"))
        .select(
            "gid",
            "leaf",
            "_cand",
            "last",
            _step=pl.when(cand).then("_step"),
            _close=pl.when(cand | pl.col("buy")).then("_close"),
        )
    )
    # one plan for both (what they share is computed once, never held whole)
    got = pl.collect_all([lots, marks], engine="in-memory")
    return got[0], got[1]


def _events(
    lots: pl.DataFrame, marks: pl.DataFrame, width: int, *, exact: bool
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The lots and the sales of groups of many leaves as rows of one signed quantity ``x``,
    and each leaf's closing row (minus all its rows' ``x``: a block then sums to zero).

    A lot adds its units (``x = q``); a sale row takes away what its leaf sold (``x < 0``):
    a candidate what was sold since the candidate before, plus one row per group for the
    last leaf (nothing sold). The first leaf of each block of ``width`` leaves takes all
    that was sold up to it instead, so a running sum over a block's rows starts from ``-S``.
    ``key`` orders a group: sales first (+inf), then lots by cost per share, highest first.
    A leaf bought ``_step - _close`` (a candidate's) or ``-_close`` (the last, if its
    group ends in a buy; else nothing).
    """
    zero = 0 if exact else 0.0
    opens = pl.col("leaf") % width == 0
    rows = lots.lazy().select("gid", "leaf", "_o", key=_priority(), x="q")
    # S at each candidate: the group's running sum of what the leaves sold (on a group's
    # last row: all it sold)
    sold = _running(pl.col("_step").fill_null(zero), exact=exact)
    marked = marks.lazy().with_columns(_s=sold)
    cands = (
        marked.filter(pl.col("_cand"))
        .select("gid", "leaf", "_step", "_close", "_s")
        .with_columns(_taken=pl.when(opens).then("_s").otherwise("_step"))
    )
    ends = (
        marked.filter(pl.col("last"))
        .select(
            "gid",
            leaf=pl.col("leaf") + pl.col("_cand").cast(pl.Int64),
            _bought=pl.when(~pl.col("_cand")).then(-pl.col("_close")).otherwise(zero),
            _s="_s",
        )
        .with_columns(_taken=pl.when(opens).then("_s").otherwise(zero))
    )
    sales = pl.concat(
        [
            cands.select("gid", "leaf", x=-pl.col("_taken")),
            ends.select("gid", "leaf", x=-pl.col("_taken")),
        ]
    ).with_columns(key=pl.lit(_INF))
    closing = pl.concat(
        [
            cands.select("gid", "leaf", x=pl.col("_taken") - pl.col("_step") + pl.col("_close")),
            ends.select("gid", "leaf", x=pl.col("_taken") - pl.col("_bought")),
        ]
    )
    return pl.concat([rows, sales], how="diagonal"), closing


def _size_class(
    lots: pl.DataFrame, marks: pl.DataFrame, merges: int, *, exact: bool, bits: int
) -> pl.DataFrame:
    """HIFO for groups of more than ``2**bits`` leaves that all need the same number of
    merges (``merges``).

    Blocks of ``2**bits`` consecutive leaves are solved in one pass as in
    :func:`_one_block` (a block's rows: its sales, then its lots by priority; running sums
    per block, the first leaf's sale taking all sold before it), which gives each block's
    ``m_b`` and ``a_b`` at its lots and its sentinel at its last sale; then the blocks are
    merged. Returns each lot's ``_o`` (its row in the trades) and ``remaining`` (end units,
    not yet clipped to the lot).
    """
    width = 1 << bits
    events, closing = _events(lots, marks, width, exact=exact)
    zero = 0 if exact else 0.0
    scale = 1.0 / _SCALE if exact else 1.0
    low, high = lots.select(pl.col("gid").min().alias("low"), pl.col("gid").max()).row(0)
    per = 1 << merges
    gid = pl.col("gid") - low
    ranked = (
        events.sort("gid", "key", descending=[False, True], maintain_order=True)
        # r = the place in that order, which ranks the lots of a group as well as a rank
        # within it would (0 on sales)
        .with_columns(
            r=pl.when(pl.col("key") < _INF)
            .then(pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
            .otherwise(0),
            k=gid * per + pl.col("leaf") // width,
        )
        .select("k", "leaf", "r", "x", "_o")
    )
    # one closing row per leaf of a block, after its lots: each block sums to zero for
    # every j below, so global running sums need no correction per block
    after = lots.height + 2 * marks.height + 1  # above every rank
    closing = closing.select(
        k=gid * per + pl.col("leaf") // width,
        leaf="leaf",
        r=pl.lit(after, pl.Int64),
        x="x",
        _o=pl.lit(None, pl.UInt32),
    )
    rank_bits = after.bit_length() + 1
    top_key = (high - low + 1) * per
    packs = top_key.bit_length() + rank_bits + 1 <= _PACK_BITS
    # (block, rank) in one integer when it fits: a sort by one key
    by_block = [pl.col("k") * (1 << rank_bits) + pl.col("r")] if packs else ["k", "r"]
    # each block's rows together: sales, lots by priority, closing rows
    ordered = pl.concat([ranked, closing]).sort(by_block, maintain_order=True)
    sub = pl.col("leaf") % width
    x = pl.col("x")

    def run(value: pl.Expr) -> pl.Expr:
        return value.cum_sum() if exact else value.cum_sum().over("k")

    runs = [
        run(x if j == width - 1 else pl.when(sub <= j).then(x).otherwise(zero))
        for j in range(width)
    ]
    plan = ordered
    # the least over leaves, four leaves a step: each step keeps one column, not four
    for step in range(0, width, 4):
        least = pl.min_horizontal(*runs[step : step + 4], *([pl.col("_m")] if step else []))
        plan = plan.with_columns(_m=least)
    lot = pl.col("_o").is_not_null()
    # a block's sentinel (rank 0) is its last sale: m there is -S at its last leaf, and its
    # lots' units up to each rank are the last running sum less its value there
    block_last_sale = (pl.col("r") == 0) & (pl.col("r").shift(-1) > 0)
    blocks = (
        plan.with_columns(_all=runs[-1])
        .filter(lot | block_last_sale)
        .select(
            "k",
            "r",
            "_o",
            m=(pl.col("_m") * scale).cast(pl.Float64),
            a=(
                (pl.col("_all") - pl.when(pl.col("r") == 0).then("_all").forward_fill()) * scale
            ).cast(pl.Float64),
        )
    )
    groups = high - low + 1
    # NumPy once it pays for its import (or was imported already)
    arrays = packs and (lots.height >= _ARRAY_ROWS or (_NUMPY_IF_LOADED and "numpy" in sys.modules))
    if packs and not arrays and groups * per <= _PAD_RATIO * (lots.height + marks.height):
        # every parent gets both children (empty blocks where a group has fewer): lean
        # merges, and the whole class is one plan
        # a group of n leaves has ceil(n / width) blocks: the rest of its keys are empty
        ends = marks.lazy().filter(pl.col("last"))
        blocks_used = (pl.col("leaf") + pl.col("_cand").cast(pl.Int64)) // width + 1
        every = (
            ends.select(
                k=(pl.col("gid") - low) * per + pl.int_ranges(blocks_used, per, dtype=pl.Int64),
            )
            .explode("k")
            .filter(pl.col("k").is_not_null())
            .select(
                "k",
                r=pl.lit(0, pl.Int64),
                _o=pl.lit(None, pl.UInt32),
                m=pl.lit(_INF),
                a=pl.lit(0.0),
            )
        )
        merged = pl.concat([blocks, every]).sort(by_block, maintain_order=True)
        for _ in range(merges):
            merged = merge_full(merged, rank_bits)
    else:  # large (NumPy), or keys that do not pack: level by level
        staged = blocks.collect(engine="in-memory")
        buys = staged.filter(pl.col("r") > 0).select("r", "_o")
        done = staged.select("k", "r", "m", "a")
        if arrays:
            done = merge_arrays(done, merges, rank_bits)
        else:
            for _ in range(merges):
                done = merge(done, rank_bits if packs else None)
        merged = done.lazy().join(buys.lazy(), on="r", how="left", maintain_order="left")
    # k is now the group id; the sentinel (first) holds -S(T), the lot rows m(r) and a(r)
    total_sold = -pl.when(pl.col("r") == 0).then("m").forward_fill()
    pool = pl.col("a") - total_sold - pl.min_horizontal(pl.col("m"), pl.lit(0.0))
    return (
        merged.with_columns(_pool=pool)
        .select("_o", "r", remaining=pl.col("_pool") - pl.col("_pool").shift(1))
        .filter(pl.col("r") > 0)
        .select("_o", "remaining")
        .collect(engine="in-memory")
    )
