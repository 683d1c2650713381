"""``workbench batch``: every account's report from a lake, as three Parquet tables.

The driver checks the options and the lake, builds the shared data once, lets an engine write
the tables into a staging directory beside ``out`` and renames it into place only when every
account succeeded, so a failed run leaves no half-written output. Accounts listed in the
lake's ``accounts`` table without any transaction get their (all-zero) rows here, from the
same kernel.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench.batch.kernel import (
    TABLES,
    Params,
    Shared,
    accounts_frame,
    empty_combined,
    normalize_transactions,
    shared_from_frames,
    split_tables,
)
from workbench.errors import BatchError
from workbench.lake.export import occupied, staged_directory
from workbench.lake.schema import Lake, open_lake

ENGINES = ("local", "spark")
OUTPUT_MANIFEST = "_workbench_batch.json"


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run wrote."""

    path: Path
    engine: str
    accounts: int
    rows: dict[str, int]
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines for the terminal."""
        lines = [
            f"batch:        {self.path} ({self.engine} engine, {self.seconds:.1f} s)",
            f"  accounts:     {self.accounts:,}",
        ]
        lines += [f"  {name + ':':<14}{n:,} rows" for name, n in self.rows.items()]
        return "\n".join(lines)


def _check_options(engine: str, master: str | None, cost_method: str, currency: str | None) -> str:
    """Validate the options before any work; returns the reporting currency."""
    from workbench.analytics.lots import COST_METHODS

    if engine not in ENGINES:
        raise BatchError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if master is not None:
        if engine != "spark":
            raise BatchError("--master applies to the spark engine only")
        from workbench.batch.spark import check_master

        check_master(master)
    if cost_method.lower() not in COST_METHODS:
        raise BatchError(
            f"unknown cost method {cost_method!r}; expected one of {', '.join(COST_METHODS)}"
        )
    from workbench.analytics.report import reporting_currency

    return reporting_currency(currency)


def _rates(lake: Lake, as_of: dt.date, target: str) -> pl.DataFrame | None:
    """The FX rates ``report`` would use: its own choice of currencies
    (:func:`workbench.analytics.report.stored_rates`) over the lake's rows up to ``as_of``,
    with the lake's fx_rates standing in for the store's (a view: read only if needed)."""
    import duckdb

    from workbench.analytics.report import stored_rates

    rows = pl.concat(
        [
            pl.scan_parquet(f)
            .filter(pl.col("date") <= as_of)
            .select(
                pl.col("currency").cast(pl.String),
                pl.col("type").cast(pl.String).str.to_uppercase(),
                pl.col("symbol").cast(pl.String),
            )
            .collect()
            for f in lake.tables["transactions"].files
        ]
    )
    table = lake.table("fx_rates")
    if table is None:
        return stored_rates(None, rows, target)
    source = "source" if "source" in table.columns else "'lake' AS source"
    files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in table.files)
    with duckdb.connect() as con:
        con.execute(
            "CREATE VIEW fx_rates AS SELECT date, base, quote, CAST(rate AS DOUBLE) AS rate,"
            f" {source} FROM read_parquet([{files}])"
        )
        return stored_rates(con, rows, target)


def _shared(lake: Lake, as_of: dt.date, target: str) -> Shared:
    """Closes up to ``as_of``, every account's SPLIT rows and the FX rates, read once."""
    prices = pl.concat(
        [
            pl.read_parquet(f, columns=["symbol", "date", "close"]).with_columns(
                pl.col("close").cast(pl.Float64)
            )
            for f in lake.tables["prices"].files
        ]
    )
    splits = [
        pl.scan_parquet(f).filter(pl.col("type").str.to_uppercase() == "SPLIT").collect()
        for f in lake.tables["transactions"].files
    ]
    frames = [normalize_transactions(s) for s in splits if s.height]
    tx = (
        pl.concat(frames)
        if frames
        else normalize_transactions(
            pl.scan_parquet(lake.tables["transactions"].files[0]).head(0).collect()
        )
    )
    return shared_from_frames(prices, tx, as_of, _rates(lake, as_of, target))


def _listed_accounts(lake: Lake) -> list[str]:
    table = lake.table("accounts")
    if table is None:
        return []
    names = pl.concat([pl.read_parquet(f, columns=["name"]) for f in table.files])
    return names["name"].cast(pl.String).drop_nulls().unique().to_list()


def _computed_accounts(staging: Path) -> set[str]:
    files = sorted((staging / "totals").glob("*.parquet"))
    if not files:
        return set()
    return set(pl.scan_parquet(files).select("account").collect()["account"].to_list())


def _counts(staging: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in TABLES:
        files = sorted((staging / name).glob("*.parquet"))
        counts[name] = int(pl.scan_parquet(files).select(pl.len()).collect().item()) if files else 0
    return counts


def run_batch(
    lake: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    engine: str = "local",
    master: str | None = None,
    as_of: dt.date | None = None,
    cost_method: str = "fifo",
    currency: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
) -> BatchSummary:
    """Every account's totals, positions and performance from ``lake`` into ``out``.

    ``as_of`` defaults to today, as for ``workbench report``; ``master`` (spark engine only)
    to ``local[*]``; ``workers`` (local engine) to the usable cores. The local engine spawns
    worker processes, which import the calling script: call it from a script under
    ``if __name__ == "__main__":``, as any multiprocessing code.

    Raises:
        BatchError: a bad option, a failing account (named), no pyspark or Java for spark.
        LakeError: a missing table or partition, or a bad schema.

        >>> run_batch("lake/", "out/", engine="spark", as_of=date(2025, 12, 31)).describe()
    """
    base = _check_options(engine, master, cost_method, currency)
    if occupied(Path(out)) and not overwrite:
        raise BatchError(f"{out} already exists; remove it or pass --overwrite")
    checked = open_lake(lake)
    day = as_of or dt.date.today()
    params = Params(as_of=day, cost_method=cost_method.lower(), base_currency=base)
    started = time.perf_counter()
    shared = _shared(checked, day, base)
    with staged_directory(out, overwrite=overwrite) as staging:
        if engine == "spark":
            from workbench.batch.spark import run_spark

            run_spark(checked, staging, shared, params, master=master or "local[*]")
        else:
            from workbench.batch.local import run_local

            run_local(checked, staging, shared, params, workers=workers)
        extra = sorted(set(_listed_accounts(checked)) - _computed_accounts(staging))
        if extra:
            from workbench.batch.local import write_part

            empty = pl.scan_parquet(checked.tables["transactions"].files[0]).head(0).collect()
            write_part(accounts_frame(empty, shared, params, extra=extra), staging, "listed")
        for name, frame in split_tables(empty_combined()).items():
            if not any((staging / name).glob("*.parquet")):  # no account at all: keep the schema
                (staging / name).mkdir(exist_ok=True)
                frame.write_parquet(staging / name / "part-empty.parquet")
        rows = _counts(staging)
        seconds = time.perf_counter() - started
        settings = {
            "engine": engine,
            "master": (master or "local[*]") if engine == "spark" else None,
            "as_of": day.isoformat(),
            "cost_method": params.cost_method,
            "currency": base,
            "lake": str(Path(lake).resolve()),
            "lake_version": checked.version,
        }
        manifest = {"format": "workbench-batch", "version": 1, **settings, "rows": rows,
                    "tables": {name: cols for name, cols in TABLES.items()},
                    "seconds": round(seconds, 3)}  # fmt: skip
        (staging / OUTPUT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return BatchSummary(
        path=Path(out), engine=engine, accounts=rows["totals"], rows=rows, seconds=seconds,
        settings=settings,
    )  # fmt: skip
