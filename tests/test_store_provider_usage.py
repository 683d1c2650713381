"""Daily request counts in the store (workbench.store.provider_usage), in a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from workbench import store
from workbench.store.provider_usage import Usage, read_usage, record_usage

DAY = dt.date(2026, 3, 2)


def test_nothing_counted_reads_as_none(db_path: Path) -> None:
    """A provider and day never written read back as None, not as zero."""
    with store.connect(db_path) as con:
        assert read_usage(con, "alphavantage", DAY) is None


def test_the_larger_count_wins_and_exhausted_sticks(db_path: Path) -> None:
    """7 then 5 stores 7; an exhausted flag written once is not cleared by a later False."""
    with store.connect(db_path) as con:
        assert record_usage(con, "alphavantage", DAY, Usage(7, False)) == Usage(7, False)
        assert record_usage(con, "alphavantage", DAY, Usage(5, True)) == Usage(7, True)
        assert record_usage(con, "alphavantage", DAY, Usage(9, False)) == Usage(9, True)
    with store.connect(db_path, read_only=True) as con:
        assert read_usage(con, "alphavantage", DAY) == Usage(9, True)


def test_counts_are_kept_per_provider_and_day(db_path: Path) -> None:
    """Another day or another provider starts from nothing."""
    with store.connect(db_path) as con:
        record_usage(con, "alphavantage", DAY, Usage(3, False))
        assert read_usage(con, "alphavantage", DAY + dt.timedelta(days=1)) is None
        assert read_usage(con, "coingecko", DAY) is None


def test_the_quotes_package_runs_no_sql() -> None:
    """SQL lives in the store package: no module of workbench.quotes executes a statement."""
    package = Path(store.__file__).parent.parent / "quotes"
    offenders = [
        path.name
        for path in package.rglob("*.py")
        if re.search(r"\.execute(many)?\(|\bSELECT\b|\bINSERT INTO\b", path.read_text())
    ]
    assert offenders == []
