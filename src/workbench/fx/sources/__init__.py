"""FX rate sources by name: ``ecb``, ``frankfurter``, ``yahoo``, ``demo``.

A source turns one currency pair and a date range into one HTTP request and parses the
answer into daily rates ``(date, rate)`` meaning ``1 base = rate quote``; it never retries or
sleeps. To the quote engine each source is a quote provider whose symbol is ``BASE/QUOTE``
(:class:`FXSource` adapts it), so rate limits, retries, breakers and fallback are the
engine's (:mod:`workbench.fx.engine`).

    source = get_source("frankfurter", base_url="http://127.0.0.1:9999/mirror")
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from workbench.errors import QuoteError, SymbolNotFound, UnknownCurrency
from workbench.fx.engine import Bar, History
from workbench.fx.store import code_problem

if TYPE_CHECKING:
    import httpx

#: every name ``--provider`` accepts
SOURCE_NAMES: tuple[str, ...] = ("ecb", "frankfurter", "yahoo", "demo")

#: the fallback order when no provider is named: the ECB, then its Frankfurter mirror
DEFAULT_SOURCES: tuple[str, ...] = ("ecb", "frankfurter")


def split_pair(pair: str) -> tuple[str, str]:
    """``"EUR/USD"`` as ``("EUR", "USD")``; both codes must be stored currencies.

    Raises:
        UnknownCurrency: not ``XXX/YYY`` of two codes of three letters A-Z.
    """
    base, sep, quote = pair.partition("/")
    if not sep:
        raise UnknownCurrency(f"{pair!r} is not a currency pair BASE/QUOTE")
    for code in (base, quote):
        problem = code_problem(code)
        if problem:
            raise UnknownCurrency(problem)
    if base == quote:
        raise UnknownCurrency(f"{pair}: base and quote are the same currency")
    return base, quote


class FXSource:
    """Base of every FX source: the quote ``Provider`` face over :meth:`fetch_rates`.

    Subclasses set ``name``, ``default_url`` and ``rate_limit`` and implement
    :meth:`fetch_rates`; :meth:`check_pair` refuses pairs the source does not publish.
    """

    name: ClassVar[str] = "fx"
    default_url: ClassVar[str] = ""
    #: requests per second the source tolerates (the engine's token bucket)
    rate_limit: float | None = 5.0
    #: answered by the bundled quote server app inside this process
    in_process = False

    def __init__(self, *, base_url: str | None = None, rate_limit: float | None = None) -> None:
        self.base_url = (base_url or self.default_url).rstrip("/")
        if rate_limit is not None:
            self.rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def check_pair(self, base: str, quote: str) -> None:
        """Raise ``UnknownCurrency`` when this source cannot publish ``base -> quote``."""

    async def fetch_rates(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        """One request for the daily rates of ``base -> quote`` in ``[start, end]``, by date."""
        raise NotImplementedError

    async def fetch_quote(self, client: httpx.AsyncClient, symbol: str) -> object:
        """FX sources serve daily rates only."""
        raise QuoteError(f"{self.name}: FX sources serve daily rates, not quotes")

    async def fetch_history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> History:
        """The engine's entry: ``symbol`` is ``BASE/QUOTE``; each rate is a bar's close."""
        try:
            base, quote = split_pair(symbol)
            self.check_pair(base, quote)
        except UnknownCurrency as exc:
            # an answer the engine must not retry or count against the source
            raise SymbolNotFound(f"{self.name}: {exc}") from exc
        rates = await self.fetch_rates(client, base, quote, start, end)
        bars = [
            Bar(date=day, open=None, high=None, low=None, close=rate, volume=None)
            for day, rate in sorted(rates)
            if start <= day <= end
        ]
        return History(symbol=symbol, currency=quote, provider=self.name, bars=bars)


def get_source(name: str, *, base_url: str | None = None) -> FXSource:
    """The FX source called ``name``, optionally at another ``base_url``.

    ``demo`` without a ``base_url`` answers in-process from the bundled quote server app;
    with one, it asks a running ``workbench quote-server``.

    Raises:
        QuoteError: an unknown name (the message lists the valid ones).
    """
    from workbench.fx.sources.demo import DemoSource
    from workbench.fx.sources.ecb import EcbSource
    from workbench.fx.sources.frankfurter import FrankfurterSource
    from workbench.fx.sources.yahoo import YahooFXSource

    key = name.strip().lower()
    classes: dict[str, type[FXSource]] = {
        "ecb": EcbSource,
        "frankfurter": FrankfurterSource,
        "yahoo": YahooFXSource,
        "demo": DemoSource,
    }
    cls = classes.get(key)
    if cls is None:
        raise QuoteError(f"unknown FX provider {name!r}; choose one of: {', '.join(SOURCE_NAMES)}")
    return cls(base_url=base_url)


__all__ = ["DEFAULT_SOURCES", "SOURCE_NAMES", "FXSource", "get_source", "split_pair"]
