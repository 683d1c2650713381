"""XIRR that never overflows and finds a root wherever the net present value changes sign.

Convention (DESIGN section 3): ACT/365 from the first date, ``NPV(r) = sum(a_i (1 + r)^-t_i)``
with deposits negative and withdrawals and the end value positive.

How:

* **In logs.** With ``x = ln(1 + r)`` the NPV is ``P(x) - N(x)``, ``P = sum over inflows of
  exp(ln a_i - t_i x)``, ``N`` the same over outflows. Its sign is the sign of
  ``h(x) = log P(x) - log N(x)``, computed with log-sum-exp: no term is ever exponentiated
  beyond 1, so 80-year horizons and rates near -100% or in the millions of percent are fine.
* **Where the roots can be.** For large ``x`` the earliest flow dominates, for very negative
  ``x`` the latest; past bounds computed from the amounts and the first and last gaps nothing
  else can change the sign, so every root lies in ``[x_lo, x_hi]``.
* **Scan, then refine.** ``h`` is evaluated on a grid (dense near ordinary rates, spreading
  out to the bounds); every sign change is a bracket, refined by bisection in ``x`` to
  ``xirr``'s ``tolerance`` (default 1e-12: the NPV changes sign within a relative 1e-12 of
  ``1 + rate``). Two roots closer than the grid spacing hide as a grid extremum of ``h`` that
  does not reach zero: each such extremum is refined (golden section) and, if it crosses
  zero, yields two brackets.
* **Several roots.** Flows that change sign more than once can have several rates. The rule:
  the root closest to ``guess`` (10% a year, the customary spreadsheet default) measured in
  ``ln(1 + r)``; ties go to the higher rate. ``xirr_roots`` lists all of them.
* **No root.** None when the flows do not change sign, or ``h`` has no sign change anywhere.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

import polars as pl

#: grid points in the scan; a root pair closer than the spacing is caught by the extremum pass
_GRID = 4001
_BISECT_WIDTH = 1e-13


def _log_sum_exp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


class _Flows:
    """Flows summed per date as (t in years, ln |amount|) for inflows and for outflows."""

    def __init__(self, days: Sequence[int], amounts: Sequence[float]) -> None:
        first = min(days)
        self.t_in = [(d - first) / 365.0 for d, a in zip(days, amounts, strict=True) if a > 0]
        self.l_in = [math.log(a) for a in amounts if a > 0]
        self.t_out = [(d - first) / 365.0 for d, a in zip(days, amounts, strict=True) if a < 0]
        self.l_out = [math.log(-a) for a in amounts if a < 0]
        order = sorted(zip(days, amounts, strict=True))
        self.times = [(d - first) / 365.0 for d, _ in order]
        self.amounts = [a for _, a in order]

    def h(self, x: float) -> float:
        """log(inflows' present value) - log(outflows'): the sign of the NPV at rate e^x - 1."""
        inflow = _log_sum_exp([la - t * x for t, la in zip(self.t_in, self.l_in, strict=True)])
        outflow = _log_sum_exp([la - t * x for t, la in zip(self.t_out, self.l_out, strict=True)])
        return inflow - outflow

    def bounds(self) -> tuple[float, float]:
        """x beyond which the earliest (above) or latest (below) flow fixes the sign."""
        t, a = self.times, [abs(v) for v in self.amounts]
        if len(t) < 2:
            return -1.0, 1.0
        rest_after = math.fsum(a[1:])
        rest_before = math.fsum(a[:-1])
        hi = max(0.0, math.log(rest_after / a[0]) / (t[1] - t[0])) + 1.0
        lo = -(max(0.0, math.log(rest_before / a[-1]) / (t[-1] - t[-2])) + 1.0)
        return lo, hi

    def grid(self) -> list[float]:
        """Scan points on [lo, hi]: uniform in asinh(x / s), s = 1 / horizon (dense near 0)."""
        lo, hi = self.bounds()
        horizon = max(self.times[-1], 1.0 / 365.0)
        scale = min(1.0, 1.0 / horizon)
        u_lo, u_hi = math.asinh(lo / scale), math.asinh(hi / scale)
        step = (u_hi - u_lo) / (_GRID - 1)
        return [scale * math.sinh(u_lo + i * step) for i in range(_GRID)]


def _grid_values(flows: _Flows, xs: list[float]) -> list[float]:
    """h on many points at once (Polars, vectorized over points x flows)."""
    grid = pl.DataFrame({"x": xs}).with_row_index("i")
    parts = []
    for t, la, side in ((flows.t_in, flows.l_in, "in"), (flows.t_out, flows.l_out, "out")):
        frame = pl.DataFrame({"t": t, "la": la}, schema={"t": pl.Float64, "la": pl.Float64})
        e = pl.col("la") - pl.col("t") * pl.col("x")
        parts.append(
            grid.join(frame, how="cross")
            .with_columns(e=e)
            .group_by("i")
            .agg(**{side: pl.col("e").max() + (pl.col("e") - pl.col("e").max()).exp().sum().log()})
        )
    both = grid.join(parts[0], on="i", how="left").join(parts[1], on="i", how="left").sort("i")
    return both.select(pl.col("in") - pl.col("out"))["in"].to_list()


def _bisect(f: Callable[[float], float], lo: float, hi: float, width: float) -> float:
    """A root of f in [lo, hi] (f changes sign there): bisect until the bracket is no wider
    than ``width`` x max(1, |x|)."""
    f_lo = f(lo)
    if f_lo == 0:
        return lo
    for _ in range(400):
        if hi - lo <= width * max(1.0, abs(lo), abs(hi)):
            break
        mid = (lo + hi) / 2
        f_mid = f(mid)
        if f_mid == 0:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def _extremum(f: Callable[[float], float], lo: float, hi: float, sign: float) -> float:
    """The x in [lo, hi] where sign * f is largest (golden section)."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = sign * f(c), sign * f(d)
    for _ in range(120):
        if b - a <= _BISECT_WIDTH * max(1.0, abs(a), abs(b)):
            break
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = sign * f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = sign * f(d)
    return (a + b) / 2


