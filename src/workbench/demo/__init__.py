"""Deterministic synthetic demo data: instruments, daily prices and a ledger, all invented."""

from __future__ import annotations

from workbench.demo.build import DemoData, DemoSummary, generate, write_demo
from workbench.demo.market import (
    ANCHOR,
    DEMO_INSTRUMENTS,
    DEMO_NOTE,
    EPOCH,
    DemoInstrument,
    Split,
    daily_bars,
    demo_instruments_frame,
    instrument_for,
    is_universe_symbol,
    latest_price,
    prices_frame,
    universe_symbol,
)

__all__ = [
    "ANCHOR",
    "DEMO_INSTRUMENTS",
    "DEMO_NOTE",
    "EPOCH",
    "DemoData",
    "DemoInstrument",
    "DemoSummary",
    "Split",
    "daily_bars",
    "demo_instruments_frame",
    "generate",
    "instrument_for",
    "is_universe_symbol",
    "latest_price",
    "prices_frame",
    "universe_symbol",
    "write_demo",
]
