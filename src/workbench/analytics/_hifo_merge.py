"""One level of HIFO's divide and conquer: merge each pair of adjacent blocks into one.

A block (see :mod:`workbench.analytics._hifo`) is stored as rows ``k`` (block key: parent
``k // 2``, side ``k % 2``), ``r`` (rank; 0 on the block's sentinel, its first row), ``m`` and
``a`` (the block's step functions at that rank). Blocks ``2p`` and ``2p + 1`` merge as

    m(r) = min(m_L(r), a_L(r) + m_R(r)),   a(r) = a_L(r) + a_R(r)

with each side's value at a rank of the other side its last row at or below that rank. Three
forms of the same step: :func:`merge_full` (Polars, lazy, when every parent has both
children), :func:`merge` (Polars, eager, any blocks) and :func:`merge_arrays` (NumPy, all
levels, for large frames).
"""

from __future__ import annotations

import polars as pl

_INF = float("inf")


def merge_arrays(blocks: pl.DataFrame, levels: int, rank_bits: int) -> pl.DataFrame:
    """All ``levels`` merges on NumPy arrays: the same steps as :func:`merge`, with
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


def merge_full(blocks: pl.LazyFrame, rank_bits: int) -> pl.LazyFrame:
    """:func:`merge` when every parent has both children (see :func:`workbench.analytics._hifo._size_class`): a parent's
    rows sort as its left sentinel, its right sentinel, then its lots by rank, so after the
    left sentinel both forward fills hold the parent's own values; the right sentinel
    (which has seen both) is the parent's."""
    left, right = pl.col("_side") == 0, pl.col("_side") == 1

    def fill(side: pl.Expr, column: str) -> pl.Expr:
        return pl.when(side).then(pl.col(column)).forward_fill()

    m_left, a_left = fill(left, "m"), fill(left, "a")
    return (
        blocks.with_columns(_p=pl.col("k") // 2, _side=pl.col("k") % 2)
        .sort((pl.col("_p") * (1 << rank_bits) + pl.col("r")) * 2 + pl.col("_side"))
        .select(
            k="_p",
            r="r",
            _o="_o",
            m=pl.min_horizontal(m_left, a_left + fill(right, "m")),
            a=a_left + fill(right, "a"),
            _keep=(pl.col("r") > 0) | right,
        )
        .filter(pl.col("_keep"))
        .select("k", "r", "_o", "m", "a")
    )


def merge(blocks: pl.DataFrame, rank_bits: int | None = None) -> pl.DataFrame:
    """One level: merge each pair of adjacent blocks (keys 2p and 2p + 1) into block p.

    ``blocks`` is sorted by (k, r); so are its even-k rows and its odd-k rows by (k // 2, r),
    and a linear merge of the two puts every parent's rows in rank order. With
    ``rank_bits`` (parent, rank, side) packs into one integer and a sort by it is that
    merge (cheaper in Polars than a merge of two frames by two keys). Eager: a lazy plan
    costs more than it saves on the small frames of the upper levels.
    """
    staged = blocks.lazy().with_columns(_p=pl.col("k") // 2, _side=pl.col("k") % 2)
    if rank_bits is not None:  # the left sentinel of a parent first: side is the last bit
        ordered = staged.sort((pl.col("_p") * (1 << rank_bits) + pl.col("r")) * 2 + pl.col("_side"))
    else:
        frame = staged.collect(engine="in-memory")
        even = frame["_side"] == 0
        ordered = (
            frame.filter(even)
            .merge_sorted(frame.filter(~even), key=["_p", "r"], maintain_order=True)
            .lazy()
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
        .collect(engine="in-memory")
    )
