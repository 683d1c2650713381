"""Synthetic market: the demo instruments and their deterministic daily price paths.

Everything here is invented. Symbols and company names are fictional, so demo prices can never
be mistaken for real market data. A price path depends only on ``(seed, symbol)``: the random
walk starts at a fixed epoch (:data:`EPOCH`, 2015-01-01) and runs forward over business days,
so the bars of any window are the same as the bars of that window inside a longer request.
Each path is scaled so that it closes at its instrument's ``base_price`` on :data:`ANCHOR`
(2021-01-04, the first day of the demo ledger).

Bars are *unadjusted*, as traded on the day: on a split date the open and close drop by the
split ratio and the volume rises by it.

    >>> bars = daily_bars("ACME", start=date(2022, 6, 1), end=date(2022, 6, 10))
    >>> latest_price("U00042", seed=7, at=datetime(2025, 3, 4, 15, 30, tzinfo=UTC))

Symbols outside :data:`DEMO_INSTRUMENTS` (the generated universe ``U00001``... or any other
string) get parameters derived from a stable hash of the symbol, so every string has a path.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

#: the first business day of every synthetic price path
EPOCH = date(2015, 1, 1)
#: the day on which every path closes at its instrument's ``base_price``
ANCHOR = date(2021, 1, 4)
#: note put on every generated row, so demo data is always labelled as such
DEMO_NOTE = "synthetic demo data"

_UNIVERSE_PREFIX = "U"
_UNIVERSE_DIGITS = 5


@dataclass(frozen=True)
class Split:
    """A stock split effective at the open of ``date``: ``new`` shares for every ``old``."""

    date: date
    new: int
    old: int

    @property
    def ratio(self) -> str:
        """The ledger's ``new:old`` notation, e.g. ``4:1``."""
        return f"{self.new}:{self.old}"

    @property
    def factor(self) -> float:
        """Shares after per share before (4.0 for 4:1)."""
        return self.new / self.old


@dataclass(frozen=True)
class DemoInstrument:
    """One synthetic instrument and the parameters of its price walk."""

    symbol: str
    name: str
    asset_class: str
    sector: str
    currency: str
    #: the close on :data:`ANCHOR` (before any later split)
    base_price: float
    #: annual drift and volatility of the log price (fractions)
    drift: float = 0.07
    volatility: float = 0.25
    #: typical daily volume in shares (before any split)
    volume: float = 1_000_000.0
    splits: tuple[Split, ...] = ()
    #: yearly dividend per share as a fraction of price (0 for none)
    dividend_yield: float = 0.0


def _eq(
    symbol: str, name: str, sector: str, currency: str, base: float, **kw: Any
) -> DemoInstrument:
    return DemoInstrument(symbol, name, "equity", sector, currency, base, **kw)


