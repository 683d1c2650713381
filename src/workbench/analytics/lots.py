"""Cost-basis lots (FIFO, LIFO, HIFO, AVERAGE), realized P&L and the lots behind a position.

Every method is computed for all (account, symbol) groups at once with Polars expressions;
there is no Python loop over transactions or groups. Quantities are in *end units* (shares as
of the as-of date, after every split), so a split changes a lot's quantity and per-share cost
but never its total cost. Each BUY is a lot costing ``quantity * price + fee``; each SELL
yields proceeds ``quantity * price - fee``. Realized P&L is ``proceeds - cost of the units
consumed``, computed as ``sum(proceeds) - (sum(lot costs) - cost of what remains open)``, so
every method conserves cost exactly: open basis + cost of lots sold = total bought cost.

Groups are keyed by a 64-bit hash of (account, symbol) (windows over one integer column cost a
third of windows over two strings); a second, independent hash checks that no two groups
shared a key, and if any did the exact (slower) key is used instead. Rows are in apply order.

How each method finds what remains of every lot (``H`` = holdings after each trade):

* FIFO: sells consume the cumulative bought quantity from the start. A lot covering
  ``(B_start, B_end]`` on that axis keeps ``clip(B_end - S, 0, quantity)`` where ``S`` is all
  units sold.
* LIFO: the holdings form a stack whose levels are the values of ``H``. The units a buy put at
  levels ``(H_before, H_after]`` survive up to the lowest later value of ``H`` (a reverse
  running minimum), so a lot keeps ``clip(min(H from this buy on) - H_before, 0, quantity)``.
* HIFO: sells take the highest-cost units available (ties: the older lot first). The units of
  the ``r`` costliest lots still held form a queue reflected at zero (Lindley's recursion);
  its minimum over time for every ``r`` at once is one running sum per deciding sale for
  groups of up to 16 of them (after sales dominated by later lows are skipped: every group
  of the demo and active-trader ledgers), else a divide and conquer over the group's sales
  (:mod:`workbench.analytics._hifo`): ``O(n log n)`` work in vectorized passes, exact, for
  any group size. Trade-off: no loop per row, but a larger constant than FIFO's single
  window: ``benchmarks/analytics.py`` measured the lots step at 1.2-2.2x FIFO's on active
  traders of 4,000-400,000 trades and their partial sells, 2.5-3.2x on the 1M-row demo ledger
  and 2.8-3.4x when every sale is below all later holdings (8 merge levels), shared machine.
* AVERAGE (moving average): a sell of ``s`` out of ``H`` keeps the fraction ``(H - s) / H`` of
  every open unit, so a lot keeps ``quantity * exp(sum of log fractions after it)``; selling to
  zero starts a new segment. Total basis equals the textbook moving average.

Corporate actions (SYMBOL_CHANGE, SPINOFF, MERGER, RETURN_OF_CAPITAL, STOCK_DIVIDEND) are
not column expressions: the positions they touch are replayed row by row by
:mod:`workbench.analytics.corporate`, and every other position stays here; a ledger without
them never leaves this engine.

``position_pnl`` reads the few columns it needs lazily from a ledger in apply order with few
splits (no full normalized copy: peak memory stays near the positions step's); other ledgers
go through ``prepare``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

import polars as pl

from workbench.analytics._frames import (
    EPS,
    end_units,
    has_actions,
    in_apply_order,
    later_split_factor,
    prepare,
    round_qty,
    split_events,
)
from workbench.analytics._hifo import hifo_remaining

CostMethod = Literal["fifo", "lifo", "hifo", "average"]
COST_METHODS: tuple[str, ...] = get_args(CostMethod)
GROUP = ["account", "symbol"]

_LOT_COLUMNS = [
    "account", "symbol", "lot_id", "date", "quantity", "unit_cost", "cost_basis",
    "bought_quantity", "bought_cost",
]  # fmt: skip
# two independent 64-bit hashes of (account, symbol): the first keys the windows, the second
# proves the first did not merge two groups (else the exact, slower key is used)
_SEEDS = (0x5EED, 0xC0FFEE)
_BUY, _SELL, _TRADE = pl.col("_buy"), pl.col("_sell"), pl.col("_buy") | pl.col("_sell")


def _check_method(method: str) -> str:
    name = method.lower()
    if name not in COST_METHODS:
        raise ValueError(
            f"unknown cost method {method!r}; expected one of {', '.join(COST_METHODS)}"
        )
    return name


def _group_key(exact: bool) -> pl.Expr:
    pair = pl.struct(GROUP)
    return pair.rank("dense").cast(pl.UInt64) if exact else pair.hash(_SEEDS[0])


def _keyed(
    tx: pl.DataFrame | pl.LazyFrame, *, exact: bool, units: pl.Expr | None = None
) -> pl.LazyFrame:
    """Every row with its group key ``g`` and trade columns (zero off trades).

    ``units`` are end units of BUY/SELL rows (by default from prepared rows' split factors),
    ``cost`` = quantity x price + fee on buys, ``proceeds`` = quantity x price - fee on
    sells, ``signed`` = +units / -units.
    """
    kind, has_symbol = pl.col("type"), pl.col("symbol").is_not_null()
    gross = pl.col("quantity") * pl.col("price")
    fee = pl.col("fee").fill_null(0.0)
    return (
        tx.lazy()
        .with_columns(
            g=_group_key(exact),
            _buy=(kind == "BUY") & has_symbol,
            _sell=(kind == "SELL") & has_symbol,
        )
        .with_columns(
            units=pl.when(_TRADE).then(end_units() if units is None else units).otherwise(0.0),
            cost=pl.when(_BUY).then(gross + fee).otherwise(0.0),
            proceeds=pl.when(_SELL).then(gross - fee).otherwise(0.0),
        )
        .with_columns(
            signed=pl.when(_SELL).then(-pl.col("units")).otherwise(pl.col("units")),
        )
    )


def _remaining(method: str) -> dict[str, pl.Expr]:
    """Window expressions (over ``g``, in apply order) for what remains of each buy.

    FIFO, LIFO and AVERAGE only: HIFO needs its own pass (:mod:`._hifo`).
    """
    units = pl.col("units")
    if method == "fifo":
        bought_to_here = pl.when(_BUY).then(units).otherwise(0.0).cum_sum().over("g")
        sold = pl.when(_SELL).then(units).otherwise(0.0).sum().over("g")
        left = (bought_to_here - sold).clip(0.0, units)
        return {"remaining": pl.when(_BUY).then(left).otherwise(0.0)}
    held = pl.col("signed").cum_sum().over("g")  # holdings after each row
    if method == "lifo":
        floor = held.cum_min(reverse=True).over("g")
        left = (floor - (held - pl.col("signed"))).clip(0.0, units)
        return {"remaining": pl.when(_BUY).then(left).otherwise(0.0)}
    # average: a sell of s out of H keeps (H - s) / H of every open unit; a buy survives only
    # if no later trade of its group sells to zero, and then keeps the product of the later
    # fractions (reverse running sums: no per-segment windows)
    return {"_held": held}


def _average_remaining(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Finish AVERAGE: a buy keeps units x exp(sum of later log fractions) if nothing after it
    sold the position to zero."""
    held, signed = pl.col("_held"), pl.col("signed")
    zero = (_TRADE & (held.abs() <= EPS)).cast(pl.Int64)
    before = held - signed
    log_keep = pl.when(_SELL & (before > EPS) & (held.abs() > EPS)).then((held / before).log())
    later_zeros = zero.cum_sum(reverse=True).over("g")
    later_logs = log_keep.otherwise(0.0).cum_sum(reverse=True).over("g")  # 0 on the buy itself
    alive = _BUY & (later_zeros == 0)
    return frame.with_columns(
        remaining=pl.when(alive).then(pl.col("units") * later_logs.exp()).otherwise(0.0)
    )


def _with_remaining(keyed: pl.LazyFrame, method: str) -> pl.LazyFrame:
    """The keyed rows with ``remaining`` (end units left of each buy; 0 on other rows)."""
    if method == "hifo":
        trades = (
            keyed.filter(_TRADE)
            .select("g", "seq", buy="_buy", units="units", unit_cost=pl.col("cost") / "units")
            .collect()
        )
        left = hifo_remaining(trades).select("seq", "remaining").lazy()
        return keyed.join(left, on="seq", how="left", maintain_order="left").with_columns(
            pl.col("remaining").fill_null(0.0)
        )
    frame = keyed.with_columns(**_remaining(method))
    return _average_remaining(frame) if method == "average" else frame


def _snap(expr: pl.Expr) -> pl.Expr:
    """Float residue of a lot (|x| <= 1e-9 units) is nothing left."""
    return pl.when(expr <= EPS).then(0.0).otherwise(expr)


def _lots(tx: pl.DataFrame, method: str) -> pl.DataFrame:
    """Every BUY of prepared rows: seq, id, date, account, symbol, units, cost, remaining."""
    name = _check_method(method)
    exact = _collides(tx)
    lots = (
        _with_remaining(_keyed(tx, exact=exact), name)
        .filter(_BUY)
        .select(
            "seq",
            "id",
            "date",
            "account",
            "symbol",
            "units",
            "cost",
            remaining=_snap(pl.col("remaining")),
        )
        .collect()
    )
    return lots.sort("seq")


def _collides(tx: pl.DataFrame) -> bool:
    """Whether the hash key would merge two (account, symbol) groups (checked, never assumed)."""
    pair = pl.struct(GROUP)
    check = (
        tx.lazy()
        .group_by(g=pair.hash(_SEEDS[0]))
        .agg(lo=pair.hash(_SEEDS[1]).min(), hi=pair.hash(_SEEDS[1]).max())
        .select((pl.col("lo") != pl.col("hi")).any())
        .collect()
    )
    return bool(check.item()) if check.height else False


def open_lots(
    transactions: pl.DataFrame,
    *,
    method: str = "fifo",
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """The open lots behind each position: what explains a quantity and its cost basis.

    Returns one row per lot with units left: account, symbol, lot_id (the BUY's id), date,
    quantity (end units), unit_cost, cost_basis, bought_quantity, bought_cost.

        >>> open_lots(read_transactions(con), method="hifo").filter(pl.col("symbol") == "ACME")
    """
    tx, _ = prepare(transactions, as_of=as_of, account=account)
    replayed = None
    if has_actions(tx):
        from workbench.analytics import corporate

        tx, touched = corporate.split_affected(tx)
        replayed = corporate.replay(touched, method=_check_method(method)).lots.select(
            "account",
            "symbol",
            lot_id="lot_id",
            date="acquired",
            quantity=round_qty(pl.col("units")),
            unit_cost=pl.col("cost") / pl.col("units"),
            cost_basis="cost",
            bought_quantity=round_qty(pl.col("bought_units")),
            bought_cost="bought_cost",
        )
    lots = _lots(tx, method)
    unit_cost = pl.col("cost") / pl.col("units")
    plain = (
        lots.filter(pl.col("remaining") > 0)
        .select(
            "account",
            "symbol",
            lot_id="id",
            date="date",
            quantity=round_qty(pl.col("remaining")),
            unit_cost=unit_cost,
            cost_basis=pl.col("remaining") * unit_cost,
            bought_quantity=round_qty(pl.col("units")),
            bought_cost="cost",
        )
        .select(_LOT_COLUMNS)
    )
    if replayed is not None:
        plain = pl.concat([plain, replayed.select(_LOT_COLUMNS)])
    return plain.sort("account", "symbol", "date", "lot_id")


def pnl_from_prepared(tx: pl.DataFrame, *, method: str = "fifo") -> pl.DataFrame:
    """:func:`position_pnl` on rows already passed through ``prepare``.

    Positions a corporate action touches are replayed (:mod:`.corporate`), the rest take the
    vectorized path.
    """
    name = _check_method(method)
    if has_actions(tx):
        from workbench.analytics import corporate

        rest, touched = corporate.split_affected(tx)
        plain = pnl_from_prepared(rest, method=name)
        replayed = corporate.summary(touched, corporate.replay(touched, method=name), target=None)
        return pl.concat([plain, replayed.select(plain.columns)]).sort(GROUP)
    out = _pnl(tx.lazy(), name, exact=False)
    return out if out is not None else _pnl(tx.lazy(), name, exact=True)  # type: ignore[return-value]


def _pnl(
    rows: pl.LazyFrame,
    method: str,
    *,
    exact: bool,
    units: pl.Expr | None = None,
    names: pl.DataFrame | None = None,
) -> pl.DataFrame | None:
    """One group-by over every row; None if the hash key merged two groups.

    With ``names`` (the frame ``rows`` was filtered from, ``seq`` its row numbers) account
    and symbol are read from it at each group's first row instead of riding through the
    windows: two string columns fewer to copy and hold.
    """
    keyed = _keyed(rows, exact=exact, units=units)
    frame = (
        keyed.with_columns(remaining=pl.lit(0.0))
        if method == "hifo"
        else (_with_remaining(keyed, method))
    )
    check = pl.struct(GROUP).hash(_SEEDS[1])
    left = _snap(pl.col("remaining"))
    label = (
        [pl.col("seq").min().alias("_first")]
        if names is not None
        else [pl.col("account").first(), pl.col("symbol").first()]
    )
    summed = frame.group_by("g").agg(
        *label,
        _lo=check.min(),
        _hi=check.max(),
        _trades=_TRADE.sum(),
        quantity=pl.col("signed").sum(),
        bought_cost=pl.col("cost").sum(),
        proceeds=pl.col("proceeds").sum(),
        trade_fees=pl.when(_TRADE).then(pl.col("fee")).otherwise(0.0).sum(),
        cost_basis=pl.when(left > 0).then(left * pl.col("cost") / pl.col("units")).sum(),
    )
    if method == "hifo":  # the trades for HIFO's own pass, read in the same collect
        trades = keyed.filter(_TRADE).select(
            "g", "seq", buy="_buy", units="units", unit_cost=pl.col("cost") / "units"
        )
        out, hifo_trades = pl.collect_all([summed, trades])
    else:
        out = summed.collect()
    if not exact and out.select((pl.col("_lo") != pl.col("_hi")).any()).item():
        return None
    if names is not None:
        first = out["_first"]
        out = out.with_columns(
            account=names["account"].gather(first), symbol=names["symbol"].gather(first)
        )
    # dividends from their own (few) rows: the amount column is cast only there
    dividends = (
        rows.filter((pl.col("type") == "DIVIDEND") & pl.col("symbol").is_not_null())
        .group_by(g=_group_key(exact))
        .agg(
            dividends=pl.coalesce(
                pl.col("amount").cast(pl.Float64),
                pl.col("quantity").cast(pl.Float64) * pl.col("price").cast(pl.Float64),
                pl.lit(0.0),
            ).sum()
        )
        .collect()
    )
    out = out.join(dividends, on="g", how="left")
    if method == "hifo":
        basis = (
            hifo_remaining(hifo_trades)
            .group_by("g")
            .agg(cost_basis=(_snap(pl.col("remaining")) * pl.col("unit_cost")).sum())
        )
        out = out.drop("cost_basis").join(basis, on="g", how="left")
    return (
        out.filter(
            pl.col("symbol").is_not_null()
            & ((pl.col("_trades") > 0) | pl.col("dividends").is_not_null())
        )
        .with_columns(pl.col("dividends", "cost_basis").fill_null(0.0))
        .with_columns(
            quantity=round_qty(pl.col("quantity")),
            realized_pnl=pl.col("proceeds") - (pl.col("bought_cost") - pl.col("cost_basis")),
        )
        .select(
            *GROUP,
            "quantity",
            "cost_basis",
            "realized_pnl",
            "dividends",
            "bought_cost",
            "proceeds",
            "trade_fees",
        )
        .sort(GROUP)
    )


def _lean_rows(
    transactions: pl.DataFrame, *, as_of: dt.date | None, account: str | None
) -> tuple[pl.LazyFrame, pl.Expr] | None:
    """The rows :func:`position_pnl` needs, lazily, without ``prepare``'s full copy.

    Needs the ledger in apply order and few splits (the common case); None otherwise.
    """
    if not in_apply_order(transactions):
        return None
    lf = transactions.lazy()
    if as_of is not None:
        lf = lf.filter(pl.col("date") <= as_of)
    raw_splits = (
        lf.filter(pl.col("ratio_new").is_not_null() & (pl.col("type") == "SPLIT"))
        .select("id", "date", "symbol", "ratio_new", "ratio_old")
        .collect()
        .with_columns(pl.col("ratio_new", "ratio_old").cast(pl.Float64))
        .with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64), type=pl.lit("SPLIT"))
    )
    later = later_split_factor(split_events(raw_splits))
    if later is None:
        return None
    rows = lf.with_columns(
        seq=pl.int_range(pl.len(), dtype=pl.Int64),  # before filtering: the row in ``names``
    )
    if account is not None:
        rows = rows.filter(pl.col("account") == account)
    rows = rows.select(
        "seq", "type", "account", "symbol", "amount", "date", "id",
        pl.col("quantity", "price", "fee").cast(pl.Float64),
    )  # fmt: skip
    return rows, pl.col("quantity") * later


