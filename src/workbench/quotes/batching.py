"""The quote path of the engine: symbols in batches where a provider takes them, singles elsewhere.

A call becomes a queue of jobs, each a list of symbols for one provider (by its position in the
fallback order); ``concurrency`` workers take jobs from it:

- a provider with a batch request (:class:`~workbench.quotes.base.BatchProvider`) gets its
  symbols in batches of its ``batch_size``; others, and batches of one, one symbol per request;
- a batch that fails as a whole (5xx, timeout, an unreadable body, a whole-batch "invalid
  symbol") is split in halves, and so on down to single symbols, which then get the usual
  retries; a provider that refuses batch requests as such (an older server) is asked one
  symbol at a time for the rest of the call; a 429 is pacing and the same batch waits;
- each symbol's own verdict from a batch (a quote, ``not found``, a malformed entry) is final
  at that provider, exactly as for a single request; a symbol missing from the answer is
  asked again on its own;
- a symbol that fails at one provider becomes a job for the next one; after the last it ends
  with the last real reason and a message listing every attempt's reason per provider.

A ``deadline`` (seconds) bounds the whole call: what has not finished by then ends as
``rate limited`` (the usual reason a run is still waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.errors import ProviderUnavailable, QuoteError, RateLimited
from workbench.quotes.base import BatchProvider, BatchUnsupported, Provider, Quote
from workbench.quotes.breaker import CLOSED

if TYPE_CHECKING:
    from workbench.quotes.engine import FetchSettings, QuoteResult
    from workbench.quotes.limits import Guards

Status = Callable[[str], None]

#: seconds between progress-status updates while a call waits on a provider
STATUS_INTERVAL = 0.5


async def report_waits(guards: Guards, on_status: Status) -> None:
    """Until cancelled, tell ``on_status`` what the call is waiting on, when that changes:
    a provider's pacing, a Retry-After pause, an open circuit (``""`` when nothing)."""
    shown = ""
    while True:
        await asyncio.sleep(STATUS_INTERVAL)
        waiting = [
            g.describe()
            for g in guards.all()
            if g.pacer.waiting or g.pacer.wait_left() > 0 or g.breaker.state != CLOSED
        ]
        text = "; ".join(w for w in waiting if w)
        if text != shown:
            on_status(f"waiting: {text}" if text else "")
            shown = text


@dataclass
class SymbolState:
    """One requested symbol on its way through the providers."""

    index: int
    symbol: str
    #: (provider name, error) for every failed attempt, in order
    errors: list[tuple[str, QuoteError]] = field(default_factory=list)
    attempts: int = 0


@dataclass
class Job:
    """Symbols to ask one provider (by position in the fallback order) in one request."""

    position: int
    states: list[SymbolState]


def describe_errors(errors: list[tuple[str, QuoteError]]) -> str:
    """Every attempt's reason per provider, then the last full message of each.

    e.g. ``workbench: unavailable, timeout (workbench: no answer within 1 s); demo: NOPE:
    unknown symbol NOPE`` (a provider tried once shows just its message).
    """
    parts: list[str] = []
    by_provider: dict[str, list[QuoteError]] = {}
    for name, error in errors:
        by_provider.setdefault(name, []).append(error)
    for name, errs in by_provider.items():
        if len(errs) == 1:
            parts.append(str(errs[0]))  # one attempt: its message says it all
            continue
        reasons = ", ".join(e.reason for e in errs)
        parts.append(f"{name}: {reasons} ({errs[-1]})")
    return "; ".join(parts)


