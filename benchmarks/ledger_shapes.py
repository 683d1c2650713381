"""Ledgers of several shapes for the import benchmark, built with whole-array operations.

- ``demo``: the scaled demo ledger (:func:`workbench.demo.build.generate`): many accounts of
  about 1,000 symbols each, ~75% buys, ~20% sells, dividends, splits, deposits, a note on
  every row.
- ``one-account``: an active trader: one account, 200 symbols, 60% buys and 40% sells, prices
  and quantities with decimals, no notes.
- ``many-accounts``: one account per 20 rows (50,000 at a million rows), each trading 3 of
  500 symbols, 30% sells, a deposit per account and some dividends.
- ``fixed-lots``: a savings plan or a bot: one account, 20 symbols, lots of 1, 5 or 10 at one
  whole price a day between 90 and 110, 30% sells, so most rows repeat another row exactly (the
  same trade twice on a day is two rows, told apart by their occurrence number).

Every ledger is valid (no sell exceeds the holding): each (account, symbol) pair's first row is
a BUY, made large enough that the running holding never goes below one share. Rows are in
date order, as a broker's export lists them.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

SHAPES = ("demo", "one-account", "many-accounts", "fixed-lots")


def _business_days(start: dt.date, end: dt.date) -> pl.Series:
    days = pl.date_range(start, end, interval="1d", eager=True)
    return days.filter(days.dt.weekday() <= 5)


def _trades(
    *,
    rows: int,
    accounts: pl.Series,
    symbols: pl.Series,
    sell_share: float,
    seed: int,
    lots: bool = False,
) -> pl.DataFrame:
    """``rows`` BUY/SELL rows of the given (account, symbol) per row, in date order, valid."""
    import numpy as np

    rng = np.random.default_rng(seed)
    days = _business_days(dt.date(2015, 1, 1), dt.date(2024, 12, 31))
    day_index = np.sort(rng.integers(0, len(days), rows))
    sell = rng.random(rows) < sell_share
    quantity = np.round(rng.uniform(0.5, 100.0, rows), 4)
    price = np.round(rng.uniform(1.0, 500.0, rows), 2)
    fee = np.round(rng.choice([0.0, 0.0, 1.0, 4.95, 9.99], rows), 2)
    if lots:
        quantity = rng.choice([1.0, 5.0, 10.0], rows)
        price = (90 + day_index % 21).astype(float)  # one price a day: rows repeat
        fee = np.zeros(rows)
    frame = pl.DataFrame(
        {
            "date": days.gather(day_index),
            "account": accounts,
            "symbol": symbols,
            "quantity": quantity,
            "price": price,
            "fee": fee,
            "_sell": sell,
        }
    ).with_columns(_first=pl.int_range(pl.len()).over("account", "symbol") == 0)
    # a pair's first row is a BUY of enough to cover the pair's deepest running deficit
    signed = pl.when(pl.col("_sell") & ~pl.col("_first")).then(-pl.col("quantity"))
    frame = frame.with_columns(
        _held=signed.otherwise(pl.col("quantity")).cum_sum().over("account", "symbol")
    ).with_columns(
        _deficit=(-pl.col("_held").min()).clip(lower_bound=0.0).ceil().over("account", "symbol")
    )
    return frame.select(
        "date",
        "account",
        type=pl.when(pl.col("_sell") & ~pl.col("_first"))
        .then(pl.lit("SELL"))
        .otherwise(pl.lit("BUY")),
        symbol="symbol",
        quantity=pl.when(pl.col("_first"))
        .then(pl.col("quantity") + pl.col("_deficit") + 1.0)
        .otherwise(pl.col("quantity")),
        price="price",
        fee="fee",
        amount=pl.lit(None, dtype=pl.Float64),
        currency=pl.lit("USD"),
        ratio=pl.lit(None, dtype=pl.String),
        note=pl.lit(None, dtype=pl.String),
    )


def _one_holder(
    rows: int,
    *,
    account: str,
    prefix: str,
    symbols: int,
    sell_share: float,
    seed: int,
    lots: bool = False,
) -> pl.DataFrame:
    """Trades of one account in ``symbols`` symbols (``prefix`` and a number) drawn at random."""
    import numpy as np

    rng = np.random.default_rng(seed)
    digits = len(str(symbols - 1))
    names = pl.Series([f"{prefix}{i:0{digits}d}" for i in range(symbols)])
    return _trades(
        rows=rows,
        accounts=pl.repeat(account, rows, eager=True),
        symbols=names.gather(rng.integers(0, symbols, rows)),
        sell_share=sell_share,
        seed=seed,
        lots=lots,
    )


def one_account(rows: int, seed: int = 11) -> pl.DataFrame:
    """One account, 200 symbols, 40% sells."""
    return _one_holder(
        rows, account="brokerage", prefix="S", symbols=200, sell_share=0.4, seed=seed
    )


def fixed_lots(rows: int, seed: int = 17) -> pl.DataFrame:
    """One account, 20 symbols, lots of 1, 5 or 10 at whole prices: most rows repeat."""
    return _one_holder(
        rows, account="plan", prefix="F", symbols=20, sell_share=0.3, seed=seed, lots=True
    )


def many_accounts(rows: int, seed: int = 13) -> pl.DataFrame:
    """One account per 20 rows, 3 symbols each out of 500, 30% sells, deposits, dividends."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_accounts = max(1, rows // 20)
    deposits = n_accounts
    dividends = rows // 20
    trades = rows - deposits - dividends
    account = rng.integers(0, n_accounts, trades)
    # each account trades 3 symbols: picked from its own number, so pairs recur
    symbol = (account * 7 + rng.integers(0, 3, trades) * 131) % 500
    names = pl.Series([f"A{i:06d}" for i in range(n_accounts)])
    tickers = pl.Series([f"T{i:03d}" for i in range(500)])
    frame = _trades(
        rows=trades,
        accounts=names.gather(account),
        symbols=tickers.gather(symbol),
        sell_share=0.3,
        seed=seed,
    )
    first_day = frame["date"].min()
    cash = pl.DataFrame(
        {
            "date": pl.repeat(first_day, deposits, eager=True),
            "account": names,
            "type": pl.repeat("DEPOSIT", deposits, eager=True),
            "symbol": pl.repeat(None, deposits, dtype=pl.String, eager=True),
            "quantity": pl.repeat(None, deposits, dtype=pl.Float64, eager=True),
            "price": pl.repeat(None, deposits, dtype=pl.Float64, eager=True),
            "fee": pl.repeat(0.0, deposits, eager=True),
            "amount": pl.Series(np.round(rng.uniform(1e4, 1e6, deposits), 2)),
            "currency": pl.repeat("USD", deposits, eager=True),
            "ratio": pl.repeat(None, deposits, dtype=pl.String, eager=True),
            "note": pl.repeat("opening deposit", deposits, eager=True),
        }
    )
    picked = frame.filter(pl.col("type") == "BUY").sample(dividends, seed=seed)
    income = picked.with_columns(
        type=pl.lit("DIVIDEND"),
        quantity=pl.lit(None, dtype=pl.Float64),
        price=pl.lit(None, dtype=pl.Float64),
        fee=pl.lit(0.0),
        amount=(pl.col("quantity") * 0.37).round(2),
        note=pl.lit("quarterly dividend"),
    )
    return pl.concat([cash, frame, income]).sort("date", maintain_order=True)


def ledger(shape: str, rows: int) -> pl.DataFrame:
    """The ledger of ``shape`` with ``rows`` rows."""
    if shape == "demo":
        from workbench.demo.build import generate

        return generate(seed=7, transactions=rows).transactions
    if shape == "one-account":
        return one_account(rows)
    if shape == "many-accounts":
        return many_accounts(rows)
    if shape == "fixed-lots":
        return fixed_lots(rows)
    raise ValueError(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
