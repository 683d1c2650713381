"""workbench: a notebook-native portfolio and market-data workbench.

The errors are imported eagerly; the entry points load their modules (Polars, DuckDB, httpx)
on first use, so ``import workbench`` and ``workbench --help`` stay fast.

    import workbench
    workbench.import_csv("data/workbench.duckdb", "trades.csv")
    report = workbench.load_report("data/workbench.duckdb", cost_method="fifo")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    FXError,
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
    UnknownCurrency,
    WorkbenchError,
)

if TYPE_CHECKING:
    from workbench.analytics import areport, build_report, load_report
    from workbench.demo import generate, write_demo
    from workbench.fx import rates_for
    from workbench.ledger import import_csv, import_frame, record_trade
    from workbench.quotes import fetch_history, fetch_quotes, make_client
    from workbench.store import connect

__version__ = "0.1.0"

#: lazily imported entry points: name -> module that defines it
_LAZY = {
    "areport": "workbench.analytics",
    "build_report": "workbench.analytics",
    "connect": "workbench.store",
    "fetch_history": "workbench.quotes",
    "fetch_quotes": "workbench.quotes",
    "generate": "workbench.demo",
    "import_csv": "workbench.ledger",
    "import_frame": "workbench.ledger",
    "load_report": "workbench.analytics",
    "make_client": "workbench.quotes",
    "rates_for": "workbench.fx",
    "record_trade": "workbench.ledger",
    "write_demo": "workbench.demo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FXError",
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
    "UnknownCurrency",
    "WorkbenchError",
    "__version__",
    "areport",
    "build_report",
    "connect",
    "fetch_history",
    "fetch_quotes",
    "generate",
    "import_csv",
    "import_frame",
    "load_report",
    "make_client",
    "rates_for",
    "record_trade",
    "write_demo",
]
