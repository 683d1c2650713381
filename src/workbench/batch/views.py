"""What the batch notebook shows: the output tables, rankings, the return distribution, and
one account's full report rebuilt from the lake.

    >>> outputs = load_outputs("out/")
    >>> ranked(outputs, n=10)                   # best and worst accounts by TWR
    >>> returns_histogram(outputs.performance)  # an Altair chart
    >>> account_report(outputs, "a000042")      # a workbench Report with its daily series
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.errors import BatchError

if TYPE_CHECKING:
    import altair as alt

    from workbench.analytics.report import Report


@dataclass(frozen=True)
class Outputs:
    """A batch output directory, read: its three tables and its manifest."""

    path: Path
    totals: pl.DataFrame
    positions: pl.DataFrame
    performance: pl.DataFrame
    manifest: dict[str, Any]

    @property
    def as_of(self) -> dt.date:
        """The date the batch was computed for."""
        return dt.date.fromisoformat(self.manifest["as_of"])


def _table(out: Path, name: str) -> pl.DataFrame:
    files = sorted((out / name).glob("*.parquet"))
    if not files:
        raise BatchError(f"{out} is not a batch output: no Parquet files under {out / name}")
    return pl.read_parquet(files)


def load_outputs(out: str | os.PathLike[str]) -> Outputs:
    """Read a ``workbench batch`` output directory.

    Raises:
        BatchError: a table or the manifest is missing.
    """
    from workbench.batch.run import OUTPUT_MANIFEST

    root = Path(out)
    manifest_path = root / OUTPUT_MANIFEST
    if not manifest_path.is_file():
        raise BatchError(f"{root} is not a batch output: {OUTPUT_MANIFEST} is missing")
    return Outputs(
        path=root,
        totals=_table(root, "totals"),
        positions=_table(root, "positions"),
        performance=_table(root, "performance"),
        manifest=json.loads(manifest_path.read_text(encoding="utf-8")),
    )


def ranked(outputs: Outputs, *, n: int = 10, by: str = "twr") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(top n, bottom n) accounts by ``by`` with their total value; undefined values are left out."""
    frame = (
        outputs.performance.join(
            outputs.totals.select("account", "total_value", "net_deposits"), on="account"
        )
        .filter(pl.col(by).is_not_null() & pl.col(by).is_finite())
        .select(
            "account", by, "twr_annualized", "xirr", "max_drawdown", "total_value", "net_deposits"
        )
    )
    top = frame.sort(by, "account", descending=[True, False]).head(n)
    bottom = frame.sort(by, "account").head(n)
    return top, bottom


def returns_histogram(
    performance: pl.DataFrame, *, field: str = "twr", bins: int = 40
) -> alt.Chart:
    """The distribution of ``field`` over accounts, binned in Polars (the chart carries only the
    bins, whatever the number of accounts)."""
    import altair as alt

    values = performance.select(pl.col(field)).drop_nulls().filter(pl.col(field).is_finite())
    if values.is_empty():
        counts = pl.DataFrame(
            schema={"start": pl.Float64, "end": pl.Float64, "accounts": pl.UInt32}
        )
    else:
        low, high = float(values[field].min()), float(values[field].max())  # type: ignore[arg-type]
        width = (high - low) / bins or 1.0
        counts = (
            values.select(b=((pl.col(field) - low) / width).floor().clip(0, bins - 1))
            .group_by("b")
            .len("accounts")
            .select(
                start=low + pl.col("b") * width,
                end=low + (pl.col("b") + 1) * width,
                accounts="accounts",
            )
            .sort("start")
        )
    title = f"{field.replace('_', ' ').upper() if field == 'twr' else field} across accounts"
    chart: alt.Chart = (
        alt.Chart(counts, title=title)
        .mark_bar()
        .encode(
            x=alt.X("start:Q", bin="binned", title=field, axis=alt.Axis(format="%")),
            x2="end:Q",
            y=alt.Y("accounts:Q", title="Accounts"),
            tooltip=[
                alt.Tooltip("start:Q", format=".2%"),
                alt.Tooltip("end:Q", format=".2%"),
                "accounts:Q",
            ],
        )
        .properties(width="container", height=260)
    )
    return chart


def account_report(outputs: Outputs, account: str) -> Report:
    """One account's full report (daily series included) rebuilt from the lake the batch read,
    with the batch's as-of date, cost method and reporting currency: the numbers its rows
    came from (the same kernel the engines ran).

    Raises:
        BatchError: the lake is gone or does not have the account.
    """
    from workbench.batch import kernel
    from workbench.batch.run import _shared
    from workbench.lake import open_lake

    lake = open_lake(outputs.manifest["lake"])
    own = kernel.normalize_transactions(
        pl.concat(
            [
                pl.scan_parquet(f).filter(pl.col("account") == account).collect()
                for f in lake.tables["transactions"].files
            ],
            how="vertical_relaxed",
        )
    )
    if own.is_empty():
        raise BatchError(f"account {account!r} is not in the lake {lake.path}")
    currency = outputs.manifest["currency"]
    params = kernel.Params(
        as_of=outputs.as_of, cost_method=outputs.manifest["cost_method"], base_currency=currency
    )
    return kernel.account_report(account, own, _shared(lake, outputs.as_of, currency), params)


def demo_outputs(db: str | os.PathLike[str]) -> Outputs:
    """Export ``db`` to a lake and batch it (local engine) in a temporary directory: what the
    notebook shows when no output directory is configured."""
    from workbench.batch.run import run_batch
    from workbench.lake import export_lake
    from workbench.store import connect, date_span

    with connect(db, read_only=True) as con:
        _, _, last_price = date_span(con)
    root = Path(tempfile.mkdtemp(prefix="workbench-batch-"))
    export_lake(db, root / "lake", buckets=4)
    run_batch(root / "lake", root / "out", as_of=last_price, workers=1)
    return load_outputs(root / "out")
