"""``workbench lake export`` and the checks every lake reader runs (``open_lake``)."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _batch_helpers import build_lake
from click.testing import CliRunner

from workbench.cli import cli
from workbench.errors import LakeError
from workbench.lake import MANIFEST, bucket_of, export_lake, open_lake
from workbench.lake import export as lake_export


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 60-account synthetic database and its lake in 8 buckets, built once: (db, lake)."""
    return build_lake(tmp_path_factory.mktemp("lake"), buckets=8)


@pytest.fixture
def lake_copy(exported: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the exported lake, to damage."""
    return Path(shutil.copytree(exported[1], tmp_path / "lake"))


def test_buckets_are_crc32_of_the_account(exported: tuple[Path, Path]) -> None:
    """Each account's rows sit in one partition, bucket=crc32(account) % 8, and every row of the
    database is in the lake once (counted by DuckDB reading the Hive layout)."""
    db, lake = exported
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM transactions").fetchall()[0][0]
    hive = duckdb.sql(
        f"SELECT account, list(DISTINCT bucket) AS buckets, count(*) AS n FROM read_parquet("
        f"'{lake}/transactions/*/*.parquet', hive_partitioning = true) GROUP BY account"
    ).pl()
    assert hive["n"].sum() == stored
    for account, buckets in hive.select("account", "buckets").iter_rows():
        assert buckets == [zlib.crc32(account.encode()) % 8]
    assert bucket_of("a000001", 8) == zlib.crc32(b"a000001") % 8


def test_manifest_lists_version_columns_and_partitions(exported: tuple[Path, Path]) -> None:
    """The manifest has the format version, each table's columns and per-partition row counts
    that add up to the rows Polars reads."""
    _, lake = exported
    manifest = json.loads((lake / MANIFEST).read_text())
    assert (manifest["format"], manifest["version"]) == ("workbench-lake", 1)
    tx = manifest["tables"]["transactions"]
    assert tx["columns"]["quantity"] == "decimal128(18, 8)"
    assert set(tx["columns"]) >= {"id", "date", "account", "type", "symbol", "ratio_new"}
    frame = pl.read_parquet(lake / "transactions", hive_partitioning=True)
    assert sum(tx["partitions"].values()) == frame.height
    counts = dict(frame.group_by("bucket").len().iter_rows())
    assert {f"bucket={b}": n for b, n in counts.items()} == tx["partitions"]
    assert set(manifest["tables"]) == {
        "transactions",
        "prices",
        "instruments",
        "accounts",
        "fx_rates",
    }


def test_fx_rates_exported_with_their_rows(tmp_path: Path, exported: tuple[Path, Path]) -> None:
    """The store's FX reference rates go into the lake's fx_rates table, row for row."""
    db = tmp_path / "fx.duckdb"
    shutil.copy(exported[0], db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO fx_rates (date, base, quote, rate, source, fetched_at) VALUES"
            " ('2024-01-02', 'EUR', 'USD', 1.1, 'test', now()),"
            " ('2024-01-03', 'EUR', 'USD', 1.09, 'test', now())"
        )
    summary = export_lake(db, tmp_path / "lake", buckets=4)
    assert summary.rows["fx_rates"] == 2
    rates = pl.read_parquet(tmp_path / "lake" / "fx_rates")
    assert rates.sort("date")["rate"].to_list() == [1.1, 1.09]
    assert "fx_rates" in open_lake(tmp_path / "lake").tables


def test_export_refuses_an_existing_directory_unless_overwrite(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """An existing output is an error naming it; --overwrite replaces it whole."""
    out = tmp_path / "lake"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    with pytest.raises(LakeError, match="already exists"):
        export_lake(exported[0], out)
    export_lake(exported[0], out, buckets=2, overwrite=True)
    assert not (out / "stale.txt").exists()
    assert json.loads((out / MANIFEST).read_text())["buckets"] == 2


def test_failed_export_leaves_nothing(
    exported: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the transactions were written leaves neither the lake nor a staging dir."""

    def boom(*_args: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(lake_export, "_copy", boom)
    with pytest.raises(OSError, match="disk full"):
        export_lake(exported[0], tmp_path / "lake")
    assert list(tmp_path.iterdir()) == []


def test_missing_partition_is_named(lake_copy: Path) -> None:
    """A partition the manifest lists but the disk lacks is an error naming it."""
    victim = sorted((lake_copy / "transactions").iterdir())[0]
    shutil.rmtree(victim)
    with pytest.raises(LakeError, match=f"partition transactions/{victim.name} .* is missing"):
        open_lake(lake_copy)


def test_replaced_file_is_caught_by_row_counts(lake_copy: Path) -> None:
    """A partition whose rows differ from the manifest's count (a lost or replaced file) is an error."""
    part = sorted((lake_copy / "transactions").iterdir())[0]
    file = next(part.glob("*.parquet"))
    pl.read_parquet(file).head(1).write_parquet(file)
    with pytest.raises(LakeError, match=f"{part.name} has 1 rows"):
        open_lake(lake_copy)


def test_bad_column_type_names_file_and_column(lake_copy: Path) -> None:
    """A quantity stored as text is an error naming the file, column, type and expectation."""
    file = next((lake_copy / "transactions").glob("*/*.parquet"))
    table = pq.read_table(file)
    index = table.schema.get_field_index("quantity")
    table = table.set_column(index, "quantity", table.column("quantity").cast(pa.string()))
    pq.write_table(table, file)
    with pytest.raises(
        LakeError, match=rf"{file}: transactions column 'quantity' is string, expected a number"
    ):
        open_lake(lake_copy)


def test_missing_column_and_missing_table(lake_copy: Path) -> None:
    """A prices file without close, and a lake without prices, are errors naming what is missing."""
    file = lake_copy / "prices" / "part-0.parquet"
    pl.read_parquet(file).drop("close").write_parquet(file)
    with pytest.raises(LakeError, match="prices column 'close' is missing"):
        open_lake(lake_copy)
    shutil.rmtree(lake_copy / "prices")
    with pytest.raises(LakeError, match="the prices table is missing"):
        open_lake(lake_copy)


def test_newer_or_unreadable_manifest(lake_copy: Path) -> None:
    """A manifest from a newer format version, or not JSON, is refused with the file named."""
    path = lake_copy / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"version": 99}))
    with pytest.raises(LakeError, match="lake version 99 is newer"):
        open_lake(lake_copy)
    path.write_text("{not json")
    with pytest.raises(LakeError, match="not a readable lake manifest"):
        open_lake(lake_copy)


