"""Shared pieces of the lake and batch tests: a many-account database, its lake, and the
``workbench report --account A --json`` answers every batch output is held against."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner

from workbench.batch.synthetic import store_synthetic, synthetic_ledger
from workbench.cli import cli
from workbench.lake import export_lake

#: a date inside the synthetic ledger's 400 business days, so later rows exist and are ignored
AS_OF = dt.date(2024, 3, 28)
ACCOUNTS = 60
MONEY_TOL = 1e-6
RATIO_TOL = 1e-9


def build_lake(root: Path, *, accounts: int = ACCOUNTS, buckets: int = 8) -> tuple[Path, Path]:
    """A database with the synthetic ledger and its exported lake: (db, lake)."""
    root.mkdir(parents=True, exist_ok=True)
    db = root / "workbench.duckdb"
    ledger, prices, instruments = synthetic_ledger(accounts, rows_per_account=24)
    store_synthetic(str(db), ledger, prices, instruments)
    lake = root / "lake"
    export_lake(db, lake, buckets=buckets)
    return db, lake


def cli_report(
    db: Path, account: str, *, as_of: dt.date = AS_OF, method: str = "fifo", currency: str = "USD"
) -> Any:
    """What ``workbench report --account A --json`` prints, parsed."""
    result = CliRunner().invoke(
        cli,
        ["report", "--db", str(db), "--account", account, "--as-of", as_of.isoformat(),
         "--cost-method", method, "--currency", currency, "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def read_table(out: Path, name: str) -> pl.DataFrame:
    """One output table, whatever engine wrote it (a directory of Parquet parts)."""
    return pl.read_parquet(sorted((out / name).glob("*.parquet")))


def _close(expected: Any, actual: Any, tol: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return abs(float(expected) - float(actual)) <= tol


def mismatches(out: Path, reports: dict[str, Any]) -> list[str]:
    """Every difference between a batch output and the CLI reports, as readable lines."""
    totals = {r["account"]: r for r in read_table(out, "totals").iter_rows(named=True)}
    perf = {r["account"]: r for r in read_table(out, "performance").iter_rows(named=True)}
    positions: dict[str, dict[str, Any]] = {}
    for row in read_table(out, "positions").iter_rows(named=True):
        positions.setdefault(row["account"], {})[row["symbol"]] = row
    problems: list[str] = []
    if set(totals) != set(reports):
        problems.append(f"accounts differ: {sorted(set(totals) ^ set(reports))}")
    for account, report in reports.items():
        got = totals.get(account, {})
        for key, value in report["totals"].items():
            if key == "cash_by_currency":
                mine = json.loads(got.get(key) or "{}")
                if set(mine) != set(value) or any(
                    not _close(v, mine[c], MONEY_TOL) for c, v in value.items()
                ):
                    problems.append(f"{account} cash_by_currency: report {value}, batch {mine}")
                continue
            if not _close(value, got.get(key), MONEY_TOL):
                problems.append(f"{account} totals.{key}: report {value}, batch {got.get(key)}")
        expected_perf = report["performance"] | {
            k: v for k, v in report["risk"].items() if k != "convention"
        }
        for key, value in expected_perf.items():
            if not _close(value, perf.get(account, {}).get(key), RATIO_TOL):
                problems.append(f"{account} {key}: report {value}, batch {perf[account].get(key)}")
        mine = positions.get(account, {})
        if {p["symbol"] for p in report["positions"]} != set(mine):
            problems.append(f"{account} position symbols differ")
            continue
        for position in report["positions"]:
            row = mine[position["symbol"]]
            for key, value in position.items():
                if key in ("account", "symbol"):
                    continue
                if isinstance(value, str) or isinstance(row[key], str):
                    if value != row[key]:
                        problems.append(
                            f"{account} {position['symbol']}.{key}: {value} != {row[key]}"
                        )
                    continue
                if not _close(value, row[key], MONEY_TOL):
                    problems.append(f"{account} {position['symbol']}.{key}: {value} != {row[key]}")
    return problems


def forget_pyspark() -> None:
    """Drop pyspark (and py4j) from ``sys.modules`` once a test is done with it.

    marimo's kernel registers a pyspark formatter at start when pyspark is already imported,
    and that import of ``pyspark.sql.connect`` fails in a run-mode kernel (its ``__main__``
    has no ``__spec__``): an app served from this test process afterwards would break.
    """
    for name in [m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j")]:
        del sys.modules[name]
