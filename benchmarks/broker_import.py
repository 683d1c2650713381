"""Import 100,000 rows as a Schwab export and as workbench's own CSV; print the time ratio.

    PYTHONPATH=src python benchmarks/broker_import.py [--rows 100000] [--repeat 3]

Both files hold the same ledger rows (deposits, buys, dividends, interest, fees); each is
imported into a fresh DuckDB file, side by side in one run; medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from workbench.ledger import import_csv
from workbench.ledger.presets.importing import import_any


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    """The same rows in Schwab's layout (newest first, `$` amounts) and workbench's own."""
    own = ["date,type,symbol,quantity,price,fee,amount,currency"]
    broker: list[str] = []
    start = dt.date(2000, 1, 3)
    for i in range(rows):
        day = (start + dt.timedelta(days=i // 40)).isoformat()
        us = f"{day[5:7]}/{day[8:10]}/{day[0:4]}"
        kind = i % 5
        symbol = f"S{i % 500:03d}"
        if kind == 0:
            own.append(f"{day},DEPOSIT,,,,,1000.00,USD")
            broker.append(f'"{us}","MoneyLink Transfer","","Tfr BANK","","","","$1,000.00"')
        elif kind in (1, 2):
            own.append(f"{day},BUY,{symbol},2,12.5,0.5,,USD")
            broker.append(f'"{us}","Buy","{symbol}","{symbol} INC","2","$12.50","$0.50","-$25.50"')
        elif kind == 3:
            own.append(f"{day},DIVIDEND,{symbol},,,,1.25,USD")
            broker.append(f'"{us}","Cash Dividend","{symbol}","{symbol} INC","","","","$1.25"')
        else:
            own.append(f"{day},INTEREST,,,,,0.10,USD")
            broker.append(f'"{us}","Credit Interest","","INT","","","","$0.10"')
    header = '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"'
    own_path, broker_path = folder / "own.csv", folder / "schwab.csv"
    own_path.write_text("\n".join(own) + "\n", encoding="utf-8")
    broker_path.write_text("\n".join([header, *reversed(broker)]) + "\n", encoding="utf-8")
    return own_path, broker_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        own, broker = write_files(folder, args.rows)
        own_times, broker_times = [], []
        for n in range(args.repeat):
            t0 = time.perf_counter()
            a = import_csv(folder / f"own{n}.duckdb", own)
            t1 = time.perf_counter()
            b = import_any(folder / f"broker{n}.duckdb", broker)
            t2 = time.perf_counter()
            assert a.added == b.result.added == args.rows, (a.added, b.result.added)
            own_times.append(t1 - t0)
            broker_times.append(t2 - t1)
        own_s, broker_s = statistics.median(own_times), statistics.median(broker_times)
        print(
            f"rows {args.rows}: own CSV {own_s:.3f} s, Schwab export {broker_s:.3f} s,"
            f" ratio {broker_s / own_s:.2f}x (median of {args.repeat})"
        )


if __name__ == "__main__":
    main()
