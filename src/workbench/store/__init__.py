"""DuckDB storage: schema and migrations, short-lived connections, table reads and writes."""

from __future__ import annotations

from workbench.store.connection import connect, open_connection, run_in_thread
from workbench.store.schema import SCHEMA_VERSION, current_version, migrate
from workbench.store.tables import (
    date_span,
    insert_quotes,
    last_fetched,
    priced_symbols,
    query_frame,
    read_accounts,
    read_instruments,
    read_latest_quotes,
    read_prices,
    read_transactions,
    stored_price_dates,
    traded_symbols,
    upsert_instruments,
    upsert_prices,
)

__all__ = [
    "SCHEMA_VERSION",
    "connect",
    "current_version",
    "date_span",
    "insert_quotes",
    "last_fetched",
    "migrate",
    "open_connection",
    "priced_symbols",
    "query_frame",
    "read_accounts",
    "read_instruments",
    "read_latest_quotes",
    "read_prices",
    "read_transactions",
    "run_in_thread",
    "stored_price_dates",
    "traded_symbols",
    "upsert_instruments",
    "upsert_prices",
]
