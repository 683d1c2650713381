"""Assemble the demo data set (instruments, prices, ledger) and store it in a database.

    data = generate(seed=7)                       # frames only, nothing stored
    summary = write_demo("data/workbench.duckdb") # generate and store; repeatable
    print(summary.describe())

Everything is synthetic and deterministic: the same seed gives the same frames, byte for byte,
on every machine (no clock is read; the window is fixed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from workbench.demo.ledger import simulate_ledger
from workbench.demo.market import (
    DEMO_INSTRUMENTS,
    DEMO_NOTE,
    demo_instruments_frame,
    instrument_for,
    prices_frame,
)

if TYPE_CHECKING:
    from workbench.ledger import ImportResult

DEFAULT_START = date(2021, 1, 4)
DEFAULT_END = date(2025, 12, 31)
#: the provider name stored with demo prices
PROVIDER = "demo"


@dataclass(frozen=True)
class DemoData:
    """The generated frames: instruments, daily prices and the ledger (all synthetic)."""

    seed: int
    start: date
    end: date
    #: symbol, name, asset_class, sector, currency
    instruments: pl.DataFrame
    #: symbol, date, open, high, low, close, volume, currency (unadjusted)
    prices: pl.DataFrame
    #: the ledger CSV columns (date, account, type, symbol, quantity, price, fee, amount,
    #: currency, ratio, note), in apply order
    transactions: pl.DataFrame

    @property
    def accounts(self) -> list[str]:
        """The account names, sorted."""
        return sorted(self.transactions.get_column("account").unique().to_list())


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo` stored."""

    db_path: Path
    seed: int
    start: date
    end: date
    instruments: int
    accounts: int
    transactions: int
    transactions_added: int
    price_rows: int

    def describe(self) -> str:
        """A few lines for people, labelled as synthetic demo data."""
        if self.transactions_added == self.transactions:
            added = "all new"
        elif self.transactions_added == 0:
            added = "already stored; nothing added"
        else:
            added = f"{self.transactions_added:,} new, the rest already stored"
        return "\n".join(
            [
                f"Synthetic demo data (seed {self.seed}) — invented instruments and prices,"
                " not market data.",
                f"  database:     {self.db_path}",
                f"  date range:   {self.start} .. {self.end}",
                f"  instruments:  {self.instruments:,}",
                f"  accounts:     {self.accounts:,}",
                f"  transactions: {self.transactions:,} ({added})",
                f"  price rows:   {self.price_rows:,}",
            ]
        )


def _prices_for(
    symbols: list[str], *, seed: int, start: date, end: date
) -> tuple[pl.DataFrame, list[date]]:
    """Daily bars of ``symbols`` in one frame, and the business days they cover."""
    prices = prices_frame(symbols, seed=seed, start=start, end=end)
    days = prices.height // len(symbols) if symbols else 0
    return prices, prices.get_column("date").head(days).to_list()


def generate(
    *,
    seed: int = 7,
    transactions: int | None = None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
) -> DemoData:
    """Generate the demo data set for ``seed``.

    Args:
        seed: the same seed gives identical frames.
        transactions: ``None`` for the realistic three-account ledger (about 1,500 rows);
            a number for a ledger of exactly that many rows over many accounts and universe
            symbols (vectorized, for benchmarks; see :mod:`workbench.demo.scaled`).
        start, end: the window of prices and transactions (business days).

    Example:
        >>> data = generate(seed=7)
        >>> data.transactions.height, data.accounts
    """
    import numpy as np

    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    if transactions is None:
        symbols = [i.symbol for i in DEMO_INSTRUMENTS]
        prices, dates = _prices_for(symbols, seed=seed, start=start, end=end)
        closes = {
            s: part.get_column("close").to_list()
            for s, part in zip(
                symbols, prices.partition_by("symbol", maintain_order=True), strict=True
            )
        }
        ledger = simulate_ledger(seed=seed, dates=dates, closes=closes)
        instruments = demo_instruments_frame()
    else:
        from workbench.demo.scaled import scaled_ledger, scaled_symbols

        if transactions < 1:
            raise ValueError(f"transactions must be positive, got {transactions}")
        symbols = scaled_symbols(transactions)
        prices, dates = _prices_for(symbols, seed=seed, start=start, end=end)
        closes_matrix = prices.get_column("close").to_numpy().reshape(len(symbols), len(dates))
        ledger = scaled_ledger(
            seed=seed,
            transactions=transactions,
            dates=np.array(dates, dtype="datetime64[D]"),
            symbols=symbols,
            closes=closes_matrix,
        )
        insts = [instrument_for(s) for s in symbols]
        instruments = pl.DataFrame(
            {
                "symbol": [i.symbol for i in insts],
                "name": [i.name for i in insts],
                "asset_class": [i.asset_class for i in insts],
                "sector": [i.sector for i in insts],
                "currency": [i.currency for i in insts],
            }
        )
    return DemoData(seed, start, end, instruments, prices, ledger)


def write_demo(
    db_path: str | os.PathLike[str] | None,
    *,
    seed: int = 7,
    transactions: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Generate the demo data and store it: instruments, prices (provider ``demo``), ledger.

    Running it again on the same database adds no transactions (the import is idempotent)
    and rewrites the same prices.

    Raises:
        StoreBusy: another process held the database past the bounded wait.
    """
    from workbench import config
    from workbench.ledger import import_frame
    from workbench.store import connect, upsert_instruments, upsert_prices

    say = progress or (lambda _msg: None)
    target = config.db_path(db_path)
    say(f"generating {DEMO_NOTE} (seed {seed})")
    data = generate(seed=seed, transactions=transactions)
    # fixed, so that two runs store identical rows
    fetched_at = datetime.combine(data.end, time(22, 0), tzinfo=UTC)
    say(f"storing {data.instruments.height:,} instruments and {data.prices.height:,} price rows")
    with connect(target) as con:
        upsert_instruments(con, data.instruments)
        upsert_prices(
            con,
            data.prices.with_columns(
                pl.lit(PROVIDER).alias("provider"), pl.lit(fetched_at).alias("fetched_at")
            ),
        )
    say(f"importing {data.transactions.height:,} transactions")
    result: ImportResult = import_frame(target, data.transactions, source=f"demo seed {seed}")
    return DemoSummary(
        db_path=target,
        seed=seed,
        start=data.start,
        end=data.end,
        instruments=data.instruments.height,
        accounts=len(data.accounts),
        transactions=data.transactions.height,
        transactions_added=result.added,
        price_rows=data.prices.height,
    )
