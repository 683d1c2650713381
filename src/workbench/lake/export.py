"""``workbench lake export``: the store's tables as a Parquet lake, written all or nothing.

DuckDB writes the Parquet itself (``COPY ... PARTITION BY``), straight from the database file:
nothing passes through Python but the small account -> bucket map. Numbers keep the store's
``DECIMAL(18, 8)``, which Spark, DuckDB and Polars read exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import LakeError
from workbench.lake.schema import (
    BUCKET_COLUMN,
    DEFAULT_BUCKETS,
    FORMAT,
    LAKE_VERSION,
    MANIFEST,
    bucket_of,
    data_files,
)

_TABLE_SQL = {
    "prices": "SELECT symbol, date, open, high, low, close, volume, currency, provider, fetched_at"
    " FROM prices ORDER BY symbol, date",
    "instruments": "SELECT symbol, name, asset_class, sector, currency FROM instruments ORDER BY symbol",
    "accounts": "SELECT name, currency FROM accounts ORDER BY name",
    "fx_rates": "SELECT * FROM fx_rates ORDER BY ALL",
}


def occupied(path: Path) -> bool:
    """Whether ``path`` exists as anything but an empty directory (which may be replaced)."""
    if not path.exists():
        return False
    return not path.is_dir() or any(path.iterdir())


@contextmanager
def staged_directory(out: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """A fresh sibling directory to write into; renamed to ``out`` only if the block succeeds.

    A failure removes the staging directory, so ``out`` is either absent, the old contents
    (with ``overwrite``) or complete. Raises LakeError when ``out`` exists, is not an empty
    directory, and ``overwrite`` is off.
    """
    target = Path(out)
    if occupied(target) and not overwrite:
        raise LakeError(f"{target} already exists; remove it or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@dataclass(frozen=True)
class LakeSummary:
    """What an export wrote."""

    path: Path
    rows: dict[str, int]
    buckets: int
    accounts: int

    def describe(self) -> str:
        """A few lines for the terminal."""
        lines = [f"lake:         {self.path} (format {FORMAT} v{LAKE_VERSION})"]
        lines += [f"  {name + ':':<14}{rows:,} rows" for name, rows in self.rows.items()]
        lines.append(f"  {self.accounts:,} accounts in {self.buckets} buckets")
        return "\n".join(lines)


def _columns(path: Path) -> dict[str, str]:
    """Column -> Arrow type name (``int64``, ``date32[day]``, ``decimal128(18, 8)``, ``string``)."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(data_files(path)[0])
    return {name: str(schema.field(name).type) for name in schema.names}


def _copy(con: Any, sql: str, target: Path) -> int:
    target.mkdir(parents=True)
    # parameters are not allowed in COPY targets; the path is ours (staging directory)
    quoted = str(target / "part-0.parquet").replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT parquet)")
    return int(pl.scan_parquet(target / "part-0.parquet").select(pl.len()).collect().item())


