"""Async quote fetching: providers, the fetch engine and the local quote server."""

from __future__ import annotations

from workbench.quotes.base import Bar, History, Provider, Quote
from workbench.quotes.client import make_client
from workbench.quotes.engine import QuoteResult, fetch_quotes, iter_quotes, store_quotes
from workbench.quotes.history import HistoryResult, fetch_history
from workbench.quotes.limits import Guards, ProviderLimits, RetryPolicy
from workbench.quotes.trading import TradeResult, trade_at_market

__all__ = [
    "Bar",
    "Guards",
    "History",
    "HistoryResult",
    "Provider",
    "ProviderLimits",
    "Quote",
    "QuoteResult",
    "RetryPolicy",
    "TradeResult",
    "fetch_history",
    "fetch_quotes",
    "iter_quotes",
    "make_client",
    "store_quotes",
    "trade_at_market",
]
