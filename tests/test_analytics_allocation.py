"""Allocation by instrument attribute or account, the group summary, and the public API."""

from __future__ import annotations

import types

import polars as pl
import pytest

import workbench.analytics as analytics
from workbench.analytics import allocation, group_summary

POSITIONS = pl.DataFrame(
    {
        "account": ["a", "a", "b", "b", "b"],
        "symbol": ["AAA", "BBB", "AAA", "CCC", "DDD"],
        "market_value": [300.0, 100.0, 200.0, 400.0, 0.0],
    }
)
INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["AAA", "BBB", "CCC", "DDD"],
        "sector": ["Tech", "Energy", "Tech", "Energy"],
        "asset_class": ["equity", "equity", None, "equity"],
        "currency": ["USD", "USD", "EUR", "USD"],
    }
)


def test_allocation_by_sector() -> None:
    """Tech holds 300 + 200 + 400 = 900 of 1000; closed positions (value 0) are left out."""
    got = allocation(POSITIONS, INSTRUMENTS, by="sector")
    assert got.to_dicts() == [
        {"sector": "Tech", "market_value": 900.0, "positions": 3, "weight": 0.9},
        {"sector": "Energy", "market_value": 100.0, "positions": 1, "weight": 0.1},
    ]


def test_allocation_with_unknown_attribute_and_cash() -> None:
    """A missing asset class falls in 'unknown'; cash joins as its own bucket in the weights."""
    got = allocation(POSITIONS, INSTRUMENTS, by="asset_class", cash=1000.0)
    assert dict(zip(got["asset_class"], got["weight"], strict=True)) == {
        "cash": 0.5, "equity": 0.3, "unknown": 0.2,
    }  # fmt: skip


def test_allocation_by_account() -> None:
    """Positions' own columns work too: account b holds 600 of 1000."""
    got = allocation(POSITIONS, INSTRUMENTS, by="account")
    assert got.select("account", "weight").rows() == [("b", 0.6), ("a", 0.4)]


def test_allocation_by_unknown_column() -> None:
    """Allocating by a column nobody has raises a ValueError naming the choices."""
    with pytest.raises(ValueError, match="cannot allocate by 'colour'"):
        allocation(POSITIONS, INSTRUMENTS, by="colour")


def test_group_summary_sum_and_mean() -> None:
    """The seed's group-by: per account count, sum and mean of market value."""
    got = group_summary(POSITIONS, by="account", value="market_value")
    assert got.to_dicts() == [
        {"account": "a", "count": 2, "sum": 400.0, "mean": 200.0},
        {"account": "b", "count": 3, "sum": 600.0, "mean": 200.0},
    ]


def test_public_api_is_sorted_and_complete() -> None:
    """__all__ is sorted and names exactly the package's public attributes that are exported."""
    assert analytics.__all__ == sorted(analytics.__all__)
    for name in analytics.__all__:
        assert hasattr(analytics, name), name
    public = {
        name
        for name, value in vars(analytics).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == set(analytics.__all__)
