"""P&L by position split into its price and currency (FX) parts (DESIGN 3b).

The parts come from a report's positions: ``unrealized_fx_pnl`` and ``realized_fx_pnl`` are
the FX parts, the rest of each P&L figure is the price part. Without the currency effect
(Ghostfolio's toggle) every native amount is taken at the as-of rate, so only the price parts
and dividends remain.

    charts.pnl_fx_chart(report.positions)                  # price and FX parts stacked
    charts.pnl_fx_chart(report.positions, with_fx=False)   # without the currency effect
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from workbench.charts.holdings import pnl_chart

if TYPE_CHECKING:
    import altair as alt

#: (column, legend name) of each part, in stacking order
PARTS = (
    ("unrealized_price", "Unrealized: price"),
    ("unrealized_fx", "Unrealized: FX"),
    ("realized_price", "Realized: price"),
    ("realized_fx", "Realized: FX"),
    ("dividends", "Dividends"),
)


def pnl_parts(positions: pl.DataFrame, *, with_fx: bool = True) -> pl.DataFrame:
    """Positions with the P&L parts as columns: symbol, account, and each of :data:`PARTS`.

    ``with_fx=False`` zeroes the FX parts (every native amount at the as-of rate).
    """
    fx = 1.0 if with_fx else 0.0
    money = [pl.col(c).cast(pl.Float64).fill_null(0.0) for c in (
        "unrealized_pnl", "unrealized_fx_pnl", "realized_pnl", "realized_fx_pnl", "dividends",
    )]  # fmt: skip
    unrealized, unrealized_fx, realized, realized_fx, dividends = money
    return positions.select(
        "account",
        "symbol",
        unrealized_price=unrealized - unrealized_fx,
        unrealized_fx=unrealized_fx * fx,
        realized_price=realized - realized_fx,
        realized_fx=realized_fx * fx,
        dividends=dividends,
    )


def pnl_fx_chart(
    positions: pl.DataFrame, *, with_fx: bool = True, title: str = "P&L by position"
) -> alt.Chart:
    """Stacked bars per position of the price and FX parts of P&L and the dividends; clicking
    a bar selects the position (as :func:`workbench.charts.pnl_chart`)."""
    parts = pnl_parts(positions, with_fx=with_fx)
    shown = PARTS if with_fx else tuple(p for p in PARTS if not p[0].endswith("_fx"))
    return pnl_chart(
        parts,
        columns=[c for c, _ in shown],
        names=[n for _, n in shown],
        title=title + ("" if with_fx else " (without currency effect)"),
    )
