"""Data snapshots for the static (html-wasm) export of the notebooks.

A snapshot is DuckDB's ``EXPORT DATABASE`` in Parquet (``schema.sql``, ``load.sql`` and one
Parquet file per table) plus ``snapshot.json`` listing those files. Parquet rather than a copy of
the ``.duckdb`` file because the browser runs Pyodide's DuckDB build, which may be an older
release than the one that wrote the file; DuckDB's Parquet reader reads any of them.

    write_snapshot(db, out_dir)  -> out_dir/public/snapshot/   (on the exporting machine)
    load_snapshot(url)           -> a local .duckdb built from it  (in the browser, or anywhere)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from workbench.errors import StoreError

SNAPSHOT_DIR = "snapshot"
MANIFEST = "snapshot.json"
FORMAT_VERSION = 1
_DB_NAME = "workbench.duckdb"
_LOAD_PATH = re.compile(r"FROM '((?:[^']|'')*)'")


def write_snapshot(db: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Write a consistent, read-only snapshot of ``db`` to ``out_dir/public/snapshot/``.

    The export runs inside one read-only connection (one transaction), so every table comes
    from the same state of the file even if a writer commits right after. An older snapshot
    in the same place is replaced.

    Returns:
        The snapshot directory.

    Raises:
        StoreError: ``db`` does not exist (no demo data is built here).
        StoreBusy: a writer held the file for longer than the busy timeout.
        SchemaError: the file's schema is not the current version.
    """
    from workbench import store

    source = Path(db)
    if not source.is_file():
        raise StoreError(f"database {source} does not exist")
    target = Path(out_dir) / "public" / SNAPSHOT_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    # export beside the target, then swap: a failed export never leaves half a snapshot
    staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=target.parent))
    try:
        exported = staging / SNAPSHOT_DIR
        with store.connect(source, read_only=True) as con:
            # EXPORT/IMPORT DATABASE take no parameters: the path is quoted here instead
            con.execute(f"EXPORT DATABASE '{_sql_string(exported)}' (FORMAT parquet)")
        files = sorted(p.name for p in exported.iterdir() if p.is_file())
        manifest = {"format": FORMAT_VERSION, "files": files}
        (exported / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        exported.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_snapshot(url: str, *, into: str | os.PathLike[str] | None = None) -> Path:
    """Fetch the snapshot at ``url`` and import it into a fresh local database file.

    ``url`` is the snapshot directory: ``https://…/public/snapshot`` in the browser (urllib goes
    through the browser's fetch under marimo's Pyodide runtime) or a ``file://`` URL. The
    result is an ordinary workbench database, opened read-only by the notebooks.

    Args:
        url: the snapshot directory's URL, without a trailing slash.
        into: directory for the downloaded files and the database; a new temporary one if None.

    Raises:
        StoreError: the manifest is missing, unreadable, or of an unknown format.
    """
    import urllib.error
    import urllib.request

    import duckdb

    def fetch(name: str) -> bytes:
        try:
            with urllib.request.urlopen(f"{url}/{name}") as response:
                data: bytes = response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot read snapshot file {url}/{name}: {exc}") from exc
        return data

    try:
        manifest = json.loads(fetch(MANIFEST))
        files = [str(name) for name in manifest["files"]]
        version = manifest["format"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"snapshot manifest {url}/{MANIFEST} is not valid: {exc}") from exc
    if version != FORMAT_VERSION:
        raise StoreError(f"snapshot {url} has format {version}, expected {FORMAT_VERSION}")
    if any(Path(name).name != name for name in files):
        raise StoreError(f"snapshot manifest {url}/{MANIFEST} names a file outside the snapshot")
    base = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="workbench-"))
    local = base / SNAPSHOT_DIR
    local.mkdir(parents=True, exist_ok=True)
    for name in files:
        (local / name).write_bytes(fetch(name))
    db = base / _DB_NAME
    db.unlink(missing_ok=True)
    # load.sql names the files where they were exported; point it at the local copies instead of
    # relying on IMPORT DATABASE's path rewriting, which older DuckDB releases lack
    load = _LOAD_PATH.sub(
        lambda m: f"FROM '{_sql_string(local / _file_name(m.group(1)))}'",
        (local / "load.sql").read_text(encoding="utf-8"),
    )
    con = duckdb.connect(str(db))
    try:
        con.execute("BEGIN")
        con.execute((local / "schema.sql").read_text(encoding="utf-8"))
        if load.strip():
            con.execute(load)
        con.execute("COMMIT")
    finally:
        con.close()
    return db


def _sql_string(path: Path) -> str:
    """``path`` as the body of a single-quoted SQL string literal."""
    return str(path).replace("'", "''")


def _file_name(exported_path: str) -> str:
    """The file name at the end of a path written into load.sql (by a POSIX or Windows exporter)."""
    return exported_path.replace("\\", "/").rsplit("/", 1)[-1].replace("''", "'")
