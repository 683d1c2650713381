"""Positions, P&L and cash in a reporting currency C, each split into a price and an FX part.

The conventions of DESIGN section 3b (Portfolio Performance's, made explicit):

* every row converts at its own date's rate (``fx``, C per unit of the row's ``currency``,
  from :mod:`workbench.analytics.fx`); instruments are in the currency of their trades;
* a lot keeps its native cost ``q * p + fee`` and its cost in C, ``(q * p + fee) * fx`` at the
  buy date; a sale's proceeds ``(q * p - fee)`` convert at the sale date's rate. The lot engine
  runs once on the rows converted to C, so HIFO ranks lots by their cost per share in C (a
  USD and a EUR report of one ledger may pick different lots); the native cost of what is
  left comes from joining each lot's native unit cost on its id (AVERAGE: the same
  proportion of both costs);
* unrealized = value at the as-of rate - cost in C; ``unrealized_fx_pnl`` = native cost x
  as-of rate - cost in C; the price part is the rest, ``(native value - native cost) x as-of
  rate``;
* realized = proceeds in C - cost in C of the lots consumed; ``realized_fx_pnl`` = sum over
  sales of (native cost consumed x that sale's rate) - cost in C consumed. FIFO reads the
  native cost consumed by each sale off the bought-quantity axis and AVERAGE off running
  sums, each in one vectorized pass; LIFO and HIFO take it from the sale-by-lot sweep of
  :mod:`workbench.analytics._matching` (``O(n log n)``). Only positions in a foreign currency with sales at two or more
  rates need this; for the others one rate covers every sale;
* cash is held per (account, currency); ``cash_fx_gain`` = the cash at the as-of rates - every
  cash movement at its date's rate, where the amount an FX row buys enters at what was paid
  for it (``q * p`` of the paying currency at that date's rate), so a broker rate away from
  the reference rate shows here.

The books then balance: total value - net deposits = unrealized + realized + dividends +
interest - FEE rows - taxes - fees on rows other than trades + cash_fx_gain.
"""

from __future__ import annotations

import polars as pl

from workbench.analytics._frames import (
    EPS,
    TRADES,
    dividend_amount,
    end_units,
    has_actions,
    round_qty,
)
from workbench.analytics._matching import sweep_frame
from workbench.analytics.cash import cash_effect, cash_totals, fx_bought, main_currency
from workbench.analytics.lots import GROUP, lots_from_prepared

#: money columns of a row that convert at its date's rate
MONEY_COLUMNS = ("price", "fee", "amount")


def converted(tx: pl.DataFrame) -> pl.DataFrame:
    """Prepared rows with an ``fx`` column turned into C: price, fee and amount times fx.

    ``native_price``/``native_fee`` keep the row's own figures.
    """
    return tx.with_columns(
        native_price=pl.col("price"),
        native_fee=pl.col("fee"),
        **{c: pl.col(c) * pl.col("fx") for c in MONEY_COLUMNS},
    )


def _sale_rates(trades: pl.DataFrame) -> pl.DataFrame:
    """Groups whose sales convert at more than one rate (the only ones needing per-sale work)."""
    return (
        trades.filter(pl.col("type") == "SELL")
        .group_by(GROUP)
        .agg(_rates=pl.col("fx").n_unique(), _rate=pl.col("fx").first())
    )


def _native_buys(trades: pl.DataFrame) -> pl.DataFrame:
    return trades.filter(pl.col("type") == "BUY").select(
        "id", cost_n=pl.col("quantity") * pl.col("native_price") + pl.col("native_fee")
    )


