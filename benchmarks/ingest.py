"""Ledger import speed and memory: `workbench import` against DuckDB's own CSV reader.

For each ledger shape (see ``ledger_shapes.py``: the scaled demo ledger, one account with 200
symbols and 40% sells, many accounts, fixed lots that repeat, every row type with long quoted
notes), writes a CSV of ``--rows`` rows and, round after round,
runs each of these in a fresh Python process, interleaved so that machine noise hits each alike:

1. DuckDB's own ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` into a new database file,
   then ``close()`` (the checkpoint): no validation, no row identities, no holdings check;
2. ``workbench.ledger.import_csv`` into a new database file (what `workbench import` runs:
   parse, validate every value, check holdings, hash row identities, insert atomically, close).

Each child times its own work (after its imports) and reports its peak resident memory
(``VmHWM`` in ``/proc/self/status``, Linux). Prints per shape the median seconds, the ratio
workbench / DuckDB (median and range of the per-round ratios) and both peaks. ``--stages``
adds the import stage by stage per shape (stages run one after another, each timed alone).

``--baseline SRC`` also times the package in another ``src`` directory (say, a
``git worktree`` of an earlier commit) in the same rounds, for a before/after comparison
under the same load.

Run: ``.venv/bin/python benchmarks/ingest.py [--rows N] [--rounds R] [--shapes a,b] [--stages]
[--baseline SRC]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child_duckdb(csv: str, db: str) -> dict[str, float]:
    import duckdb

    started, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(db)
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
    con.close()
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def _child_workbench(csv: str, db: str) -> dict[str, float]:
    import polars  # noqa: F401  (imported before the clock starts, as duckdb is above)

    from workbench.ledger import import_csv

    started, cpu = time.perf_counter(), time.process_time()
    result = import_csv(db, csv)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.added == result.rows, result.summary()
    return {"seconds": seconds, "cpu": cpu}


def _child_stages(csv: str, db: str) -> dict[str, float]:
    """The import's stages one after another (the real import overlaps the file hash with
    parsing): stage -> wall seconds, and ``cpu <stage>`` -> CPU seconds (all threads)."""
    from workbench.ledger import importer
    from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS
    from workbench.ledger.csv_text import file_facts, read_text_csv
    from workbench.ledger.keys import with_occurrence
    from workbench.ledger.validate import validate_rows
    from workbench.store import connect, ledger_rows

    out: dict[str, float] = {}

    cpu = time.process_time()

    def timed(name: str, started: float) -> None:
        nonlocal cpu
        out[name] = time.perf_counter() - started
        out[f"cpu {name}"], cpu = time.process_time() - cpu, time.process_time()

    t = time.perf_counter()
    # as the import reads it: numbers parsed by the reader where this tree can (an older
    # tree reads text only)
    read = None
    if hasattr(importer, "_DECIMALS"):
        from workbench.ledger.csv_text import read_typed_csv

        read = read_typed_csv(
            Path(csv), known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=importer._DECIMALS
        )
    text = (read or read_text_csv(Path(csv), known=LEDGER_COLUMNS, synonyms=SYNONYMS))[0]
    timed("read CSV as text", t)
    t = time.perf_counter()
    file_facts(Path(csv))
    timed("hash file + count lines", t)
    t = time.perf_counter()
    typed = validate_rows(text, file=csv)[0]
    del text
    timed("validate + type", t)
    t = time.perf_counter()
    rows = with_occurrence(typed)
    timed("occurrence numbers", t)
    con_cm = connect(db)
    con = con_cm.__enter__()
    con.execute("BEGIN TRANSACTION")
    t, cpu = time.perf_counter(), time.process_time()
    # as the import calls it (an older tree's check has no ``stored``: it always reads)
    stored = {"stored": ledger_rows.has_transactions(con)}
    if "stored" not in inspect.signature(importer._check_holdings).parameters:
        stored = {}
    importer._check_holdings(con, rows, csv, **stored)
    timed("holdings check", t)
    t = time.perf_counter()
    ledger_rows.insert_rows(
        con, rows, file_name=csv, file_hash="", total_rows=len(rows), kind="transactions"
    )
    con.execute("COMMIT")
    timed("insert + row keys + commit", t)
    t = time.perf_counter()
    con_cm.__exit__(None, None, None)
    timed("close (checkpoint)", t)
    return out


CHILDREN = {"duckdb": _child_duckdb, "workbench": _child_workbench, "stages": _child_stages}


def _run_child(
    kind: str, csv: Path, db: Path, *, source: str | None = None
) -> tuple[dict[str, float], float]:
    """Run one measurement in a new interpreter: (what it reported, its peak RSS in MB).
    ``source``: a ``src`` directory to import workbench from instead of the installed one."""
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    env = None
    if source is not None:
        env = {**os.environ, "PYTHONPATH": source}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(csv), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {csv.name} failed:\n{err.decode()}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    return report, report.pop("peak_mb")


def _child_main(kind: str, csv: str, db: str) -> None:
    report = CHILDREN[kind](csv, db)
    # the peak resident set of this process image (getrusage's ru_maxrss would also count
    # the parent's resident set at fork, which Linux carries across exec)
    status = Path("/proc/self/status").read_text()
    report["peak_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--shapes", default=None, help="comma-separated (default: all)")
    parser.add_argument("--stages", action="store_true", help="also time the stages per shape")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, one round")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="SRC",
        help="also time the workbench package in this src directory (e.g. a checkout of"
        " another commit), interleaved in the same rounds",
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(*args.child)
        return
    if args.quick:
        args.rows, args.rounds = 100_000, 1

    sys.path.insert(0, str(HERE))
    from ledger_shapes import SHAPES, ledger

    shapes = args.shapes.split(",") if args.shapes else list(SHAPES)
    work = Path(tempfile.mkdtemp(prefix="wb-ingest-"))
    try:
        files: dict[str, Path] = {}
        for shape in shapes:
            started = time.perf_counter()
            frame = ledger(shape, args.rows)
            files[shape] = work / f"{shape}.csv"
            frame.write_csv(files[shape])
            del frame
            print(
                f"{shape}: {args.rows:,} rows, {files[shape].stat().st_size / 1e6:.0f} MB,"
                f" generated in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
        # (label, src directory or None for this tree's workbench)
        variants = [("workbench", None)]
        if args.baseline:
            variants.append(("baseline", str(Path(args.baseline).resolve())))
        seconds: dict[tuple[str, str], list[float]] = {}
        peaks: dict[tuple[str, str], list[float]] = {}
        ratios: dict[tuple[str, str], list[float]] = {}
        cpu_ratios: dict[tuple[str, str], list[float]] = {}
        stages: dict[tuple[str, str], dict[str, list[float]]] = {}
        for round_no in range(args.rounds):
            for shape in shapes:
                this: dict[str, float] = {}
                this_cpu: dict[str, float] = {}
                runs = [("duckdb", "duckdb", None)] + [(v, "workbench", src) for v, src in variants]
                for label, kind, src in runs:
                    report, peak = _run_child(kind, files[shape], work / "run.duckdb", source=src)
                    this[label], this_cpu[label] = report["seconds"], report["cpu"]
                    seconds.setdefault((shape, label), []).append(report["seconds"])
                    peaks.setdefault((shape, label), []).append(peak)
                line = f"round {round_no + 1} {shape}: duckdb {this['duckdb']:.2f} s"
                for label, _src in variants:
                    ratios.setdefault((shape, label), []).append(this[label] / this["duckdb"])
                    cpu_ratios.setdefault((shape, label), []).append(
                        this_cpu[label] / this_cpu["duckdb"]
                    )
                    line += (
                        f", {label} {this[label]:.2f} s (CPU {this_cpu[label]:.2f}):"
                        f" {ratios[(shape, label)][-1]:.2f}x wall,"
                        f" {cpu_ratios[(shape, label)][-1]:.2f}x CPU"
                    )
                print(line, flush=True)
                if args.stages:
                    for label, src in variants:
                        report, _ = _run_child(
                            "stages", files[shape], work / "stages.duckdb", source=src
                        )
                        for stage, value in report.items():
                            stages.setdefault((shape, label), {}).setdefault(stage, []).append(
                                value
                            )

        med = statistics.median
        print(
            f"\n{'shape':14} {'variant':>9} {'duckdb s':>9} {'workbench s':>12}"
            f" {'wall ratio':>20} {'CPU ratio':>20} {'duckdb MB':>10} {'workbench MB':>13}"
            f" {'x':>6}"
        )
        for shape in shapes:
            for label, _src in variants:
                r, c = ratios[(shape, label)], cpu_ratios[(shape, label)]
                duck_mb, wb_mb = med(peaks[(shape, "duckdb")]), med(peaks[(shape, label)])
                print(
                    f"{shape:14} {label:>9} {med(seconds[(shape, 'duckdb')]):9.2f}"
                    f" {med(seconds[(shape, label)]):12.2f}"
                    f" {med(r):6.2f}x ({min(r):.2f}-{max(r):.2f})"
                    f" {med(c):6.2f}x ({min(c):.2f}-{max(c):.2f})"
                    f" {duck_mb:10.0f} {wb_mb:13.0f} {wb_mb / duck_mb:6.2f}"
                )
        print("(ratios: median of the per-round ratios, range in brackets; MB: median peak RSS)")
        if args.stages:
            for label, _src in variants:
                print(
                    f"\n{label + ' stage: median wall / CPU s':34}"
                    + "".join(f" {s:>14}" for s in shapes)
                )
                for stage in stages[(shapes[0], label)]:
                    if stage.startswith("cpu "):
                        continue
                    print(
                        f"{stage:34}"
                        + "".join(
                            f" {med(stages[(s, label)][stage]):6.2f}"
                            f" /{med(stages[(s, label)]['cpu ' + stage]):6.2f}"
                            for s in shapes
                        )
                    )
        print()
        for shape in shapes:
            verdict = "MET" if med(ratios[(shape, "workbench")]) <= 2 else "NOT MET"
            print(f"bar: {shape} import within 2x of DuckDB read_csv + close -> {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
