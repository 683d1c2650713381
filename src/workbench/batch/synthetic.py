"""A synthetic many-account ledger for batch tests and benchmarks (invented data, labelled so).

Every account has an opening deposit and then random trades of a small universe, with every
transaction type: BUY, SELL (never more than held), DIVIDEND, INTEREST, FEE, TAX, WITHDRAWAL
and SPLIT. One symbol, ``SPL``, splits 2:1 on :data:`SPLIT_DATE` (its closes halve there);
only every third account holding it records the SPLIT row, so the others get the split from
another account's row, as ``report`` applies it. Every 25th account only deposits, earns
interest and withdraws (no trades).

    >>> ledger, prices, instruments = synthetic_ledger(1000, rows_per_account=20)
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import polars as pl

from workbench.demo.market import DEMO_NOTE
from workbench.ledger.columns import LEDGER_COLUMNS
from workbench.store.tables import TRANSACTION_COLUMNS

START = dt.date(2023, 1, 2)
SPLIT_DATE = dt.date(2023, 9, 1)
SPLIT_SYMBOL = "SPL"


def business_days(start: dt.date, count: int) -> list[dt.date]:
    """The first ``count`` weekdays from ``start``."""
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def price_paths(symbols: list[str], days: list[dt.date], seed: int) -> pl.DataFrame:
    """Random-walk closes (4 decimals) per symbol; ``SPL`` halves on the split date."""
    rng = random.Random(seed)
    rows: list[tuple[str, dt.date, float]] = []
    for symbol in symbols:
        level = math.log(rng.uniform(20.0, 300.0))
        for day in days:
            level += rng.gauss(0.0003, 0.015)
            close = round(math.exp(level), 4)
            if symbol == SPLIT_SYMBOL and day >= SPLIT_DATE:
                close = round(close / 2, 4)
            rows.append((symbol, day, close))
    return pl.DataFrame(
        rows, schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64}, orient="row"
    )


def _account(
    name: str, index: int, rng: random.Random, days: list[dt.date], closes: dict[str, list[float]],
    rows: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """One account's rows in date order, never selling more than held."""
    symbols = list(closes)
    out: list[dict[str, Any]] = []

    def row(day: dt.date, kind: str, **values: Any) -> None:
        out.append({"date": day, "account": name, "type": kind, **values})

    deposit = float(rng.randrange(50_000, 200_000))
    row(days[0], "DEPOSIT", amount=deposit)
    chosen = sorted(rng.sample(range(1, len(days)), k=min(rows - 1, len(days) - 1)))
    held: dict[str, float] = {}
    split_done = False
    records_split = index % 3 == 0
    cash_only = index % 25 == 24
    for i in chosen:
        day = days[i]
        if not split_done and day >= SPLIT_DATE:
            split_done = True
            if records_split and (held.get(SPLIT_SYMBOL) or index == 0):
                row(SPLIT_DATE, "SPLIT", symbol=SPLIT_SYMBOL, ratio="2:1")
            if SPLIT_SYMBOL in held:
                held[SPLIT_SYMBOL] *= 2
        draw = rng.random()
        if cash_only:
            kind = "INTEREST" if draw < 0.6 else "WITHDRAWAL"
            row(day, kind, amount=round(rng.uniform(1, 200), 2))
            continue
        owned = [s for s, q in held.items() if q > 0]
        if draw < 0.45 or not owned:
            symbol = rng.choice(symbols)
            qty = float(rng.randrange(1, 60))
            held[symbol] = held.get(symbol, 0.0) + qty
            fee = round(rng.uniform(0, 5), 2)
            row(day, "BUY", symbol=symbol, quantity=qty, price=closes[symbol][i], fee=fee)
        elif draw < 0.7:
            symbol = rng.choice(owned)
            qty = float(rng.randrange(1, int(held[symbol]) + 1))
            held[symbol] -= qty
            fee = round(rng.uniform(0, 5), 2)
            row(day, "SELL", symbol=symbol, quantity=qty, price=closes[symbol][i], fee=fee)
        elif draw < 0.8:
            row(day, "DIVIDEND", symbol=rng.choice(owned), amount=round(rng.uniform(1, 90), 2))
        elif draw < 0.85:
            row(day, "INTEREST", amount=round(rng.uniform(1, 50), 2))
        elif draw < 0.9:
            row(day, "FEE", amount=round(rng.uniform(1, 20), 2))
        elif draw < 0.95:
            row(day, "TAX", amount=round(rng.uniform(1, 40), 2))
        else:
            row(day, "WITHDRAWAL", amount=round(rng.uniform(10, 500), 2))
    if index == 0 and not split_done:  # the split is in the ledger at least once
        row(SPLIT_DATE, "SPLIT", symbol=SPLIT_SYMBOL, ratio="2:1")
    return out


