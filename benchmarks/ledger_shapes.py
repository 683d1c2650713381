"""Ledgers of several shapes for the import benchmark, built with whole-array operations.

- ``demo``: the scaled demo ledger (:func:`workbench.demo.build.generate`): many accounts of
  about 1,000 symbols each, ~75% buys, ~20% sells, dividends, splits, deposits, a note on
  every row.
- ``one-account``: an active trader: one account, 200 symbols, 60% buys and 40% sells, prices
  and quantities with decimals, no notes.
- ``many-accounts``: one account per 20 rows (50,000 at a million rows), each trading 3 of
  500 symbols, 30% sells, a deposit per account and some dividends.
- ``every-type``: 20 accounts, 2,000 symbols, every row type (FX, splits, cash rows,
  dividends), types in lower case, three currencies, and a long quoted note with commas and
  quotes on every row.
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

SHAPES = ("demo", "one-account", "many-accounts", "fixed-lots", "every-type")


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


def every_type(rows: int, seed: int = 19) -> pl.DataFrame:
    """20 accounts, 2,000 symbols, every row type, lower-case types, long quoted notes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_accounts, n_symbols = 20, 2_000
    other = rows // 10  # 10%: cash rows, dividends, splits and FX
    trades = rows - other
    names = pl.Series([f"acct{i:02d}" for i in range(n_accounts)])
    tickers = pl.Series([f"SYM{i:04d}" for i in range(n_symbols)])
    frame = _trades(
        rows=trades,
        accounts=names.gather(rng.integers(0, n_accounts, trades)),
        symbols=tickers.gather(rng.integers(0, n_symbols, trades)),
        sell_share=0.35,
        seed=seed,
    )
    days = frame["date"]
    kinds = pl.Series(
        ["deposit", "withdrawal", "interest", "fee", "tax", "dividend", "split", "fx"]
    ).gather(rng.integers(0, 8, other))
    extra = pl.DataFrame(
        {
            "date": days.gather(np.sort(rng.integers(0, trades, other))),
            "account": names.gather(rng.integers(0, n_accounts, other)),
            "type": kinds,
            "symbol": tickers.gather(rng.integers(0, n_symbols, other)),
            "amount": np.round(rng.uniform(1.0, 5_000.0, other), 2),
            "fx_quantity": np.round(rng.uniform(100.0, 10_000.0, other), 2),
            "fx_price": np.round(rng.uniform(0.8, 1.4, other), 6),
        }
    ).select(
        "date",
        "account",
        "type",
        symbol=pl.when(pl.col("type").is_in(["dividend", "split"]))
        .then(pl.col("symbol"))
        .when(pl.col("type") == "fx")
        .then(pl.lit("EUR")),
        quantity=pl.when(pl.col("type") == "fx").then(pl.col("fx_quantity")),
        price=pl.when(pl.col("type") == "fx").then(pl.col("fx_price")),
        fee=pl.lit(0.0),
        amount=pl.when(pl.col("type").is_in(["split", "fx"]).not_()).then(pl.col("amount")),
        currency=pl.lit("USD"),
        ratio=pl.when(pl.col("type") == "split").then(pl.lit("2:1")),
        note=pl.lit(None, dtype=pl.String),
    )
    trades_lower = frame.with_columns(
        pl.col("type").str.to_lowercase(),
        currency=pl.when(pl.col("symbol").str.ends_with("7"))
        .then(pl.lit("GBp"))
        .when(pl.col("symbol").str.ends_with("3"))
        .then(pl.lit("EUR"))
        .otherwise(pl.lit("USD")),
    )
    ordered = pl.concat([trades_lower, extra]).sort("date", maintain_order=True)
    return ordered.with_columns(
        note=pl.format(
            'rebalance {}, per plan "core" sleeve; ref {}, checked by broker statement',
            pl.int_range(pl.len()) % 97,
            pl.int_range(pl.len()),
        )
    )


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
    if shape == "every-type":
        return every_type(rows)
    raise ValueError(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
