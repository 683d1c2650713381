"""Ledger import speed: `workbench import` against DuckDB's own CSV reader, side by side.

Generates a demo ledger CSV (1,000,000 rows by default) and, in one run, times:

1. ``import_csv`` in-process (what `workbench import` runs: parse, validate every value,
   check holdings, hash row identities, insert atomically), and the `workbench import`
   command as a subprocess (adds interpreter start-up);
2. DuckDB's own ``CREATE TABLE ... AS SELECT * FROM read_csv(file)`` into a fresh file
   (no validation, no identities, no holdings check), including the closing checkpoint;
3. a row-by-row ``executemany`` insert of a 20,000-row slice, extrapolated to the file.

Prints the times and the ratios, wall clock and CPU (this process and its threads; on a
machine shared with other jobs the CPU ratio is the steadier one), then the import stage by
stage. Run: ``.venv/bin/python benchmarks/ingest.py [--rows N] [--repeat R] [--quick]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: timed as a new process: their CPU is not counted in this one's
SUBPROCESSES = ("duckdb read_csv (new process)", "workbench import (CLI)")


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def _timed_cpu(fn: object) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    started, cpu = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started, time.process_time() - cpu


def _stages(db: Path, csv: Path) -> dict[str, tuple[float, float]]:
    """The import's stages run one after another (the real import overlaps the file hash
    with parsing): stage -> (wall, CPU) seconds."""
    from workbench.ledger import importer
    from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS
    from workbench.ledger.csv_text import file_facts, read_text_csv
    from workbench.ledger.keys import with_occurrence
    from workbench.ledger.validate import validate_rows
    from workbench.store import connect, ledger_rows

    out: dict[str, tuple[float, float]] = {}
    box: dict[str, object] = {}

    def stage(name: str, fn: object) -> None:
        out[name] = _timed_cpu(fn)

    def read() -> None:
        box["text"] = read_text_csv(csv, known=LEDGER_COLUMNS, synonyms=SYNONYMS)[0]

    def validate() -> None:
        box["typed"] = validate_rows(box["text"], file=str(csv))[0]  # type: ignore[arg-type]

    def occurrence() -> None:
        box["rows"] = with_occurrence(box["typed"])  # type: ignore[arg-type]

    stage("read CSV as text", read)
    stage("hash file + count lines", lambda: file_facts(csv))
    stage("validate + type", validate)
    stage("occurrence numbers", occurrence)
    rows = box["rows"]
    with connect(db) as con:
        con.execute("BEGIN TRANSACTION")

        def holdings() -> None:
            importer._check_holdings(con, rows, str(csv))  # type: ignore[arg-type]

        def insert() -> None:
            ledger_rows.insert_rows(
                con, rows, file_name=str(csv), file_hash="", total_rows=len(rows),  # type: ignore[arg-type]
                kind="transactions",
            )  # fmt: skip
            con.execute("COMMIT")

        stage("holdings check", holdings)
        stage("insert + row keys + commit", insert)
        started = time.perf_counter(), time.process_time()
    out["close (checkpoint)"] = (
        time.perf_counter() - started[0],
        time.process_time() - started[1],
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is kept")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one run (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = 100_000, 1

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

        def duck_read_csv_process() -> None:
            # the same in a new interpreter, to set beside the CLI (both pay start-up)
            script = (
                "import duckdb, sys; con = duckdb.connect(sys.argv[1]);"
                f" con.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')\"); con.close()"
            )
            subprocess.run(
                [sys.executable, "-c", script, str(fresh("duck-cli.duckdb"))],
                check=True,
                capture_output=True,
            )

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
        cpu: dict[str, float] = {}
        stages: dict[str, tuple[float, float]] = {}
        rounds: list[dict[str, float]] = []
        for _ in range(args.repeat):
            rounds.append({})
            # interleaved, so machine noise hits each the same way
            for name, fn in (
                ("duckdb read_csv", duck_read_csv),
                ("workbench import (in-process)", workbench_in_process),
                ("duckdb read_csv (new process)", duck_read_csv_process),
                ("workbench import (CLI)", workbench_cli),
            ):
                wall, used = _timed_cpu(fn)
                rounds[-1][name] = wall
                timings[name] = min(timings.get(name, float("inf")), wall)
                cpu[name] = min(cpu.get(name, float("inf")), used)
            for stage, (wall, used) in _stages(fresh("stages.duckdb"), csv).items():
                best = stages.get(stage, (float("inf"), float("inf")))
                stages[stage] = (min(best[0], wall), min(best[1], used))

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
        base_cpu = cpu["duckdb read_csv"]
        print(f"\n{'method':34} {'seconds':>9} {'x read_csv':>11} {'CPU s':>7} {'x CPU':>7}")
        for name, seconds in timings.items():
            line = f"{name:34} {seconds:9.2f} {seconds / base:11.2f}"
            if name in cpu and name not in SUBPROCESSES:  # a subprocess's CPU is not ours to count
                line += f" {cpu[name]:7.2f} {cpu[name] / base_cpu:7.2f}"
            print(line)
        print(f"\nexecutemany rate: {1 / per_row:,.0f} rows/s")
        print(f"\n{'import stage (run one after another)':34} {'seconds':>9} {'CPU s':>7}")
        for stage, (wall, used) in stages.items():
            print(f"{stage:34} {wall:9.2f} {used:7.2f}")
        print(
            f"{'sum of stages':34} {sum(w for w, _ in stages.values()):9.2f}"
            f" {sum(c for _, c in stages.values()):7.2f}"
        )
        print()
        pairs = (
            ("in-process", "workbench import (in-process)", "duckdb read_csv"),
            ("new process", "workbench import (CLI)", "duckdb read_csv (new process)"),
        )
        for label, ours, theirs in pairs:
            per_round = sorted(r[ours] / r[theirs] for r in rounds)
            best = timings[ours] / timings[theirs]
            median = per_round[len(per_round) // 2]
            verdict = "MET" if best <= 2 else "NOT MET"
            print(
                f"bar ({label}): workbench import within 2x of DuckDB read_csv -> best {best:.2f}x,"
                f" per-round {', '.join(f'{r:.2f}' for r in per_round)} (median {median:.2f}x)"
                f" {verdict}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
