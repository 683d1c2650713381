"""Cost-basis lots (FIFO, LIFO, HIFO, AVERAGE), realized P&L and the lots behind a position.

Every method is computed for all (account, symbol) groups at once with Polars window
expressions; there is no Python loop over transactions or groups. Quantities are in *end
units* (shares as of the as-of date, after every split), so a split changes a lot's quantity
and per-share cost but never its total cost. Each BUY is a lot costing
``quantity * price + fee``; each SELL yields proceeds ``quantity * price - fee``. Realized P&L
is ``proceeds - cost of the units consumed``, computed as
``sum(proceeds) - (sum(lot costs) - cost of what remains open)``, so every method conserves
cost exactly: open basis + cost of lots sold = total bought cost.

How each method finds what remains of every lot (``H`` = holdings after each trade):

* FIFO: sells consume the cumulative bought quantity from the start. A lot covering
  ``(B_start, B_end]`` on that axis keeps ``clip(B_end - S, 0, quantity)`` where ``S`` is all
  units sold.
* LIFO: the holdings form a stack whose levels are the values of ``H``. The units a buy put at
  levels ``(H_before, H_after]`` survive up to the lowest later value of ``H`` (a reverse
  running minimum), so a lot keeps ``clip(min(H from this buy on) - H_before, 0, quantity)``.
* HIFO: sells take the highest-cost units available (ties: the older lot first). For each lot
  ``j`` the pool of units at least as costly behaves as a queue reflected at zero; its final
  size is ``Y_T - min(0, min_t Y_t)`` with ``Y_t`` = (those units bought) - (all units sold)
  up to ``t`` (Lindley's recursion). A lot keeps the difference between its pool and the next
  costlier one. This pairs each lot with each trade of its group: ``O(lots x trades)`` per
  (account, symbol), fine for personal ledgers, not meant for millions of rows in one group.
* AVERAGE (moving average): a sell of ``s`` out of ``H`` keeps the fraction ``(H - s) / H`` of
  every open unit, so a lot keeps ``quantity * exp(sum of log fractions after it)``; selling to
  zero starts a new segment. Total basis equals the textbook moving average.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

import polars as pl

from workbench.analytics._frames import (
    EPS,
    TRADES,
    dividend_amount,
    end_units,
    prepare,
    round_qty,
)

_FILLED = ["quantity", "bought_cost", "proceeds", "trade_fees", "cost_basis", "dividends"]
CostMethod = Literal["fifo", "lifo", "hifo", "average"]
COST_METHODS: tuple[str, ...] = get_args(CostMethod)
GROUP = ["account", "symbol"]

_LOT_COLUMNS = [
    "account", "symbol", "lot_id", "date", "quantity", "unit_cost", "cost_basis",
    "bought_quantity", "bought_cost",
]  # fmt: skip


def _check_method(method: str) -> str:
    name = method.lower()
    if name not in COST_METHODS:
        raise ValueError(
            f"unknown cost method {method!r}; expected one of {', '.join(COST_METHODS)}"
        )
    return name


def _trades(tx: pl.DataFrame) -> pl.DataFrame:
    """BUY and SELL rows in apply order with end units, cost and proceeds."""
    gross = pl.col("quantity") * pl.col("price")
    buy = pl.col("_buy")
    return (
        tx.filter(pl.col("type").is_in(TRADES) & pl.col("symbol").is_not_null())
        .with_columns(units=end_units(), _buy=pl.col("type") == "BUY")
        .select(
            "seq",
            "id",
            "date",
            "account",
            "symbol",
            "type",
            "fee",
            "units",
            cost=pl.when(buy).then(gross + pl.col("fee")).otherwise(0.0),
            proceeds=pl.when(buy).then(0.0).otherwise(gross - pl.col("fee")),
            signed=pl.when(buy).then(pl.col("units")).otherwise(-pl.col("units")),
        )
    )


def _fifo(trades: pl.DataFrame) -> pl.DataFrame:
    sold = trades.filter(pl.col("type") == "SELL").group_by(GROUP).agg(sold=pl.col("units").sum())
    return (
        trades.filter(pl.col("type") == "BUY")
        .with_columns(b_end=pl.col("units").cum_sum().over(GROUP))
        .join(sold, on=GROUP, how="left", maintain_order="left")
        .with_columns(
            remaining=(pl.col("b_end") - pl.col("sold").fill_null(0.0)).clip(0.0, pl.col("units"))
        )
    )


def _with_holdings(trades: pl.DataFrame) -> pl.DataFrame:
    return trades.with_columns(h_after=pl.col("signed").cum_sum().over(GROUP)).with_columns(
        h_before=pl.col("h_after") - pl.col("signed")
    )


def _lifo(trades: pl.DataFrame) -> pl.DataFrame:
    return (
        _with_holdings(trades)
        .with_columns(floor=pl.col("h_after").cum_min(reverse=True).over(GROUP))
        .filter(pl.col("type") == "BUY")
        .with_columns(remaining=(pl.col("floor") - pl.col("h_before")).clip(0.0, pl.col("units")))
    )


def _average(trades: pl.DataFrame) -> pl.DataFrame:
    zero = pl.col("h_after").abs() <= EPS
    frac = pl.when((pl.col("type") == "SELL") & (pl.col("h_before") > EPS) & ~pl.col("_zero")).then(
        (pl.col("h_after") / pl.col("h_before")).log()
    )
    events = (
        _with_holdings(trades)
        .with_columns(_zero=zero)
        .with_columns(
            _seg=pl.col("_zero").cast(pl.Int64).cum_sum().over(GROUP)
            - pl.col("_zero").cast(pl.Int64),
            _logf=frac.otherwise(0.0),
        )
        .with_columns(_L=pl.col("_logf").cum_sum().over([*GROUP, "_seg"]))
        .with_columns(
            _L_end=pl.col("_L").last().over(GROUP),
            _seg_end=pl.col("_seg").last().over(GROUP),
            _closed=pl.col("_zero").last().over(GROUP),
        )
    )
    alive = (pl.col("_seg") == pl.col("_seg_end")) & ~pl.col("_closed")
    keep = (pl.col("_L_end") - pl.col("_L")).exp()
    return events.filter(pl.col("type") == "BUY").with_columns(
        remaining=pl.when(alive).then(pl.col("units") * keep).otherwise(0.0)
    )


#: HIFO pairs every lot with every trade of its group; past this many pairs, work in batches
_HIFO_PAIRS_PER_BATCH = 20_000_000


def _hifo(trades: pl.DataFrame) -> pl.DataFrame:
    """HIFO in batches of whole groups, so memory stays bounded on large ledgers."""
    sizes = (
        trades.group_by(GROUP)
        .agg(pairs=(pl.col("type") == "BUY").sum().cast(pl.Int64) * pl.len().cast(pl.Int64))
        .sort(GROUP)
    )
    total = int(sizes["pairs"].sum())
    if total <= _HIFO_PAIRS_PER_BATCH:
        return _hifo_batch(trades)
    batches = sizes.with_columns(_batch=pl.col("pairs").cum_sum() // _HIFO_PAIRS_PER_BATCH)
    tagged = trades.join(batches.select(*GROUP, "_batch"), on=GROUP, how="left")
    # one iteration per batch of groups (a handful), not per group or row
    parts = [_hifo_batch(part.drop("_batch")) for part in tagged.partition_by("_batch")]
    return pl.concat(parts).sort("seq")


def _hifo_batch(trades: pl.DataFrame) -> pl.DataFrame:
    buys = (
        trades.filter(pl.col("type") == "BUY")
        .with_columns(_uc=pl.col("cost") / pl.col("units"))
        .sort([*GROUP, "_uc", "seq"], descending=[False, False, True, False])
        .with_columns(_rank=pl.int_range(pl.len()).over(GROUP))
    )
    events = trades.join(
        buys.select("seq", "_rank"), on="seq", how="left", maintain_order="left"
    ).select(*GROUP, "seq", "type", "units", ev_rank="_rank")
    pairs = (
        buys.select(*GROUP, "_rank")
        .join(events, on=GROUP, how="inner")
        .sort([*GROUP, "_rank", "seq"])
        .with_columns(
            step=pl.when(pl.col("type") == "SELL")
            .then(-pl.col("units"))
            .when(pl.col("ev_rank") <= pl.col("_rank"))
            .then(pl.col("units"))
            .otherwise(0.0)
        )
        .with_columns(_y=pl.col("step").cum_sum().over([*GROUP, "_rank"]))
        .group_by([*GROUP, "_rank"])
        .agg(_pool=pl.col("_y").last() - pl.min_horizontal(pl.col("_y").min(), pl.lit(0.0)))
        .sort([*GROUP, "_rank"])
        .with_columns(_prev=pl.col("_pool").shift(1).over(GROUP).fill_null(0.0))
    )
    return (
        buys.join(pairs.select(*GROUP, "_rank", "_pool", "_prev"), on=[*GROUP, "_rank"], how="left")
        .with_columns(remaining=(pl.col("_pool") - pl.col("_prev")).clip(0.0, pl.col("units")))
        .sort("seq")
    )


_METHODS = {"fifo": _fifo, "lifo": _lifo, "hifo": _hifo, "average": _average}


def _lots(tx: pl.DataFrame, method: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every buy lot with its remaining end units, the trades it came from)."""
    trades = _trades(tx)
    lots = _METHODS[_check_method(method)](trades).with_columns(
        remaining=pl.when(pl.col("remaining") <= EPS).then(0.0).otherwise(pl.col("remaining"))
    )
    return lots, trades


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
    lots, _ = _lots(tx, method)
    unit_cost = pl.col("cost") / pl.col("units")
    return (
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
        .sort("account", "symbol", "date", "lot_id")
        .select(_LOT_COLUMNS)
    )


