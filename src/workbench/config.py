"""Where things live and the settings read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

#: default database file, relative to the working directory
DEFAULT_DB = Path("data") / "workbench.duckdb"
#: the base currency when none is configured
BASE_CURRENCY = os.environ.get("WORKBENCH_BASE_CURRENCY", "USD")
#: how long to retry a database file held by another process before raising StoreBusy
DEFAULT_BUSY_TIMEOUT = 10.0


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database path: ``explicit`` if given, else ``WORKBENCH_DB``, else ``data/workbench.duckdb``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("WORKBENCH_DB")
    return Path(env) if env else DEFAULT_DB


def busy_timeout() -> float:
    """Seconds to wait for a busy database (``WORKBENCH_BUSY_TIMEOUT``, default 10)."""
    raw = os.environ.get("WORKBENCH_BUSY_TIMEOUT")
    return float(raw) if raw else DEFAULT_BUSY_TIMEOUT
