"""XIRR: pyxirr's published vectors, hand-computed roots, the several-roots rule, no overflow.

The NPV sign checks here are independent of the solver: exact decimal arithmetic (80 digits)
on ``sum(a_i * exp(-t_i * ln(g)))`` with ``t_i`` = days since the first date / 365.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext
from pathlib import Path

import polars as pl
import pytest

from workbench.analytics.returns import xirr, xirr_roots

VECTORS = sorted((Path(__file__).parent / "fixtures" / "xirr").glob("*.csv"))


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(
        path,
        has_header=False,
        new_columns=["date", "amount"],
        schema_overrides={"date": pl.Date, "amount": pl.Float64},
    )


def _npv_sign(flows: pl.DataFrame, growth: Decimal) -> int:
    """Sign of the NPV at 1 + rate = growth, in 80-digit decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 80
        first = flows["date"].min()
        assert isinstance(first, dt.date)
        log_g = growth.ln()
        total = sum(
            Decimal(repr(a)) * (-(Decimal((d - first).days) / 365) * log_g).exp()
            for d, a in flows.iter_rows()
        )
    return (total > 0) - (total < 0)


def _changes_sign_near(flows: pl.DataFrame, rate: float, rel: float = 1e-9) -> bool:
    growth = Decimal(repr(1 + rate))
    below = _npv_sign(flows, growth * (1 - Decimal(repr(rel))))
    above = _npv_sign(flows, growth * (1 + Decimal(repr(rel))))
    return below * above <= 0


def _scan_signs(flows: pl.DataFrame) -> set[int]:
    """NPV signs at 1 + rate from 1e-6 to 1e6 (log-spaced, 400 points) - an independent scan."""
    growths = [Decimal(10) ** (Decimal(k) / 33 - 6) for k in range(400)]
    return {_npv_sign(flows, g) for g in growths} - {0}


def _flows(*pairs: tuple[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"date": [dt.date.fromisoformat(d) for d, _ in pairs], "amount": [a for _, a in pairs]}
    )


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_published_vector(path: Path) -> None:
    """Every pyxirr vector gets a rate whose NPV changes sign within a relative 1e-9 of
    1 + rate, or None only where an independent scan of the NPV finds a single sign."""
    flows = _read(path)
    rate = xirr(flows)
    if rate is None:
        assert len(_scan_signs(flows)) == 1
        assert xirr_roots(flows) == []
    else:
        assert rate > -1
        assert _changes_sign_near(flows, rate)


def test_every_root_listed_changes_sign() -> None:
    """xirr_roots of the 1938 vector (3 roots) are each a sign change of the NPV, ascending,
    and xirr returns one of them."""
    flows = _read(Path(__file__).parent / "fixtures" / "xirr" / "1938.csv")
    roots = xirr_roots(flows)
    assert len(roots) >= 2
    assert roots == sorted(roots)
    for root in roots:
        if root < 1e6:  # beyond, 1 + rate is too large for a 1e-9 step to show in 80 digits
            assert _changes_sign_near(flows, root)
    assert xirr(flows) in roots


def test_two_roots_the_one_closest_to_the_guess() -> None:
    """-100, +230 a year later, -132 two years later: NPV = 0 at g^2 - 2.3 g + 1.32 = 0, so
    g = 1.1 or 1.2 (rates 10% and 20%). The default guess (10%) picks 10%; a guess of 25%
    picks 20%."""
    flows = _flows(("2021-01-01", -100.0), ("2022-01-01", 230.0), ("2023-01-01", -132.0))
    assert xirr_roots(flows) == pytest.approx([0.1, 0.2], abs=1e-12)
    assert xirr(flows) == pytest.approx(0.1, abs=1e-12)
    assert xirr(flows, guess=0.25) == pytest.approx(0.2, abs=1e-12)
    # equally far from the guess in ln(1 + r): ln 1.1 and ln 1.2 around sqrt(1.32) - 1 -> higher
    assert xirr(flows, guess=1.32**0.5 - 1) == pytest.approx(0.2, abs=1e-12)


def test_two_roots_closer_than_the_scan_grid() -> None:
    """g^2 - 2.2001 g + 1.21011 = 0 has roots 1.1 and 1.1001: rates 10% and 10.01%, far closer
    than the scan's spacing there; the NPV stays negative on both sides of them."""
    flows = _flows(("2021-01-01", -100.0), ("2022-01-01", 220.01), ("2023-01-01", -121.011))
    assert xirr_roots(flows) == pytest.approx([0.1, 0.1001], abs=1e-9)


def test_no_rate_solves_these_flows() -> None:
    """-100, +50, -100 yearly: -100 + 50 y - 100 y^2 < 0 for every y = 1/g (discriminant
    2500 - 40000 < 0), so no rate exists although the flows change sign."""
    flows = _flows(("2021-01-01", -100.0), ("2022-01-01", 50.0), ("2023-01-01", -100.0))
    assert xirr(flows) is None
    assert xirr_roots(flows) == []


def test_35_years_apart_does_not_overflow() -> None:
    """A deposit in 1985, another in 2020 and the value at the end of 2020: a real rate
    (not the -0.999999999 bracket bound) whose NPV changes sign."""
    flows = _flows(("1985-01-02", -1000.0), ("2020-01-02", -1000.0), ("2020-12-31", 9000.0))
    rate = xirr(flows)
    assert rate is not None
    assert 0.0 < rate < 0.1
    assert _changes_sign_near(flows, rate)


def test_a_day_apart_gives_a_huge_but_exact_rate() -> None:
    """-100 then +110 the next day: 1 + r = 1.1^365 (about 1.3e15), found without overflow."""
    flows = _flows(("2024-01-01", -100.0), ("2024-01-02", 110.0))
    rate = xirr(flows)
    assert rate == pytest.approx(1.1**365 - 1, rel=1e-9)


def test_close_to_minus_one() -> None:
    """-100 then +1e-4 a year later: 1 + r = 1e-6, a loss of 99.9999%."""
    flows = _flows(("2021-01-01", -100.0), ("2022-01-01", 1e-4))
    assert xirr(flows) == pytest.approx(1e-6 - 1, abs=1e-15)
