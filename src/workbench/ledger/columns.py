"""The ledger CSV layout: column names, header synonyms, and renaming columns to them.

Headers are matched case-insensitively with spaces and dashes folded to underscores, so
``Trade Date``, ``trade-date`` and ``TRADE_DATE`` all mean ``date``.
"""

from __future__ import annotations

import re

import polars as pl

from workbench.errors import InvalidRow, InvalidRows

#: the ledger columns, in export order
LEDGER_COLUMNS = (
    "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
    "currency", "ratio", "note", "target", "cost_fraction",
)  # fmt: skip

REQUIRED_ALWAYS = ("date", "type")

SYNONYMS: dict[str, str] = {
    "trade_date": "date",
    "transaction_date": "date",
    "action": "type",
    "side": "type",
    "transaction_type": "type",
    "ticker": "symbol",
    "code": "symbol",
    "qty": "quantity",
    "shares": "quantity",
    "units": "quantity",
    "unit_price": "price",
    "commission": "fee",
    "fees": "fee",
    "split_ratio": "ratio",
    "new_symbol": "target",
    "to_symbol": "target",
    "notes": "note",
    "memo": "note",
}

PRICE_COLUMNS = ("date", "symbol", "close", "open", "high", "low", "volume", "currency")
PRICE_SYNONYMS = {"ticker": "symbol", "code": "symbol", "trade_date": "date", "price": "close"}


def canonical_name(header: str, synonyms: dict[str, str]) -> str:
    """``' Trade Date '`` -> ``'date'`` (via synonyms); unknown names come back folded."""
    folded = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return synonyms.get(folded, folded)


def canonicalize(
    frame: pl.DataFrame,
    *,
    file: str,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    lines: pl.Series | None = None,
    typed: bool = False,
) -> tuple[pl.DataFrame, list[str]]:
    """Rename columns to canonical names, drop unknown ones, add ``line``, cast all to text.

    ``line`` is ``lines`` when given (each row's line in its file), else 2, 3, ... as if
    every row were one line after a header. ``typed``: decimal columns stay decimals (a file
    read with some columns parsed, see :func:`workbench.ledger.csv_text.read_typed_csv`).
    """
    renames: dict[str, str] = {}
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for column in frame.columns:
        canonical = canonical_name(column, synonyms)
        if canonical not in known:
            ignored.append(column)
            continue
        if canonical in seen:
            raise InvalidRows(
                [InvalidRow(file, 1, column, f"same column as {seen[canonical]!r} ({canonical})")]
            )
        seen[canonical] = column
        renames[column] = canonical
    if not renames:
        raise InvalidRows(
            [InvalidRow(file, 1, "header", "no known columns; is the first line a header?")]
        )
    # empty cells are already null (polars reads a missing string as null); blanks are
    # stripped where each value is parsed, so this stays a cheap rename
    text = frame.select(
        (
            pl.col(old)
            if typed and isinstance(frame.schema[old], pl.Decimal)
            else pl.col(old).cast(pl.String)
        ).alias(new)
        for old, new in renames.items()
    )
    if lines is None:
        lines = pl.int_range(2, frame.height + 2, dtype=pl.Int64, eager=True)
    return text.insert_column(0, lines.cast(pl.Int64).alias("line")), ignored
