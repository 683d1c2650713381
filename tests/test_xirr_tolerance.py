"""xirr's tolerance argument stops the bisection: coarser answers in fewer steps, never wrong."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from workbench.analytics import _xirr
from workbench.analytics.returns import xirr, xirr_roots

# -100 on 2024-01-01, +110 on 2025-01-01: 366 days (a leap year), ACT/365, so
# (1 + r)^(366/365) = 1.1 and ln(1 + r) = ln(1.1) x 365/366 (hand-derived, not computed by xirr)
FLOWS = pl.DataFrame(
    {"date": [dt.date(2024, 1, 1), dt.date(2025, 1, 1)], "amount": [-100.0, 110.0]}
)
TRUE_LOG = math.log(1.1) * 365 / 366


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count evaluations of the NPV sign function h from now on."""
    calls = [0]
    original = _xirr._Flows.h

    def h(self: _xirr._Flows, x: float) -> float:
        calls[0] += 1
        return original(self, x)

    monkeypatch.setattr(_xirr._Flows, "h", h)
    return calls


@pytest.mark.parametrize("tolerance", [1e-3, 1e-6, 1e-9, 1e-12])
def test_the_rate_is_within_the_tolerance_of_the_root(tolerance: float) -> None:
    """ln(1 + xirr) is within ``tolerance`` of ln(1.1) x 365/366 at every tolerance."""
    rate = xirr(FLOWS, tolerance=tolerance)
    assert rate is not None
    assert abs(math.log1p(rate) - TRUE_LOG) <= tolerance


def test_a_coarser_tolerance_takes_fewer_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """1e-3 evaluates the NPV fewer times than the default 1e-12 (the argument is used)."""
    calls = _counting(monkeypatch)
    xirr(FLOWS, tolerance=1e-3)
    coarse = calls[0]
    calls[0] = 0
    xirr(FLOWS)
    fine = calls[0]
    # bisection halves the bracket each step: 1e-3 / 1e-12 is about 2^30, so ~30 fewer steps
    assert fine - coarse >= 25


def test_xirr_roots_takes_the_same_tolerance() -> None:
    """xirr_roots(tolerance=1e-4) lists the root within 1e-4, as xirr does."""
    (root,) = xirr_roots(FLOWS, tolerance=1e-4)
    assert abs(math.log1p(root) - TRUE_LOG) <= 1e-4


@pytest.mark.parametrize("tolerance", [0.0, -1e-6, math.nan])
def test_a_tolerance_that_is_not_positive_is_refused(tolerance: float) -> None:
    """Zero, negative or NaN tolerance is a ValueError naming it."""
    with pytest.raises(ValueError, match="tolerance must be positive"):
        xirr(FLOWS, tolerance=tolerance)
