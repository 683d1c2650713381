"""Every account's report: the local engine vs Spark local[2], over accounts x transactions.

    .venv/bin/python benchmarks/batch.py                                  # 1k and 5k accounts
    .venv/bin/python benchmarks/batch.py --accounts 1000 10000 100000 --rows 10 40

For each grid point one run writes a synthetic lake (``workbench.batch.synthetic``, Hive
partitions of 32 account buckets), then times, median of ``--repeat``, ``run_batch`` with
``engine="local"`` (worker processes, one per core) and ``engine="spark"`` on one
``local[2]`` session started once (its start-up time is printed apart; a cluster pays it once
per job too). Both outputs are checked equal before any time is printed.

Printed: seconds, milliseconds per account, spark/local ratio, and growth (time per account
at this size / at the smallest size). From the Spark times at two sizes a line
``t = fixed + accounts x per_account`` is fitted; per_account x cores is the cost of one
account on one core inside Spark, so a cluster of W workers x C cores would take about
``fixed + accounts x per_account x cores_here / (W x C)``: an estimate, not a measurement
(it ignores the shuffle growing with the data and executor start-up).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import polars as pl

from workbench.batch import run_batch
from workbench.batch.synthetic import as_transactions, synthetic_ledger
from workbench.lake import write_lake

AS_OF = dt.date(2024, 6, 28)


def _session(cores: int) -> tuple[Any, float]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(10).count()  # the JVM is up and a job has run
    return spark, time.perf_counter() - started


def _timed(lake: Path, out: Path, engine: str, repeat: int, workers: int) -> float:
    times = []
    for i in range(repeat):
        target = out / f"{engine}-{i}"
        started = time.perf_counter()
        run_batch(lake, target, engine=engine, as_of=AS_OF, workers=workers)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _same(out: Path) -> None:
    for table, keys in (("totals", ["account"]), ("positions", ["account", "symbol"])):
        local = pl.read_parquet(sorted((out / "local-0" / table).glob("*.parquet"))).sort(keys)
        spark = pl.read_parquet(sorted((out / "spark-0" / table).glob("*.parquet"))).sort(keys)
        assert local.equals(spark), f"{table} differ between engines"


def main() -> None:
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--rows", type=int, nargs="+", default=[20], help="rows per account")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()

    spark, startup = _session(args.cores)
    with tempfile.TemporaryDirectory(prefix="wb-batch-warm-") as warm:
        # Python workers import polars and workbench once; a cluster pays that once per job too
        ledger, prices, _ = synthetic_ledger(20, rows_per_account=5)
        write_lake(Path(warm) / "lake", as_transactions(ledger), prices, buckets=4)
        started = time.perf_counter()
        run_batch(Path(warm) / "lake", Path(warm) / "out", engine="spark", as_of=AS_OF)
        warmup = time.perf_counter() - started
    print(f"Spark local[{args.cores}] session start-up: {startup:.1f} s, first job (workers"
          f" importing workbench): {warmup:.1f} s; neither is in the times below")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; local engine uses {args.cores} worker processes\n")
    header = (f"{'accounts':>9} {'rows/acct':>9} {'tx rows':>9} | {'local s':>8} {'spark s':>8}"
              f" {'spark/local':>11} | {'local ms/acct':>13} {'spark ms/acct':>13} {'growth l/s':>11}")  # fmt: skip
    print(header)
    print("-" * len(header))
    results: list[tuple[int, int, float, float]] = []
    base: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="wb-batch-bench-") as tmp:
        for rows in args.rows:
            for accounts in args.accounts:
                root = Path(tmp) / f"{accounts}x{rows}"
                ledger, prices, instruments = synthetic_ledger(accounts, rows_per_account=rows)
                tx = as_transactions(ledger)
                write_lake(root / "lake", tx, prices, instruments=instruments)
                repeat = args.repeat if accounts * rows <= 200_000 else 1
                local = _timed(root / "lake", root, "local", repeat, args.cores)
                remote = _timed(root / "lake", root, "spark", repeat, args.cores)
                _same(root)
                per_l, per_s = local / accounts * 1e3, remote / accounts * 1e3
                base.setdefault(rows, (per_l, per_s))
                growth = f"{per_l / base[rows][0]:.2f}/{per_s / base[rows][1]:.2f}"
                print(f"{accounts:>9,} {rows:>9} {tx.height:>9,} | {local:>8.1f} {remote:>8.1f}"
                      f" {remote / local:>11.2f} | {per_l:>13.2f} {per_s:>13.2f} {growth:>11}",
                      flush=True)  # fmt: skip
                results.append((accounts, rows, local, remote))
    spark.stop()
    _estimate(results, args.cores)


def _estimate(results: list[tuple[int, int, float, float]], cores: int) -> None:
    """Fit spark time = fixed + accounts x slope per row density; extrapolate to a cluster."""
    print()
    for rows in sorted({r for _, r, _, _ in results}):
        points = sorted((a, s, loc) for a, r, loc, s in results if r == rows)
        if len(points) < 2:
            continue
        (a0, s0, l0), (a1, s1, l1) = points[0], points[-1]
        slope = (s1 - s0) / (a1 - a0)
        fixed = s0 - slope * a0
        local_slope = (l1 - l0) / (a1 - a0)
        local_fixed = l0 - local_slope * a0
        print(f"{rows} rows/account: spark = {fixed:.1f} s + {slope * 1e3:.2f} ms x accounts;"
              f" local = {local_fixed:.1f} s + {local_slope * 1e3:.2f} ms x accounts")  # fmt: skip
        if slope < local_slope and fixed > local_fixed:
            cross = (fixed - local_fixed) / (local_slope - slope)
            print(f"  Spark local[{cores}] overtakes local from about {cross:,.0f} accounts")
        else:
            print(f"  Spark local[{cores}] does not overtake local on this machine (per-account"
                  " cost is not lower); it pays off only with more cores")  # fmt: skip
        if slope <= 0:
            print("  the Spark times do not grow with accounts here (noise): no estimate")
            continue
        per_core = slope * cores  # seconds of one core per account inside Spark
        for accounts, workers, per_worker in (
            (1_000_000, 4, 8),
            (1_000_000, 16, 8),
            (10_000_000, 50, 16),
        ):
            estimate = fixed + accounts * per_core / (workers * per_worker)
            print(f"  estimate: {accounts:,} accounts on {workers} workers x {per_worker} cores"
                  f" ~ {estimate / 60:,.1f} min ({per_core * 1e3:.1f} ms per account per core)")  # fmt: skip


if __name__ == "__main__":
    main()
