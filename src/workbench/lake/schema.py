"""The lake's layout and schema (version 1), its manifest, and the checks a reader runs.

A lake is a directory of Parquet tables that Spark, DuckDB and Polars all read::

    DIR/_workbench_lake.json              manifest: format, version, tables, columns, partitions
    DIR/transactions/bucket=N/*.parquet   the ledger, Hive-partitioned by account bucket
    DIR/prices/*.parquet                  daily closes (unadjusted)
    DIR/instruments/*.parquet             optional
    DIR/accounts/*.parquet                optional: accounts without any transaction still report
    DIR/fx_rates/*.parquet                optional: reference rates, when the store has them

``bucket = crc32(UTF-8 account) % buckets``, so one account's rows sit in one partition. A lake
written by another tool needs the required columns below (any integer, decimal or float type
for numbers; extra columns are ignored); its manifest is optional, and when present, the
partitions and row counts it lists are checked, so a lost partition or file is an error rather
than silently missing accounts.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import LakeError

LAKE_VERSION = 1
MANIFEST = "_workbench_lake.json"
FORMAT = "workbench-lake"
DEFAULT_BUCKETS = 32
BUCKET_COLUMN = "bucket"

# kinds: "int" integer, "num" integer/decimal/float, "str" text, "date" a calendar date
#: table -> column -> kind; the columns every lake must have
REQUIRED: dict[str, dict[str, str]] = {
    "transactions": {
        "id": "int", "date": "date", "account": "str", "type": "str", "symbol": "str",
        "quantity": "num", "price": "num", "fee": "num", "amount": "num", "currency": "str",
        "ratio_new": "num", "ratio_old": "num",
    },
    "prices": {"symbol": "str", "date": "date", "close": "num"},
    "instruments": {"symbol": "str", "currency": "str"},
    "accounts": {"name": "str", "currency": "str"},
    "fx_rates": {"date": "date", "base": "str", "quote": "str", "rate": "num"},
}  # fmt: skip
#: tables a lake must have; the others are read when present
MANDATORY = ("transactions", "prices")


def bucket_of(account: str, buckets: int = DEFAULT_BUCKETS) -> int:
    """The partition of an account: ``crc32(account as UTF-8) % buckets`` (stable everywhere)."""
    return zlib.crc32(account.encode("utf-8")) % buckets


def _kind_ok(kind: str, arrow_type: Any) -> bool:
    import pyarrow as pa

    t = pa.types
    if t.is_null(arrow_type):  # a column with no value at all, as writers type it
        return True
    if kind == "int":
        return bool(t.is_integer(arrow_type))
    if kind == "num":
        return bool(
            t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type)
        )
    if kind == "str":
        return bool(
            t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_string_view(arrow_type)
        )
    if kind == "date":
        return bool(t.is_date(arrow_type))
    return True


_KIND_NAMES = {"int": "an integer", "num": "a number", "str": "text", "date": "a date"}


def data_files(directory: Path) -> list[Path]:
    """Parquet files under ``directory``, skipping Spark/Hadoop markers (``_*``, ``.*``)."""
    return sorted(
        p
        for p in directory.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(directory).parts)
    )


@dataclass(frozen=True)
class Table:
    """One table of an opened lake: its files and (for transactions) partition directories."""

    name: str
    path: Path
    files: list[Path]
    columns: dict[str, str]
    partitions: dict[str, list[Path]] = field(default_factory=dict)


@dataclass(frozen=True)
class Lake:
    """A checked lake: where its tables are and what the manifest said."""

    path: Path
    version: int
    tables: dict[str, Table]
    manifest: dict[str, Any] | None

    def table(self, name: str) -> Table | None:
        """The table ``name``, or None when the lake does not have it."""
        return self.tables.get(name)


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The parsed manifest, None when there is none; LakeError when it is unreadable or newer."""
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LakeError(f"{path}: not a readable lake manifest ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("version"), int):
        raise LakeError(f"{path}: a lake manifest needs an integer 'version'")
    if manifest["version"] > LAKE_VERSION:
        raise LakeError(
            f"{path}: lake version {manifest['version']} is newer than this workbench reads"
            f" ({LAKE_VERSION}); upgrade workbench"
        )
    return manifest


def _file_schema(file: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except (OSError, pa.ArrowException) as exc:
        raise LakeError(f"{file}: not a readable Parquet file ({exc})") from exc
    return {name: schema.field(name).type for name in schema.names}


def _file_rows(file: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(file).num_rows)


def _check_columns(name: str, files: list[Path]) -> dict[str, str]:
    """Every file has the required columns with usable types; returns column -> type name."""
    required = REQUIRED[name]
    columns: dict[str, str] = {}
    for file in files:
        schema = _file_schema(file)
        for column, kind in required.items():
            if column not in schema:
                raise LakeError(
                    f"{file}: {name} column {column!r} is missing"
                    f" (a {name} table needs {', '.join(required)})"
                )
            if not _kind_ok(kind, schema[column]):
                raise LakeError(
                    f"{file}: {name} column {column!r} is {schema[column]},"
                    f" expected {_KIND_NAMES[kind]}"
                )
        columns = columns or {c: str(t) for c, t in schema.items()}
    return columns


def _partitions(table_dir: Path, files: list[Path]) -> dict[str, list[Path]]:
    """Partition directory name (``bucket=N``) -> its files; files outside one go under ''."""
    parts: dict[str, list[Path]] = {}
    for file in files:
        rel = file.relative_to(table_dir).parts
        key = rel[0] if len(rel) > 1 and "=" in rel[0] else ""
        parts.setdefault(key, []).append(file)
    return parts


def _check_listed(
    lake: Path, name: str, listed: dict[str, Any], parts: dict[str, list[Path]]
) -> None:
    """Partitions and row counts the manifest lists match what is on disk."""
    for key, expected in sorted(listed.items()):
        shown = f"{name}/{key}" if key else name
        if key not in parts:
            raise LakeError(
                f"lake {lake}: partition {shown} listed in {MANIFEST} is missing (lost or not copied)"
            )
        rows = sum(_file_rows(f) for f in parts[key])
        if rows != int(expected):
            raise LakeError(
                f"lake {lake}: partition {shown} has {rows:,} rows, {MANIFEST} lists {int(expected):,}"
                " (a file is missing or was replaced)"
            )


def open_lake(path: str | os.PathLike[str]) -> Lake:
    """Find and check a lake's tables (Parquet footers only; no data is read).

    Raises:
        LakeError: no such directory, a missing mandatory table, a partition or file the
            manifest lists but the disk lacks, an unreadable file, a missing or mistyped column.

        >>> lake = open_lake("lake/")
        >>> lake.table("transactions").partitions.keys()
    """
    root = Path(path)
    if not root.is_dir():
        raise LakeError(f"lake directory {root} not found")
    manifest = read_manifest(root)
    listed_tables: dict[str, Any] = (manifest or {}).get("tables", {})
    tables: dict[str, Table] = {}
    for name in REQUIRED:
        table_dir = root / name
        files = data_files(table_dir) if table_dir.is_dir() else []
        if not files:
            if name in MANDATORY or name in listed_tables:
                raise LakeError(
                    f"lake {root}: the {name} table is missing (expected Parquet files under {table_dir})"
                )
            continue
        columns = _check_columns(name, files)
        parts = _partitions(table_dir, files)
        listed = listed_tables.get(name, {}).get("partitions")
        if isinstance(listed, dict):
            _check_listed(root, name, listed, parts)
        tables[name] = Table(
            name=name, path=table_dir, files=files, columns=columns, partitions=parts
        )
    version = int(manifest["version"]) if manifest else LAKE_VERSION
    return Lake(path=root, version=version, tables=tables, manifest=manifest)