def _consumed_fifo(trades: pl.DataFrame) -> pl.DataFrame:
    """FIFO: native cost consumed by each sale, read off the cumulative bought quantity.

    A sale covering ``(S0, S1]`` of all units sold consumed ``NC(S1) - NC(S0)``, where
    ``NC(x)`` is the native cost of the first ``x`` units bought (linear within a lot).
    """
    # one hashed key per (account, symbol): windows and the as-of join on an integer (64-bit:
    # a collision among even a million positions has odds below 1e-7)
    key = pl.struct(GROUP).hash().alias("_g")
    buys = (
        trades.filter(pl.col("type") == "BUY")
        .sort("seq")
        .with_columns(key, _cost=pl.col("quantity") * pl.col("native_price") + pl.col("native_fee"))
        .with_columns(
            b_end=pl.col("units").cum_sum().over("_g"),
            nc_end=pl.col("_cost").cum_sum().over("_g"),
        )
        .select(
            "_g",
            b_start=pl.col("b_end") - pl.col("units"),
            nc_start=pl.col("nc_end") - pl.col("_cost"),
            uc=pl.col("_cost") / pl.col("units"),
            b_end="b_end",
        )
    )
    sales = (
        trades.filter(pl.col("type") == "SELL")
        .sort("seq")
        .with_columns(key)
        .with_columns(s1=pl.col("units").cum_sum().over("_g"))
    )

    # the lot holding unit x: the last with b_start < x (x = 0 costs nothing); a sale covers
    # (S0, S1] and S0 is the previous sale's S1, so one lookup per sale suffices. Both sides
    # are in apply order, where x and b_start (running sums) rise within each position: the
    # sortedness an as-of join by position needs, so no global sort by x
    found = sales.select("seq", "_g", *GROUP, "fx", x="s1").join_asof(
        buys,
        left_on="x",
        right_on="b_start",
        by="_g",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )
    x = pl.min_horizontal(pl.col("x"), pl.col("b_end"))
    nc = (
        pl.when(pl.col("x") <= EPS)
        .then(0.0)
        .otherwise(pl.col("nc_start") + (x - pl.col("b_start")) * pl.col("uc"))
        .fill_null(0.0)
    )
    return (
        found.with_columns(_nc=nc)
        .sort("seq")  # an as-of join promises no output order; the shift below needs it
        .select(
            "seq",
            *GROUP,
            "fx",
            consumed_n=pl.col("_nc") - pl.col("_nc").shift(1).over("_g").fill_null(0.0),
        )
    )


#: past this much shrinking of a moving-average position (a log), exp() could overflow
_MAX_LOG_SHRINK = 600.0


def _consumed_average(trades: pl.DataFrame) -> pl.DataFrame | None:
    """AVERAGE: native cost consumed by each sale, in one pass (None if it could overflow).

    A sale of ``s`` out of ``H`` consumes ``s / H`` of the open native cost. Within a run of
    holdings that never reach zero, the open cost after event ``t`` is
    ``sum over buys j <= t of cost_j * exp(L_t - L_j)``, with ``L`` the running sum of the
    sales' ``log(H_after / H_before)``: a running sum of ``cost_j * exp(-L_j)`` gives it.
    A sale to zero consumes all of it and starts a new run, as in the lot engine.
    """
    buy = pl.col("type") == "BUY"
    signed = pl.when(buy).then(pl.col("units")).otherwise(-pl.col("units"))
    staged = (
        trades.sort("seq")
        .with_columns(
            _cost=pl.when(buy)
            .then(pl.col("quantity") * pl.col("native_price") + pl.col("native_fee"))
            .otherwise(0.0),
            _after=signed.cum_sum().over(GROUP),
        )
        .with_columns(_before=pl.col("_after") - signed, _zero=pl.col("_after").abs() <= EPS)
        .with_columns(
            _seg=pl.col("_zero").cast(pl.Int64).cum_sum().over(GROUP)
            - pl.col("_zero").cast(pl.Int64),
            _logf=pl.when(~buy & ~pl.col("_zero") & (pl.col("_before") > EPS))
            .then((pl.col("_after") / pl.col("_before")).log())
            .otherwise(0.0),
        )
        .with_columns(_L=pl.col("_logf").cum_sum().over([*GROUP, "_seg"]))
    )
    if float(staged.select(pl.col("_L").min()).item() or 0.0) < -_MAX_LOG_SHRINK:
        return None
    open_before = (pl.col("_L") - pl.col("_logf")).exp() * pl.col("_A")
    return (
        staged.with_columns(
            _A=(pl.col("_cost") * (-pl.col("_L")).exp()).cum_sum().over([*GROUP, "_seg"])
        )
        .filter(~buy)
        .select(
            "seq",
            *GROUP,
            "fx",
            consumed_n=pl.when(pl.col("_zero"))
            .then(open_before)
            .otherwise(open_before * (1.0 - pl.col("_logf").exp())),
        )
    )


