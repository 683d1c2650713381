"""What app viewers may touch: brief read-only opens, a hardened SQL connection, no writes.

Viewers of ``workbench serve`` share one server process. Everything they run reads the
database through connections that are opened read-only and closed again straight away, so a
writer process (``workbench import``) only ever waits a moment. SQL a viewer types runs on a
connection hardened with :func:`workbench.store.harden`: no file or network access
(``read_csv('/etc/passwd')`` fails), no reading Python variables, and every ``SET`` refused.

    with sandbox(db) as con:
        frame = mo.sql(query, engine=con)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from workbench import config
from workbench.errors import StoreError
from workbench.store import connect, harden

#: app modes in which a notebook may show controls that write (marimo's ``mo.app_meta().mode``)
WRITE_MODES = frozenset({"edit"})
#: set by ``workbench serve``: no notebook in this process may write, whatever its mode says
READ_ONLY_ENV = "WORKBENCH_READ_ONLY"


def writes_allowed(mode: str | None) -> bool:
    """Whether a notebook running in ``mode`` may show write controls (import, trade).

    Only the marimo editor may write; apps (``run``), scripts and tests may not, and nothing
    may in a process started by ``workbench serve``.
    """
    if os.environ.get(READ_ONLY_ENV, "") not in ("", "0"):
        return False
    return mode in WRITE_MODES


@contextmanager
def sandbox(
    path: str | os.PathLike[str] | None = None, *, timeout: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only, hardened connection for SQL typed by viewers; closed on exit.

    Raises:
        StoreBusy: a writer held the file for longer than ``timeout`` seconds.
    """
    with connect(path, read_only=True, timeout=timeout) as con:
        yield harden(con)


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
            raise StoreError(f"database {target} does not exist")
        from workbench.demo import write_demo

        write_demo(target, seed=seed)
    return target
