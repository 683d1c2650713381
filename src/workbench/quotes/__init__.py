"""Async quote fetching: providers, the fetch engine and the local quote server."""

from __future__ import annotations

from workbench.quotes.base import Bar, History, Provider, Quote

__all__ = ["Bar", "History", "Provider", "Quote"]
