"""Yahoo Finance FX: the v8 chart of ``{BASE}{QUOTE}=X`` (e.g. ``EURUSD=X``), daily closes.

The request and the chart parsing are the quotes package's Yahoo provider (through
:func:`workbench.fx.engine.yahoo_history`): ``{base}/v8/finance/chart/EURUSD=X?period1=
&period2=&interval=1d``. FX bars are stamped 00:00 UTC in Europe/London, so each close is
the rate of its own date. The chart's ``meta.currency`` must be the pair's quote currency.
Unlike the ECB's fixing (14:10 CET), a Yahoo close is a market rate at the end of the day.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from workbench.errors import MalformedResponse
from workbench.fx.engine import yahoo_history
from workbench.fx.sources import FXSource

if TYPE_CHECKING:
    import httpx

NAME = "yahoo"
DEFAULT_BASE_URL = "https://query1.finance.yahoo.com"


def chart_symbol(base: str, quote: str) -> str:
    """Yahoo's symbol of the rate ``1 base = x quote``: ``EURUSD=X``."""
    return f"{base}{quote}=X"


class YahooFXSource(FXSource):
    """Daily FX closes from Yahoo Finance's chart API (any pair Yahoo lists)."""

    name = NAME
    default_url = DEFAULT_BASE_URL
    rate_limit = 2.0

    async def fetch_rates(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        """One chart request; a chart in another currency than ``quote`` is malformed."""
        symbol = chart_symbol(base, quote)
        history = await yahoo_history(client, self.base_url, symbol, start, end)
        if history.currency is not None and history.currency != quote:
            raise MalformedResponse(
                f"{NAME}: {symbol}: the chart is in {history.currency}, not {quote}"
            )
        return [(bar.date, bar.close) for bar in history.bars]
