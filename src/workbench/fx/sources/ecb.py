"""The ECB data API: euro foreign exchange reference rates as CSV (dataflow ``EXR``).

One request per currency::

    GET {base}/service/data/EXR/D.{QUOTE}.EUR.SP00.A?format=csvdata&startPeriod=&endPeriod=

The body is CSV with one row per observation. Columns are read by header name, never by
position (``KEY, FREQ, CURRENCY, CURRENCY_DENOM, ..., TIME_PERIOD, OBS_VALUE, ...`` in full
answers; recordings are often pruned to a few of them). Rows are ``1 EUR = OBS_VALUE
CURRENCY``, as published. The API answers 404 ("No results found") both for an unknown
currency and for a range without a fixing (holidays), so a 404 for a currency the ECB
publishes is read as "no rates in the range", and for any other as not found.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import TYPE_CHECKING

from workbench.errors import MalformedResponse, SymbolNotFound, UnknownCurrency
from workbench.fx.engine import get_body, join_url
from workbench.fx.sources import FXSource

if TYPE_CHECKING:
    import httpx

NAME = "ecb"
DEFAULT_BASE_URL = "https://data-api.ecb.europa.eu"


def series_path(quote: str) -> str:
    """The request path of the daily EUR -> ``quote`` reference-rate series."""
    return f"/service/data/EXR/D.{quote}.EUR.SP00.A"


def parse_csv(text: str, *, quote: str | None = None) -> list[tuple[dt.date, float]]:
    """Daily ``EUR -> CURRENCY`` rates from an ECB ``csvdata`` body, oldest first.

    Args:
        text: the body.
        quote: keep only this currency's rows (None keeps all, as one series is asked for).

    Rows without a value (empty or ``NaN``) are skipped; daily frequency only.

    Raises:
        MalformedResponse: no TIME_PERIOD/OBS_VALUE header, a bad date or a non-positive rate.
    """
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        return []
    reader = csv.DictReader(io.StringIO(stripped))
    header = {name.strip().upper(): name for name in reader.fieldnames or []}
    pair = f"EUR/{quote}" if quote else "EUR"
    if "TIME_PERIOD" not in header or "OBS_VALUE" not in header:
        snippet = stripped[:60].replace("\n", " ")
        raise MalformedResponse(f"{NAME}: {pair}: not an ECB CSV body: {snippet!r}")
    out: dict[dt.date, float] = {}
    for line, row in enumerate(reader, start=2):

        def cell(column: str, row: dict[str, str] = row) -> str:
            name = header.get(column)
            return (row.get(name) or "").strip() if name else ""

        if cell("FREQ") not in ("", "D"):
            continue
        if quote and cell("CURRENCY") not in ("", quote):
            continue
        if cell("CURRENCY_DENOM") not in ("", "EUR"):
            continue
        value = cell("OBS_VALUE")
        if value in ("", "NaN"):
            continue
        try:
            day = dt.date.fromisoformat(cell("TIME_PERIOD"))
            rate = float(value)
        except ValueError as exc:
            raise MalformedResponse(f"{NAME}: {pair}: line {line}: {exc}") from exc
        if not (rate > 0 and math.isfinite(rate)):
            raise MalformedResponse(f"{NAME}: {pair}: line {line}: rate {value} is not positive")
        out[day] = rate
    return sorted(out.items())


class EcbSource(FXSource):
    """Euro reference rates from the ECB's data API (EUR-based pairs only)."""

    name = NAME
    default_url = DEFAULT_BASE_URL
    rate_limit = 5.0

    def check_pair(self, base: str, quote: str) -> None:
        """The ECB publishes ``EUR -> X`` only."""
        if base != "EUR":
            raise UnknownCurrency(
                f"{base}/{quote}: the ECB publishes euro rates only (EUR/{quote}, EUR/{base});"
                " the lookup derives the cross rate"
            )

    async def fetch_rates(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        """One series request; a 404 for a published currency means no fixing in the range."""
        from workbench.fx.offline import bundled_currencies

        pair = f"{base}/{quote}"

        def no_results(_response: httpx.Response) -> Exception | None:
            if quote in bundled_currencies():
                return _NoFixing()
            return SymbolNotFound(f"{NAME}: {pair}: the ECB publishes no {quote} rates")

        try:
            response = await get_body(
                client,
                join_url(self.base_url, series_path(quote)),
                source=NAME,
                pair=pair,
                params={
                    "format": "csvdata",
                    "startPeriod": start.isoformat(),
                    "endPeriod": end.isoformat(),
                },
                statuses={404: no_results},
            )
        except _NoFixing:
            return []
        kind = response.headers.get("content-type", "")
        if "html" in kind:
            raise MalformedResponse(f"{NAME}: {pair}: an HTML page instead of CSV")
        return parse_csv(response.text, quote=quote)


class _NoFixing(Exception):
    """A 404 for a currency the ECB publishes: no fixing in the requested range."""
