"""``workbench batch --engine spark`` on a real local Spark (JVM + Python workers): the same
numbers as ``workbench report`` and the local engine, and clear failures.

One SparkSession serves the module's in-process tests (starting a JVM takes seconds); one test
runs the CLI in a fresh process, as a user would, to cover starting Spark from scratch.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _batch_helpers import AS_OF, build_lake, cli_report, forget_pyspark, mismatches, read_table

from workbench.batch import run_batch
from workbench.errors import BatchError

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_session() -> Iterator[Any]:
    """A local[2] SparkSession whose Python workers run this interpreter, shared by every
    Spark test (all are in this module); pyspark leaves the process's modules afterwards."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("workbench tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()
    forget_pyspark()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 60-account synthetic database and its lake: (db, lake)."""
    return build_lake(tmp_path_factory.mktemp("spark"))


def test_spark_equals_report_and_local(
    spark_session: Any, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """Every account's totals, positions, performance and risk from Spark equal `report
    --account A --json` (money within 1e-6) and the local engine's rows."""
    db, lake = exported
    spark_out, local_out = tmp_path / "spark", tmp_path / "local"
    summary = run_batch(lake, spark_out, engine="spark", as_of=AS_OF)
    assert summary.accounts == 60
    accounts = pl.read_parquet(lake / "accounts")["name"].to_list()
    reports = {a: cli_report(db, a) for a in accounts}
    assert mismatches(spark_out, reports) == []
    run_batch(lake, local_out, engine="local", as_of=AS_OF, workers=1)
    for table, keys in (("totals", ["account"]), ("positions", ["account", "symbol"]),
                        ("performance", ["account"])):  # fmt: skip
        spark_rows = read_table(spark_out, table).sort(keys)
        local_rows = read_table(local_out, table).sort(keys)
        assert spark_rows.equals(local_rows), table


def test_spark_oversold_account_is_named(spark_session: Any, tmp_path: Path) -> None:
    """An account selling more than it holds fails the Spark job with a message naming the
    account (taken out of the worker's traceback), and leaves no output directory."""
    tx = pl.DataFrame(
        {
            "id": [1, 2, 3], "date": [dt.date(2024, 1, 2)] * 2 + [dt.date(2024, 1, 3)],
            "account": ["ok", "short", "short"], "type": ["BUY", "BUY", "SELL"],
            "symbol": ["XYZ"] * 3, "quantity": [5.0, 5.0, 7.0], "price": [10.0, 10.0, 11.0],
            "fee": [0.0] * 3, "amount": [None] * 3, "currency": ["USD"] * 3,
            "ratio_new": [None] * 3, "ratio_old": [None] * 3,
        },
        schema_overrides={"amount": pl.Float64, "ratio_new": pl.Float64, "ratio_old": pl.Float64},
    )  # fmt: skip
    (tmp_path / "lake" / "transactions").mkdir(parents=True)
    tx.write_parquet(tmp_path / "lake" / "transactions" / "all.parquet")
    (tmp_path / "lake" / "prices").mkdir()
    pl.DataFrame({"symbol": ["XYZ"], "date": [dt.date(2024, 1, 2)], "close": [10.0]}).write_parquet(
        tmp_path / "lake" / "prices" / "p.parquet"
    )
    with pytest.raises(BatchError, match="account 'short': sells more XYZ than it holds"):
        run_batch(tmp_path / "lake", tmp_path / "out", engine="spark", as_of=dt.date(2024, 1, 5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]


def test_cli_spark_from_a_fresh_process(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """`workbench batch --engine spark --master local[2]` in a new process (its own JVM and
    PYSPARK_PYTHON) writes the same totals as the local engine."""
    _, lake = exported
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    result = subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", "batch", "--lake", str(lake), "--out",
         str(tmp_path / "spark"), "--engine", "spark", "--master", "local[2]", "--as-of",
         AS_OF.isoformat()],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "spark engine" in result.stdout
    run_batch(lake, tmp_path / "local", as_of=AS_OF, workers=1)
    spark_totals = read_table(tmp_path / "spark", "totals").sort("account")
    assert spark_totals.equals(read_table(tmp_path / "local", "totals").sort("account"))
