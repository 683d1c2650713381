"""Refuse sells of more than is held, checked over whole frames (no loop per row).

Within each (account, symbol), rows apply in (date, existing before new, id or file line)
order. A split is an event of its symbol: it multiplies every account's holding by new/old,
and the same split (symbol, date, factor new/old) recorded in several accounts counts once, as in
``workbench.analytics``. To keep the check a cumulative sum, every quantity is expressed in
the units after the last split: a trade's signed quantity times ``after``, the product of the
factors of its symbol's split events that come after it (found with an as-of join, so split
rows never enter the running sums). The running sum per (account, symbol) is then the
holding in those units, and dividing by ``after`` gives the holding as it stood at that row.
Quantities are compared as floats with a tolerance of a millionth of a share. Corporate
actions (rows of one account) enter the running sums as the units they move, found by a replay
of only the positions they touch (:mod:`workbench.ledger.action_holdings`).
"""

from __future__ import annotations

import polars as pl

from workbench.ledger.action_holdings import action_moves, action_rows

TOLERANCE = 1e-6

#: one integer per (account, symbol), so groups never compare text (categorical codes are
#: global: the same text has the same code in every frame of the process)
_PAIR = (
    pl.col("account").to_physical().cast(pl.UInt64) * (1 << 32)
    + pl.col("symbol").to_physical().cast(pl.UInt64)
).alias("_pair")


def _position(src: int, order: str) -> pl.Expr:
    """Apply order as one integer: date (days), then stored (0) before new (1), then id or
    line (each below 2^40)."""
    return (
        pl.col("date").to_physical().cast(pl.Int64) * (1 << 41)
        + src * (1 << 40)
        + pl.col(order).cast(pl.Int64)
    ).alias("pos")


