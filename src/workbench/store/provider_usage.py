"""SQL for the daily request counts of providers with a daily cap (table ``provider_usage``).

One row per (provider, UTC day): the requests sent and whether the provider itself said the
day's quota is spent. :mod:`workbench.quotes.budget` keeps the counts in memory during a call
and reads and writes them here, so a second run on the same day knows what the first used.
Several processes may count at once, so a write keeps the larger count and never clears
``exhausted``. The caller owns the connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True, slots=True)
class Usage:
    """What one provider used on one day."""

    requests: int
    exhausted: bool


def read_usage(con: duckdb.DuckDBPyConnection, provider: str, day: dt.date) -> Usage | None:
    """The stored count of ``provider`` on ``day``, or None when nothing was counted."""
    rows = con.execute(
        "SELECT requests, exhausted FROM provider_usage WHERE provider = ? AND day = ?",
        [provider, day],
    ).fetchall()
    if not rows:
        return None
    return Usage(int(rows[0][0]), bool(rows[0][1]))


def record_usage(
    con: duckdb.DuckDBPyConnection, provider: str, day: dt.date, usage: Usage
) -> Usage:
    """Merge ``usage`` into the stored count: the larger count wins, ``exhausted`` sticks.

    Returns what is stored afterwards.
    """
    requests, exhausted = con.execute(
        "INSERT INTO provider_usage (provider, day, requests, exhausted)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (provider, day) DO UPDATE SET"
        " requests = greatest(provider_usage.requests, excluded.requests),"
        " exhausted = provider_usage.exhausted OR excluded.exhausted,"
        " updated_at = now() RETURNING requests, exhausted",
        [provider, day, usage.requests, usage.exhausted],
    ).fetchall()[0]
    return Usage(int(requests), bool(exhausted))
