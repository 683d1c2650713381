"""workbench: a notebook-native portfolio and market-data workbench."""

from __future__ import annotations

from workbench.errors import (
    InvalidRow,
    InvalidRows,
    LedgerError,
    MalformedResponse,
    OversoldError,
    ProviderUnavailable,
    QuoteError,
    RateLimited,
    SchemaError,
    StoreBusy,
    StoreError,
    SymbolNotFound,
    TradeError,
    WorkbenchError,
)

__version__ = "0.1.0"

__all__ = [
    "InvalidRow",
    "InvalidRows",
    "LedgerError",
    "MalformedResponse",
    "OversoldError",
    "ProviderUnavailable",
    "QuoteError",
    "RateLimited",
    "SchemaError",
    "StoreBusy",
    "StoreError",
    "SymbolNotFound",
    "TradeError",
    "WorkbenchError",
    "__version__",
]
