"""Ledger rows for the store and holdings tests: validated rows from CSV text, and the
columns the holdings check reads."""

from __future__ import annotations

import polars as pl

from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS, canonicalize
from workbench.ledger.validate import validate_rows

#: the columns (and types) of the rows the holdings check reads
HOLDINGS_SCHEMA = {
    "account": pl.String,
    "symbol": pl.String,
    "date": pl.Date,
    "type": pl.String,
    "quantity": pl.Decimal(18, 8),
    "ratio_new": pl.Decimal(18, 8),
    "ratio_old": pl.Decimal(18, 8),
}


def validated(text: str) -> pl.DataFrame:
    """Ledger CSV text validated (the test's own text: it must have no problems)."""
    frame = pl.read_csv(text.encode(), infer_schema=False)
    canon, _ = canonicalize(frame, file="x.csv", known=LEDGER_COLUMNS, synonyms=SYNONYMS)
    rows, problems = validate_rows(canon, file="x.csv")
    assert problems == []
    return rows