def pnl_from_prepared(tx: pl.DataFrame, *, method: str = "fifo") -> pl.DataFrame:
    """:func:`position_pnl` on rows already passed through ``prepare``."""
    lots, trades = _lots(tx, method)
    basis = lots.group_by(GROUP).agg(
        cost_basis=(pl.col("remaining") * pl.col("cost") / pl.col("units")).sum(),
        open_units=pl.col("remaining").sum(),
    )
    flows = trades.group_by(GROUP).agg(
        quantity=pl.col("signed").sum(),
        bought_cost=pl.col("cost").sum(),
        proceeds=pl.col("proceeds").sum(),
        trade_fees=pl.col("fee").sum(),
    )
    dividends = (
        tx.filter((pl.col("type") == "DIVIDEND") & pl.col("symbol").is_not_null())
        .group_by(GROUP)
        .agg(dividends=dividend_amount().sum())
    )
    out = (
        flows.join(basis, on=GROUP, how="left")
        .join(dividends, on=GROUP, how="full", coalesce=True)
        .with_columns(pl.col(_FILLED).fill_null(0.0))
        .with_columns(
            quantity=round_qty(pl.col("quantity")),
            realized_pnl=pl.col("proceeds") - (pl.col("bought_cost") - pl.col("cost_basis")),
        )
    )
    return out.select(
        *GROUP, "quantity", "cost_basis", "realized_pnl", "dividends",
        "bought_cost", "proceeds", "trade_fees",
    ).sort(GROUP)  # fmt: skip


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
    tx, _ = prepare(transactions, as_of=as_of, account=account)
    return pnl_from_prepared(tx, method=method)


def lots_from_prepared(tx: pl.DataFrame, *, method: str = "fifo") -> pl.DataFrame:
    """Every BUY lot of prepared rows with what remains of it, for callers that value lots in
    other terms (e.g. native and reporting currency): id (the BUY's), account, symbol, units
    (end units bought), cost (as bought, fee included), remaining (end units left)."""
    lots, _ = _lots(tx, method)
    return lots.select("id", "account", "symbol", "units", "cost", "remaining")