def _consumed_by_sweep(trades: pl.DataFrame, method: str) -> pl.DataFrame:
    """LIFO/HIFO: native cost consumed by each sale, from the sale-by-lot sweep.

    The sweep ranks lots as the engine does (HIFO: cost per share in C, fee included, older
    first on a tie), so it consumes the same lots; ``O(n log n)`` per position.
    """
    gross = pl.col("quantity") * pl.col("price")
    gross_n = pl.col("quantity") * pl.col("native_price")
    buy = pl.col("type") == "BUY"
    rows = trades.sort("seq").select(
        *GROUP,
        "id",
        "date",
        "currency",
        "fx",
        buy=buy,
        units="units",
        to_row_units=pl.lit(1.0),
        money=pl.when(buy).then(gross + pl.col("fee")).otherwise(gross - pl.col("fee")),
        money_n=pl.when(buy)
        .then(gross_n + pl.col("native_fee"))
        .otherwise(gross_n - pl.col("native_fee")),
    )
    return sweep_frame(rows, method).select(*GROUP, "fx", consumed_n="cost_n")


def position_pnl_fx(tx: pl.DataFrame, *, method: str, target: str) -> pl.DataFrame:
    """Per (account, symbol) in C: quantity, currency, cost_basis, cost_basis_native,
    realized_pnl, realized_fx_pnl, dividends, bought_cost, proceeds, trade_fees.

    ``tx`` is prepared rows with ``fx`` (C per unit of the row's currency at its date).
    Positions a corporate action touches are replayed (:mod:`.corporate`); the rest, and
    every position of a ledger without actions, take the vectorized path.
    """
    if has_actions(tx):
        from workbench.analytics import corporate

        rest, touched, done = corporate.replay_of(tx, method=method)
        replayed = corporate.summary(touched, done, target=target)
        plain = _position_pnl_fx(rest, method=method, target=target)
        return pl.concat([plain, replayed.select(plain.columns)]).sort(GROUP)
    return _position_pnl_fx(tx, method=method, target=target)


def _position_pnl_fx(tx: pl.DataFrame, *, method: str, target: str) -> pl.DataFrame:
    rows = converted(tx)
    trades = rows.filter(pl.col("type").is_in(TRADES) & pl.col("symbol").is_not_null())
    trades = trades.with_columns(units=end_units())
    lots = lots_from_prepared(rows, method=method).join(_native_buys(trades), on="id", how="left")
    share = pl.col("remaining") / pl.col("units")
    basis = lots.group_by(GROUP).agg(
        cost_basis=(share * pl.col("cost")).sum(),
        cost_basis_native=(share * pl.col("cost_n")).sum(),
        bought_native=pl.col("cost_n").sum(),
    )
    buy = pl.col("type") == "BUY"
    gross = pl.col("quantity") * pl.col("price")
    flows = trades.group_by(GROUP).agg(
        quantity=pl.when(buy).then(pl.col("units")).otherwise(-pl.col("units")).sum(),
        bought_cost=pl.when(buy).then(gross + pl.col("fee")).otherwise(0.0).sum(),
        proceeds=pl.when(buy).then(0.0).otherwise(gross - pl.col("fee")).sum(),
        trade_fees=pl.col("fee").sum(),
        # a position's currency: that of its last trade (rows are in apply order, which a
        # group-by keeps within each group), else that of its last dividend
        currency=pl.col("currency").last(),
    )
    dividends = (
        rows.filter((pl.col("type") == "DIVIDEND") & pl.col("symbol").is_not_null())
        .group_by(GROUP)
        .agg(dividends=dividend_amount().sum(), _paid=pl.col("currency").last())
    )
    filled = [
        "quantity", "bought_cost", "proceeds", "trade_fees", "cost_basis", "cost_basis_native",
        "bought_native", "dividends",
    ]  # fmt: skip
    out = (
        flows.join(basis, on=GROUP, how="left")
        .join(dividends, on=GROUP, how="full", coalesce=True)
        .with_columns(currency=pl.coalesce("currency", "_paid"))
        .drop("_paid")
        .with_columns(pl.col(filled).fill_null(0.0))
        .with_columns(
            quantity=round_qty(pl.col("quantity")),
            consumed=pl.col("bought_cost") - pl.col("cost_basis"),
            consumed_native=pl.col("bought_native") - pl.col("cost_basis_native"),
        )
        .with_columns(realized_pnl=pl.col("proceeds") - pl.col("consumed"))
    )
    return _with_realized_fx(out, trades, method=method, target=target)


