"""Occurrence numbers of ledger rows: 1, 2, ... among identical rows, in source order."""

from __future__ import annotations

import random
from collections import Counter

import polars as pl

from workbench.ledger.keys import with_occurrence


def _reference(rows: list[tuple[object, ...]]) -> list[int]:
    """Row by row: one more than the identical rows seen before it."""
    seen: Counter[tuple[object, ...]] = Counter()
    numbers = []
    for row in rows:
        seen[row] += 1
        numbers.append(seen[row])
    return numbers


def test_repeated_rows_are_numbered_in_source_order() -> None:
    """A, B, A, A, C, B numbers 1, 1, 2, 3, 1, 2 (hand-counted)."""
    frame = pl.DataFrame(
        {"line": [2, 3, 4, 5, 6, 7], "symbol": ["A", "B", "A", "A", "C", "B"], "q": [1] * 6}
    )
    assert with_occurrence(frame)["occurrence"].to_list() == [1, 1, 2, 3, 1, 2]


def test_rows_that_differ_only_in_line_are_identical() -> None:
    """The line is not part of a row's identity; every other column is."""
    frame = pl.DataFrame({"line": [2, 3, 4], "symbol": ["A", "A", "A"], "q": [1, 1, 2]})
    assert with_occurrence(frame)["occurrence"].to_list() == [1, 2, 1]


def test_no_repeats_number_every_row_one() -> None:
    """Distinct rows are all occurrence 1."""
    frame = pl.DataFrame({"line": [2, 3, 4], "symbol": ["A", "B", "C"], "q": [None, 1, 1]})
    assert with_occurrence(frame)["occurrence"].to_list() == [1, 1, 1]


def test_mostly_repeated_rows_match_a_row_by_row_count() -> None:
    """20,000 rows drawn from 40 distinct values (nulls among them) match a Python count."""
    rng = random.Random(5)
    symbols = [rng.choice(["A", "B", "C", "D", None]) for _ in range(20_000)]
    lots = [rng.choice([1, 5, 10, None]) for _ in range(20_000)]
    days = [rng.choice([1, 2]) for _ in range(20_000)]
    frame = pl.DataFrame(
        {"line": range(2, 20_002), "symbol": symbols, "q": lots, "day": days},
        schema_overrides={"line": pl.Int64},
    )
    expected = _reference(list(zip(symbols, lots, days, strict=True)))
    assert with_occurrence(frame)["occurrence"].to_list() == expected


def test_few_repeats_among_many_distinct_rows_match_a_row_by_row_count() -> None:
    """5,000 distinct rows with 200 of them repeated up to 3 more times, shuffled, match a
    Python count (the path that numbers only the repeated rows)."""
    rng = random.Random(11)
    rows = [(f"S{i}", i % 7) for i in range(5_000)]
    rows += [rows[rng.randrange(5_000)] for _ in range(200) for _ in range(rng.randint(1, 3))]
    rng.shuffle(rows)
    frame = pl.DataFrame(
        {
            "line": range(2, len(rows) + 2),
            "symbol": [r[0] for r in rows],
            "q": [r[1] for r in rows],
        },
        schema_overrides={"line": pl.Int64},
    )
    numbers = with_occurrence(frame)["occurrence"].to_list()
    assert numbers == _reference(rows)
    assert max(numbers) > 1
    assert numbers.count(1) > 0.9 * len(rows)