def test_lake_from_another_tool_without_manifest(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    """Polars-written tables (float money, no manifest, own partition layout) open fine."""
    _, lake = exported
    out = tmp_path / "other"
    tx = pl.read_parquet(lake / "transactions", hive_partitioning=True).with_columns(
        pl.col("quantity", "price", "fee", "amount", "ratio_new", "ratio_old").cast(pl.Float64)
    )
    tx.write_parquet(out / "transactions", partition_by="bucket")
    (out / "prices").mkdir(parents=True)
    pl.read_parquet(lake / "prices").write_parquet(out / "prices" / "p.parquet")
    opened = open_lake(out)
    assert opened.manifest is None
    assert sum(len(f) for f in opened.tables["transactions"].partitions.values()) >= 1
    assert set(opened.tables) == {"transactions", "prices"}


def test_cli_export_and_error(exported: tuple[Path, Path], tmp_path: Path) -> None:
    """`workbench lake export` prints what it wrote; a missing database is one line, exit 1."""
    result = CliRunner().invoke(
        cli,
        [
            "lake",
            "export",
            "--db",
            str(exported[0]),
            "--out",
            str(tmp_path / "l"),
            "--buckets",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "transactions:" in result.stdout
    assert "60 accounts in 4 buckets" in result.stdout
    missing = CliRunner().invoke(
        cli, ["lake", "export", "--db", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "m")]
    )
    assert missing.exit_code == 1
    assert missing.stderr.count("\n") == 1
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "m").exists()
