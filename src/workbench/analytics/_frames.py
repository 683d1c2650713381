"""The normalization every analytic starts from: float columns, apply order and split factors.

Stored money is ``Decimal(18, 8)``; analytics compute in float64 (money agrees with exact
decimal sums to far better than a cent) and round quantities to the ledger's 8 decimals.

Splits are events of a *symbol*: a ``SPLIT`` row applies to every account holding the symbol,
and the same split recorded in several accounts (same symbol, date and ratio) counts once. Each
row gets ``cum``, the product of the symbol's split factors (new/old) applied up to and including
it in apply order, and ``final``, the product of all of the symbol's splits up to the as-of date.
A row's quantity in *end units* (shares as of the as-of date) is ``quantity * final / cum``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

TRADES = ("BUY", "SELL")
#: corporate actions (README "Corporate actions"); rows of one account, unlike SPLIT
ACTIONS = ("SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND")
#: the longest type name that is not a corporate action (WITHDRAWAL)
_LONGEST_PLAIN_TYPE = 10
#: above this many split events the factors come from an as-of join instead of expressions
_MAX_INLINE_SPLITS = 48
# ratio_new/ratio_old are cast only on the few SPLIT rows (a Decimal cast costs ~30 ms per
# million rows and column)
_FLOAT_COLUMNS = ("quantity", "price", "fee", "amount")
#: quantities are rounded to the ledger's precision; smaller remainders are float noise
QTY_DECIMALS = 8
EPS = 1e-9


def _as_float(frame: pl.DataFrame) -> pl.DataFrame:
    casts = [
        pl.col(c).cast(pl.Float64)
        for c in _FLOAT_COLUMNS
        if c in frame.columns and frame.schema[c] != pl.Float64
    ]
    out = frame.with_columns(casts) if casts else frame
    if "fee" in out.columns:
        out = out.with_columns(pl.col("fee").fill_null(0.0))
    return out


def split_events(tx: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct split: seq, symbol, date, factor, and cum (running product)."""
    schema: dict[str, Any] = {
        "seq": pl.Int64, "id": pl.Int64, "symbol": pl.String, "date": pl.Date,
        "factor": pl.Float64, "cum": pl.Float64,
    }  # fmt: skip
    rows = (
        tx.filter(pl.col("ratio_new").is_not_null() & (pl.col("type") == "SPLIT"))
        .with_columns(pl.col("ratio_new", "ratio_old").cast(pl.Float64))
        .filter((pl.col("ratio_old") > 0) & (pl.col("ratio_new") > 0))
    )
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    return (
        rows.select("seq", "id", "symbol", "date", factor=pl.col("ratio_new") / pl.col("ratio_old"))
        .sort("seq")
        .unique(subset=["symbol", "date", "factor"], keep="first", maintain_order=True)
        .with_columns(cum=pl.col("factor").cum_prod().over("symbol"))
        .select(list(schema))
    )


def _after(seq_key: tuple[dt.date, int]) -> pl.Expr:
    """Rows at or after the apply-order position (date, id) of an event."""
    day, ident = seq_key
    return (pl.col("date") > day) | ((pl.col("date") == day) & (pl.col("id") >= ident))


def factor_exprs(splits: pl.DataFrame) -> tuple[pl.Expr, pl.Expr] | None:
    """``(cum, final)`` as plain expressions over date/id, or None when there are many splits.

    With a few split events one multiplication per event, vectorized over all rows, is
    cheaper than sorting the rows for an as-of join.
    """
    if splits.is_empty():
        return pl.lit(1.0), pl.lit(1.0)
    if splits.height > _MAX_INLINE_SPLITS:
        return None
    cum: pl.Expr = pl.lit(1.0)
    final: pl.Expr = pl.lit(1.0)
    for symbol, day, ident, factor in splits.select("symbol", "date", "id", "factor").iter_rows():
        mine = pl.col("symbol") == symbol
        cum = cum * pl.when(mine & _after((day, ident))).then(pl.lit(factor)).otherwise(1.0)
        final = final * pl.when(mine).then(pl.lit(factor)).otherwise(1.0)
    return cum, final


def later_split_factor(splits: pl.DataFrame) -> pl.Expr | None:
    """``final / cum`` in one expression: the product of the symbol's splits after a row.

    None when there are too many split events for inline expressions.
    """
    if splits.height > _MAX_INLINE_SPLITS:
        return None
    factor: pl.Expr = pl.lit(1.0)
    for symbol, day, ident, ratio in splits.select("symbol", "date", "id", "factor").iter_rows():
        before = (pl.col("date") < day) | ((pl.col("date") == day) & (pl.col("id") < ident))
        hit = (pl.col("symbol") == symbol) & before
        factor = factor * pl.when(hit).then(pl.lit(ratio)).otherwise(1.0)
    return factor


