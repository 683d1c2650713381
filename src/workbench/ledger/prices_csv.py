"""Price-history CSV import: ``date, symbol, close`` plus optional open, high, low, volume, currency."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows
from workbench.ledger.columns import PRICE_COLUMNS, PRICE_SYNONYMS
from workbench.ledger.csv_text import read_required_csv
from workbench.ledger.validate import date_bounds
from workbench.store import connect, upsert_instruments, upsert_prices

_NUMBERS = ("close", "open", "high", "low", "volume")


def import_prices_csv(
    db: str | os.PathLike[str] | None, path: str | os.PathLike[str], *, provider: str = "csv"
) -> int:
    """Import daily unadjusted bars from a CSV; a bar for a stored (symbol, date) replaces it.

    Returns the number of bars written. All rows or none.

    Raises:
        InvalidRows: every bad value with file, line and field.
    """
    file = Path(path)
    name = str(file)
    text = read_required_csv(
        file, known=PRICE_COLUMNS, synonyms=PRICE_SYNONYMS, required=("date", "symbol", "close")
    )
    present = [c for c in _NUMBERS if c in text.columns]
    typed = text.with_columns(
        pl.col("date").str.to_date("%Y-%m-%d", strict=False).alias("_date"),
        *(pl.col(c).cast(pl.Float64, strict=False).alias(f"_{c}") for c in present),
    )
    problems: list[InvalidRow] = []
    earliest, latest = date_bounds()
    checks: list[tuple[str, pl.Expr, str]] = [
        ("date", pl.col("_date").is_null(), "not a date (expected YYYY-MM-DD)"),
        (
            "date",
            ~pl.col("_date").is_between(earliest, latest),
            f"out of range (expected {earliest} to {latest})",
        ),
        ("symbol", pl.col("symbol").is_null(), "missing"),
        ("close", pl.col("close").is_null(), "missing"),
    ]
    for c in present:
        value = pl.col(f"_{c}")
        checks.append(
            (c, pl.col(c).is_not_null() & (value.is_null() | value.is_nan()), "not a number")
        )
        checks.append((c, value < 0, "must not be negative"))
    for field, bad, message in checks:
        for line in typed.filter(bad.fill_null(False))["line"].to_list():
            problems.append(InvalidRow(name, line, field, message))
    if problems:
        raise InvalidRows(sorted(problems, key=lambda p: (p.line, p.field)))
    bars = typed.select(
        pl.col("symbol").str.to_uppercase(),
        pl.col("_date").alias("date"),
        *(pl.col(f"_{c}").alias(c) for c in present),
        *([pl.col("currency").str.to_uppercase()] if "currency" in typed.columns else []),
        pl.lit(provider).alias("provider"),
        pl.lit(dt.datetime.now(dt.UTC)).alias("fetched_at"),
    )
    duplicated = bars.filter(pl.struct("symbol", "date").is_duplicated())
    if not duplicated.is_empty():
        first = duplicated.row(0, named=True)
        raise InvalidRows(
            [InvalidRow(name, 0, "date", f"{first['symbol']} has two bars for {first['date']}")]
        )
    currency = bars["currency"] if "currency" in bars.columns else None
    instruments = bars.select(
        "symbol",
        (currency if currency is not None else pl.lit("USD")).alias("currency"),
    ).unique("symbol", keep="first", maintain_order=True)
    with connect(db) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            upsert_instruments(con, instruments.with_columns(pl.col("currency").fill_null("USD")))
            written = upsert_prices(con, bars)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return written
