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
    # Rows are numbered within groups of equal 64-bit row hashes. Identical rows always share
    # a hash, so they are numbered 1, 2, ... in source order; two different rows that collide
    # (odds about 2^-64 per pair) merely number each other, which changes no identity twice.
    digest = typed.drop("line").hash_rows()
    repeated = digest.is_duplicated()
    ones = typed.with_columns(pl.lit(1, dtype=pl.Int64).alias("occurrence"))
    if not repeated.any():
        return ones
    # number only the repeated rows: a window over a million mostly-unique groups is slow
    numbered = (
        typed.select("line", digest.alias("_digest"))
        .filter(repeated)
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_digest").alias("_n"))
    )
    return ones.join(
        numbered.select("line", "_n"), on="line", how="left", maintain_order="left"
    ).select(*typed.columns, pl.coalesce("_n", "occurrence").alias("occurrence"))
