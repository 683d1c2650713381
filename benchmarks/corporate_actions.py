"""Corporate actions: what they cost a ledger that has them, and that a ledger without them pays nothing.

    .venv/bin/python benchmarks/corporate_actions.py                       # 1,000,000 rows, 300 actions
    .venv/bin/python benchmarks/corporate_actions.py --baseline /path/to/old/src

Two races, each timed in fresh subprocesses that load the same ledger from Parquet, run
interleaved (A, B, A, B, ...) so machine load hits both alike; the medians are printed side by
side as ratios:

* **with and without actions**: the demo ledger (all in USD) (``workbench.demo.generate``) against the
  same ledger with ``--actions`` corporate actions added on positions held at the time
  (symbol changes and mergers into new symbols, after which that position's rows name the new
  symbol; spin-offs; returns of capital; stock dividends), for ``position_pnl`` (FIFO, HIFO),
  the full report (FIFO) and the realized-gains report (FIFO);
* **before and after** (with ``--baseline``, a ``src`` directory of workbench without
  corporate actions): the same steps on the ledger *without* actions under the old and the
  new code, which must not be slower.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

MONEY = pl.Decimal(18, 8)
STEPS = ("pnl_fifo", "pnl_hifo", "report_fifo", "gains_fifo")


def _run_step(ledger: str, prices: str, step: str) -> float:
    """One timed step in this process (the subprocess side)."""
    from workbench.analytics import build_report, position_pnl
    from workbench.analytics.gains import realized_gains

    tx = pl.read_parquet(ledger)
    closes = pl.read_parquet(prices)
    as_of = tx["date"].max()
    start = time.perf_counter()
    if step.startswith("pnl_"):
        position_pnl(tx, method=step.removeprefix("pnl_"))
    elif step == "report_fifo":
        build_report(tx, closes, as_of=as_of)
    else:
        realized_gains(tx, method="fifo")
    return time.perf_counter() - start


def with_actions(tx: pl.DataFrame, count: int, *, seed: int) -> pl.DataFrame:
    """``tx`` with ``count`` corporate actions on positions held on their dates."""
    from workbench.analytics import positions

    rng = random.Random(seed)
    days = sorted(tx["date"].unique().to_list())
    split_symbols = set(tx.filter(pl.col("type") == "SPLIT")["symbol"].to_list())
    used: set[tuple[str, str]] = set()
    rows: list[dict[str, Any]] = []
    renames: list[tuple[str, str, dt.date, str]] = []
    next_id = int(tx["id"].max()) + 1  # type: ignore[arg-type]
    kinds = ("SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND")
    for _ in range(count // 20 + 1):
        day = days[len(days) // 4 + rng.randrange(len(days) // 2)]
        held = positions(tx, as_of=day).filter(
            (pl.col("quantity") > 1) & ~pl.col("symbol").is_in(sorted(split_symbols))
        )
        pairs = [p for p in held.select("account", "symbol").iter_rows() if p not in used]
        for account, symbol in rng.sample(pairs, min(20, len(pairs), count - len(rows))):
            used.add((account, symbol))
            kind = kinds[len(rows) % len(kinds)]
            new = f"{symbol}.{kind[:2]}{len(rows)}"
            row: dict[str, Any] = {
                "id": next_id, "date": day, "account": account, "type": kind, "symbol": symbol,
                "quantity": None, "price": None, "fee": 0, "amount": None, "currency": "USD",
                "ratio_new": None, "ratio_old": None, "note": None, "target": None,
                "cost_fraction": None,
            }  # fmt: skip
            next_id += 1
            if kind == "SYMBOL_CHANGE":
                row |= {"target": new}
                renames.append((account, symbol, day, new))
            elif kind == "MERGER":
                row |= {"target": new, "ratio_new": 1, "ratio_old": 1, "amount": 10,
                        "cost_fraction": 0.05}  # fmt: skip
                renames.append((account, symbol, day, new))
            elif kind == "SPINOFF":
                row |= {"target": new, "quantity": 1, "cost_fraction": 0.1}
            elif kind == "RETURN_OF_CAPITAL":
                row |= {"amount": 1}
            else:
                row |= {"quantity": 1, "price": 2}
            rows.append(row)
        if len(rows) >= count:
            break
    out = tx.with_columns(
        target=pl.lit(None, dtype=pl.String), cost_fraction=pl.lit(None, dtype=MONEY)
    )
    # after a change or a merger the broker names the position by its new symbol
    for account, symbol, day, new in renames:
        later = (pl.col("account") == account) & (pl.col("symbol") == symbol) & (
            pl.col("date") > day
        )  # fmt: skip
        out = out.with_columns(symbol=pl.when(later).then(pl.lit(new)).otherwise("symbol"))
    actions = pl.DataFrame(rows, schema=out.schema, orient="row", strict=False)
    return pl.concat([out, actions]).sort("date", "id")


def race(variants: dict[str, tuple[str, str, str]], runs: int) -> dict[str, dict[str, float]]:
    """Median seconds per (variant, step): variant -> (PYTHONPATH, ledger, prices)."""
    times: dict[str, dict[str, list[float]]] = {v: {s: [] for s in STEPS} for v in variants}
    for _ in range(runs):
        for step in STEPS:
            for name, (path, ledger, prices) in variants.items():
                env = os.environ | {"PYTHONPATH": path}
                out = subprocess.run(
                    [sys.executable, __file__, "--step", step, "--ledger", ledger,
                     "--prices", prices],
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                times[name][step].append(float(out.stdout.strip().splitlines()[-1]))
    return {v: {s: statistics.median(t) for s, t in steps.items()} for v, steps in times.items()}


def show(title: str, medians: dict[str, dict[str, float]]) -> None:
    names = list(medians)
    print(f"\n  {title}")
    print(f"  {'step':<14}" + "".join(f"{n:>22}" for n in names) + f"{'ratio':>9}")
    for step in STEPS:
        cells = [medians[n][step] for n in names]
        print(
            f"  {step:<14}"
            + "".join(f"{c:>21.3f}s" for c in cells)
            + f"{cells[-1] / cells[0]:>8.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="subprocess runs per step (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", help="src directory of workbench before corporate actions")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--ledger", help=argparse.SUPPRESS)
    parser.add_argument("--prices", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(_run_step(args.ledger, args.prices, args.step)))
        return 0
    from workbench.demo import generate

    sys.path.insert(0, str(Path(__file__).parent))
    from analytics import store_shaped  # type: ignore[import-not-found]

    data = generate(seed=args.seed, transactions=args.rows)
    # one currency: the race is about lots, not rates
    tx = store_shaped(data.transactions).with_columns(currency=pl.lit("USD")).rechunk()
    prices = data.prices.select("symbol", "date", pl.col("close").cast(MONEY))
    acted = with_actions(tx, args.actions, seed=args.seed)
    counts = acted.filter(pl.col("target").is_not_null() | pl.col("type").str.len_bytes().gt(10))
    print(f"corporate actions benchmark: {tx.height:,} demo rows, {counts.height} actions added"
          f" ({', '.join(f'{k} {n}' for k, n in counts['type'].value_counts().sort('type').rows())});"
          f" median of {args.runs} interleaved subprocess runs; other processes share the machine")  # fmt: skip
    src = str(Path(__file__).resolve().parent.parent / "src")
    with tempfile.TemporaryDirectory() as tmp:
        plain_path, acted_path, prices_path = (
            str(Path(tmp) / n) for n in ("plain.parquet", "acted.parquet", "prices.parquet")
        )
        tx.write_parquet(plain_path)
        acted.write_parquet(acted_path)
        prices.write_parquet(prices_path)
        show(
            "without and with corporate actions (this code)",
            race({"no actions": (src, plain_path, prices_path),
                  f"{counts.height} actions": (src, acted_path, prices_path)}, args.runs),
        )  # fmt: skip
        if args.baseline:
            show(
                "no actions: before (baseline) and after (this code)",
                race({"before": (args.baseline, plain_path, prices_path),
                      "after": (src, plain_path, prices_path)}, args.runs),
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
