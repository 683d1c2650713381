"""SQL for instruments known by ISIN: which ticker an ISIN is, and attaching a ticker later.

A file that names a product only by its ISIN (DEGIRO) records it under the ISIN; a later file
that gives the ticker with the same ISIN (IBKR, Trading 212) attaches it: the rows, prices and
instrument filed under the ISIN move to the ticker, and files of the ISIN-only kind then map
to the ticker. The caller owns the transaction.
"""

from __future__ import annotations

import duckdb
import polars as pl

from workbench.store.row_identity import renumber
from workbench.store.tables import query_frame, registered


def tickers_for(con: duckdb.DuckDBPyConnection, isins: list[str]) -> dict[str, str]:
    """The ticker each of ``isins`` is filed under, where one is known (not the ISIN itself)."""
    if not isins:
        return {}
    found = query_frame(
        con,
        "SELECT isin, symbol FROM instrument_ids WHERE list_contains(?::VARCHAR[], isin)"
        " AND symbol <> isin",
        [isins],
    )
    return dict(zip(found["isin"].to_list(), found["symbol"].to_list(), strict=True))


def attach(con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame) -> list[tuple[str, str]]:
    """Record (symbol, isin, name) pairs; move rows filed under an ISIN to its new ticker.

    Returns the (isin, ticker) moves made. Stored rows that move keep their identity for
    re-imports (which map the ISIN to the ticker): rows the move makes identical to each
    other are numbered again (:func:`workbench.store.row_identity.renumber`).
    """
    if pairs.is_empty():
        return []
    with registered(con, _wb_ids=pairs.select("symbol", "isin", "name")):
        moves = query_frame(
            con,
            "SELECT i.isin, p.symbol FROM instrument_ids i JOIN _wb_ids p USING (isin)"
            " WHERE i.symbol = i.isin AND p.symbol <> p.isin",
        )
        con.execute(
            "INSERT INTO instrument_ids SELECT isin, symbol, name FROM _wb_ids"
            " ON CONFLICT (isin) DO UPDATE SET name = coalesce(instrument_ids.name, excluded.name)"
        )
    done = []
    for isin, ticker in moves.iter_rows():
        _move(con, isin, ticker)
        done.append((isin, ticker))
    return done


def _move(con: duckdb.DuckDBPyConnection, old: str, new: str) -> None:
    con.execute("UPDATE transactions SET symbol = ? WHERE symbol = ?", [new, old])
    # a corporate action's target names an instrument too (SYMBOL_CHANGE to an ISIN)
    con.execute("UPDATE transactions SET target = ? WHERE target = ?", [new, old])
    renumber(con, "symbol = ? OR target = ?", [new, new])
    con.execute(
        "DELETE FROM prices WHERE symbol = ? AND date IN (SELECT date FROM prices WHERE symbol = ?)",
        [old, new],
    )
    con.execute("UPDATE prices SET symbol = ? WHERE symbol = ?", [new, old])
    con.execute(
        "INSERT INTO instruments SELECT * REPLACE (? AS symbol) FROM instruments WHERE symbol = ?"
        " ON CONFLICT DO NOTHING",
        [new, old],
    )
    con.execute("DELETE FROM instruments WHERE symbol = ?", [old])
    con.execute("UPDATE instrument_ids SET symbol = ? WHERE isin = ?", [new, old])
