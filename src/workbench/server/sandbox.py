"""What app viewers may touch: brief read-only opens, a sandboxed SQL engine, no writes.

Viewers of ``workbench serve`` share one server process. Everything they run reads the
database through connections that are opened read-only and closed again straight away, so a
writer process (``workbench import``) only ever waits a moment.

SQL a viewer types never runs against the live file. The tables are read once per version of
the file into Arrow (a *snapshot*, shared by every viewer and rebuilt when a writer changed the
file), and each query gets a DuckDB instance of its own, in memory, that sees them as read-only
views. That instance is configured once, before anything else runs on it, and never again:

- ``memory_limit``, ``threads``, no temp directory and ``max_temp_directory_size = 0``, so a
  query cannot grow the server without bound or write spill files anywhere;
- no home, extension or secret directory of the server's;
- ``python_enable_replacements = false``: no reading Python variables in scope;
- ``enable_external_access = false`` and no allowed directories: no file, glob, ``COPY``,
  ``ATTACH``, network or extension;
- ``lock_configuration = true`` last: every ``SET``/``RESET`` fails.

An instance per query (rather than one process-wide instance hardened with global ``SET``s)
means viewers cannot disturb each other, and ``PRAGMA database_list`` names no server path.

    with sandbox(db) as con:
        con.sql("SELECT count(*) FROM transactions").fetchall()
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import config
from workbench.errors import StoreError, WorkbenchError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

#: app modes in which a notebook may show controls that write (marimo's ``mo.app_meta().mode``)
WRITE_MODES = frozenset({"edit"})
#: set by ``workbench serve``: no notebook in this process may write, whatever its mode says
READ_ONLY_ENV = "WORKBENCH_READ_ONLY"
#: where the sandbox pretends its home, extension and secret directories are (none exists)
NOWHERE = "/nonexistent"

TIMEOUT_ENV = "WORKBENCH_SQL_TIMEOUT"
MAX_ROWS_ENV = "WORKBENCH_SQL_MAX_ROWS"
MEMORY_ENV = "WORKBENCH_SQL_MEMORY"
THREADS_ENV = "WORKBENCH_SQL_THREADS"
_MEMORY = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", re.IGNORECASE)


@dataclass(frozen=True)
class SqlLimits:
    """What one viewer query may use.

    Attributes:
        timeout: seconds a query may run before it is interrupted.
        max_rows: rows fetched and shown at most (the query stops producing after these).
        memory: DuckDB ``memory_limit`` of a query's instance, e.g. ``"256MB"``.
        threads: DuckDB ``threads`` of a query's instance.
    """

    timeout: float = 5.0
    max_rows: int = 10_000
    memory: str = "256MB"
    threads: int = 1

    @classmethod
    def from_env(cls) -> SqlLimits:
        """The limits set in the environment (``WORKBENCH_SQL_*``), else the defaults.

        Raises:
            WorkbenchError: a value is not a positive number.
        """
        default = cls()
        return cls(
            timeout=_positive(TIMEOUT_ENV, float, default.timeout),
            max_rows=_positive(MAX_ROWS_ENV, int, default.max_rows),
            memory=_memory(os.environ.get(MEMORY_ENV, "").strip() or default.memory),
            threads=_positive(THREADS_ENV, int, default.threads),
        )


def _positive(name: str, kind: type[float] | type[int], default: Any) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise WorkbenchError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise WorkbenchError(f"{name}={raw!r} must be greater than 0")
    return value


def _memory(raw: str) -> str:
    if not _MEMORY.fullmatch(raw):
        raise WorkbenchError(f"{MEMORY_ENV}={raw!r} is not a size such as 256MB or 1GB")
    return raw


def writes_allowed(mode: str | None) -> bool:
    """Whether a notebook running in ``mode`` may show write controls (import, trade).

    Only the marimo editor may write; apps (``run``), scripts and tests may not, and nothing
    may in a process started by ``workbench serve``.
    """
    if os.environ.get(READ_ONLY_ENV, "") not in ("", "0"):
        return False
    return mode in WRITE_MODES


@dataclass(frozen=True)
class _Snapshot:
    version: tuple[int, ...]
    tables: dict[str, pa.Table]


_snapshots: dict[Path, _Snapshot] = {}
_snapshot_locks: dict[Path, threading.Lock] = {}
_registry_lock = threading.Lock()


def _version(path: Path) -> tuple[int, ...]:
    """What changes when a writer commits: the file's and its WAL's identity, size and mtime."""
    parts: list[int] = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            st = candidate.stat()
        except FileNotFoundError:
            parts += [0, 0, 0, 0]
        else:
            parts += [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return tuple(parts)


@dataclass
class Watch:
    """One running statement: the connection to interrupt and why it is being stopped."""

    con: duckdb.DuckDBPyConnection
    reason: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self, reason: str) -> None:
        """Ask for the statement to stop (the first reason given is kept)."""
        with self.lock:
            if self.reason is None:
                self.reason = reason


#: how often a watchdog looks at its connection: an interrupt that arrives before DuckDB
#: started executing is lost, so the watchdog repeats it until the statement has ended
_TICK = 0.05


@contextmanager
def watchdog(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[Watch]:
    """Interrupt whatever ``con`` runs once ``seconds`` have passed or the watch is stopped."""
    watch = Watch(con)
    deadline = time.monotonic() + seconds
    done = threading.Event()

    def guard() -> None:
        while not done.wait(_TICK):
            if time.monotonic() >= deadline:
                watch.stop("deadline")
            if watch.reason is not None:
                con.interrupt()

    dog = threading.Thread(target=guard, name="workbench-sql-watchdog", daemon=True)
    dog.start()
    try:
        yield watch
    finally:
        done.set()
        dog.join()


def snapshot_tables(
    path: str | os.PathLike[str] | None = None, *, timeout: float | None = None
) -> dict[str, pa.Table]:
    """Every table of the database as Arrow, read in one brief read-only open.

    Shared by all viewers and rebuilt only when the file changed since the last read. The
    read holds the file (against a writer) for at most ``timeout`` seconds, as a query may.

    Raises:
        StoreBusy: a writer held the file for longer than ``timeout`` seconds.
        StoreError: the file does not exist or its schema is not current.
        duckdb.InterruptException: reading the tables took longer than ``timeout``.
    """
    import duckdb

    from workbench.store import connect

    target = config.db_path(path).resolve()
    with _registry_lock:
        lock = _snapshot_locks.setdefault(target, threading.Lock())
    with lock:
        version = _version(target)
        cached = _snapshots.get(target)
        if cached is not None and cached.version == version:
            return cached.tables
        wait = config.busy_timeout() if timeout is None else timeout
        with connect(target, read_only=True, timeout=wait) as con, watchdog(con, wait):
            started = time.monotonic()
            con.execute("SET enable_progress_bar = false")  # it would draw on the server's stdout
            names = [
                str(row[0])
                for row in con.sql(
                    "SELECT table_name FROM duckdb_tables()"
                    " WHERE database_name = current_database() AND schema_name = 'main'"
                    " ORDER BY table_name"
                ).fetchall()
            ]
            tables = {n: con.sql(f'SELECT * FROM "{n}"').to_arrow_table() for n in names}
            # The watchdog thread may not get the CPU before a read finishes on a loaded
            # machine; the deadline is the rule either way, so a read that outlasted it fails.
            if time.monotonic() - started > wait:
                raise duckdb.InterruptException(f"reading the tables took over {wait:g} s")
        _snapshots[target] = _Snapshot(version=version, tables=tables)
        return tables


def open_sandbox(
    tables: dict[str, pa.Table], *, limits: SqlLimits | None = None
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB instance showing ``tables`` read-only, hardened and locked.

    The caller closes it. Every setting is made here, before the configuration is locked.
    """
    import duckdb

    limits = limits or SqlLimits()
    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": limits.memory,
            "threads": limits.threads,
            "temp_directory": "",
            "max_temp_directory_size": "0B",
            "home_directory": NOWHERE,
            "extension_directory": NOWHERE,
            "secret_directory": NOWHERE,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "python_enable_replacements": False,
        },
    )
    try:
        for name, table in tables.items():
            con.register(name, table)
        con.execute("SET enable_progress_bar = false")  # it would draw on the server's stdout
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def sandbox(
    path: str | os.PathLike[str] | None = None,
    *,
    timeout: float | None = None,
    limits: SqlLimits | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A hardened connection for SQL typed by viewers, over a snapshot of ``path``; closed on exit.

    It never holds the live file: only the snapshot read (when the file changed) opens it.

    Raises:
        StoreBusy: a writer held the file for longer than ``timeout`` seconds.
    """
    limits = limits or SqlLimits.from_env()
    tables = snapshot_tables(path, timeout=limits.timeout if timeout is None else timeout)
    con = open_sandbox(tables, limits=limits)
    try:
        yield con
    finally:
        con.close()


def database_path() -> Path:
    """The database the apps read (``WORKBENCH_DB`` or the default), as an absolute path."""
    return config.db_path().resolve()


def ensure_database(path: str | os.PathLike[str] | None = None, *, seed: int = 7) -> Path:
    """The database file, built from the deterministic demo data first if it does not exist.

    Notebooks call this on first use so they open on something; ``workbench serve`` calls it
    before it starts. An existing file is never touched.

    Raises:
        StoreError: the file is missing in a read-only (served) process.
    """
    target = Path(path) if path is not None else database_path()
    if not target.exists():
        if os.environ.get(READ_ONLY_ENV, "") not in ("", "0"):
            # apps never write, not even the demo data: `workbench serve` builds it up front
            raise StoreError(f"database {target.name} does not exist")
        from workbench.demo import write_demo

        write_demo(target, seed=seed)
    return target
