"""The ledger CSV layout: column names, header synonyms, and reading a file as text.

Headers are matched case-insensitively with spaces and dashes folded to underscores, so
``Trade Date``, ``trade-date`` and ``TRADE_DATE`` all mean ``date``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows

#: the ledger columns, in export order
LEDGER_COLUMNS = (
    "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
    "currency", "ratio", "note",
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
    "notes": "note",
    "memo": "note",
}

#: bytes read to tell an empty file (blanks only) from one with a header
_EMPTY_PROBE = 1 << 16

PRICE_COLUMNS = ("date", "symbol", "close", "open", "high", "low", "volume", "currency")
PRICE_SYNONYMS = {"ticker": "symbol", "code": "symbol", "trade_date": "date", "price": "close"}


def canonical_name(header: str, synonyms: dict[str, str]) -> str:
    """``' Trade Date '`` -> ``'date'`` (via synonyms); unknown names come back folded."""
    folded = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return synonyms.get(folded, folded)


def read_text_csv(
    path: Path, *, known: tuple[str, ...], synonyms: dict[str, str]
) -> tuple[pl.DataFrame, list[str]]:
    """Read a CSV as all-text columns renamed to canonical names, with a ``line`` column.

    A UTF-8 byte-order mark and CRLF line ends are accepted. ``line`` is the 1-based line in
    the file (the header is line 1). Returns the frame and the names of ignored columns.

    Raises:
        InvalidRows: the file is empty, has no header, or repeats a column.
    """
    name = str(path)
    # an empty file is named as such; only its start is read (polars reads the file itself,
    # which is faster than handing it the bytes)
    with path.open("rb") as handle:
        start = handle.read(_EMPTY_PROBE)
    if not start.strip(b"\xef\xbb\xbf \t\r\n") and len(start) < _EMPTY_PROBE:
        raise InvalidRows([InvalidRow(name, 1, "file", "empty file: expected a header row")])
    try:
        frame = pl.read_csv(
            path,
            infer_schema=False,
            has_header=True,
            truncate_ragged_lines=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise InvalidRows([InvalidRow(name, 1, "file", f"not a readable CSV: {exc}")]) from exc
    return canonicalize(frame, file=name, known=known, synonyms=synonyms)


def canonicalize(
    frame: pl.DataFrame,
    *,
    file: str,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    first_line: int = 2,
) -> tuple[pl.DataFrame, list[str]]:
    """Rename columns to canonical names, drop unknown ones, add ``line``, cast all to text."""
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
    text = frame.select(pl.col(old).cast(pl.String).alias(new) for old, new in renames.items())
    text = text.with_row_index("line", offset=first_line).with_columns(
        pl.col("line").cast(pl.Int64)
    )
    return text, ignored
