"""Short-lived DuckDB connections with a bounded wait for a busy file.

DuckDB lets one process write a file; while it holds it, any other process's open fails at once
(even read-only). So every caller opens briefly, and an open that meets a lock is retried with
backoff until ``timeout`` seconds have passed, then raises :class:`StoreBusy` naming the file.

    with connect(path) as con:                 # read-write, migrated to the current schema
        con.execute("SELECT count(*) FROM transactions")
    with connect(path, read_only=True) as con: # for viewers; never writes
        ...
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb

from workbench import config
from workbench.errors import SchemaError, StoreBusy, StoreError
from workbench.store.schema import SCHEMA_VERSION, current_version, migrate

P = ParamSpec("P")
T = TypeVar("T")

_LOCK_MARKERS = ("Could not set lock", "different configuration", "Conflicting lock")


def _is_busy(exc: Exception) -> bool:
    return any(marker in str(exc) for marker in _LOCK_MARKERS)


def open_connection(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    timeout: float | None = None,
    config_options: dict[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``path``, retrying while another process holds it; the caller closes it.

    Raises:
        StoreBusy: the file stayed locked for ``timeout`` seconds.
        StoreError: a read-only open of a file that does not exist.
    """
    path = Path(path)
    wait = config.busy_timeout() if timeout is None else timeout
    if read_only and not path.exists():
        raise StoreError(
            f"database {path} does not exist; run `workbench init` or `workbench demo`"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    delay = 0.01
    started = time.monotonic()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config_options or {})
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _is_busy(exc):
                raise StoreError(f"cannot open database {path}: {exc}") from exc
            now = time.monotonic()
            if now >= deadline:
                raise StoreBusy(path, now - started) from exc
            # jittered exponential backoff, capped so a freed file is picked up quickly
            time.sleep(min(delay * (0.5 + random.random()), max(deadline - now, 0.001)))
            delay = min(delay * 2, 0.2)


@contextmanager
def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    timeout: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database briefly; a read-write open creates and migrates it first.

    Args:
        path: the database file; ``None`` means :func:`workbench.config.db_path`.
        read_only: open for reading only (app viewers); the schema must be current.
        timeout: seconds to wait for a file held by another process.

    Raises:
        StoreBusy: another process held the file for longer than ``timeout``.
        SchemaError: a read-only open of a file whose schema is older or newer.
    """
    target = config.db_path(path)
    con = open_connection(target, read_only=read_only, timeout=timeout)
    try:
        if read_only:
            version = current_version(con)
            if version != SCHEMA_VERSION:
                raise SchemaError(
                    f"database {target} has schema version {version}, expected {SCHEMA_VERSION};"
                    " run `workbench init` to migrate it"
                )
        else:
            migrate(con)
        yield con
    finally:
        con.close()


async def run_in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking store or analytics call in a worker thread so the event loop stays free.

    The equivalent of ``sync_to_async(fn, thread_sensitive=False)``.
    """
    return await asyncio.to_thread(fn, *args, **kwargs)


def remove_if_unused(path: Path) -> bool:
    """Delete the database file at ``path`` (and its WAL) if no table in it holds a row.

    For a command that created the file as it went and then wrote nothing (a refused
    import, a dry run): it leaves no empty database behind. A file that any table has a
    row in, or that cannot be opened (another process holds it), is kept.
    """
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error:
        return False
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'main' AND table_name <> 'schema_version'"
            ).fetchall()
        ]
        used = any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)
    finally:
        con.close()
    if used:
        return False
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)
    return True
