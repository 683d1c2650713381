"""Deterministic synthetic demo data: instruments, daily prices and a ledger, all invented."""

from __future__ import annotations

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
    universe_symbol,
)

__all__ = [
    "ANCHOR",
    "DEMO_INSTRUMENTS",
    "DEMO_NOTE",
    "EPOCH",
    "DemoInstrument",
    "Split",
    "daily_bars",
    "demo_instruments_frame",
    "instrument_for",
    "is_universe_symbol",
    "latest_price",
    "universe_symbol",
]