DEMO_INSTRUMENTS: tuple[DemoInstrument, ...] = (
    # US equities
    _eq("ACME", "Acme Robotics (synthetic)", "Technology", "USD", 180.0, drift=0.14,
        volatility=0.32, splits=(Split(date(2022, 6, 6), 4, 1),), dividend_yield=0.004),
    _eq("NWND", "Northwind Software (synthetic)", "Technology", "USD", 320.0, drift=0.11,
        volatility=0.28, dividend_yield=0.008),
    _eq("GLBX", "Globex Semiconductors (synthetic)", "Technology", "USD", 95.0, drift=0.16,
        volatility=0.42),
    _eq("INIT", "Initech Health (synthetic)", "Healthcare", "USD", 140.0, drift=0.07,
        volatility=0.22, dividend_yield=0.017),
    _eq("UMBR", "Umbrella Pharma (synthetic)", "Healthcare", "USD", 62.0, drift=0.04,
        volatility=0.30, dividend_yield=0.025),
    _eq("STRK", "Stark Energy (synthetic)", "Energy", "USD", 75.0, drift=0.05, volatility=0.33,
        dividend_yield=0.038),
    _eq("WAYN", "Wayne Financial (synthetic)", "Financials", "USD", 48.0, drift=0.06,
        volatility=0.26, dividend_yield=0.029),
    _eq("TYRL", "Tyrell Consumer (synthetic)", "Consumer Discretionary", "USD", 210.0,
        drift=0.09, volatility=0.29, dividend_yield=0.006),
    _eq("SOYL", "Soylent Foods (synthetic)", "Consumer Staples", "USD", 55.0, drift=0.05,
        volatility=0.17, dividend_yield=0.031),
    _eq("CYBD", "Cyberdyne Industrials (synthetic)", "Industrials", "USD", 120.0, drift=0.08,
        volatility=0.25, splits=(Split(date(2023, 9, 18), 3, 2),), dividend_yield=0.015),
    # euro-area equities
    _eq("VHLF", "Vehlfeld Automobil (synthetic)", "Consumer Discretionary", "EUR", 88.0,
        drift=0.04, volatility=0.30, dividend_yield=0.035),
    _eq("BRGN", "Bergen Chemie (synthetic)", "Materials", "EUR", 64.0, drift=0.03,
        volatility=0.24, dividend_yield=0.033),
    _eq("LMRA", "Lumera Bank (synthetic)", "Financials", "EUR", 12.0, drift=0.05,
        volatility=0.31, dividend_yield=0.045),
    _eq("SOLV", "Solvane Energie (synthetic)", "Utilities", "EUR", 22.0, drift=0.03,
        volatility=0.18, dividend_yield=0.042),
    _eq("ZEIT", "Zeitwerk Industrie (synthetic)", "Industrials", "EUR", 150.0, drift=0.09,
        volatility=0.24, splits=(Split(date(2024, 3, 11), 2, 1),), dividend_yield=0.018),
    # a London listing quoted in pence (GBp): 1/100 of a pound
    _eq("TMSE", "Thamesbury Estates (synthetic)", "Real Estate", "GBp", 240.0, drift=0.04,
        volatility=0.21, dividend_yield=0.045),
    # funds
    DemoInstrument("WBUS", "Demo US Total Market ETF (synthetic)", "etf", "Broad market", "USD",
                   250.0, drift=0.08, volatility=0.17, volume=4_000_000.0, dividend_yield=0.014),
    DemoInstrument("WBEU", "Demo Europe 600 ETF (synthetic)", "etf", "Broad market", "EUR", 45.0,
                   drift=0.05, volatility=0.16, volume=2_000_000.0, dividend_yield=0.025),
    DemoInstrument("WBBD", "Demo Aggregate Bond ETF (synthetic)", "bond", "Fixed income", "USD",
                   100.0, drift=0.015, volatility=0.05, volume=3_000_000.0, dividend_yield=0.032),
    # crypto (traded here on business days only, like everything else in the demo market)
    DemoInstrument("DMC-USD", "DemoCoin (synthetic)", "crypto", "Crypto", "USD", 9000.0,
                   drift=0.25, volatility=0.70, volume=30_000.0),
    DemoInstrument("SYN-USD", "SynthEther (synthetic)", "crypto", "Crypto", "USD", 600.0,
                   drift=0.30, volatility=0.75, volume=250_000.0),
)  # fmt: skip

_BY_SYMBOL = {inst.symbol: inst for inst in DEMO_INSTRUMENTS}
_UNIVERSE_SECTORS = (
    "Technology", "Healthcare", "Financials", "Energy", "Industrials",
    "Consumer Discretionary", "Consumer Staples", "Materials", "Utilities",
)  # fmt: skip


def demo_instruments_frame() -> pl.DataFrame:
    """The demo instruments as a frame: symbol, name, asset_class, sector, currency."""
    import polars as pl

    return pl.DataFrame(
        {
            "symbol": [i.symbol for i in DEMO_INSTRUMENTS],
            "name": [i.name for i in DEMO_INSTRUMENTS],
            "asset_class": [i.asset_class for i in DEMO_INSTRUMENTS],
            "sector": [i.sector for i in DEMO_INSTRUMENTS],
            "currency": [i.currency for i in DEMO_INSTRUMENTS],
        },
        schema={c: pl.String for c in ("symbol", "name", "asset_class", "sector", "currency")},
    )


def universe_symbol(i: int) -> str:
    """The ``i``-th generated universe symbol, 1-based: ``universe_symbol(1) == "U00001"``."""
    if not 1 <= i < 10**_UNIVERSE_DIGITS:
        raise ValueError(f"universe index must be in 1..{10**_UNIVERSE_DIGITS - 1}, got {i}")
    return f"{_UNIVERSE_PREFIX}{i:0{_UNIVERSE_DIGITS}d}"


def is_universe_symbol(symbol: str) -> bool:
    """Whether ``symbol`` is a generated universe symbol (``U`` and five digits, not U00000)."""
    digits = symbol[1:]
    return (
        len(symbol) == _UNIVERSE_DIGITS + 1
        and symbol.startswith(_UNIVERSE_PREFIX)
        and digits.isascii()
        and digits.isdigit()
        and int(digits) > 0
    )


