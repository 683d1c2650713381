"""Reading and writing the store's tables with Polars frames.

SQL lives here and in the ledger importer only, always parameterized. Frames move in and out
through Arrow (zero-copy); nothing is inserted row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl

from workbench.store.schema import MONEY

TRANSACTION_COLUMNS = [
    "id", "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
    "currency", "ratio_new", "ratio_old", "note", "target", "cost_fraction",
]  # fmt: skip


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pl.DataFrame:
    """Run a read query and return its result as a Polars frame.

    DuckDB 2.0 connections refuse other work while an ``execute()`` result is unfetched, so
    reads go through a relation (``con.sql``) that is materialized at once.
    """
    # a relation is an Arrow C stream: polars reads it without pyarrow in between
    return pl.DataFrame(con.sql(sql, params=params))


class _ArrowStream:
    """A frame as an Arrow C stream, which DuckDB scans as it stands; a frame handed over
    directly goes through a pyarrow table first (a copy of every text column, and pyarrow's
    import on first use)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame) -> Iterator[None]:
    """Make frames visible to SQL under the given names for the length of the block.

    with registered(con, _wb_rows=rows):
        con.execute("INSERT INTO t SELECT * FROM _wb_rows")
    """
    for name, frame in frames.items():
        con.register(name, _ArrowStream(frame))
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def where_sql(clauses: list[str]) -> str:
    """`` WHERE a AND b`` for the clauses, or nothing when there are none."""
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def date_clauses(
    clauses: list[str], params: list[Any], start: dt.date | None, end: dt.date | None
) -> None:
    """Append ``date >= ?``/``date <= ?`` and their parameters for the bounds given."""
    if start is not None:
        clauses.append("date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("date <= ?")
        params.append(end)


def read_transactions(
    con: duckdb.DuckDBPyConnection,
    *,
    account: str | None = None,
    as_of: dt.date | None = None,
    symbols: list[str] | None = None,
) -> pl.DataFrame:
    """Transactions in apply order (date, then id), as a Polars frame with exact decimals."""
    clauses: list[str] = []
    params: list[Any] = []
    if account is not None:
        clauses.append("account = ?")
        params.append(account)
    date_clauses(clauses, params, None, as_of)
    if symbols is not None:
        clauses.append("list_contains(?, symbol)")
        params.append(symbols)
    sql = f"SELECT {', '.join(TRANSACTION_COLUMNS)} FROM transactions{where_sql(clauses)} ORDER BY date, id"
    return query_frame(con, sql, params)


def read_prices(
    con: duckdb.DuckDBPyConnection,
    *,
    symbols: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Daily unadjusted bars with their provenance, sorted by symbol and date."""
    clauses: list[str] = []
    params: list[Any] = []
    if symbols is not None:
        clauses.append("list_contains(?, symbol)")
        params.append(symbols)
    date_clauses(clauses, params, start, end)
    sql = (
        "SELECT symbol, date, open, high, low, close, volume, currency, provider, fetched_at"
        f" FROM prices{where_sql(clauses)} ORDER BY symbol, date"
    )
    return query_frame(con, sql, params)


def read_instruments(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every known instrument: symbol, name, asset_class, sector, currency."""
    return query_frame(
        con, "SELECT symbol, name, asset_class, sector, currency FROM instruments ORDER BY symbol"
    )


def read_accounts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every account with its currency."""
    return query_frame(con, "SELECT name, currency FROM accounts ORDER BY name")


def read_latest_quotes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The most recently fetched quote per symbol."""
    return query_frame(
        con,
        "SELECT symbol, price, currency, volume, quote_time, provider, fetched_at FROM quotes"
        " QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY fetched_at DESC) = 1"
        " ORDER BY symbol",
    )


def stored_price_dates(
    con: duckdb.DuckDBPyConnection, symbols: list[str], start: dt.date, end: dt.date
) -> dict[str, set[dt.date]]:
    """Per symbol, the dates in [start, end] that already have a stored bar (one query)."""
    rows = con.execute(
        "SELECT symbol, date FROM prices WHERE list_contains(?, symbol) AND date BETWEEN ? AND ?",
        [symbols, start, end],
    ).fetchall()
    found: dict[str, set[dt.date]] = {symbol: set() for symbol in symbols}
    for symbol, day in rows:
        found[symbol].add(day)
    return found


def upsert_instruments(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Add instruments not yet known (symbol, currency and optional name/asset_class/sector).

    Known symbols keep their attributes, except that missing ones are filled in.
    """
    if frame.is_empty():
        return 0
    staged = frame
    for column in ("name", "asset_class", "sector"):
        if column not in staged.columns:
            staged = staged.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    staged = staged.select("symbol", "name", "asset_class", "sector", "currency").unique(
        "symbol", keep="first", maintain_order=True
    )
    with registered(con, _wb_instruments=staged):
        before = con.execute("SELECT count(*) FROM instruments").fetchall()[0][0]
        con.execute(
            "INSERT INTO instruments SELECT symbol, name, asset_class, sector, currency"
            " FROM _wb_instruments ON CONFLICT (symbol) DO UPDATE SET"
            " name = coalesce(instruments.name, excluded.name),"
            " asset_class = coalesce(instruments.asset_class, excluded.asset_class),"
            " sector = coalesce(instruments.sector, excluded.sector)"
        )
        after = con.execute("SELECT count(*) FROM instruments").fetchall()[0][0]
    return int(after - before)


def upsert_prices(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Store daily bars; a bar for an existing (symbol, date) replaces it. Returns rows written.

    ``frame`` needs symbol, date, close, provider, fetched_at; open, high, low, volume and
    currency are optional.
    """
    if frame.is_empty():
        return 0
    staged = frame
    for column, dtype in (
        ("open", pl.Float64), ("high", pl.Float64), ("low", pl.Float64),
        ("volume", pl.Float64), ("currency", pl.String),
    ):  # fmt: skip
        if column not in staged.columns:
            staged = staged.with_columns(pl.lit(None, dtype=dtype).alias(column))
    with registered(con, _wb_prices=staged):
        con.execute(
            "INSERT OR REPLACE INTO prices SELECT symbol, CAST(date AS DATE),"
            f" CAST(open AS {MONEY}), CAST(high AS {MONEY}), CAST(low AS {MONEY}),"
            f" CAST(close AS {MONEY}), CAST(volume AS DOUBLE), currency, provider,"
            " CAST(fetched_at AS TIMESTAMPTZ) FROM _wb_prices"
        )
    return frame.height


def insert_quotes(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Append quotes (symbol, price, currency, volume, quote_time, provider, fetched_at)."""
    if frame.is_empty():
        return 0
    with registered(con, _wb_quotes=frame):
        con.execute(
            f"INSERT INTO quotes SELECT symbol, CAST(price AS {MONEY}), currency,"
            " CAST(volume AS DOUBLE), CAST(quote_time AS TIMESTAMPTZ), provider,"
            " CAST(fetched_at AS TIMESTAMPTZ) FROM _wb_quotes"
        )
    return frame.height


def date_span(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    """(first transaction date, last transaction date, last price date); None where empty."""
    row = con.execute(
        "SELECT (SELECT min(date) FROM transactions), (SELECT max(date) FROM transactions),"
        " (SELECT max(date) FROM prices)"
    ).fetchall()[0]
    return row[0], row[1], row[2]


def priced_symbols(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Symbols with at least one stored bar, sorted."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT symbol FROM prices ORDER BY symbol").fetchall()
    ]


def traded_symbols(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Symbols that appear in the ledger, sorted."""
    rows = con.execute(
        "SELECT DISTINCT symbol FROM (SELECT symbol FROM transactions UNION ALL"
        " SELECT target FROM transactions) WHERE symbol IS NOT NULL ORDER BY symbol"
    ).fetchall()
    return [r[0] for r in rows]


def last_fetched(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime | None]:
    """When quotes and daily bars were last stored: ``{"quotes": t, "prices": t}`` (UTC, or
    None for an empty table)."""
    row = con.execute(
        "SELECT (SELECT epoch_us(max(fetched_at)) FROM quotes),"
        " (SELECT epoch_us(max(fetched_at)) FROM prices)"
    ).fetchall()[0]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return {
        name: None if micros is None else epoch + dt.timedelta(microseconds=micros)
        for name, micros in zip(("quotes", "prices"), row, strict=True)
    }
