"""Quote providers by name: the registry behind ``--provider``.

Each provider makes one HTTP request per call through a client the caller passes in and parses
the answer into :class:`~workbench.quotes.base.Quote` / :class:`~workbench.quotes.base.History`,
raising the workbench ``QuoteError`` family. Retries, rate limiting, caching and fallback live
in the fetch engine, not here.

Example:
    >>> provider = get_provider("yahoo", base_url="http://127.0.0.1:9999/mirror")
    >>> provider.name, provider.base_url, provider.in_process
    ('yahoo', 'http://127.0.0.1:9999/mirror', False)
"""

from __future__ import annotations

from workbench.errors import QuoteError
from workbench.quotes.base import Provider
from workbench.quotes.providers.alphavantage import AlphaVantageProvider
from workbench.quotes.providers.binance import BinanceProvider
from workbench.quotes.providers.coingecko import CoinGeckoProvider
from workbench.quotes.providers.workbench_api import (
    DEMO_BASE_URL,
    DEMO_NAME,
    WorkbenchApiProvider,
)
from workbench.quotes.providers.yahoo import YahooProvider

#: Every name ``--provider`` accepts, the default first.
PROVIDER_NAMES: tuple[str, ...] = (
    "demo",
    "workbench",
    "yahoo",
    "binance",
    "coingecko",
    "alphavantage",
)


def get_provider(name: str, *, base_url: str | None = None, api_key: str | None = None) -> Provider:
    """The provider called ``name``, optionally at another ``base_url``.

    Args:
        name: one of :data:`PROVIDER_NAMES` (case-insensitive).
        base_url: replaces the provider's scheme, host and port (and may add a path prefix);
            the provider's own request paths follow it. Not accepted for ``demo``.
        api_key: used by ``alphavantage`` (else ``ALPHAVANTAGE_API_KEY``) and ``coingecko``
            (else ``COINGECKO_API_KEY``); the other providers need none and ignore it.

    Raises:
        QuoteError: ``name`` is not a known provider (the message lists the valid names), or
            ``base_url`` was given for ``demo``.
    """
    key = name.strip().lower()
    if key == "demo":
        if base_url:
            # demo never leaves the process, so a URL would be silently ignored
            raise QuoteError("--base-url does not apply to demo; use --provider workbench")
        return WorkbenchApiProvider(name=DEMO_NAME, base_url=DEMO_BASE_URL, in_process=True)
    if key == "workbench":
        return WorkbenchApiProvider(base_url=base_url)
    if key == "yahoo":
        return YahooProvider(base_url=base_url)
    if key == "binance":
        return BinanceProvider(base_url=base_url)
    if key == "coingecko":
        return CoinGeckoProvider(base_url=base_url, api_key=api_key)
    if key == "alphavantage":
        return AlphaVantageProvider(base_url=base_url, api_key=api_key)
    raise QuoteError(f"unknown provider {name!r}; choose one of: {', '.join(PROVIDER_NAMES)}")


__all__ = [
    "PROVIDER_NAMES",
    "AlphaVantageProvider",
    "BinanceProvider",
    "CoinGeckoProvider",
    "WorkbenchApiProvider",
    "YahooProvider",
    "get_provider",
]
