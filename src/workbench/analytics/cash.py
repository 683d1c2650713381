"""Cash: the cash effect of every row, balances per account, flows, income and costs.

Cash effects (DESIGN section 2): BUY ``-(quantity * price + fee)``, SELL
``+(quantity * price - fee)``, DIVIDEND ``+amount`` (or quantity x price when amount is
missing), INTEREST ``+amount``, FEE and TAX ``-amount``, DEPOSIT ``+amount``, WITHDRAWAL
``-amount``, SPLIT none; corporate actions: MERGER (its cash) and RETURN_OF_CAPITAL
``+amount``, the others none (a STOCK_DIVIDEND's stated value is dividend income without cash). A ``fee`` on a non-trade row (e.g. a wire fee on a deposit) is also
paid from cash. DEPOSIT and WITHDRAWAL are the only *external* flows; everything else is
internal to the portfolio and so part of its performance.

Cash is held per (account, currency) (DESIGN 3b): a row's cash effect is in its ``currency``.
An ``FX`` row (a currency exchange) pays ``quantity * price + fee`` of ``currency`` and
receives ``quantity`` of the currency named in ``symbol``: two legs, see :func:`fx_bought`.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.analytics._frames import dividend_amount, prepare

_TOTALS = ("dividends", "interest", "fees", "taxes", "deposits", "withdrawals", "net_deposits")


def _amount() -> pl.Expr:
    return pl.col("amount").fill_null(0.0)


def cash_effect() -> pl.Expr:
    """The signed cash effect of a (prepared) ledger row."""
    kind = pl.col("type")
    gross = (pl.col("quantity") * pl.col("price")).fill_null(0.0)
    body = (
        pl.when(kind.is_in(("BUY", "FX")))
        .then(-gross)
        .when(kind == "SELL")
        .then(gross)
        .when(kind == "DIVIDEND")
        .then(dividend_amount())
        .when(kind.is_in(("INTEREST", "DEPOSIT", "MERGER", "RETURN_OF_CAPITAL")))
        .then(_amount())
        .when(kind.is_in(("FEE", "TAX", "WITHDRAWAL")))
        .then(-_amount())
        .otherwise(0.0)
    )
    return body - pl.col("fee")


def stock_dividend_value() -> pl.Expr:
    """A STOCK_DIVIDEND's stated value, quantity x price (0 without a price): dividend income
    that pays no cash but adds a lot of that cost, so the books still balance."""
    return (pl.col("quantity") * pl.col("price")).fill_null(0.0)


def fx_bought() -> pl.Expr:
    """The second leg of an FX row: ``quantity`` of the currency in ``symbol`` (0 otherwise)."""
    return pl.when(pl.col("type") == "FX").then(pl.col("quantity").fill_null(0.0)).otherwise(0.0)


def cash_legs(tx: pl.DataFrame) -> pl.DataFrame:
    """Every cash movement of prepared rows as (date, account, currency, cash): one leg per
    row in its ``currency``, and the bought leg of each FX row in its ``symbol``. Sub-unit
    codes (GBp) stand as they are: :func:`cash_totals` counts them in their currency."""
    legs = tx.select("date", "account", "currency", cash=cash_effect())
    bought = tx.filter(pl.col("type") == "FX").select(
        "date", "account", currency=pl.col("symbol"), cash=fx_bought()
    )
    return pl.concat([legs, bought]) if not bought.is_empty() else legs


def cash_totals(tx: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Cash legs summed per ``keys`` (which include currency), sub-units in their currency:
    summed first, so the relabelling touches a few rows, not every row."""
    summed = cash_legs(tx).group_by(keys).agg(pl.col("cash").sum())
    relabelled = main_currency(summed)
    if relabelled is summed:
        return summed
    return relabelled.group_by(keys).agg(pl.col("cash").sum())


def main_currency(
    frame: pl.DataFrame, column: str = "currency", amount: str | None = "cash"
) -> pl.DataFrame:
    """Sub-unit amounts (GBp/GBX, ZAc, ILA) as amounts of their currency: pence cash is pounds.

    With ``amount=None`` only the currency is relabelled (for amounts already converted).
    """
    from workbench.analytics.fx import SUBUNITS

    present = set(frame[column].unique().to_list()) & set(SUBUNITS)
    if not present:
        return frame
    parents = {code: SUBUNITS[code][0] for code in present}
    factors = {code: SUBUNITS[code][1] for code in present}
    relabel = pl.col(column).replace(parents)
    if amount is None:
        return frame.with_columns(relabel)
    return frame.with_columns(
        pl.col(amount) * pl.col(column).replace_strict(factors, default=1.0), relabel
    )


def cash_by_currency(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Native cash per (account, currency) on ``as_of``: account, currency, cash (sub-units
    such as pence count in their currency)."""
    tx, _ = prepare(transactions, as_of=as_of, account=account)
    return cash_totals(tx, ["account", "currency"]).sort("account", "currency")


def inflow() -> pl.Expr:
    """External inflow of a row: a DEPOSIT's amount."""
    return pl.when(pl.col("type") == "DEPOSIT").then(_amount()).otherwise(0.0)


def outflow() -> pl.Expr:
    """External outflow of a row: a WITHDRAWAL's amount."""
    return pl.when(pl.col("type") == "WITHDRAWAL").then(_amount()).otherwise(0.0)


def cash_flows(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Every row's cash effect in apply order: id, date, account, type, symbol, cash, inflow, outflow."""
    tx, _ = prepare(transactions, as_of=as_of, account=account)
    return flows_from_prepared(tx)


def flows_from_prepared(tx: pl.DataFrame) -> pl.DataFrame:
    """:func:`cash_flows` on rows already passed through ``prepare``."""
    return tx.select(
        "id", "date", "account", "type", "symbol",
        cash=cash_effect(), inflow=inflow(), outflow=outflow(),
    )  # fmt: skip


def cash_balances(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | None = None,
    account: str | None = None,
) -> pl.DataFrame:
    """Cash per account on ``as_of``: account, cash (negative when trades outran deposits)."""
    return (
        cash_flows(transactions, as_of=as_of, account=account)
        .group_by("account")
        .agg(cash=pl.col("cash").sum())
        .sort("account")
    )


def income_and_costs(tx: pl.DataFrame) -> pl.DataFrame:
    """Totals per account from prepared rows: dividends, interest, fees, taxes, deposits,
    withdrawals, net_deposits, cash.

    ``fees`` is every row's ``fee`` (trade commissions and fees on other rows) plus FEE rows.
    """
    kind = pl.col("type")
    amount = _amount()
    return (
        tx.group_by("account")
        .agg(
            dividends=pl.when(kind == "DIVIDEND")
            .then(dividend_amount())
            .when(kind == "STOCK_DIVIDEND")
            .then(stock_dividend_value())
            .otherwise(0.0)
            .sum(),
            interest=pl.when(kind == "INTEREST").then(amount).otherwise(0.0).sum(),
            fees=(pl.col("fee") + pl.when(kind == "FEE").then(amount).otherwise(0.0)).sum(),
            taxes=pl.when(kind == "TAX").then(amount).otherwise(0.0).sum(),
            deposits=inflow().sum(),
            withdrawals=outflow().sum(),
            cash=cash_effect().sum(),
        )
        .with_columns(net_deposits=pl.col("deposits") - pl.col("withdrawals"))
        .select("account", *_TOTALS, "cash")
        .sort("account")
    )
