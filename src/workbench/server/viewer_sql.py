"""Running SQL typed by app viewers: a deadline, a row cap, read-only statements, cancellation.

Each query runs in a sandbox of its own (:func:`workbench.server.sandbox.sandbox`) while a
watchdog thread stands by to ``interrupt()`` it at the deadline; the query is also interrupted when the viewer's
session ends (:func:`cancel_thread_queries`, called by the server when marimo closes the
session whose kernel thread started it). At most ``max_rows`` rows are produced: the statement is
wrapped in a ``LIMIT`` of one more row, so a huge result is never built, and the caller says
when there was more.

    result = run_sql(db, "SELECT * FROM transactions")
    result.frame, result.truncated, result.error
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import StoreBusy, WorkbenchError
from workbench.server.sandbox import (
    MEMORY_ENV,
    TIMEOUT_ENV,
    SqlLimits,
    Watch,
    sandbox,
    watchdog,
)

if TYPE_CHECKING:
    import duckdb
    import polars as pl

#: statement kinds a viewer may run; the rest change something and are refused up front
#: (``SET`` passes so that it meets the locked configuration and says so)
ALLOWED_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET"})


@dataclass(frozen=True)
class SqlResult:
    """The outcome of one viewer query: rows (at most ``max_rows``) or an error message."""

    frame: pl.DataFrame | None = None
    error: str | None = None
    truncated: bool = False
    max_rows: int = 0

    def note(self) -> str | None:
        """A line for the viewer when the rows shown are not all of them."""
        if not self.truncated:
            return None
        return (
            f"Showing the first {self.max_rows:,} rows: the result has more"
            f" (viewer queries show at most {self.max_rows:,} rows)."
        )


#: every running viewer query: id of its watch -> (the thread that started it, the watch)
_watches: dict[int, tuple[int, Watch]] = {}
_running_lock = threading.Lock()


@contextmanager
def _watched(con: duckdb.DuckDBPyConnection, timeout: float) -> Iterator[Watch]:
    """Interrupt ``con`` at the deadline, or when this thread's session is cancelled."""
    with watchdog(con, timeout) as watch:
        with _running_lock:
            _watches[id(watch)] = (threading.get_ident(), watch)
        try:
            yield watch
        finally:
            with _running_lock:
                _watches.pop(id(watch), None)


def cancel_thread_queries(thread_id: int | None, reason: str = "session ended") -> int:
    """Interrupt every viewer query started by thread ``thread_id``; how many there were."""
    if thread_id is None:
        return 0
    with _running_lock:
        watches = [w for thread, w in _watches.values() if thread == thread_id]
    for watch in watches:
        watch.stop(reason)
    return len(watches)


def cancel_all_queries(reason: str = "server stopping") -> int:
    """Interrupt every running viewer query (the server is shutting down)."""
    with _running_lock:
        watches = [w for _thread, w in _watches.values()]
    for watch in watches:
        watch.stop(reason)
    return len(watches)


def running_queries() -> int:
    """How many viewer queries are running now."""
    with _running_lock:
        return len(_watches)


def _refusal(con: duckdb.DuckDBPyConnection, text: str) -> str | None:
    """Why ``text`` may not run (a statement that would change something), else None."""
    for statement in con.extract_statements(text):
        kind = str(statement.type).rsplit(".", 1)[-1]
        if kind not in ALLOWED_STATEMENTS:
            return (
                f"the SQL explorer is read-only: {kind} statements are refused"
                " (SELECT, EXPLAIN and PRAGMA run)"
            )
    return None


def run_sql(
    db: str | os.PathLike[str] | None, text: str, *, limits: SqlLimits | None = None
) -> SqlResult:
    """Run a viewer's SQL in a sandbox, with the deadline and row cap of ``limits``.

    Args:
        db: the database (its snapshot is what the query reads).
        text: one or more statements; the last one's rows are returned.
        limits: the deadline, row cap, memory and threads (default from the environment).

    Every failure (bad SQL, a refused statement, the deadline) comes back as ``error``.
    """
    import duckdb

    try:
        limits = limits or SqlLimits.from_env()
    except WorkbenchError as exc:
        return SqlResult(error=str(exc))
    if not text.strip():
        return SqlResult(max_rows=limits.max_rows)
    try:
        with sandbox(db, limits=limits) as con:  # the snapshot read has the same deadline
            refused = _refusal(con, text)
            if refused is not None:
                return SqlResult(error=refused, max_rows=limits.max_rows)
            with _watched(con, limits.timeout) as watch:
                try:
                    relation = con.sql(text)
                    frame = None if relation is None else relation.limit(limits.max_rows + 1).pl()
                except duckdb.InterruptException:
                    return SqlResult(error=_stopped(watch.reason, limits), max_rows=limits.max_rows)
                except duckdb.OutOfMemoryException:
                    return SqlResult(
                        error=f"the query needed more than the {limits.memory} of memory viewer"
                        f" queries may use ({MEMORY_ENV})",
                        max_rows=limits.max_rows,
                    )
    except StoreBusy:
        return SqlResult(
            error="the database is busy (a writer holds it): try again in a moment",
            max_rows=limits.max_rows,
        )
    except WorkbenchError as exc:  # no database file, an old schema
        return SqlResult(error=str(exc), max_rows=limits.max_rows)
    except duckdb.InterruptException:  # reading the snapshot outlasted the deadline
        return SqlResult(
            error=f"reading the database took longer than the {limits.timeout:g} s deadline"
            f" of viewer queries ({TIMEOUT_ENV})",
            max_rows=limits.max_rows,
        )
    except duckdb.Error as exc:
        return SqlResult(error=str(exc), max_rows=limits.max_rows)
    if frame is None:
        return SqlResult(max_rows=limits.max_rows)
    truncated = frame.height > limits.max_rows
    return SqlResult(
        frame=frame.head(limits.max_rows) if truncated else frame,
        truncated=truncated,
        max_rows=limits.max_rows,
    )


def _stopped(reason: str | None, limits: SqlLimits) -> str:
    if reason == "deadline":
        return (
            f"the query was stopped after {limits.timeout:g} s: viewer queries have a"
            f" {limits.timeout:g} s deadline ({TIMEOUT_ENV})"
        )
    return f"the query was stopped: {reason or 'interrupted'}"
