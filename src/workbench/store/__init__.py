"""DuckDB storage: schema and migrations, short-lived connections, table reads and writes."""

from __future__ import annotations

from workbench.store.connection import connect, harden, open_connection, run_in_thread
from workbench.store.schema import SCHEMA_VERSION, current_version, migrate
from workbench.store.tables import (
    insert_quotes,
    query_frame,
    read_accounts,
    read_instruments,
    read_latest_quotes,
    read_prices,
    read_transactions,
    stored_price_dates,
    upsert_instruments,
    upsert_prices,
)

__all__ = [
    "SCHEMA_VERSION",
    "connect",
    "current_version",
    "harden",
    "insert_quotes",
    "migrate",
    "open_connection",
    "query_frame",
    "read_accounts",
    "read_instruments",
    "read_latest_quotes",
    "read_prices",
    "read_transactions",
    "run_in_thread",
    "stored_price_dates",
    "upsert_instruments",
    "upsert_prices",
]