class QuoteRun:
    """One call's quote fetching (see the module docstring)."""

    def __init__(
        self,
        symbols: list[str],
        settings: FetchSettings,
        *,
        concurrency: int,
        deadline: float | None,
        on_status: Status | None,
    ) -> None:
        self.symbols = symbols
        self.settings = settings
        self.concurrency = concurrency
        self.deadline = deadline
        self.on_status = on_status
        self.jobs: asyncio.Queue[Job] = asyncio.Queue()
        self.done: asyncio.Queue[tuple[int, QuoteResult]] = asyncio.Queue()
        self.states = [SymbolState(i, s) for i, s in enumerate(symbols)]
        self.finished: set[int] = set()
        self._batching: dict[int, bool] = {}

    # -- planning ----------------------------------------------------------------------------

    def _batches(self, provider: Provider) -> bool:
        """Whether ``provider`` takes batch requests (a Protocol isinstance is slow: cached)."""
        known = self._batching.get(id(provider))
        if known is None:
            known = self._batching[id(provider)] = isinstance(provider, BatchProvider)
        return known

    def _batch_size(self, provider: Provider) -> int:
        guard = self.settings.guards.get(provider)
        if not self._batches(provider) or not guard.batching:
            return 1
        return max(1, guard.limits.batch_size)

    def _enqueue(self, position: int, states: list[SymbolState]) -> None:
        """Queue ``states`` for the provider at ``position``, in batches where it takes them."""
        size = self._batch_size(self.settings.providers[position])
        for start in range(0, len(states), size):
            self.jobs.put_nowait(Job(position, states[start : start + size]))

    # -- finishing ---------------------------------------------------------------------------

    def _succeed(self, state: SymbolState, quote: Quote, provider: Provider) -> None:
        from workbench.quotes.engine import QuoteResult

        result = QuoteResult(
            symbol=state.symbol,
            quote=quote,
            provider=quote.provider or provider.name,
            attempts=state.attempts,
            fetched_at=dt.datetime.now(dt.UTC),
        )
        self._finish(state, result)

    def _fail(self, state: SymbolState, provider: str | None) -> None:
        from workbench.quotes.engine import failed_result

        result = failed_result(state.symbol, provider, state.errors, attempts=state.attempts)
        self._finish(state, result)

    def _finish(self, state: SymbolState, result: QuoteResult) -> None:
        if state.index in self.finished:
            return
        self.finished.add(state.index)
        self.done.put_nowait((state.index, result))

    def _failed_at(self, job: Job, states: list[SymbolState]) -> None:
        """``states`` failed at the job's provider: on to the next one, or finished."""
        if not states:
            return
        if job.position + 1 < len(self.settings.providers):
            self._enqueue(job.position + 1, states)
        else:
            name = self.settings.providers[job.position].name
            for state in states:
                self._fail(state, name)

    # -- one job -----------------------------------------------------------------------------

    async def _run_job(self, job: Job) -> None:
        settings = self.settings
        provider = settings.providers[job.position]
        guard = settings.guards.get(provider)
        client = await settings.clients.for_provider(provider)
        last = job.position == len(settings.providers) - 1
        if len(job.states) == 1 or not self._batches(provider):
            for state in job.states:
                await self._run_single(job, state, provider, client, last)
            return
        symbols = [s.symbol for s in job.states]
        outcome = await settings.attempts.run(
            guard,
            lambda: provider.fetch_quotes(client, symbols),  # type: ignore[attr-defined]
            last_provider=last,
            cost=provider.request_cost(len(symbols)),  # type: ignore[attr-defined]
            retries=0,  # a failed batch is split instead
        )
        for state in job.states:
            state.attempts += outcome.sent
        if outcome.value is not None:
            retry_alone: list[SymbolState] = []
            failed: list[SymbolState] = []
            for state in job.states:
                answer = outcome.value.get(state.symbol)
                if isinstance(answer, Quote):
                    self._succeed(state, answer, provider)
                elif isinstance(answer, QuoteError):
                    state.errors.append((provider.name, answer))
                    failed.append(state)
                else:
                    retry_alone.append(state)
            for state in retry_alone:
                self.jobs.put_nowait(Job(job.position, [state]))
            self._failed_at(job, failed)
            return
        if outcome.errors and isinstance(outcome.errors[-1], BatchUnsupported):
            guard.batching = False
            for state in job.states:
                self.jobs.put_nowait(Job(job.position, [state]))
            return
        for state in job.states:
            state.errors.extend((provider.name, e) for e in outcome.errors)
        if outcome.blocked:
            self._failed_at(job, job.states)
            return
        half = (len(job.states) + 1) // 2
        self.jobs.put_nowait(Job(job.position, job.states[:half]))
        self.jobs.put_nowait(Job(job.position, job.states[half:]))

    async def _run_single(
        self, job: Job, state: SymbolState, provider: Provider, client: object, last: bool
    ) -> None:
        guard = self.settings.guards.get(provider)
        cost = provider.request_cost(1) if self._batches(provider) else 1.0  # type: ignore[attr-defined]
        outcome = await self.settings.attempts.run(
            guard,
            lambda: provider.fetch_quote(client, state.symbol),  # type: ignore[arg-type]
            last_provider=last,
            cost=cost,
        )
        state.attempts += outcome.sent
        if outcome.value is not None:
            self._succeed(state, outcome.value, provider)
            return
        state.errors.extend((provider.name, e) for e in outcome.errors)
        self._failed_at(job, [state])

    # -- the run -----------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            job = await self.jobs.get()
            try:
                await self._run_job(job)
            except Exception as exc:  # a bug must not lose symbols: they end with its reason
                error = exc if isinstance(exc, QuoteError) else ProviderUnavailable(str(exc))
                name = self.settings.providers[job.position].name
                for state in job.states:
                    state.errors.append((name, error))
                    self._fail(state, name)

    async def stream(self) -> AsyncGenerator[tuple[int, QuoteResult]]:
        """Yield ``(index, result)`` for every symbol as it finishes."""
        if not self.states:
            return
        self._enqueue(0, self.states)
        tasks = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        if self.on_status is not None:
            tasks.append(asyncio.create_task(report_waits(self.settings.guards, self.on_status)))
        ends = None if self.deadline is None else time.monotonic() + self.deadline
        try:
            yielded = 0
            while yielded < len(self.states):
                try:
                    left = None if ends is None else max(0.0, ends - time.monotonic())
                    async with asyncio.timeout(left):
                        pair = await self.done.get()
                except TimeoutError:
                    break
                yielded += 1
                yield pair
            if yielded < len(self.states):
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self._out_of_time()
                while not self.done.empty():
                    yield self.done.get_nowait()
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks, return_exceptions=True)

    def _out_of_time(self) -> None:
        """The deadline passed: every unfinished symbol ends as ``rate limited``."""
        for state in self.states:
            if state.index in self.finished:
                continue
            name = self.settings.providers[0].name
            if state.errors:
                name = state.errors[-1][0]
            state.errors.append(
                (name, RateLimited(f"{name}: the deadline of {self.deadline:g} s passed first"))
            )
            self._fail(state, name)
