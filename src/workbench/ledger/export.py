"""Export transactions, prices and quotes to CSV or Parquet.

A transactions export uses the ledger CSV columns, so it imports again (adding nothing).
CSV exports neutralise text cells a spreadsheet would run as formulas (a leading ``'``, see
:func:`workbench.ledger.csv_text.neutralise_formulas`); the import reads them back as they
were. Parquet keeps every value as it is (no spreadsheet runs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError
from workbench.ledger.csv_text import neutralise_formulas
from workbench.store import connect, query_frame

TABLES = ("transactions", "prices", "quotes")
FORMATS = ("csv", "parquet")

_QUERIES = {
    "transactions": (
        "SELECT date, account, type, symbol, quantity, price, fee, amount, currency,"
        " CASE WHEN ratio_new IS NULL THEN NULL ELSE"
        "  regexp_replace(CAST(ratio_new AS VARCHAR), '\\.?0+$', '') || ':' ||"
        "  regexp_replace(CAST(ratio_old AS VARCHAR), '\\.?0+$', '') END AS ratio, note,"
        " target, cost_fraction FROM transactions ORDER BY date, id"
    ),
    "prices": (
        "SELECT symbol, date, open, high, low, close, volume, currency, provider, fetched_at"
        " FROM prices ORDER BY symbol, date"
    ),
    "quotes": (
        "SELECT symbol, price, currency, volume, quote_time, provider, fetched_at"
        " FROM quotes ORDER BY fetched_at, symbol"
    ),
}


def export_table(
    db: str | os.PathLike[str] | None,
    table: str,
    *,
    fmt: str,
    out: str | os.PathLike[str],
) -> dict[str, int]:
    """Write ``table`` (or ``all``) to ``out``; returns rows written per table.

    With ``all``, ``out`` is a directory that gets ``<table>.<fmt>`` for each table.
    """
    if fmt not in FORMATS:
        raise WorkbenchError(f"unknown export format {fmt!r} (expected csv or parquet)")
    tables = list(TABLES) if table == "all" else [table]
    if any(t not in TABLES for t in tables):
        raise WorkbenchError(f"unknown table {table!r} (expected {', '.join(TABLES)} or all)")
    target = Path(out)
    written: dict[str, int] = {}
    with connect(db, read_only=True) as con:
        frames = {t: query_frame(con, _QUERIES[t]) for t in tables}
    if table == "all":
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        path = target / f"{name}.{fmt}" if table == "all" else target
        _write(frame, path, fmt)
        written[name] = frame.height
    return written


def _write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    # write to a sibling file and rename, so a failed export never leaves half a file behind
    tmp = path.with_name(path.name + ".partial")
    if fmt == "csv":
        neutralise_formulas(frame).write_csv(tmp)
    else:
        frame.write_parquet(tmp)
    tmp.replace(path)
