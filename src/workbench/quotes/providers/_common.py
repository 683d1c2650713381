"""Pieces every provider shares: URLs, the one request, number and time decoding.

Providers stay small by leaning on these: :func:`send` is the only place an HTTP request is
made (and transport failures become ``ProviderUnavailable``), :func:`malformed` turns any
lookup or conversion error while reading a body into ``MalformedResponse``, and the time
helpers keep milliseconds-versus-seconds and exchange-local dates in one place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import urllib.parse
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from workbench.errors import MalformedResponse, ProviderUnavailable, QuoteError, SymbolNotFound

#: Currencies some exchanges quote in minor units: code -> (major code, divisor).
#: Yahoo reports London prices as ``GBp`` (pence), Johannesburg as ``ZAc``, Tel Aviv as ``ILA``.
MINOR_UNITS: dict[str, tuple[str, int]] = {
    "GBp": ("GBP", 100),
    "GBX": ("GBP", 100),
    "ZAc": ("ZAR", 100),
    "ZAC": ("ZAR", 100),
    "ILA": ("ILS", 100),
}

_MS_PER_DAY = 86_400_000

_T = TypeVar("_T")


def join_url(base_url: str, path: str) -> str:
    """``base_url`` (scheme, host, port and any prefix) followed by the provider's own path."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def path_segment(symbol: str) -> str:
    """``symbol`` encoded for use as one URL path segment.

    ``=`` stays readable (``EURUSD=X``); ``/``, ``?``, ``#`` and ``^`` are escaped so a symbol can
    never change the request path or query.
    """
    return urllib.parse.quote(symbol, safe="=")


def require_symbol(symbol: str, *, provider: str) -> str:
    """``symbol`` stripped of surrounding space; an empty one is ``SymbolNotFound``."""
    cleaned = symbol.strip()
    if not cleaned:
        raise SymbolNotFound(f"{provider}: empty symbol")
    return cleaned


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    symbol: str,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One GET; timeouts and connection failures become ``ProviderUnavailable``.

    A redirect the client did not follow is a ``QuoteError`` naming the target host.

    The original httpx exception is kept as ``__cause__`` (the engine can tell a timeout
    from a refused connection). Its text is not copied into the message because the
    request URL may carry an API key.
    """
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(f"{provider}: {symbol}: timed out") from exc
    except httpx.TransportError as exc:
        kind = type(exc).__name__
        raise ProviderUnavailable(f"{provider}: {symbol}: connection failed ({kind})") from exc
    except httpx.RequestError as exc:  # bad encoding, too many redirects
        kind = type(exc).__name__
        raise ProviderUnavailable(f"{provider}: {symbol}: request failed ({kind})") from exc
    except httpx.InvalidURL as exc:
        raise QuoteError(f"{provider}: invalid base URL") from exc
    if response.is_redirect:
        # e.g. Yahoo's EU consent page; following it would only produce HTML. Name the host
        # only: the location may repeat the query string (and an API key in it).
        try:
            host = httpx.URL(response.headers.get("location", "")).host or "elsewhere"
        except httpx.InvalidURL:
            host = "elsewhere"
        raise QuoteError(
            f"{provider}: {symbol}: redirected to {host} (HTTP {response.status_code})"
        )
    return response


def try_json(response: httpx.Response) -> Any:
    """The decoded body, or None when it is not JSON (for reading error bodies)."""
    try:
        return response.json()
    except ValueError:
        return None


@contextlib.contextmanager
def malformed(provider: str, symbol: str) -> Iterator[None]:
    """Turn a missing key, wrong type or bad number inside the block into ``MalformedResponse``."""
    try:
        yield
    # OverflowError/OSError: datetime.fromtimestamp on an absurd stamp (no I/O happens here)
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,
        OSError,
    ) as exc:
        detail = f"{type(exc).__name__}: {exc}"[:120]
        raise MalformedResponse(f"{provider}: {symbol}: unexpected response ({detail})") from exc


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a JSON object; ``TypeError`` otherwise (see :func:`malformed`)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def as_list(value: object) -> list[Any]:
    """``value`` when it is a JSON array; ``TypeError`` otherwise (see :func:`malformed`)."""
    if not isinstance(value, list):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return value


def to_float(value: object) -> float:
    """A finite float from a JSON number or decimal string (Binance, Alpha Vantage send strings).

    Raises ``ValueError`` for null, booleans, non-numeric text and NaN/inf.
    """
    if value is None or isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def optional_float(value: object) -> float | None:
    """Like :func:`to_float` but null stays None."""
    return None if value is None else to_float(value)


def to_int(value: object) -> int:
    """An integer from a JSON number or digit string (ccxt recordings store Binance ids as text)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"not an integer: {value!r}")
    return int(value)


def from_epoch_seconds(seconds: object) -> dt.datetime:
    """An aware UTC datetime from Unix seconds."""
    return dt.datetime.fromtimestamp(to_int(seconds), tz=dt.UTC)


def from_epoch_ms(ms: object) -> dt.datetime:
    """An aware UTC datetime from Unix milliseconds (Binance, CoinGecko)."""
    return dt.datetime.fromtimestamp(to_int(ms) / 1000, tz=dt.UTC)


def utc_day_of_ms(ms: object) -> dt.date:
    """The UTC calendar date of a Unix-millisecond instant."""
    return from_epoch_ms(ms).date()


def day_ending_at_ms(ms: object) -> dt.date:
    """The UTC date whose day an instant closes: exactly 00:00 belongs to the day before.

    CoinGecko stamps daily prices at 00:00 UTC; that price is the close of the previous day.
    """
    return dt.date(1970, 1, 1) + dt.timedelta(days=(to_int(ms) - 1) // _MS_PER_DAY)


def epoch_seconds(day: dt.date) -> int:
    """Unix seconds of 00:00 UTC on ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def epoch_ms(day: dt.date) -> int:
    """Unix milliseconds of 00:00 UTC on ``day``."""
    return epoch_seconds(day) * 1000


def exchange_zone(name: object, gmtoffset: object) -> dt.tzinfo:
    """The exchange's time zone by IANA name, else its fixed UTC offset, else UTC.

    A fixed offset is a fallback only: Yahoo's ``gmtoffset`` is the offset when the request was
    made, not the one in force on each historical bar's date (daylight saving).
    """
    if isinstance(name, str) and name:
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo(name)
    if isinstance(gmtoffset, int) and not isinstance(gmtoffset, bool):
        return dt.timezone(dt.timedelta(seconds=gmtoffset))
    return dt.UTC


def major_currency(code: object) -> tuple[str | None, int]:
    """``(currency, divisor)``: minor-unit codes such as ``GBp`` become ``("GBP", 100)``."""
    if not isinstance(code, str) or not code:
        return None, 1
    return MINOR_UNITS.get(code, (code, 1))


def last_per_day(items: Iterable[tuple[dt.date, _T]]) -> list[tuple[dt.date, _T]]:
    """Items keyed by date, one per date (the last seen wins), oldest first."""
    by_day: dict[dt.date, _T] = {}
    for day, item in items:
        by_day[day] = item
    return sorted(by_day.items(), key=lambda pair: pair[0])


def outside(day: dt.date, start: dt.date | None, end: dt.date | None) -> bool:
    """Whether ``day`` falls outside ``[start, end]`` (a None bound is open)."""
    return (start is not None and day < start) or (end is not None and day > end)


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC (the default clock of providers that need one)."""
    return dt.datetime.now(dt.UTC)