def _with_realized_fx(
    out: pl.DataFrame, trades: pl.DataFrame, *, method: str, target: str
) -> pl.DataFrame:
    """Add ``realized_fx_pnl``: native cost consumed at each sale's rate - cost in C consumed."""
    rates = _sale_rates(trades.filter(pl.col("currency") != target))
    several = rates.filter(pl.col("_rates") > 1).select(GROUP)
    at_sale = pl.lit(0.0)
    per_sale = pl.DataFrame(schema={**dict.fromkeys(GROUP, pl.String), "fx_cost": pl.Float64})
    if not several.is_empty():
        mine = trades.join(several, on=GROUP, how="semi")
        found = (
            _consumed_fifo(mine)
            if method == "fifo"
            else _consumed_average(mine)
            if method == "average"
            else None
        )
        consumed = found if found is not None else _consumed_by_sweep(mine, method)
        per_sale = consumed.group_by(GROUP).agg(fx_cost=(pl.col("consumed_n") * pl.col("fx")).sum())
    out = out.join(rates.select(*GROUP, "_rate"), on=GROUP, how="left").join(
        per_sale, on=GROUP, how="left"
    )
    # one sale rate: every unit consumed converts at it; none (or C itself): no FX part
    at_sale = pl.coalesce(
        "fx_cost", pl.col("consumed_native") * pl.col("_rate"), pl.col("consumed")
    )
    return (
        out.with_columns(realized_fx_pnl=at_sale - pl.col("consumed"))
        .select(
            *GROUP,
            "currency",
            "quantity",
            "cost_basis",
            "cost_basis_native",
            "realized_pnl",
            "realized_fx_pnl",
            "dividends",
            "bought_cost",
            "proceeds",
            "trade_fees",
        )
        .sort(GROUP)
    )  # fmt: skip  (sorted: totals sum in one order, so they repeat bit for bit)


def cash_in_reporting(tx: pl.DataFrame) -> pl.DataFrame:
    """Cash movements per (account, currency): cash (native) and booked (each at its date's
    rate, an FX row's bought leg at what was paid for it).

    ``tx`` is prepared rows with ``fx``.
    """
    keys = ["account", "currency"]
    booked_rows = tx.select(
        "account",
        "currency",
        booked=cash_effect() * pl.col("fx"),
    )
    paid = tx.filter(pl.col("type") == "FX").select(
        "account",
        currency=pl.col("symbol"),
        booked=fx_bought() * pl.col("price") * pl.col("fx"),
    )
    booked = (
        main_currency(
            pl.concat([booked_rows, paid]).group_by(keys).agg(pl.col("booked").sum()),
            amount=None,
        )
        .group_by(keys)
        .agg(pl.col("booked").sum())
    )
    return (
        cash_totals(tx, keys)
        .join(booked, on=keys, how="full", coalesce=True)
        .with_columns(pl.col("cash", "booked").fill_null(0.0))
        .sort("account", "currency")
    )
