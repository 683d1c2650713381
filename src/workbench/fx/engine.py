"""The one place the FX package touches the quote engine: requests, retries, limits, fallback.

FX sources run on the same engine as quotes. Each source is a quote ``Provider`` whose
"symbol" is a currency pair ``BASE/QUOTE`` and whose daily "bars" carry the rate as the
close; :func:`run_pairs` hands them to :func:`workbench.quotes.fetch_history`, which brings
the worker pool, per-provider token buckets, retries with backoff and ``Retry-After``, circuit
breakers, ordered fallback and progress. Only this module imports from ``workbench.quotes``,
so changes to the engine's internals meet the FX package here and nowhere else.

Re-exported for the sources: :class:`Bar`, :class:`History`, :func:`get_body` (one GET with
status mapping), :func:`yahoo_history` (the quotes package's Yahoo chart provider, which
already reads ``EURUSD=X``), :func:`join_url`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.errors import QuoteError
from workbench.quotes.base import Bar, History, check_status, json_body

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Bar",
    "History",
    "PairResult",
    "get_body",
    "join_url",
    "make_client",
    "run_pairs",
    "yahoo_history",
]

#: the in-process demo app's address (never contacted over a network)
IN_PROCESS_URL = "http://demo.invalid"


def join_url(base_url: str, path: str) -> str:
    """``base_url`` (scheme, host, port and any prefix) followed by the source's own path."""
    from workbench.quotes.providers._common import join_url as join

    return join(base_url, path)


def make_client(*, concurrency: int = 8, timeout: float = 30.0) -> httpx.AsyncClient:
    """The quote engine's default HTTP client (use it as ``async with``)."""
    from workbench.quotes import make_client as make

    return make(concurrency=concurrency, timeout=timeout)


async def get_body(
    client: httpx.AsyncClient,
    url: str,
    *,
    source: str,
    pair: str,
    params: Mapping[str, str | int] | None = None,
    statuses: Mapping[int, Callable[[httpx.Response], Exception | None]] | None = None,
) -> httpx.Response:
    """One GET through the engine's request helper; an error status becomes a ``QuoteError``.

    ``statuses`` maps a status to a function that reads the body and returns the error to
    raise (or None to fall through to the common mapping: 404 not found, 429 rate limited
    with ``Retry-After``, 5xx unavailable). Timeouts and refused connections are
    ``ProviderUnavailable``, so the engine retries them.
    """
    from workbench.quotes.providers._common import send

    response = await send(client, url, provider=source, symbol=pair, params=params)
    handler = (statuses or {}).get(response.status_code)
    if handler is not None:
        error = handler(response)
        if error is not None:
            raise error
    check_status(response, provider=source, symbol=pair)
    return response


def body_json(response: httpx.Response, *, source: str, pair: str) -> object:
    """The decoded JSON body, or ``MalformedResponse`` quoting its first 60 characters."""
    return json_body(response, provider=source, symbol=pair, excerpt=60)


async def yahoo_history(
    client: httpx.AsyncClient, base_url: str | None, symbol: str, start: dt.date, end: dt.date
) -> History:
    """Daily closes of a Yahoo chart symbol (``EURUSD=X``) through the quotes' Yahoo provider."""
    from workbench.quotes.providers.yahoo import YahooProvider

    return await YahooProvider(base_url=base_url).fetch_history(client, symbol, start, end)


@dataclass(frozen=True, slots=True)
class PairResult:
    """The outcome for one pair: its rates, or a short error reason and the full message."""

    base: str
    quote: str
    rates: list[tuple[dt.date, float]]
    source: str | None
    error: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the source answered (possibly with no rates in the range)."""
        return self.error is None


async def run_pairs(
    pairs: Sequence[tuple[str, str]],
    sources: Sequence[Any],
    *,
    start: dt.date,
    end: dt.date,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 8,
    timeout: float = 30.0,  # noqa: ASYNC109 (per attempt, as in the quote engine)
    retries: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[PairResult]:
    """Fetch daily rates of every pair from the first source that answers, in request order.

    Args:
        pairs: (base, quote) codes; each source checks it publishes the pair.
        sources: FX sources in fallback order (see :mod:`workbench.fx.sources`).
        client: an HTTP client to share; None lets the engine open one for the call.
        on_progress: called with (pairs done, pairs in all) as results arrive.
    """
    from workbench.quotes import fetch_history

    if not sources:
        raise QuoteError("no FX source given")
    symbols = [f"{base}/{quote}" for base, quote in pairs]
    results = await fetch_history(
        symbols,
        start=start,
        end=end,
        provider=list(sources),
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        on_progress=on_progress,
    )
    out: list[PairResult] = []
    for (base, quote), result in zip(pairs, results, strict=True):
        history = result.history
        rates = [(bar.date, bar.close) for bar in history.bars] if history is not None else []
        out.append(
            PairResult(
                base=base,
                quote=quote,
                rates=rates,
                source=result.provider,
                error=result.error,
                message=result.message,
            )
        )
    return out
