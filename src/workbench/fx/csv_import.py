"""``workbench fx import FILE.csv``: reference rates from a CSV of ``date, base, quote, rate``.

Each row says ``1 base = rate quote`` on ``date`` (YYYY-MM-DD), e.g. ``2024-01-02,EUR,USD,1.0956``.
Headers are case-insensitive and may come in any order (``from``/``to`` are read as
base/quote, ``fx_rate``/``exchange_rate``/``value`` as rate); other columns are ignored. A
UTF-8 byte-order mark and CRLF line ends are accepted. Checks, each reported as
``file:line: field: problem``, every bad row at once: missing values, dates not YYYY-MM-DD or
outside 1900-01-01 .. 31 December of next year, codes that are not three capital letters A-Z
(sub-units such as GBp are derived, never imported), base equal to quote, rates that are not
positive numbers, and one (date, base, quote) given two different rates. All rows or none;
importing the same file again changes nothing (see :func:`workbench.fx.store.write_rates`).
The rows are stored with the source ``csv:<file name>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows
from workbench.fx.store import WriteSummary, rate_problems, write_rates

COLUMNS: tuple[str, ...] = ("date", "base", "quote", "rate")
SYNONYMS: dict[str, str] = {
    "from": "base",
    "base_currency": "base",
    "to": "quote",
    "quote_currency": "quote",
    "fx_rate": "rate",
    "exchange_rate": "rate",
    "value": "rate",
}


@dataclass(frozen=True)
class FXImport:
    """The outcome of one import: rows read and what the store did with them."""

    file: str
    rows: int
    written: WriteSummary
    pairs: int

    def summary(self) -> str:
        """One line for the command line."""
        w = self.written
        return (
            f"{self.file}: {self.rows} rates for {self.pairs}"
            f" {'pair' if self.pairs == 1 else 'pairs'}: {w.added} added,"
            f" {w.replaced} replaced, {w.unchanged} unchanged"
        )


def read_rates_csv(path: str | os.PathLike[str]) -> pl.DataFrame:
    """The checked rows of a rate CSV: date, base, quote, rate (and ``line``).

    Raises:
        InvalidRows: every bad value with file, line and field; an empty or headerless file.
    """
    from workbench.ledger.csv_text import read_required_csv

    file = Path(path)
    name = str(file)
    text = read_required_csv(file, known=COLUMNS, synonyms=SYNONYMS, required=COLUMNS)
    stripped = text.with_columns(pl.col(c).str.strip_chars() for c in COLUMNS).with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in COLUMNS
    )
    typed = stripped.with_columns(
        pl.col("date").str.to_date("%Y-%m-%d", strict=False).alias("_date"),
        pl.col("rate").cast(pl.Float64, strict=False).alias("_rate"),
    )
    problems: list[InvalidRow] = []
    reported: set[tuple[int, str]] = set()
    unparsed = [
        (
            "date",
            pl.col("date").is_not_null() & pl.col("_date").is_null(),
            "not a date (YYYY-MM-DD)",
        ),
        ("rate", pl.col("rate").is_not_null() & pl.col("_rate").is_null(), "not a number"),
    ]
    for field, bad, message in unparsed:
        for line, value in typed.filter(bad).select("line", field).iter_rows():
            problems.append(InvalidRow(name, line, field, f"{value!r} is {message}"))
            reported.add((line, field))
    frame = typed.select(
        "line",
        pl.col("_date").alias("date"),
        "base",
        "quote",
        pl.col("_rate").alias("rate"),
    )
    lines = frame["line"].to_list()
    for row, field, message in rate_problems(frame.drop("line")).iter_rows():
        line = int(lines[row])
        if (line, field) not in reported:  # an unparsed value is not "missing" as well
            problems.append(InvalidRow(name, line, field, message))
    if problems:
        raise InvalidRows(sorted(problems, key=lambda p: (p.line, p.field)))
    return frame


def import_rates_csv(
    db: str | os.PathLike[str] | None, path: str | os.PathLike[str], *, source: str | None = None
) -> FXImport:
    """Import a rate CSV into the store, all rows or none; returns what was written.

    Args:
        db: the database (None: the configured default).
        path: the CSV file.
        source: the provenance stored with the rows (default ``csv:<file name>``).

    Raises:
        InvalidRows: every bad value, as ``file:line: field: problem``; nothing is stored.
    """
    from workbench.store import connect

    frame = read_rates_csv(path)
    file = Path(path)
    with connect(db) as con:
        written = write_rates(con, frame, source=source or f"csv:{file.name}")
    pairs = frame.select("base", "quote").unique().height
    return FXImport(file=str(file), rows=frame.height, written=written, pairs=pairs)