#: a trade's source (0 stored, 1 new) and its id or line, read back from its position
_SRC = ((pl.col("pos") // (1 << 40)) % 2).cast(pl.Int8)
_ORDER = pl.col("pos") % (1 << 40)


def _lean(frame: pl.DataFrame, *, src: int, order: str) -> pl.LazyFrame:
    """The BUY and SELL rows of ``frame`` as the few narrow columns the running sums need
    (the source and the id or line are part of ``pos``: :data:`_SRC`, :data:`_ORDER`)."""
    qty = pl.col("quantity").cast(pl.Float64).fill_null(0.0)
    return (
        frame.lazy()
        .filter(pl.col("type").is_in(["BUY", "SELL"]))
        .select(
            pl.col("account").cast(pl.Categorical),
            pl.col("symbol").cast(pl.Categorical),
            _position(src, order),
            pl.when(pl.col("type") == "BUY").then(qty).otherwise(-qty).alias("signed"),
        )
    )


def lean_trades(new: pl.DataFrame) -> pl.DataFrame:
    """The BUY and SELL rows of new rows (columns as for :func:`oversold_rows`) as the few
    narrow columns the check keeps of them (24 bytes a row): for rows read in batches."""
    return _lean(new, src=1, order="line").collect()


def oversold_rows(
    existing: pl.DataFrame, new: pl.DataFrame, *, new_trades: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Sells that would take a holding below zero.

    Args:
        existing: stored rows of the affected (account, symbol) pairs with account, symbol,
            date, id, type, quantity, ratio_new, ratio_old (other types and columns ignored).
        new: rows being added with the same columns, ``line`` instead of ``id``. Only pairs
            with a new SELL, or whose symbol has a new split, are checked: buys alone never
            lower a holding.
        new_trades: :func:`lean_trades` of the new rows, when ``new`` holds only their
            SPLIT rows (a file read in batches keeps no more of its rows).

    Returns:
        One row per violation: account, symbol, date, type, line (null for stored rows),
        id, held (the holding just before the row), quantity, first_new_line (the first new
        line that touches the pair: a trade of it or a split of its symbol).
    """
    # narrow columns only: the check copies and filters a million rows several times
    added = _lean(new, src=1, order="line") if new_trades is None else new_trades.lazy()
    trades = pl.concat([_lean(existing, src=0, order="id"), added]).with_columns(_PAIR).collect()
    events = _split_events(existing, new)
    actions = _actions(existing, new)
    moved = pl.Series("_pair", [], dtype=pl.UInt64)
    if not actions.is_empty():
        # corporate actions as signed rows of the running sums (see action_holdings); their
        # positions are the actions' own, so they are told apart from sales by ``pos``
        moves = action_moves(trades, events, actions).select(
            pl.col("account", "symbol").cast(pl.Categorical), "pos", "signed"
        )
        if not moves.is_empty():
            moves = moves.with_columns(_PAIR)
            moved = moves["_pair"]
            trades = pl.concat([trades, moves.select(trades.columns)]).sort("pos")
    if trades.is_empty():
        return _no_violations()
    # pairs a new row can lower: a new SELL in the pair, a new split of its symbol, or any
    # pair a corporate action moves shares in or out of
    new_split_symbols = events.filter(pl.col("src") == 1)["symbol"].implode()
    lowering = trades.filter(
        ((_SRC == 1) & (pl.col("signed") < 0))
        | pl.col("symbol").is_in(new_split_symbols)
        | pl.col("_pair").is_in(moved.implode())
    )["_pair"].unique()
    lowers = trades["_pair"].is_in(lowering.implode())
    if not lowers.all():
        trades = trades.filter(lowers)
    if not trades["pos"].is_sorted():
        trades = trades.sort("pos")
    # only trades of symbols with splits (few) need the as-of join; the rest have after = 1.
    # The join reads just (symbol, pos) of those trades and its factors are scattered into a
    # column of ones: measured on 10M rows, filtered copies of the whole trades frame (one
    # per part, with an ``after`` column) were ~0.8 GB of the import's peak.
    if events.is_empty():
        held = pl.col("signed").cum_sum().over("_pair").alias("held_after")
    else:
        in_split_symbol = trades["symbol"].is_in(events["symbol"].unique().implode())
        at = in_split_symbol.arg_true()
        factors = (
            trades.lazy()
            .select("symbol", "pos")
            .filter(in_split_symbol)
            .join_asof(
                events.lazy().select("symbol", "pos", "after"),
                on="pos",
                by="symbol",
                strategy="forward",
                check_sortedness=False,  # both sorted by pos above
            )
            .select(pl.col("after").fill_null(1.0))
            .collect()
            .to_series()
        )
        after = pl.repeat(1.0, trades.height, dtype=pl.Float64, eager=True).scatter(at, factors)
        trades = trades.with_columns(after.alias("after"))
        held = (
            (pl.col("signed") * pl.col("after")).cum_sum().over("_pair") / pl.col("after")
        ).alias("held_after")
    checked = (
        trades.lazy()
        .with_columns(held)
        .filter((pl.col("signed") < 0) & (pl.col("held_after") < -TOLERANCE))
        # the streaming engine keeps the apply order the running sums need, and was
        # measured 15-35% faster here than the in-memory one on a million trades
        .collect(engine="streaming")
        .sort(["_pair", "pos"])
    )
    if not actions.is_empty():  # only sales are reported, never an action's own rows
        checked = checked.join(actions.select("pos"), on="pos", how="anti")
    if checked.is_empty():
        return _no_violations()
    first_new = (
        pl.concat(
            [
                trades.filter(_SRC == 1)
                .join(checked.select("_pair").unique(), on="_pair", how="semi")
                .select("_pair", line=_ORDER),
                checked.select("_pair", "symbol")
                .unique()
                .join(events.filter(pl.col("src") == 1), on="symbol")
                .select("_pair", "line"),
            ]
        )
        .group_by("_pair")
        .agg(pl.col("line").min().alias("first_new_line"))
    )
    is_new = _SRC == 1
    return (
        checked.join(first_new, on="_pair", how="left", maintain_order="left")
        .select(
            pl.col("account").cast(pl.String),
            pl.col("symbol").cast(pl.String),
            (pl.col("pos") // (1 << 41)).cast(pl.Int32).cast(pl.Date).alias("date"),
            pl.lit("SELL").alias("type"),
            pl.when(is_new).then(_ORDER).alias("line"),
            pl.when(~is_new).then(_ORDER).alias("id"),
            (pl.col("held_after") - pl.col("signed")).alias("held"),
            (-pl.col("signed")).alias("quantity"),
            "first_new_line",
        )
        .sort("account", "symbol", maintain_order=True)
    )


def _actions(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The corporate-action rows of both frames (:func:`action_rows`), or an empty frame."""
    parts = [action_rows(existing, src=0, order="id"), action_rows(new, src=1, order="line")]
    parts = [part for part in parts if not part.is_empty()]
    return pl.concat(parts) if parts else pl.DataFrame()


def _split_events(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Distinct split events where each was first recorded in apply order, sorted by
    position, with ``after``: the product of the factors of that event and every later event
    of its symbol, and ``line`` when first recorded in the new rows.

    Events are told apart by (symbol, date, factor new/old), the rule of
    :func:`workbench.analytics._frames.split_events`: 4:2 in one account and 2:1 in another
    on the same day are one split.
    """
    factor = (pl.col("ratio_new").cast(pl.Float64) / pl.col("ratio_old").cast(pl.Float64)).alias(
        "factor"
    )
    columns = [pl.col("date"), factor, pl.col("symbol").cast(pl.Categorical)]
    is_split = pl.col("type") == "SPLIT"
    splits = pl.concat(
        [
            existing.lazy()
            .filter(is_split)
            .select(*columns, _position(0, "id"), src=pl.lit(0, dtype=pl.Int8), line=None),
            new.lazy()
            .filter(is_split)
            .select(*columns, _position(1, "line"), src=pl.lit(1, dtype=pl.Int8), line="line"),
        ],
        how="vertical_relaxed",
    )
    return (
        splits.sort("pos")
        .unique(["symbol", "date", "factor"], keep="first", maintain_order=True)
        .with_columns(pl.col("factor").cum_prod(reverse=True).over("symbol").alias("after"))
        .collect()
    )


def _no_violations() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "account": pl.String, "symbol": pl.String, "date": pl.Date, "type": pl.String,
            "line": pl.Int64, "id": pl.Int64, "held": pl.Float64, "quantity": pl.Float64,
            "first_new_line": pl.Int64,
        }
    )  # fmt: skip
