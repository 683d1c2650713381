"""Row identity for idempotent imports.

A row's identity is its normalized values plus its occurrence number among identical rows of
the same source; the store keeps an MD5 of them (``workbench.store.ledger_rows.ROW_KEY``).
Importing a file twice therefore adds nothing, a file that lists the same trade twice keeps
both, and a CSV export (which writes the normalized values) re-imports as duplicates.
"""

from __future__ import annotations

import polars as pl


def with_occurrence(typed: pl.DataFrame) -> pl.DataFrame:
    """Add ``occurrence`` (1, 2, ... among identical rows, in source order) to validated rows."""
    values = typed.drop("line")
    # a 64-bit row hash finds the candidates cheaply; the exact numbering runs only if a
    # row repeats, which real ledgers rarely do
    if not values.hash_rows().is_duplicated().any():
        return typed.with_columns(pl.lit(1, dtype=pl.Int64).alias("occurrence"))
    occurrence = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(values.columns)
    return typed.with_columns(occurrence.alias("occurrence"))
