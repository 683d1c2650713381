"""``workbench lake export`` and ``workbench batch``: the ledger as a Parquet lake, and every
account's report from one, on this machine or on Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from workbench.cli.options import as_of_option, cost_method_option, currency_option, db_option


@click.group("lake")
def lake() -> None:
    """The ledger as Parquet files that Spark, DuckDB and Polars read."""


@lake.command("export")
@click.option(
    "--out", "out", type=click.Path(file_okay=False), required=True, help="Lake directory to write."
)
@click.option(
    "--buckets",
    type=click.IntRange(1, 10_000),
    default=32,
    show_default=True,
    help="Transactions partitions (crc32(account) % buckets).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing lake directory.")
@db_option
def export_cmd(out: str, buckets: int, overwrite: bool, db: Path) -> None:
    """Write transactions (partitioned by account bucket), prices, instruments, accounts and
    FX rates as Parquet, into a temporary directory renamed into place when complete."""
    from workbench.lake import export_lake

    click.echo(export_lake(db, out, buckets=buckets, overwrite=overwrite).describe())


@click.command("batch")
@click.option(
    "--lake", "lake_dir", type=click.Path(file_okay=False), required=True, help="Lake to read."
)
@click.option(
    "--out", "out", type=click.Path(file_okay=False), required=True, help="Output directory."
)
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; spark: a Spark session.",
)
@click.option(
    "--master",
    default=None,
    help="Spark master: local[*] (default), local[N], spark://HOST:PORT, yarn, k8s://URL, sc://HOST.",
)
@as_of_option
@cost_method_option
@currency_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local engine processes [default: cores].",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
def batch(
    lake_dir: str,
    out: str,
    engine: str,
    master: str | None,
    as_of: dt.date | None,
    cost_method: str,
    currency: str | None,
    workers: int | None,
    overwrite: bool,
) -> None:
    """Every account's report from a lake: totals, positions and performance Parquet tables,
    equal to `workbench report --account A --json` for each account."""
    from workbench.batch import run_batch

    summary = run_batch(
        lake_dir, out, engine=engine, master=master, as_of=as_of,
        cost_method=cost_method.lower(), currency=currency, workers=workers, overwrite=overwrite,
    )  # fmt: skip
    click.echo(summary.describe())


def register(cli: click.Group) -> None:
    """Add ``lake`` and ``batch`` to ``cli``."""
    cli.add_command(lake)
    cli.add_command(batch)
