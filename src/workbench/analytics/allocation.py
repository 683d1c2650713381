"""Allocation of market value by any attribute, and the seed's group-by summary.

``by`` is a column of the valued positions (``account``, ``symbol``) or of the instruments
(``sector``, ``asset_class``, ``currency``, ``name``). Instruments without the attribute fall in
``"unknown"``. Weights are fractions of the total shown, cash included when it is passed.
"""

from __future__ import annotations

import polars as pl

UNKNOWN = "unknown"


def allocation(
    positions_valued: pl.DataFrame,
    instruments: pl.DataFrame,
    *,
    by: str = "sector",
    cash: float | None = None,
) -> pl.DataFrame:
    """Market value and weight per value of ``by``, largest first: <by>, market_value, weight, positions.

    ``positions_valued`` needs symbol and market_value (from :func:`valued_positions`).
    ``cash``, when given, is shown as one more bucket named ``"cash"``.

        >>> allocation(valued_positions(tx, prices), read_instruments(con), by="asset_class")
    """
    held = positions_valued.filter(pl.col("market_value").fill_null(0.0) != 0)
    if by not in held.columns:
        if by not in instruments.columns:
            known = sorted({*held.columns, *instruments.columns} - {"market_value"})
            raise ValueError(f"cannot allocate by {by!r}; expected one of {', '.join(known)}")
        held = held.join(
            instruments.select("symbol", by).unique("symbol"),
            on="symbol",
            how="left",
            maintain_order="left",
        )
    grouped = held.group_by(pl.col(by).cast(pl.String).fill_null(UNKNOWN)).agg(
        market_value=pl.col("market_value").sum(), positions=pl.len().cast(pl.Int64)
    )
    if cash is not None:
        grouped = pl.concat(
            [
                grouped,
                pl.DataFrame({by: ["cash"], "market_value": [float(cash)], "positions": [0]}),
            ],
            how="vertical_relaxed",
        )
    total = grouped["market_value"].sum()
    return grouped.with_columns(
        weight=pl.col("market_value") / total if total else pl.lit(None, dtype=pl.Float64)
    ).sort(["market_value", by], descending=[True, False])


def group_summary(frame: pl.DataFrame, *, by: str | list[str], value: str) -> pl.DataFrame:
    """Count, sum and mean of ``value`` per group of ``by``, sorted by the group.

    The seed's "group by category with sum and mean".

        >>> group_summary(valued_positions(tx, prices), by="account", value="market_value")
    """
    keys = [by] if isinstance(by, str) else by
    return (
        frame.group_by(keys)
        .agg(
            count=pl.len().cast(pl.Int64),
            sum=pl.col(value).sum(),
            mean=pl.col(value).mean(),
        )
        .sort(keys, nulls_last=True)
    )