def _log_roots(flows: _Flows, width: float) -> list[float]:
    """Every root of h found by the scan, as x = ln(1 + rate), ascending, each bisected to
    ``width`` (relative, in x)."""
    xs = flows.grid()
    hs = _grid_values(flows, xs)
    roots: list[float] = []
    for i in range(len(xs) - 1):
        if hs[i] == 0:
            roots.append(xs[i])
        elif (hs[i] > 0) != (hs[i + 1] > 0) and hs[i + 1] != 0:
            roots.append(_bisect(flows.h, xs[i], xs[i + 1], width))
    if hs[-1] == 0:
        roots.append(xs[-1])
    # a grid extremum that stays on one side of zero may hide two close roots
    for i in range(1, len(xs) - 1):
        peak = hs[i] < 0 and hs[i] > hs[i - 1] and hs[i] >= hs[i + 1]
        trough = hs[i] > 0 and hs[i] < hs[i - 1] and hs[i] <= hs[i + 1]
        if not (peak or trough):
            continue
        sign = 1.0 if peak else -1.0
        top = _extremum(flows.h, xs[i - 1], xs[i + 1], sign)
        h_top = flows.h(top)
        if (h_top > 0) == (hs[i] > 0) and h_top != 0:
            continue
        roots.append(_bisect(flows.h, xs[i - 1], top, width))
        roots.append(_bisect(flows.h, top, xs[i + 1], width))
    return sorted(roots)


def _daily(flows: pl.DataFrame) -> tuple[list[int], list[float]]:
    daily = (
        flows.group_by("date")
        .agg(pl.col("amount").cast(pl.Float64).sum())
        .filter(pl.col("amount") != 0)
        .sort("date")
    )
    epoch = dt.date(1970, 1, 1)
    days = [(d - epoch).days for d in daily["date"].to_list()]
    return days, daily["amount"].to_list()


def _width(tolerance: float) -> float:
    """The bisection's bracket width for ``tolerance``: a tenth of it, so the midpoint is well
    within it (the default 1e-12 bisects to 1e-13, as before ``tolerance`` took effect)."""
    if not tolerance > 0:  # also refuses NaN
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    return tolerance / 10.0


def xirr_roots(flows: pl.DataFrame, *, tolerance: float = 1e-12) -> list[float]:
    """Every annual rate (ACT/365) at which the NPV of ``flows`` (date, amount) changes sign,
    each within ``tolerance`` in ``ln(1 + rate)`` as in :func:`xirr`."""
    width = _width(tolerance)
    days, amounts = _daily(flows)
    if not amounts or not (min(amounts) < 0 < max(amounts)):
        return []
    return [_rate(x) for x in _log_roots(_Flows(days, amounts), width)]


def _rate(x: float) -> float:
    """e^x - 1; beyond a float's range (a rate above 1e308) the rate is infinite."""
    return math.expm1(x) if x < 709.0 else math.inf


def xirr(flows: pl.DataFrame, *, guess: float = 0.1, tolerance: float = 1e-12) -> float | None:
    """Annual internal rate of return of dated cash flows (ACT/365): date, amount.

    Flows are summed per date. None when they do not change sign or no rate solves them.
    When several rates do, the one closest to ``guess`` in ``ln(1 + rate)`` (ties: the
    higher). ``tolerance`` stops the bisection: the rate returned is within ``tolerance``
    of a root in ``ln(1 + rate)`` (relative where ``|ln(1 + rate)| > 1``), so ``1 + rate`` is
    within about that relative error; a larger tolerance takes fewer steps.

    Raises:
        ValueError: ``tolerance`` is not a positive number.

        >>> xirr(pl.DataFrame({"date": [date(2024, 1, 1), date(2025, 1, 1)], "amount": [-100.0, 110.0]}))
        0.0997...
    """
    width = _width(tolerance)
    days, amounts = _daily(flows)
    if not amounts or not (min(amounts) < 0 < max(amounts)):
        return None
    roots = _log_roots(_Flows(days, amounts), width)
    if not roots:
        return None
    target = math.log1p(guess)
    best = min(roots, key=lambda x: (abs(x - target), -x))
    return _rate(best)