def _cum_factor(tx: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    """Attach ``cum`` (split factor applied so far) and ``final`` to every row."""
    exprs = factor_exprs(splits)
    if exprs is not None:
        return tx.with_columns(cum=exprs[0], final=exprs[1])
    finals = splits.group_by("symbol").agg(final=pl.col("factor").product())
    joined = (
        tx.sort("seq")
        .join_asof(
            splits.select("seq", "symbol", "cum").sort("seq"),
            on="seq",
            by="symbol",
            strategy="backward",
            check_sortedness=False,
        )
        .join(finals, on="symbol", how="left", maintain_order="left")
    )
    return joined.with_columns(pl.col("cum").fill_null(1.0), pl.col("final").fill_null(1.0))


def in_apply_order(frame: pl.DataFrame) -> bool:
    """Whether rows are already sorted by (date, id): one vectorized pass, cheaper than a sort."""
    if frame.height < 2:
        return True
    date, ident = pl.col("date"), pl.col("id")
    bad = (date < date.shift(1)) | ((date == date.shift(1)) & (ident < ident.shift(1)))
    return not bool(frame.select(bad.fill_null(False).any()).item())


def prepare(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Normalize stored transactions; returns (rows, split events).

    ``type`` values are expected upper case, as the store keeps them.

    Rows are in apply order with ``seq`` (0, 1, ...), float money and
    ``cum``/``final`` split factors. Splits are taken from every account, then rows are
    filtered to ``account`` (when given) and to ``date <= as_of``.
    """
    tx = transactions
    if as_of is not None:
        tx = tx.filter(pl.col("date") <= as_of)
    tx = _as_float(tx)
    if not in_apply_order(tx):
        tx = tx.sort("date", "id", maintain_order=True)
    tx = tx.with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64))
    splits = split_events(tx)
    tx = _cum_factor(tx, splits)
    if has_targets(tx):
        tx = _target_factors(tx, splits)
    if account is not None:
        tx = tx.filter(pl.col("account") == account)
    return tx, splits


def has_targets(tx: pl.DataFrame) -> bool:
    """Whether any row names a ``target`` (a corporate action moving shares to a symbol); a
    null count is metadata, so a ledger without them pays nothing."""
    return "target" in tx.columns and tx["target"].null_count() < tx.height


def ledger_symbols(tx: pl.DataFrame) -> list[str]:
    """Every symbol rows name: their ``symbol`` and a corporate action's ``target``."""
    symbols = tx["symbol"].drop_nulls()
    if has_targets(tx):
        symbols = pl.concat([symbols, tx["target"].drop_nulls()])
    return symbols.unique().to_list()


def has_actions(tx: pl.DataFrame) -> bool:
    """Whether any row is a corporate action (:data:`ACTIONS`).

    Cheap on a ledger without them: SYMBOL_CHANGE, SPINOFF and MERGER rows have a target (a
    null count is metadata), and RETURN_OF_CAPITAL and STOCK_DIVIDEND are the only type
    names longer than 10 bytes (a length test is a third of the cost of a set lookup: 30 ms
    instead of 100 ms on 10 million rows).
    """
    if not tx.height:
        return False
    if has_targets(tx):
        return True
    return bool(tx.select((pl.col("type").str.len_bytes() > _LONGEST_PLAIN_TYPE).any()).item())


def _target_factors(tx: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    """``t_cum``/``t_final``: the split factors of each row's ``target`` at its position, to
    turn shares of the target at that date into its end units (null without a target)."""
    rows = tx.filter(pl.col("target").is_not_null()).select(
        "seq", "id", "date", symbol=pl.col("target")
    )
    found = _cum_factor(rows, splits).select("seq", t_cum="cum", t_final="final")
    return tx.join(found, on="seq", how="left", maintain_order="left")


def end_units() -> pl.Expr:
    """A BUY/SELL row's quantity in shares as of the end (after every later split)."""
    return pl.col("quantity") * pl.col("final") / pl.col("cum")


def signed_units() -> pl.Expr:
    """End units, positive for BUY and negative for SELL, zero for other rows."""
    sign = (
        pl.when(pl.col("type") == "BUY")
        .then(1.0)
        .when(pl.col("type") == "SELL")
        .then(-1.0)
        .otherwise(0.0)
    )
    return sign * end_units().fill_null(0.0)


def dividend_amount() -> pl.Expr:
    """A DIVIDEND row's cash: ``amount``, or quantity x price when amount is missing."""
    return pl.coalesce(pl.col("amount"), pl.col("quantity") * pl.col("price"), pl.lit(0.0))


def round_qty(expr: pl.Expr) -> pl.Expr:
    """Round a quantity to the ledger's 8 decimals (removes float residue such as 1e-15)."""
    return expr.round(QTY_DECIMALS)