def _digest(*parts: object) -> int:
    """A stable 128-bit integer from ``parts`` (never Python's salted ``hash()``)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")


def _unit(h: int, slot: int) -> float:
    """A number in [0, 1) taken from 16 bits of ``h``."""
    return ((h >> (16 * slot)) & 0xFFFF) / 65536.0


@lru_cache(maxsize=65536)
def instrument_for(symbol: str) -> DemoInstrument:
    """The demo instrument named ``symbol``, or generated parameters for any other symbol.

    Generated instruments are US equities whose base price, drift, volatility and sector come
    from a stable hash of the symbol (not of the seed), so the universe looks the same for
    every seed while its paths differ.
    """
    known = _BY_SYMBOL.get(symbol)
    if known is not None:
        return known
    h = _digest("instrument", symbol)
    base = round(5.0 * math.exp(_unit(h, 0) * math.log(100.0)), 2)  # 5 .. 500, log-uniform
    sector = _UNIVERSE_SECTORS[int(_unit(h, 4) * len(_UNIVERSE_SECTORS))]
    label = f"Universe {symbol}" if is_universe_symbol(symbol) else symbol
    return DemoInstrument(
        symbol=symbol,
        name=f"{label} (synthetic)",
        asset_class="equity",
        sector=sector,
        currency="USD",
        base_price=base,
        drift=-0.04 + 0.2 * _unit(h, 1),
        volatility=0.15 + 0.4 * _unit(h, 2),
        volume=20_000.0 + 2_000_000.0 * _unit(h, 3),
        dividend_yield=0.0 if _unit(h, 5) < 0.5 else 0.04 * _unit(h, 6),
    )


@lru_cache(maxsize=4096)
def _busdays_before(day: date) -> int:
    """Business days from EPOCH up to but excluding ``day`` (0 for days before the epoch)."""
    import numpy as np

    return max(int(np.busday_count(np.datetime64(EPOCH, "D"), np.datetime64(day, "D"))), 0)


def _factor(inst: DemoInstrument, dates: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per day, the product of the split factors already in effect (1 before any split)."""
    import numpy as np

    factor = np.ones(len(dates))
    for split in inst.splits:
        factor[dates >= np.datetime64(split.date, "D")] *= split.factor
    return factor


def _log_close(seed: int, symbol: str, n: int) -> np.ndarray[Any, Any]:
    """Split-adjusted log closes of the first ``n`` business days (``base_price`` at ANCHOR).

    One generator per stream draws one number per day in order, so the first ``k`` days of a
    longer path equal a shorter path: that is what makes every window agree with every other.
    """
    import numpy as np

    inst = instrument_for(symbol)
    anchor = _busdays_before(ANCHOR)
    rows = max(n, anchor + 1)
    z = np.random.default_rng(_digest("close", seed, symbol)).standard_normal(rows)
    dt = 1.0 / 252.0
    sigma = inst.volatility * math.sqrt(dt)
    mu = (inst.drift - 0.5 * inst.volatility**2) * dt
    # fatter tails than a normal walk, from the same draw: large shocks grow larger
    shock = z * np.where(np.abs(z) > 2.0, 1.6, 1.0)
    walk: np.ndarray[Any, Any] = np.cumsum(mu + sigma * shock)
    walk += math.log(inst.base_price) - walk[anchor]
    return walk[:n]


