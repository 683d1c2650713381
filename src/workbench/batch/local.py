"""The ``local`` engine: the kernel over the lake's partitions in worker processes.

Each task is one transactions partition (``bucket=N``): a worker reads its files, runs the
kernel for every account in it and writes its part of the three tables itself, so no result
travels back but the account names. The shared data (closes and split rows) reaches each
worker once, when it starts. Workers are spawned, not forked: a forked copy of a process whose
Polars thread pool is running can deadlock.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import polars as pl

from workbench.batch.kernel import (
    Params,
    Shared,
    accounts_frame,
    normalize_transactions,
    split_tables,
)
from workbench.errors import BatchError
from workbench.lake.schema import Lake

# the worker's copy of the shared data, set once per process by _init
_STATE: dict[str, object] = {}


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _init(payload: bytes, params: Params) -> None:
    _STATE["shared"] = Shared.from_bytes(payload)
    _STATE["params"] = params


def write_part(combined: pl.DataFrame, staging: Path, name: str) -> None:
    """Write one part file of each output table."""
    for table, frame in split_tables(combined).items():
        directory = staging / table
        directory.mkdir(exist_ok=True)
        frame.write_parquet(directory / f"part-{name}.parquet")


def run_partition(
    name: str, files: list[Path], staging: Path, shared: Shared, params: Params
) -> list[str]:
    """Every account of one partition; returns its accounts."""
    try:
        parts = [normalize_transactions(pl.read_parquet(f)) for f in files]
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise BatchError(f"cannot read transactions partition {name}: {exc}") from exc
    tx = pl.concat(parts) if parts else None
    if tx is None or tx.is_empty():
        return []
    write_part(accounts_frame(tx, shared, params), staging, name)
    return tx["account"].unique().to_list()


def _task(index: int, files: list[Path], staging: Path) -> list[str]:
    shared = _STATE["shared"]
    params = _STATE["params"]
    assert isinstance(shared, Shared)
    assert isinstance(params, Params)
    return run_partition(f"{index:05d}", files, staging, shared, params)


def run_local(
    lake: Lake, staging: Path, shared: Shared, params: Params, *, workers: int | None = None
) -> None:
    """Run every partition, writing its part files into ``staging``.

    Raises:
        BatchError: an account fails, or has rows in two partitions (the local engine needs
            each account in one partition, as ``workbench lake export`` writes them).
    """
    table = lake.tables["transactions"]
    tasks = sorted(table.partitions.items())
    count = max(1, min(workers or default_workers(), len(tasks)))
    results: list[tuple[str, list[str]]] = []
    if count == 1:
        for index, (key, files) in enumerate(tasks):
            results.append((key, run_partition(f"{index:05d}", files, staging, shared, params)))
    else:
        with ProcessPoolExecutor(
            max_workers=count,
            mp_context=get_context("spawn"),
            initializer=_init,
            initargs=(shared.to_bytes(), params),
        ) as pool:
            futures = {
                pool.submit(_task, index, files, staging): key
                for index, (key, files) in enumerate(tasks)
            }
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                future.result()  # re-raises the first failure
            results = [(futures[f], f.result()) for f in futures]
    seen: dict[str, str] = {}
    for key, accounts in results:
        for account in accounts:
            if account in seen:
                raise BatchError(
                    f"account {account!r} has rows in two transactions partitions"
                    f" ({seen[account] or '(top level)'} and {key or '(top level)'}); the local"
                    " engine needs each account in one partition, as `workbench lake export`"
                    " writes them (or use --engine spark)"
                )
            seen[account] = key
