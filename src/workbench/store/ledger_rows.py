"""SQL for applying validated ledger rows: staging, de-duplication and the atomic insert.

Each row gets a key: an MD5 of its normalized values plus its occurrence number among identical
rows of the same file. Importing a file twice therefore adds nothing, while a file that lists the
same trade twice keeps both.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from workbench.store.tables import query_frame

_KEY_TEXT = (
    "concat_ws('|', strftime(date, '%Y-%m-%d'), account, type, coalesce(symbol, ''),"
    " coalesce(CAST(quantity AS VARCHAR), ''), coalesce(CAST(price AS VARCHAR), ''),"
    " CAST(fee AS VARCHAR), coalesce(CAST(amount AS VARCHAR), ''), currency,"
    " coalesce(CAST(ratio_new AS VARCHAR), ''), coalesce(CAST(ratio_old AS VARCHAR), ''),"
    " coalesce(note, ''))"
)


def stage_rows(con: duckdb.DuckDBPyConnection, typed: pl.DataFrame, *, dedupe: bool) -> int:
    """Load validated rows into the temp table ``_wb_new`` with keys; returns how many are new.

    With ``dedupe``, rows whose key is already stored are left out.
    """
    con.register("_wb_typed", typed)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _wb_staged AS"
            f" WITH keyed AS (SELECT *, {_KEY_TEXT} AS key_text FROM _wb_typed)"
            " SELECT * EXCLUDE (key_text), md5_number(key_text || '#' || CAST(row_number()"
            " OVER (PARTITION BY key_text ORDER BY line) AS VARCHAR)) AS row_key FROM keyed"
        )
    finally:
        con.unregister("_wb_typed")
    if dedupe:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _wb_new AS SELECT * FROM _wb_staged s"
            " WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.row_key = s.row_key)"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _wb_new AS SELECT * FROM _wb_staged")
    return int(con.execute("SELECT count(*) FROM _wb_new").fetchall()[0][0])


def staged_trades(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The new BUY/SELL/SPLIT rows, for the holdings check."""
    return query_frame(
        con,
        "SELECT line, account, symbol, date, type, quantity, ratio_new, ratio_old FROM _wb_new"
        " WHERE type IN ('BUY', 'SELL', 'SPLIT')",
    )


def stored_trades_for_staged(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Stored BUY/SELL/SPLIT rows of the (account, symbol) pairs the new rows touch."""
    return query_frame(
        con,
        "SELECT t.id, t.account, t.symbol, t.date, t.type, t.quantity, t.ratio_new, t.ratio_old"
        " FROM transactions t SEMI JOIN (SELECT DISTINCT account, symbol FROM _wb_new"
        "   WHERE type IN ('BUY', 'SELL', 'SPLIT')) n"
        " ON t.account = n.account AND t.symbol = n.symbol"
        " WHERE t.type IN ('BUY', 'SELL', 'SPLIT')",
    )


def insert_staged(
    con: duckdb.DuckDBPyConnection, *, file_name: str, file_hash: str, rows: int, kind: str
) -> dict[str, Any]:
    """Insert ``_wb_new`` with fresh ids, its accounts and instruments, and the import record.

    Returns ``{"import_id", "first_id", "last_id", "added"}``. The caller owns the transaction.
    """
    import_id = int(con.execute("SELECT coalesce(max(id), 0) + 1 FROM imports").fetchall()[0][0])
    first_id = int(
        con.execute("SELECT coalesce(max(id), 0) + 1 FROM transactions").fetchall()[0][0]
    )
    added = int(con.execute("SELECT count(*) FROM _wb_new").fetchall()[0][0])
    con.execute(
        "INSERT INTO accounts (name, currency) SELECT account, arg_min(currency, line)"
        " FROM _wb_new GROUP BY account ON CONFLICT DO NOTHING"
    )
    con.execute(
        "INSERT INTO instruments (symbol, currency) SELECT symbol, arg_min(currency, line)"
        " FROM _wb_new WHERE symbol IS NOT NULL GROUP BY symbol ON CONFLICT DO NOTHING"
    )
    con.execute(
        "INSERT INTO transactions SELECT ? - 1 + row_number() OVER (ORDER BY line), date, account,"
        " type, symbol, quantity, price, fee, amount, currency, ratio_new, ratio_old, note, ?,"
        " row_key FROM _wb_new",
        [first_id, import_id],
    )
    con.execute(
        "INSERT INTO imports (id, file_name, file_hash, rows, added, kind) VALUES (?, ?, ?, ?, ?, ?)",
        [import_id, file_name, file_hash, rows, added, kind],
    )
    return {
        "import_id": import_id,
        "first_id": first_id,
        "last_id": first_id + added - 1,
        "added": added,
    }


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the temp tables of a staged import."""
    con.execute("DROP TABLE IF EXISTS _wb_staged")
    con.execute("DROP TABLE IF EXISTS _wb_new")
