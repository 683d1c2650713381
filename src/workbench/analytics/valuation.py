"""The daily value series: holdings x last close, plus cash, with external flows.

One row per calendar day from the first transaction (or ``start``) to ``end``. Holdings are
tracked in *base units* (shares before any split) and closes converted to prices per base
unit, so a split changes neither value nor history and a gap in the price history around a
split cannot mis-value. Days without a close use the last close before them; a symbol with no
close yet uses its last trade price.

In a reporting currency C (DESIGN 3b) each day values holdings and the cash of each currency
at that day's rates, and deposits and withdrawals convert at their own date's rate: the daily
series TWR, Modified Dietz, XIRR and risk read, unchanged.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.analytics import fx as fxm
from workbench.analytics._frames import TRADES, has_actions, prepare
from workbench.analytics.cash import cash_effect, cash_totals, inflow, outflow
from workbench.analytics.positions import latest_date

SERIES_COLUMNS = [
    "date", "market_value", "cash", "total_value", "inflow", "outflow", "net_deposits",
]  # fmt: skip


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"date": pl.Date} | {c: pl.Float64 for c in SERIES_COLUMNS[1:]})


def _base_marks(tx: pl.DataFrame, splits: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame:
    """Closes converted to price per base unit: symbol, date, close_base."""
    closes = prices.select("symbol", "date", close=pl.col("close").cast(pl.Float64)).sort("date")
    if splits.is_empty():
        return closes.select("symbol", "date", close_base="close")
    return (
        closes.join_asof(
            splits.select("symbol", "date", "cum").sort("date"),
            on="date",
            by="symbol",
            strategy="backward",
            check_sortedness=False,
        )
        .select("symbol", "date", close_base=pl.col("close") * pl.col("cum").fill_null(1.0))
        .sort("date")
    )


def daily_rates(
    uses: pl.DataFrame, end: dt.date, target: str, table: fxm.RateTable
) -> pl.DataFrame:
    """Rates to ``target`` for every day from each currency's first use to ``end``:
    date, currency, fx. ``uses`` has date and currency (every row that needs a rate)."""
    first = uses.group_by("currency").agg(first=pl.col("date").min())
    days = first.select(
        "currency", date=pl.date_ranges("first", pl.lit(end), interval="1d")
    ).explode("date")
    return fxm.lookup(days, target, table).select("date", "currency", "fx")


def value_from_prepared(
    tx: pl.DataFrame,
    splits: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    start: dt.date | None,
    end: dt.date,
    target: str | None = None,
    rates: fxm.RateTable | None = None,
) -> pl.DataFrame:
    """:func:`value_series` on rows already passed through ``prepare``.

    With ``target`` and ``rates`` (and an ``fx`` column on ``tx``, the rate of each row's
    date), values are in ``target``; without, amounts are added as they stand.
    """
    convert = target is not None and rates is not None and "fx" in tx.columns
    if convert and set(tx["currency"].unique().to_list()) | set(
        tx.filter(pl.col("type") == "FX")["symbol"].to_list()
    ) <= {target}:
        convert = False
    if tx.is_empty():
        return _empty()
    first = tx["date"].min()
    assert isinstance(first, dt.date)
    trades = tx.filter(pl.col("type").is_in(TRADES) & pl.col("symbol").is_not_null())
    base = pl.col("quantity") / pl.col("cum")
    deltas = trades.group_by("symbol", "date").agg(
        delta=pl.when(pl.col("type") == "BUY").then(base).otherwise(-base).sum(),
        trade_base=(pl.col("price") * pl.col("cum")).sort_by("seq").last(),
    )
    # the symbol's currency rides along from its one row per symbol (never joined on the grid)
    span = trades.group_by("symbol").agg(
        first=pl.col("date").min(),
        currency=pl.col("currency").sort_by("seq").last() if convert else pl.lit(""),
    )
    if has_actions(tx):
        deltas, span = _with_action_moves(tx, deltas, span, convert=convert)
    grid = (
        span.select("symbol", "currency", date=pl.date_ranges("first", pl.lit(end), interval="1d"))
        .explode("date")
        .join(deltas, on=["symbol", "date"], how="left")
        .sort("symbol", "date")
        .with_columns(
            held=pl.col("delta").fill_null(0.0).cum_sum().over("symbol"),
            trade_base=pl.col("trade_base").forward_fill().over("symbol"),
        )
        .sort("date")
        .join_asof(
            _base_marks(tx, splits, prices),
            on="date",
            by="symbol",
            strategy="backward",
            check_sortedness=False,
        )
    )
    price = pl.coalesce("close_base", "trade_base").fill_null(0.0)
    days = pl.DataFrame({"date": pl.date_range(first, end, interval="1d", eager=True)})
    if convert:
        assert target is not None
        assert rates is not None
        legs = cash_totals(tx, ["currency", "date"])
        uses = pl.concat(
            [
                legs.select("date", "currency"),
                trades.group_by("currency").agg(pl.col("date").min()).select("date", "currency"),
            ]
        )
        rates_by_day = daily_rates(uses, end, target, rates)
        # value per (day, currency) natively first: the rates join a small frame
        market = (
            grid.group_by("date", "currency")
            .agg(native=(pl.col("held") * price).sum())
            .join(rates_by_day, on=["date", "currency"], how="left")
            .group_by("date")
            .agg(market_value=(pl.col("native") * pl.col("fx")).sum())
        )
        cash_native = (
            legs.select("currency", "date", delta="cash")
            .join(rates_by_day, on=["date", "currency"], how="right")
            .sort("currency", "date")
            .with_columns(held=pl.col("delta").fill_null(0.0).cum_sum().over("currency"))
            .group_by("date")
            .agg(cash=(pl.col("held") * pl.col("fx")).sum())
        )
        flows = tx.group_by("date").agg(
            inflow=(inflow() * pl.col("fx")).sum(), outflow=(outflow() * pl.col("fx")).sum()
        )
        series = days.join(market, on="date", how="left").join(cash_native, on="date", how="left")
        series = series.join(flows, on="date", how="left").with_columns(
            pl.col("cash").fill_null(0.0).round(8)
        )
    else:
        market = grid.group_by("date").agg(market_value=(pl.col("held") * price).sum())
        cash = tx.group_by("date").agg(
            cash=cash_effect().sum(), inflow=inflow().sum(), outflow=outflow().sum()
        )
        series = (
            days.join(market, on="date", how="left")
            .join(cash, on="date", how="left")
            .sort("date")
            .with_columns(pl.col("cash").fill_null(0.0).cum_sum().round(8))
        )
    series = (
        series.sort("date")
        .with_columns(pl.col("market_value", "inflow", "outflow").fill_null(0.0))
        .with_columns(
            market_value=pl.col("market_value").round(8),
            net_deposits=(pl.col("inflow") - pl.col("outflow")).cum_sum(),
        )
        .with_columns(total_value=pl.col("market_value") + pl.col("cash"))
    )
    if start is not None:
        series = series.filter(pl.col("date") >= start)
    return series.select(SERIES_COLUMNS)


def _with_action_moves(
    tx: pl.DataFrame, deltas: pl.DataFrame, span: pl.DataFrame, *, convert: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add the units corporate actions move (in base units: end units / the symbol's final
    split factor) to the daily deltas, and the symbols they bring in to the span. Quantities
    do not depend on the cost method: the replay runs FIFO."""
    from workbench.analytics.corporate import moves_of

    moves = moves_of(tx)
    if moves.is_empty():
        return deltas, span
    moved = moves.group_by("symbol", "date").agg(
        delta=(pl.col("units") / pl.col("final")).sum(), trade_base=pl.lit(None, pl.Float64)
    )
    deltas = (
        pl.concat([deltas, moved.select(deltas.columns)], how="vertical_relaxed")
        .group_by("symbol", "date")
        .agg(pl.col("delta").sum(), pl.col("trade_base").drop_nulls().last())
    )
    brought = moves.group_by("symbol").agg(
        first=pl.col("date").min(),
        currency=pl.col("currency").sort_by("seq").last() if convert else pl.lit(""),
    )
    span = (
        pl.concat([span, brought.select(span.columns)], how="vertical_relaxed")
        .group_by("symbol", maintain_order=True)
        .agg(pl.col("first").min(), pl.col("currency").first())
    )
    return deltas, span


def value_series(
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Daily portfolio value: date, market_value, cash, total_value, inflow, outflow, net_deposits.

    ``inflow``/``outflow`` are the day's deposits/withdrawals (external flows); ``net_deposits``
    is their running total since the first transaction. ``end`` defaults to the latest
    transaction or price date.

        >>> value_series(read_transactions(con), read_prices(con), start=date(2024, 1, 1))
    """
    day = end or latest_date(transactions, prices)
    tx, splits = prepare(transactions, as_of=day, account=account)
    return value_from_prepared(tx, splits, prices, start=start, end=day)
