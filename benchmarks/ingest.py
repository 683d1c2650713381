"""Ledger import speed: `workbench import` against DuckDB's own CSV reader, side by side.

Generates a demo ledger CSV (1,000,000 rows by default) and, in one run, times:

1. ``import_csv`` in-process (what `workbench import` runs: parse, validate every value,
   check holdings, hash row identities, insert atomically), and the `workbench import`
   command as a subprocess (adds interpreter start-up);
2. DuckDB's own ``CREATE TABLE ... AS SELECT * FROM read_csv(file)`` into a fresh file
   (no validation, no identities, no holdings check), including the closing checkpoint;
3. a row-by-row ``executemany`` insert of a 20,000-row slice, extrapolated to the file.

Prints the times and the ratios. Run: ``.venv/bin/python benchmarks/ingest.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is kept")
    args = parser.parse_args()

    import duckdb

    from workbench.demo.build import generate
    from workbench.ledger import import_csv

    work = Path(tempfile.mkdtemp(prefix="wb-ingest-"))
    try:
        csv = work / "ledger.csv"
        t = _timed(lambda: generate(seed=7, transactions=args.rows).transactions.write_csv(csv))
        print(f"generated {args.rows:,} rows ({csv.stat().st_size / 1e6:.1f} MB) in {t:.1f} s")

        def fresh(name: str) -> Path:
            path = work / name
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)
            return path

        def duck_read_csv() -> None:
            con = duckdb.connect(str(fresh("duck.duckdb")))
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
            con.close()

        def workbench_in_process() -> None:
            result = import_csv(fresh("wb.duckdb"), csv)
            assert result.added == args.rows, result.summary()

        def workbench_cli() -> None:
            exe = Path(sys.executable).parent / "workbench"
            subprocess.run(
                [str(exe), "import", str(csv), "--db", str(fresh("cli.duckdb"))],
                check=True,
                capture_output=True,
            )

        timings: dict[str, float] = {}
        for _ in range(args.repeat):
            # interleaved, so machine noise hits each the same way
            for name, fn in (
                ("duckdb read_csv", duck_read_csv),
                ("workbench import (in-process)", workbench_in_process),
                ("workbench import (CLI)", workbench_cli),
            ):
                timings[name] = min(timings.get(name, float("inf")), _timed(fn))

        slice_rows = min(20_000, args.rows)
        con = duckdb.connect(str(fresh("rows.duckdb")))
        con.execute(
            "CREATE TABLE t (date DATE, account VARCHAR, type VARCHAR, symbol VARCHAR,"
            " quantity DECIMAL(18,8), price DECIMAL(18,8), fee DECIMAL(18,8), amount DECIMAL(18,8),"
            " currency VARCHAR, ratio VARCHAR, note VARCHAR)"
        )
        rows = con.sql(
            f"SELECT * FROM read_csv('{csv}', all_varchar=true) LIMIT {slice_rows}"
        ).fetchall()
        per_row = (
            _timed(lambda: con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows))
            / slice_rows
        )
        con.close()
        timings["executemany (extrapolated)"] = per_row * args.rows

        base = timings["duckdb read_csv"]
        print(f"\n{'method':34} {'seconds':>9} {'x read_csv':>11}")
        for name, seconds in timings.items():
            print(f"{name:34} {seconds:9.2f} {seconds / base:11.2f}")
        print(f"\nexecutemany rate: {1 / per_row:,.0f} rows/s")
        ratio = timings["workbench import (in-process)"] / base
        print(
            f"bar: workbench import within 2x of DuckDB read_csv -> {ratio:.2f}x {'MET' if ratio <= 2 else 'NOT MET'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