def position_pnl(
    transactions: pl.DataFrame,
    *,
    method: str = "fifo",
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Quantity, cost basis, realized P&L and dividends per (account, symbol).

    One row for every (account, symbol) ever traded or paid a dividend, closed positions
    included (quantity 0), so realized P&L adds up. Columns: account, symbol, quantity,
    cost_basis, realized_pnl, dividends, bought_cost, proceeds, trade_fees.

        >>> position_pnl(read_transactions(con), method="lifo", as_of=date(2024, 12, 31))
    """
    name = _check_method(method)
    # actions first: their ledgers never take the lean path, so its split scan would be wasted
    lean = (
        None
        if has_actions(transactions)
        else _lean_rows(transactions, as_of=as_of, account=account)
    )
    if lean is None:  # actions, out of order or many splits: the general path
        tx, _ = prepare(transactions, as_of=as_of, account=account)
        return pnl_from_prepared(tx, method=name)
    rows, units = lean
    names = transactions if as_of is None else transactions.filter(pl.col("date") <= as_of)
    out = _pnl(rows, name, exact=False, units=units, names=names)
    if out is None:
        out = _pnl(rows, name, exact=True, units=units, names=names)
    assert out is not None
    return out


def lots_from_prepared(tx: pl.DataFrame, *, method: str = "fifo") -> pl.DataFrame:
    """Every BUY lot of prepared rows with what remains of it, for callers that value lots in
    other terms (e.g. native and reporting currency): id (the BUY's), account, symbol, units
    (end units bought), cost (as bought, fee included), remaining (end units left)."""
    return _lots(tx, method).select("id", "account", "symbol", "units", "cost", "remaining")
