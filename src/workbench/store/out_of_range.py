"""SQL for stored rows dated outside the accepted range, for ``workbench check`` to report.

Imports refuse dates before 1900-01-01 or after 31 December of next year
(:func:`workbench.ledger.validate.date_bounds`), but a database written before that rule may
hold such rows: a year 0001 or 9999 typed by mistake, a poisoned file. They are never
deleted here: :func:`rows_outside` lists each with what identifies it (a transaction's id, a
price's symbol and date, a rate's date and pair), and :func:`delete_rows` removes exactly
those rows when a person asks for it (``workbench check --remove``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from workbench.store.tables import query_frame

#: per table: the identity columns (in order), a description, and the query's select list
_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "transactions": (
        ("id",),
        "SELECT t.id, t.date, concat_ws(' ', t.type, t.symbol, 'in account', t.account,"
        " CASE WHEN i.file_name IS NOT NULL THEN 'from ' || i.file_name END) AS detail"
        " FROM transactions t LEFT JOIN imports i ON i.id = t.import_id",
    ),
    "prices": (
        ("symbol", "date"),
        "SELECT symbol, date, concat_ws(' ', 'close', close::DOUBLE::VARCHAR, 'from', provider) AS detail"
        " FROM prices",
    ),
    "fx_rates": (
        ("date", "base", "quote"),
        "SELECT date, base, quote, concat_ws(' ', 'rate', rate::VARCHAR, 'from', source)"
        " AS detail FROM fx_rates",
    ),
}


@dataclass(frozen=True, slots=True)
class DatedRow:
    """One stored row whose date is outside the accepted range."""

    table: str
    #: the columns that identify the row in its table, e.g. ``{"id": 17}``
    key: dict[str, Any]
    date: dt.date
    #: what the row is, for a person (type, symbol, account, source file; or provider)
    detail: str

    def describe(self) -> str:
        """``transactions id=17: date 0001-03-04, BUY ACME in account default from old.csv``."""
        key = ", ".join(
            f"{k}={v.isoformat() if isinstance(v, dt.date) else v}" for k, v in self.key.items()
        )
        when = "" if "date" in self.key else f"date {self.date.isoformat()}, "
        return f"{self.table} {key}: {when}{self.detail}".rstrip()


def rows_outside(
    con: duckdb.DuckDBPyConnection, earliest: dt.date, latest: dt.date
) -> list[DatedRow]:
    """Every transaction, price and FX rate dated before ``earliest`` or after ``latest``,
    by table, then date and identity."""
    found: list[DatedRow] = []
    for table, (identity, select) in _TABLES.items():
        order = ", ".join(["date", *(c for c in identity if c != "date")])
        frame = query_frame(
            con,
            f"SELECT * FROM ({select}) WHERE date < ? OR date > ? ORDER BY {order}",
            [earliest, latest],
        )
        for row in frame.iter_rows(named=True):
            key = {column: row[column] for column in identity}
            found.append(DatedRow(table, key, row["date"], row["detail"] or ""))
    return found


def delete_rows(con: duckdb.DuckDBPyConnection, rows: list[DatedRow]) -> int:
    """Delete exactly ``rows`` (by their identity) in one transaction; returns rows deleted.

    A row deleted meanwhile by someone else is simply not counted.
    """
    deleted = 0
    con.execute("BEGIN TRANSACTION")
    try:
        for row in rows:
            identity, _select = _TABLES[row.table]
            where = " AND ".join(f"{column} = ?" for column in identity)
            params = [row.key[column] for column in identity]
            # DuckDB answers a DELETE with the number of rows it deleted
            done = con.execute(f"DELETE FROM {row.table} WHERE {where}", params)
            deleted += int(done.fetchall()[0][0])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return deleted
