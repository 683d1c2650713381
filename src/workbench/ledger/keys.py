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
    return typed.with_columns(occurrence_numbers(row_digests(typed)))


def row_digests(typed: pl.DataFrame) -> pl.Series:
    """A 64-bit hash of each validated row's values (its line left out).

    Rows are numbered within groups of equal digests. Identical rows always share one (the
    hash is seeded the same in every frame), so they are numbered 1, 2, ... in source order;
    two different rows that collide (odds about 2^-64 per pair) merely number each other,
    which changes no identity twice.
    """
    return typed.drop("line").hash_rows()


def occurrence_numbers(digest: pl.Series, earlier: pl.Series | None = None) -> pl.Series:
    """``occurrence`` for rows with these digests: 1, 2, ... among equal digests in order,
    counting first the equal digests in ``earlier`` (rows before these in the same file,
    when a file is read in batches)."""
    if earlier is not None and len(earlier):
        carried = earlier.filter(earlier.is_in(digest.implode()))
        if len(carried):
            return _numbers(pl.concat([carried, digest])).slice(len(carried))
    return _numbers(digest)


def _numbers(digest: pl.Series) -> pl.Series:
    # equal neighbours after a sort name the repeated hashes; cheaper than is_duplicated's
    # hash table over a million mostly-unique values
    ordered = digest.sort()
    repeated = digest.is_in(ordered.filter(ordered == ordered.shift(1)).unique().implode())
    ones = pl.repeat(1, len(digest), dtype=pl.Int64, eager=True).alias("occurrence")
    if repeated.any():
        # number only the repeated rows: a stable sort by digest puts each group's rows
        # together in source order, and a row's number is its distance from the group's
        # first row plus one (measured a third of the CPU of a window over the digests when
        # most rows repeat, as a bot buying the same lot every day writes them)
        at = repeated.arg_true()
        runs = pl.DataFrame({"_digest": digest.gather(at), "_at": at}).sort(
            "_digest", maintain_order=True
        )
        step = pl.int_range(pl.len(), dtype=pl.Int64)
        first = pl.col("_digest") != pl.col("_digest").shift(1)
        numbers = runs.select(
            step - pl.when(first.fill_null(True)).then(step).otherwise(0).cum_max() + 1
        ).to_series()
        ones = ones.scatter(runs["_at"], numbers)
    return ones