def synthetic_ledger(
    accounts: int,
    *,
    rows_per_account: int = 20,
    symbols: int = 12,
    days: int = 400,
    seed: int = 7,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(ledger rows in the CSV columns, prices, instruments) for ``accounts`` accounts.

    Accounts are ``a000001``...; the ledger is in apply order (date, then account's order).
    """
    rng = random.Random(seed)
    calendar = business_days(START, days)
    universe = [SPLIT_SYMBOL, *(f"S{i:03d}" for i in range(1, symbols))]
    prices = price_paths(universe, calendar, seed)
    closes = {
        str(key[0]): part.sort("date")["close"].to_list()
        for key, part in prices.partition_by("symbol", as_dict=True).items()
    }
    rows: list[dict[str, Any]] = []
    for index in range(accounts):
        rows += _account(f"a{index + 1:06d}", index, rng, calendar, closes, rows_per_account)
    schema: dict[str, Any] = {
        "date": pl.Date, "account": pl.String, "type": pl.String, "symbol": pl.String,
        "quantity": pl.Float64, "price": pl.Float64, "fee": pl.Float64, "amount": pl.Float64,
        "currency": pl.String, "ratio": pl.String, "note": pl.String,
    }  # fmt: skip
    ledger = (
        pl.DataFrame(
            rows, schema={k: v for k, v in schema.items() if k not in ("currency", "note")}
        )
        .with_columns(
            currency=pl.lit("USD"),
            note=pl.lit(DEMO_NOTE),
            target=pl.lit(None, dtype=pl.String),
            cost_fraction=pl.lit(None, dtype=pl.Float64),
        )
        .with_row_index("_order")
        .sort("date", "_order", maintain_order=True)
        .select(LEDGER_COLUMNS)
    )
    instruments = pl.DataFrame(
        {"symbol": universe, "name": [f"Synthetic {s}" for s in universe]},
    ).with_columns(asset_class=pl.lit("equity"), sector=pl.lit("synthetic"), currency=pl.lit("USD"))
    return ledger, prices.with_columns(currency=pl.lit("USD")), instruments


def store_synthetic(
    db: str, ledger: pl.DataFrame, prices: pl.DataFrame, instruments: pl.DataFrame
) -> None:
    """Write the synthetic ledger, prices and instruments into a workbench database."""
    from workbench import store
    from workbench.ledger import import_frame

    with store.connect(db) as con:
        store.upsert_instruments(con, instruments)
        store.upsert_prices(
            con,
            prices.with_columns(
                provider=pl.lit("synthetic"),
                fetched_at=pl.lit(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
            ),
        )
    import_frame(db, ledger, source="synthetic")


def as_transactions(ledger: pl.DataFrame) -> pl.DataFrame:
    """Ledger CSV rows as the store's transaction columns (``id`` in row order, the ratio
    ``new:old`` split into ``ratio_new``/``ratio_old``), for writing a lake without a database."""
    ratio = pl.col("ratio").str.split_exact(":", 1)
    return ledger.with_columns(
        id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        fee=pl.col("fee").fill_null(0.0),
        ratio_new=ratio.struct.field("field_0").cast(pl.Float64),
        ratio_old=ratio.struct.field("field_1").cast(pl.Float64),
        target=pl.lit(None, dtype=pl.String),
        cost_fraction=pl.lit(None, dtype=pl.Float64),
    ).select(TRANSACTION_COLUMNS)