def _round_price(prices: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cents, or 4 decimals below 1, and never below one cent (like a real tape)."""
    import numpy as np

    rounded = np.where(prices < 1.0, np.round(prices, 4), np.round(prices, 2))
    return np.maximum(rounded, 0.01)


# a ten-year path is ~140 kB; a few dozen cover the demo set without holding much memory
@lru_cache(maxsize=64)
def _path(seed: int, symbol: str, n: int) -> tuple[np.ndarray[Any, Any], ...]:
    """The first ``n`` business days: dates, open, high, low, close, volume (read-only)."""
    import numpy as np

    inst = instrument_for(symbol)
    dates = np.busday_offset(np.datetime64(EPOCH, "D"), np.arange(n), roll="forward")
    close = np.exp(_log_close(seed, symbol, n))
    z = np.random.default_rng(_digest("bar", seed, symbol)).standard_normal((n, 4))
    sigma = inst.volatility / math.sqrt(252.0)
    first = close[0] * math.exp(-sigma * z[0, 0]) if n else 0.0
    prev = np.concatenate(([first], close[:-1]))
    open_ = prev * np.exp(0.25 * sigma * z[:, 0])
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * np.abs(z[:, 1]))
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * np.abs(z[:, 2]))
    volume = inst.volume * np.exp(0.35 * z[:, 3] - 0.06)
    # unadjusted: prices divided by the splits already in effect, volume multiplied by them
    factor = _factor(inst, dates)
    out = (
        dates,
        _round_price(open_ / factor),
        _round_price(high / factor),
        _round_price(low / factor),
        _round_price(close / factor),
        np.round(volume * factor),
    )
    for arr in out:
        arr.flags.writeable = False
    return out


def daily_bars(symbol: str, *, seed: int = 7, start: date, end: date) -> pl.DataFrame:
    """Unadjusted daily bars of ``symbol`` on business days in [start, end].

    Deterministic for ``(seed, symbol)`` and independent of the window asked for. The path
    begins at :data:`EPOCH`; days before it have no bars.

    Returns:
        A frame with date (Date), open, high, low, close, volume (Float64), sorted by date.
    """
    import polars as pl

    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    n = _busdays_before(date.fromordinal(end.toordinal() + 1))
    dates, open_, high, low, close, volume = _path(seed, symbol, n)
    first = min(_busdays_before(start), n)
    return pl.DataFrame(
        {
            "date": dates[first:],
            "open": open_[first:],
            "high": high[first:],
            "low": low[first:],
            "close": close[first:],
            "volume": volume[first:],
        },
        schema={
            "date": pl.Date, "open": pl.Float64, "high": pl.Float64, "low": pl.Float64,
            "close": pl.Float64, "volume": pl.Float64,
        },
    )  # fmt: skip


def prices_frame(symbols: list[str], *, seed: int = 7, start: date, end: date) -> pl.DataFrame:
    """Daily bars of many symbols in one frame, the same bars :func:`daily_bars` gives.

    Built from whole arrays (no frame per symbol), for the thousands of universe symbols of
    the scaled demo.

    Returns:
        symbol, date, open, high, low, close, volume, currency; sorted by symbol order given,
        then date.
    """
    import numpy as np
    import polars as pl

    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    n = _busdays_before(date.fromordinal(end.toordinal() + 1))
    first = min(_busdays_before(start), n)
    parts: list[list[np.ndarray[Any, Any]]] = [[] for _ in range(6)]
    for symbol in symbols:
        # bypass the cache: each symbol is needed once and would only evict others
        for column, arr in zip(parts, _path.__wrapped__(seed, symbol, n), strict=True):
            column.append(arr[first:])
    days = n - first
    index = np.repeat(np.arange(len(symbols)), days)
    currencies = [instrument_for(s).currency for s in symbols]
    empty = np.array([], dtype=float)
    dates, open_, high, low, close, volume = (
        np.concatenate(column) if column else empty for column in parts
    )
    return pl.DataFrame(
        {
            "symbol": pl.Series(symbols, dtype=pl.String).gather(index),
            "date": pl.Series(dates, dtype=pl.Date),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "currency": pl.Series(currencies, dtype=pl.String).gather(index),
        }
    )


def latest_price(symbol: str, *, seed: int = 7, at: datetime) -> float:
    """A live-looking price at ``at``: the previous close plus a deterministic intraday move.

    The move grows with the time of day (UTC), like a random walk since midnight, and changes
    from minute to minute; the same ``(seed, symbol, at)`` always gives the same price.
    A naive ``at`` is taken as UTC.
    """
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    today = moment.date()
    inst = instrument_for(symbol)
    # the last close strictly before today, so prices move during the day
    prev_close = _close_before(seed, symbol, _busdays_before(today))
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    fraction = seconds / 86_400.0
    day_h = _digest("day", seed, symbol, today.isoformat())
    minute_h = _digest("minute", seed, symbol, today.isoformat(), seconds // 60)
    sigma = inst.volatility / math.sqrt(252.0)
    z_day = _gauss(day_h)
    z_minute = _gauss(minute_h)
    move = sigma * (math.sqrt(fraction) * z_day + 0.05 * z_minute)
    price = prev_close * math.exp(move)
    return max(round(price, 4 if price < 1 else 2), 0.01)


# the quote server asks for thousands of symbols; one float per (seed, symbol, day) is cheap,
# and only the close stream is drawn, not whole bars
@lru_cache(maxsize=65536)
def _close_before(seed: int, symbol: str, n: int) -> float:
    """The unadjusted close of business day ``n - 1`` (the base price when ``n == 0``)."""
    import numpy as np

    inst = instrument_for(symbol)
    if n == 0:
        return inst.base_price
    last_day = np.busday_offset(np.datetime64(EPOCH, "D"), n - 1, roll="forward")
    close = math.exp(float(_log_close(seed, symbol, n)[-1]))
    factor = float(_factor(inst, np.array([last_day]))[0])
    return float(_round_price(np.array([close / factor]))[0])


def _gauss(h: int) -> float:
    """A standard normal number from a hash (Box-Muller on two 32-bit halves)."""
    u1 = ((h & 0xFFFFFFFF) + 1) / 4_294_967_297.0
    u2 = ((h >> 32) & 0xFFFFFFFF) / 4_294_967_296.0
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
