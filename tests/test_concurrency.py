"""Several processes on one database file: a writer importing, readers querying, a killed import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workbench.ledger import import_csv
from workbench.store import connect

ROWS_PER_FILE = 200

WRITER = """
import sys
from pathlib import Path
from workbench.ledger import import_csv
db, folder, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    import_csv(db, folder / f"batch{i}.csv")
print("writer done", flush=True)
"""

READER = """
import json, sys, time
from workbench.store import connect
from workbench.errors import WorkbenchError
db, seconds = sys.argv[1], float(sys.argv[2])
counts, errors, waits = [], [], []
end = time.monotonic() + seconds
while time.monotonic() < end:
    started = time.monotonic()
    try:
        with connect(db, read_only=True, timeout=30) as con:
            counts.append(con.execute("SELECT count(*) FROM transactions").fetchall()[0][0])
    except WorkbenchError as exc:
        errors.append(str(exc))
    waits.append(time.monotonic() - started)
    time.sleep(0.01)
print(json.dumps({"counts": counts, "errors": errors, "max_wait": max(waits)}))
"""


def _batch(i: int) -> str:
    lines = ["date,account,type,amount,note"]
    lines += [
        f"2024-01-{1 + i % 28:02d},acct,DEPOSIT,{j + 1},batch {i} row {j}"
        for j in range(ROWS_PER_FILE)
    ]
    return "\n".join(lines) + "\n"


def test_writer_and_readers_in_other_processes(db_path: Path, tmp_path: Path) -> None:
    """Readers see only whole imports, never an error; the writer loses no rows; waits stay bounded."""
    batches = 15
    for i in range(batches):
        (tmp_path / f"batch{i}.csv").write_text(_batch(i))
    with connect(db_path):
        pass
    env = {**os.environ, "WORKBENCH_BUSY_TIMEOUT": "30"}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(db_path), "6"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(db_path), str(tmp_path), str(batches)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    outputs = [json.loads(r.communicate(timeout=120)[0]) for r in readers]
    assert writer.returncode == 0, writer.stderr
    for out in outputs:
        assert out["errors"] == []
        assert len(out["counts"]) > 5
        assert all(c % ROWS_PER_FILE == 0 for c in out["counts"]), "a reader saw half an import"
        assert out["counts"] == sorted(out["counts"])
        assert out["max_wait"] < 30
    with connect(db_path, read_only=True) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT note) FROM transactions"
        ).fetchall() == [(batches * ROWS_PER_FILE, batches * ROWS_PER_FILE)]


def _big_ledger(path: Path, rows: int) -> None:
    lines = ["date,account,type,symbol,quantity,price,fee"]
    lines += [
        f"2023-{1 + j % 12:02d}-{1 + j % 28:02d},big,BUY,S{j % 500:03d},{1 + j % 7},{10 + j % 90}.25,0"
        for j in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_killed_import_leaves_the_database_as_before(db_path: Path, tmp_path: Path) -> None:
    """A SIGKILL in the middle of a large import leaves exactly the rows that were there before."""
    seed = tmp_path / "seed.csv"
    seed.write_text("date,type,amount\n2023-01-01,DEPOSIT,1000\n")
    import_csv(db_path, seed)
    big = tmp_path / "big.csv"
    _big_ledger(big, 300_000)
    code = f"from workbench.ledger import import_csv; import_csv({str(db_path)!r}, {str(big)!r}); print('finished')"

    # time a full import on another file to know what "the middle" is
    probe_db = tmp_path / "probe.duckdb"
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", code.replace(str(db_path), str(probe_db))],
        check=True,
        capture_output=True,
    )
    full = time.monotonic() - started

    killed_mid_import = 0
    for fraction in (0.3, 0.5, 0.7, 0.85):
        with subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        ) as proc:
            time.sleep(full * fraction)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
        with connect(db_path, read_only=True) as con:
            state = con.execute(
                "SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM imports)"
            ).fetchall()[0]
        # whole or nothing: exactly as before, or (if the commit won the race) exactly after
        assert state in {(1, 1), (300_001, 2)}, f"a killed import left {state}"
        if state == (300_001, 2):
            break
        killed_mid_import += 1
    assert killed_mid_import >= 1
