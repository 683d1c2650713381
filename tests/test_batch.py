"""``workbench batch`` with the local engine: every account equals ``workbench report``, and
bad lakes, options and ledgers fail clearly without leaving output behind."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _batch_helpers import AS_OF, build_lake, cli_report, forget_pyspark, mismatches, read_table
from click.testing import CliRunner

from workbench.batch import OUTPUT_MANIFEST, run_batch
from workbench.batch import spark as spark_engine
from workbench.cli import cli
from workbench.errors import BatchError, LakeError, WorkbenchError
from workbench.lake import export_lake


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 60-account synthetic database and its lake: (db, lake)."""
    return build_lake(tmp_path_factory.mktemp("batch"))


@pytest.fixture(scope="module")
def reports(exported: tuple[Path, Path]) -> dict[str, Any]:
    """`workbench report --account A --json` for every account, through the CLI."""
    db, lake = exported
    accounts = pl.read_parquet(lake / "accounts")["name"].to_list()
    return {a: cli_report(db, a) for a in accounts}


@pytest.fixture(scope="module")
def local_out(exported: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local engine's output over two worker processes."""
    out = tmp_path_factory.mktemp("local") / "out"
    run_batch(exported[1], out, engine="local", as_of=AS_OF, workers=2)
    return out


def _tx(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Transactions in the lake's columns from (id, date, account, type, symbol, qty, price,
    fee, amount, ratio_new, ratio_old) tuples."""
    names = ["id", "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
             "ratio_new", "ratio_old"]  # fmt: skip
    frame = pl.DataFrame(rows, schema=names, orient="row")
    return frame.with_columns(
        pl.col("date").str.to_date(),
        pl.col("quantity", "price", "fee", "amount", "ratio_new", "ratio_old").cast(pl.Float64),
        currency=pl.lit("USD"),
        note=pl.lit(None, dtype=pl.String),
    )


def _write_lake(root: Path, tx: pl.DataFrame, prices: pl.DataFrame) -> Path:
    """A lake as another tool would write it: Polars, no manifest, one partition per account."""
    tx.with_columns(part=pl.col("account")).write_parquet(
        root / "transactions", partition_by="part"
    )
    (root / "prices").mkdir(parents=True)
    prices.write_parquet(root / "prices" / "prices.parquet")
    return root


def test_ledger_covers_every_case(exported: tuple[Path, Path], reports: dict[str, Any]) -> None:
    """The fixture ledger has every type, deposit-only accounts, and accounts holding SPL that
    recorded no SPLIT row (so a split from another account matters)."""
    _, lake = exported
    tx = pl.read_parquet(lake / "transactions")
    types = set(tx["type"].unique().to_list())
    assert types == {
        "BUY",
        "SELL",
        "DIVIDEND",
        "INTEREST",
        "FEE",
        "TAX",
        "DEPOSIT",
        "WITHDRAWAL",
        "SPLIT",
    }
    traded = set(tx.filter(pl.col("type") == "BUY")["account"].to_list())
    assert set(reports) - traded  # deposits only
    split_recorders = set(tx.filter(pl.col("type") == "SPLIT")["account"].to_list())
    spl_buyers_before = set(
        tx.filter((pl.col("symbol") == "SPL") & (pl.col("type") == "BUY")
                  & (pl.col("date") < dt.date(2023, 9, 1)))["account"].to_list()
    )  # fmt: skip
    assert spl_buyers_before - split_recorders


def test_local_equals_report_for_every_account(local_out: Path, reports: dict[str, Any]) -> None:
    """Totals, positions, performance and risk of all 60 accounts equal `report --json`
    (money within 1e-6), including deposit-only accounts and splits recorded elsewhere."""
    assert mismatches(local_out, reports) == []
    manifest = json.loads((local_out / OUTPUT_MANIFEST).read_text())
    assert manifest["as_of"] == AS_OF.isoformat()
    assert manifest["rows"]["totals"] == 60


def test_hand_computed_accounts(tmp_path: Path) -> None:
    """Two accounts from a lake written by another tool, checked against hand arithmetic: a 2:1
    split recorded only in B doubles A's shares and halves their cost per share."""
    tx = _tx([
        (1, "2024-01-02", "A", "DEPOSIT", None, None, None, 0, 1000, None, None),
        (2, "2024-01-03", "A", "BUY", "XYZ", 10, 50, 1, None, None, None),
        (3, "2024-01-02", "B", "DEPOSIT", None, None, None, 0, 500, None, None),
        (4, "2024-01-10", "B", "SPLIT", "XYZ", None, None, 0, None, 2, 1),
        (5, "2024-01-11", "A", "SELL", "XYZ", 4, 30, 2, None, None, None),
        (6, "2024-01-12", "A", "DIVIDEND", "XYZ", None, None, 0, 8, None, None),
    ])  # fmt: skip
    prices = pl.DataFrame(
        {
            "symbol": ["XYZ", "XYZ"],
            "date": [dt.date(2024, 1, 3), dt.date(2024, 1, 12)],
            "close": [50.0, 31.0],
        }
    )
    out = tmp_path / "out"
    run_batch(
        _write_lake(tmp_path / "lake", tx, prices), out, as_of=dt.date(2024, 1, 15), workers=1
    )
    totals = {r["account"]: r for r in read_table(out, "totals").iter_rows(named=True)}
    a = totals["A"]
    # A: bought 10 @ 50 + 1 fee = 501 -> 20 shares @ 25.05 after the split; sold 4 @ 30 - 2
    # = 118 proceeds, cost 4 x 25.05 = 100.2, realized 17.8; 16 left, cost 400.8, value 16 x 31
    # = 496, unrealized 95.2; cash 1000 - 501 + 118 + 8 = 625
    expected = {"market_value": 496.0, "cost_basis": 400.8, "unrealized_pnl": 95.2,
                "realized_pnl": 17.8, "cash": 625.0, "total_value": 1121.0, "dividends": 8.0,
                "fees": 3.0, "net_deposits": 1000.0}  # fmt: skip
    for key, value in expected.items():
        assert a[key] == pytest.approx(value, abs=1e-9), key
    assert (totals["B"]["cash"], totals["B"]["market_value"]) == (500.0, 0.0)
    position = read_table(out, "positions").filter(pl.col("account") == "A").row(0, named=True)
    assert (position["symbol"], position["quantity"], position["price"]) == ("XYZ", 16.0, 31.0)


def test_other_cost_method_equals_report(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """--cost-method hifo gives what `report --cost-method hifo` gives (a few accounts)."""
    db, lake = exported
    out = tmp_path / "out"
    run_batch(lake, out, as_of=AS_OF, cost_method="hifo", workers=1)
    wanted = ["a000001", "a000002", "a000007"]
    reports = {a: cli_report(db, a, method="hifo") for a in wanted}
    problems = [p for p in mismatches(out, reports) if not p.startswith("accounts differ")]
    assert problems == []


def test_other_currency_equals_report(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """--currency EUR gives what `report --currency EUR` gives (the same rates: the lake's
    fx_rates, else the bundled ECB history), for a few accounts."""
    db, lake = exported
    out = tmp_path / "out"
    run_batch(lake, out, as_of=AS_OF, currency="EUR", workers=1)
    wanted = ["a000001", "a000004", "a000025"]
    reports = {a: cli_report(db, a, currency="EUR") for a in wanted}
    assert reports["a000001"]["base_currency"] == "EUR"
    problems = [p for p in mismatches(out, reports) if not p.startswith("accounts differ")]
    assert problems == []
    usd = read_table(tmp_path / "out", "totals").filter(pl.col("account") == "a000001")
    assert usd["total_value"][0] != pytest.approx(
        cli_report(db, "a000001")["totals"]["total_value"]
    )


def test_drill_down_keeps_the_batch_currency(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """The notebook's drill-down of an account in a --currency EUR batch is in EUR and equals
    what `report --account A --currency EUR` gives (not the USD report)."""
    from workbench.batch import views

    db, lake = exported
    out = tmp_path / "out"
    run_batch(lake, out, as_of=AS_OF, currency="EUR", workers=1)
    drilled = views.account_report(views.load_outputs(out), "a000001")
    expected = cli_report(db, "a000001", currency="EUR")["totals"]
    assert drilled.base_currency == "EUR"
    assert drilled.totals["total_value"] == pytest.approx(expected["total_value"], abs=1e-6)
    assert drilled.totals["cash_fx_gain"] == pytest.approx(expected["cash_fx_gain"], abs=1e-6)


def test_oversold_account_is_named_and_nothing_written(tmp_path: Path) -> None:
    """A ledger selling more than it holds fails naming the account; no output directory or
    staging directory is left."""
    tx = _tx([
        (1, "2024-01-02", "good", "BUY", "XYZ", 5, 10, 0, None, None, None),
        (2, "2024-01-02", "bad", "BUY", "XYZ", 5, 10, 0, None, None, None),
        (3, "2024-01-03", "bad", "SELL", "XYZ", 7, 11, 0, None, None, None),
    ])  # fmt: skip
    prices = pl.DataFrame({"symbol": ["XYZ"], "date": [dt.date(2024, 1, 2)], "close": [10.0]})
    lake = _write_lake(tmp_path / "lake", tx, prices)
    with pytest.raises(
        BatchError, match="account 'bad': sells more XYZ than it holds on 2024-01-03"
    ):
        run_batch(lake, tmp_path / "out", as_of=dt.date(2024, 1, 5), workers=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]


def test_account_in_two_partitions_is_refused(tmp_path: Path) -> None:
    """The local engine refuses an account split across partitions (it would be half-counted)."""
    tx = _tx([
        (1, "2024-01-02", "A", "DEPOSIT", None, None, None, 0, 100, None, None),
        (2, "2024-01-03", "A", "DEPOSIT", None, None, None, 0, 100, None, None),
    ]).with_columns(part=pl.Series([1, 2]))  # fmt: skip
    tx.write_parquet(tmp_path / "lake" / "transactions", partition_by="part")
    (tmp_path / "lake" / "prices").mkdir()
    pl.DataFrame(schema={"symbol": pl.String, "date": pl.Date, "close": pl.Float64}).write_parquet(
        tmp_path / "lake" / "prices" / "p.parquet"
    )
    with pytest.raises(BatchError, match="account 'A' has rows in two transactions partitions"):
        run_batch(tmp_path / "lake", tmp_path / "out", as_of=dt.date(2024, 1, 5), workers=1)
    assert not (tmp_path / "out").exists()


def test_listed_account_without_rows_reports_zeros(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """An account in the accounts table without any transaction gets the all-zero rows that
    `report --account` prints for it."""
    import duckdb

    db = tmp_path / "db.duckdb"
    shutil.copy(exported[0], db)
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO accounts (name, currency) VALUES ('empty', 'USD')")
    export_lake(db, tmp_path / "lake", buckets=2)
    run_batch(tmp_path / "lake", tmp_path / "out", as_of=AS_OF, workers=1)
    report = cli_report(db, "empty")
    assert report["totals"]["total_value"] == 0.0
    assert mismatches(tmp_path / "out", {"empty": report}) == [
        "accounts differ: "
        + str(sorted(set(read_table(tmp_path / "out", "totals")["account"]) - {"empty"}))
    ]


def test_missing_partition_fails_before_any_work(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """A lake with a lost partition is a LakeError naming it, and the CLI says so in one line."""
    copy = Path(shutil.copytree(exported[1], tmp_path / "lake"))
    victim = sorted((copy / "transactions").iterdir())[-1]
    shutil.rmtree(victim)
    with pytest.raises(LakeError, match=victim.name):
        run_batch(copy, tmp_path / "out", as_of=AS_OF)
    result = CliRunner().invoke(cli, ["batch", "--lake", str(copy), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: lake ")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"engine": "dask"}, "unknown engine 'dask'", id="engine"),
        pytest.param(
            {"engine": "spark", "master": "banana"}, "unknown Spark master 'banana'", id="master"
        ),
        pytest.param(
            {"master": "local[2]"}, "--master applies to the spark engine only", id="master-local"
        ),
        pytest.param({"cost_method": "lifo2"}, "unknown cost method 'lifo2'", id="cost-method"),
        pytest.param({"currency": "not-a-code"}, "not a currency code", id="currency"),
    ],
)
def test_bad_options(options: dict[str, Any], message: str, tmp_path: Path) -> None:
    """Bad options fail before the lake is read (none exists here), naming the bad value."""
    with pytest.raises(WorkbenchError, match=message.replace("[", r"\[")):
        run_batch(tmp_path / "no-lake", tmp_path / "out", **options)


def test_cli_usage_errors_and_currency(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """An unknown --engine is a usage error (exit 2); the base currency spelled out is accepted."""
    usage = CliRunner().invoke(cli, ["batch", "--lake", "x", "--out", "y", "--engine", "dask"])
    assert usage.exit_code == 2
    ok = CliRunner().invoke(
        cli, ["batch", "--lake", str(exported[1]), "--out", str(tmp_path / "o"), "--as-of",
              AS_OF.isoformat(), "--currency", "usd", "--workers", "1"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "totals:       60 rows" in ok.stdout
    again = CliRunner().invoke(
        cli, ["batch", "--lake", str(exported[1]), "--out", str(tmp_path / "o")]
    )
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_spark_missing_pyspark_or_java_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyspark the error names the extra; without Java it says to install one."""
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(BatchError, match=r"pip install 'workbench\[spark\]'"):
        spark_engine.session("local[1]")
    monkeypatch.delitem(sys.modules, "pyspark")
    from pyspark.sql import SparkSession  # the [spark] extra, installed by `make install`

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(spark_engine, "java_runtime", lambda: None)
    try:
        with pytest.raises(BatchError, match="needs a Java runtime"):
            spark_engine.session("local[1]")
    finally:
        monkeypatch.undo()
        forget_pyspark()


def test_export_then_batch_round_trip_of_the_demo(tmp_path: Path) -> None:
    """The three-account demo database exports and batches; its totals add up to the
    all-accounts report's (market value and cash are sums over accounts)."""
    from workbench.analytics.report import load_report
    from workbench.demo import write_demo

    db = tmp_path / "demo.duckdb"
    write_demo(db, seed=7)
    export_lake(db, tmp_path / "lake")
    day = dt.date(2025, 12, 31)
    run_batch(tmp_path / "lake", tmp_path / "out", as_of=day, workers=1)
    totals = read_table(tmp_path / "out", "totals")
    whole = load_report(db, as_of=day).totals
    for key in ("market_value", "cash", "realized_pnl", "dividends", "net_deposits"):
        assert totals[key].sum() == pytest.approx(whole[key], abs=1e-6), key


def test_lake_written_from_frames_gives_the_same_rows(local_out: Path, tmp_path: Path) -> None:
    """The same synthetic ledger written straight from frames (`write_lake`, no database) gives
    the rows the exported database gave, to the last digit."""
    from workbench.batch.synthetic import as_transactions, synthetic_ledger
    from workbench.lake import write_lake

    ledger, prices, instruments = synthetic_ledger(60, rows_per_account=24)
    write_lake(
        tmp_path / "lake", as_transactions(ledger), prices, instruments=instruments, buckets=3
    )
    run_batch(tmp_path / "lake", tmp_path / "out", as_of=AS_OF, workers=1)
    for table, keys in (("totals", ["account"]), ("positions", ["account", "symbol"])):
        ours = read_table(tmp_path / "out", table).sort(keys)
        assert ours.equals(read_table(local_out, table).sort(keys)), table


def test_notebook_ranks_and_drills_into_an_account(
    local_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notebooks/batch.py reads a batch output: its top account has the highest TWR in the
    file, and the drilled-in report of the first account has that account's batch totals."""
    import importlib.util

    monkeypatch.setenv("WORKBENCH_BATCH_OUT", str(local_out))
    path = Path(__file__).parents[1] / "notebooks" / "batch.py"
    spec = importlib.util.spec_from_file_location("nb_batch", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, defs = module.app.run()
    performance = pl.read_parquet(sorted((local_out / "performance").glob("*.parquet")))
    assert defs["top"]["twr"][0] == performance["twr"].drop_nulls().max()
    assert defs["bottom"]["twr"][0] == performance["twr"].drop_nulls().min()
    first = sorted(performance["account"].to_list())[0]
    row = read_table(local_out, "totals").filter(pl.col("account") == first).row(0, named=True)
    assert defs["report"].totals["total_value"] == pytest.approx(row["total_value"], abs=1e-6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "An exception was thrown from the Python worker: Traceback (most recent call last):\n"
            "  File \"kernel.py\", line 1\nworkbench.errors.BatchError: account 'x': sells more\n",
            "account 'x': sells more",
            id="workbench-error",
        ),
        pytest.param(
            "Traceback:\nModuleNotFoundError: No module named 'polars'\n",
            "the Spark workers' Python cannot import what the batch needs (No module named 'polars')",
            id="missing-module",
        ),
        pytest.param(
            "Job aborted.\nCaused by:\njava.lang.OutOfMemoryError: Java heap space\n",
            "Spark job failed: java.lang.OutOfMemoryError: Java heap space",
            id="other",
        ),
    ],
)
def test_worker_errors_are_one_line(text: str, expected: str) -> None:
    """A failure inside Spark becomes one line: the worker's own error, not a JVM stack trace."""
    assert spark_engine._worker_message(RuntimeError(text)).startswith(expected)
