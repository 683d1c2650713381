"""The small frames the apps show: filtered ledgers, KPI tiles and formatted tables.

Notebooks stay thin views; the filtering and formatting they need lives here so it is tested
like the rest of the package.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl


def filter_transactions(
    frame: pl.DataFrame,
    *,
    accounts: Iterable[str] = (),
    types: Iterable[str] = (),
    symbol: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Ledger rows matching every given filter; an empty filter matches everything.

    Args:
        frame: stored transactions (``store.read_transactions``).
        accounts: keep these accounts.
        types: keep these types (upper case, e.g. ``BUY``).
        symbol: keep symbols containing this text, case-insensitively.
        start, end: keep dates in ``[start, end]``.
    """
    accounts, types = list(accounts), [t.upper() for t in types]
    keep = pl.lit(True)
    if accounts:
        keep &= pl.col("account").is_in(accounts)
    if types:
        keep &= pl.col("type").is_in(types)
    if symbol.strip():
        needle = symbol.strip().upper()
        keep &= (
            pl.col("symbol").str.to_uppercase().str.contains(needle, literal=True).fill_null(False)
        )
    if start is not None:
        keep &= pl.col("date") >= start
    if end is not None:
        keep &= pl.col("date") <= end
    return frame.filter(keep)


def money(value: Any, *, currency: str = "", digits: int = 2) -> str:
    """``12,345.68 USD``; a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{float(value):,.{digits}f}"
    return f"{text} {currency}".strip()


def percent(value: Any, *, digits: int = 2, signed: bool = True) -> str:
    """``+12.34%`` from a fraction; a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if signed else ""
    return f"{float(value) * 100:{sign},.{digits}f}%"


def ratio(value: Any, *, digits: int = 2) -> str:
    """A plain ratio (Sharpe, Sortino); a missing or NaN value is an em dash."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    return f"{float(value):.{digits}f}"


def for_display(frame: pl.DataFrame, *, money_columns: Sequence[str] = ()) -> pl.DataFrame:
    """Decimal columns as Float64 rounded for reading; money to cents, the rest to 6 places."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal) or dtype in (pl.Float32, pl.Float64):
            places = 2 if name in money_columns else 6
            casts.append(pl.col(name).cast(pl.Float64).round(places))
    return frame.with_columns(casts) if casts else frame


def pick(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The named entries of ``mapping`` that exist, in the order given."""
    return {k: mapping[k] for k in keys if k in mapping}
