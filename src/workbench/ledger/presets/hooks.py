"""The few steps a declarative mapping cannot say, named by a preset's ``hook`` key.

Each hook takes the mapped rows (text columns, ``src``/``sub`` for order) and returns them.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from workbench.errors import MappingError
from workbench.ledger.presets import values as v

#: Kraken's asset codes -> the usual tickers
KRAKEN_ASSETS = {
    "XXBT": "BTC", "XBT": "BTC", "XETH": "ETH", "XXRP": "XRP", "XLTC": "LTC", "XXLM": "XLM",
    "XXDG": "DOGE", "XDG": "DOGE", "XETC": "ETC", "XZEC": "ZEC", "XXMR": "XMR", "XREP": "REP",
    "ZEUR": "EUR", "ZUSD": "USD", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY", "ZCHF": "CHF",
    "ZAUD": "AUD",
}  # fmt: skip


def _kraken(rows: pl.DataFrame) -> pl.DataFrame:
    """Kraken's ``XXBT``/``ZEUR`` codes as ``BTC``/``EUR``; staked and held balances
    (``DOT.S``, ``ETH2.S``, ``USD.HOLD``) as the asset itself; a trade of one coin priced in
    another (the trades export's XETHXXBT) as a swap."""
    from workbench.ledger.presets.legs import crypto_priced

    return crypto_priced(_kraken_codes(rows))


def _kraken_codes(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns(
        pl.col(c)
        .str.replace(r"\.(S|M|F|B|P|HOLD)$", "")
        .replace({"ETH2": "ETH"})
        .replace(KRAKEN_ASSETS)
        for c in ("symbol", "currency")
    )


HOOKS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {"kraken": _kraken}


def apply(name: str | None, rows: pl.DataFrame) -> pl.DataFrame:
    """Run the hook called ``name`` (none: the rows as they are).

    Raises:
        MappingError: no hook of that name.
    """
    if name is None:
        return rows
    if name not in HOOKS:
        raise MappingError(f"unknown hook {name!r} (hooks: {', '.join(HOOKS)})")
    return HOOKS[name](rows)


def sub_units(rows: pl.DataFrame) -> pl.DataFrame:
    """Prices quoted in a sub-unit (``GBX``, pence) as the main currency (``GBP``).

    The ledger keeps cash per currency; pence are pounds, so a trade priced at 235 GBX is
    booked at 2.35 GBP. Amounts of rows in a sub-unit are divided the same way.
    """
    codes = rows["currency"].str.to_uppercase()
    if not codes.is_in(list(v.SUB_UNITS)).any():
        return rows
    upper = pl.col("currency").str.to_uppercase()
    main = upper.replace_strict({k: m for k, (m, _) in v.SUB_UNITS.items()}, default=None)
    factor = upper.replace_strict({k: f for k, (_, f) in v.SUB_UNITS.items()}, default=None)
    scaled = {
        name: pl.when(main.is_not_null())
        .then(v.to_text(pl.col(name).cast(v.NUMBER, strict=False) / factor))
        .otherwise(pl.col(name))
        for name in ("price", "amount")
    }
    return rows.with_columns(
        **scaled, currency=pl.when(main.is_not_null()).then(main).otherwise(pl.col("currency"))
    )
