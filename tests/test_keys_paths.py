"""Both ways of numbering identical rows (Polars' sorts, numpy's for large inputs and files
read in batches) against a row-by-row count."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.ledger import keys
from workbench.ledger.keys import occurrence_numbers, with_occurrence


def _reference(values: list[int]) -> list[int]:
    """Row by row: one more than the equal values seen before it."""
    seen: Counter[int] = Counter()
    numbers = []
    for value in values:
        seen[value] += 1
        numbers.append(seen[value])
    return numbers


def _digests(values: list[int]) -> pl.Series:
    """Distinct 64-bit digests for distinct values (odd multiplier: a bijection mod 2^64)."""
    return pl.Series("d", [(v * 0x9E3779B97F4A7C15) % (1 << 64) for v in values], pl.UInt64)


values = st.lists(st.integers(0, 30), min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(values)
def test_polars_and_numpy_number_as_a_row_by_row_count(drawn: list[int]) -> None:
    """Few or many repeats, one group or none: both give the count of equal values so far."""
    digest = _digests(drawn)
    expected = _reference(drawn)
    assert keys._numbers(digest).to_list() == expected
    assert keys._numbers(digest, numpy=True).to_list() == expected


@settings(max_examples=100, deadline=None)
@given(values, st.integers(1, 50))
def test_batches_count_the_equal_rows_of_earlier_batches(drawn: list[int], size: int) -> None:
    """Rows cut into batches of ``size``, each numbered after the earlier ones: the numbers
    of the whole, as counted row by row."""
    digest = _digests(drawn)
    earlier: pl.Series | None = None
    numbers: list[int] = []
    for start in range(0, len(drawn), size):
        part = digest.slice(start, size)
        numbers += occurrence_numbers(part, earlier).to_list()
        earlier = part if earlier is None else earlier.append(part)
    assert numbers == _reference(drawn)


def test_one_group_of_identical_rows_numbers_one_to_n() -> None:
    """50,000 identical rows number 1..50,000 either way."""
    digest = _digests([7] * 50_000)
    assert keys._numbers(digest).to_list() == list(range(1, 50_001))
    assert keys._numbers(digest, numpy=True).to_list() == list(range(1, 50_001))


def test_a_large_frame_is_numbered_by_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the threshold lowered to 3 rows, A, B, A, A numbers 1, 1, 2, 3 (hand-counted)
    through the numpy path."""
    monkeypatch.setattr(keys, "_NUMPY_FROM", 3)
    called: list[int] = []
    numpy_path = keys._repeats_numpy
    monkeypatch.setattr(keys, "_repeats_numpy", lambda d: called.append(len(d)) or numpy_path(d))
    frame = pl.DataFrame({"line": [2, 3, 4, 5], "symbol": ["A", "B", "A", "A"]})
    assert with_occurrence(frame)["occurrence"].to_list() == [1, 1, 2, 3]
    assert called == [4]