def export_lake(
    db: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    buckets: int = DEFAULT_BUCKETS,
    overwrite: bool = False,
) -> LakeSummary:
    """Write the store's transactions, prices, instruments, accounts (and FX rates) as a lake.

    Raises:
        LakeError: ``out`` exists (without ``overwrite``) or ``buckets`` is out of range.
        StoreError: the database cannot be opened.

        >>> export_lake("data/workbench.duckdb", "lake/").describe()
    """
    from workbench import store
    from workbench.store.tables import TRANSACTION_COLUMNS, registered

    if not 1 <= buckets <= 10_000:
        raise LakeError(f"buckets must be between 1 and 10000, got {buckets}")
    rows: dict[str, int] = {}
    with (
        store.connect(db, read_only=True) as con,
        staged_directory(out, overwrite=overwrite) as tmp,
    ):
        accounts = [
            r[0] for r in con.execute("SELECT DISTINCT account FROM transactions").fetchall()
        ]
        mapping = pl.DataFrame(
            {"account": accounts, BUCKET_COLUMN: [bucket_of(a, buckets) for a in accounts]},
            schema={"account": pl.String, BUCKET_COLUMN: pl.Int32},
        )
        columns = ", ".join(f"t.{c}" for c in TRANSACTION_COLUMNS)
        tx_dir = tmp / "transactions"
        with registered(con, _wb_buckets=mapping):
            counts = con.execute(
                f"SELECT b.{BUCKET_COLUMN}, count(*) FROM transactions t"
                f" JOIN _wb_buckets b USING (account) GROUP BY ALL ORDER BY 1"
            ).fetchall()
            if counts:
                quoted = str(tx_dir).replace("'", "''")
                con.execute(
                    f"COPY (SELECT {columns}, b.{BUCKET_COLUMN} FROM transactions t"
                    f" JOIN _wb_buckets b USING (account) ORDER BY t.date, t.id)"
                    f" TO '{quoted}' (FORMAT parquet, PARTITION_BY ({BUCKET_COLUMN}))"
                )
            else:  # an empty ledger: one empty file keeps the schema readable
                _copy(con, f"SELECT {', '.join(TRANSACTION_COLUMNS)} FROM transactions", tx_dir)
        partitions = {f"{BUCKET_COLUMN}={b}": int(n) for b, n in counts}
        rows["transactions"] = sum(partitions.values())
        tables: dict[str, Any] = {
            "transactions": {
                "partitioning": [BUCKET_COLUMN] if counts else [],
                "partitions": partitions if counts else {"": 0},
                "columns": _columns(tx_dir),
            }
        }
        for name, sql in _TABLE_SQL.items():
            rows[name] = _copy(con, sql, tmp / name)
            tables[name] = {
                "partitions": {"": rows[name]},
                "columns": _columns(tmp / name),
            }
        _write_manifest(tmp, buckets, tables)
    return LakeSummary(path=Path(out), rows=rows, buckets=buckets, accounts=len(accounts))


def write_lake(
    out: str | os.PathLike[str],
    transactions: pl.DataFrame,
    prices: pl.DataFrame,
    *,
    instruments: pl.DataFrame | None = None,
    buckets: int = DEFAULT_BUCKETS,
    overwrite: bool = False,
) -> LakeSummary:
    """Write a lake from frames (the store's transaction columns), without a database.

    For generated data and for tools that hold their ledger elsewhere; the layout and manifest
    are those of :func:`export_lake`.
    """
    if not 1 <= buckets <= 10_000:
        raise LakeError(f"buckets must be between 1 and 10000, got {buckets}")
    accounts = transactions["account"].unique().to_list()
    mapping = pl.DataFrame(
        {"account": accounts, BUCKET_COLUMN: [bucket_of(a, buckets) for a in accounts]},
        schema={"account": pl.String, BUCKET_COLUMN: pl.Int32},
    )
    tx = transactions.join(mapping, on="account", how="left", maintain_order="left")
    tables: dict[str, Any] = {}
    rows: dict[str, int] = {}
    with staged_directory(out, overwrite=overwrite) as tmp:
        tx.write_parquet(tmp / "transactions", partition_by=BUCKET_COLUMN)
        counts = dict(tx.group_by(BUCKET_COLUMN).len().iter_rows())
        tables["transactions"] = {
            "partitioning": [BUCKET_COLUMN],
            "partitions": {f"{BUCKET_COLUMN}={b}": int(n) for b, n in sorted(counts.items())},
            "columns": _columns(tmp / "transactions"),
        }
        rows["transactions"] = tx.height
        for name, frame in (("prices", prices), ("instruments", instruments)):
            if frame is None:
                continue
            (tmp / name).mkdir()
            frame.write_parquet(tmp / name / "part-0.parquet")
            rows[name] = frame.height
            tables[name] = {"partitions": {"": frame.height}, "columns": _columns(tmp / name)}
        _write_manifest(tmp, buckets, tables)
    return LakeSummary(path=Path(out), rows=rows, buckets=buckets, accounts=len(accounts))


def _write_manifest(tmp: Path, buckets: int, tables: dict[str, Any]) -> None:
    manifest = {
        "format": FORMAT,
        "version": LAKE_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "buckets": buckets,
        "bucket_function": f"crc32(utf8(account)) % {buckets}",
        "tables": tables,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
