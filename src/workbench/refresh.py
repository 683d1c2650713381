"""Scheduled refresh: latest quotes, missing daily history and FX rates for what the ledger holds.

One call a scheduler makes (``workbench refresh`` from cron or a systemd timer):

    result = await refresh("data/workbench.duckdb", provider="yahoo")
    print(result.summary())
    sys.exit(result.exit_code)

What is refreshed: every symbol held today (a non-zero position in any account) and the
benchmark, each with one latest quote and its daily bars from the day after its last stored
bar (or its first trade) to today; and, when the ledger holds currencies other than the base
currency, their daily reference FX rates (:func:`workbench.fx.fetch.fetch_rates`, from the
day after the last stored rate). Two refreshes of one database never overlap: the
refresh lock (``<db>.refresh.lock``, an ``fcntl.flock`` the kernel releases when the process
ends, however it ends) is taken first, and a second run raises :class:`RefreshLocked`
without doing anything.

Exit codes (:attr:`RefreshResult.exit_code`): 0 every request succeeded (or there was
nothing to fetch), 1 nothing could be fetched, 3 partial (some symbols failed; the summary
names them). :data:`EXIT_LOCKED` (75, ``EX_TEMPFAIL``: try again later) is the CLI's code
for a run that found the lock held.

The apps read :func:`last_fetch_times` to show how fresh their data is; the served apps
never refresh (they open the database read-only).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import config
from workbench.errors import RefreshLocked, StoreError, WorkbenchError, escape_controls

if TYPE_CHECKING:
    from workbench.fx.fetch import FetchReport
    from workbench.quotes.engine import ProviderSpec, QuoteResult
    from workbench.quotes.history import HistoryResult

#: every request succeeded, or nothing needed fetching
EXIT_OK = 0
#: no request succeeded
EXIT_NOTHING = 1
#: some requests succeeded and some failed
EXIT_PARTIAL = 3
#: another refresh of the database holds the lock (sysexits' EX_TEMPFAIL: try again later)
EXIT_LOCKED = 75


def lock_path(db: str | os.PathLike[str] | None) -> Path:
    """The refresh lock file beside the database: ``<db>.refresh.lock``."""
    target = config.db_path(db)
    return target.with_name(target.name + ".refresh.lock")


@contextmanager
def refresh_lock(db: str | os.PathLike[str] | None) -> Iterator[Path]:
    """Hold the refresh lock of ``db`` for the ``with`` block.

    An exclusive ``fcntl.flock`` on ``<db>.refresh.lock``, taken without waiting. The kernel
    drops it when the process ends (even on ``kill -9``), so a crashed run never leaves a
    stale lock; the file itself stays (removing it would let two runs lock two different
    files) and holds the holder's process id, for the message a second run prints.

    Raises:
        RefreshLocked: another process holds the lock.
        StoreError: the lock file cannot be opened (no permission, a symlink in its place).
    """
    import fcntl

    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_NOFOLLOW: a symlink planted at the lock path is refused, not followed and truncated
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open the refresh lock {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        holder = os.read(fd, 32).decode("ascii", "replace").strip()
        os.close(fd)
        raise RefreshLocked(path, int(holder) if holder.isdigit() else None) from exc
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@dataclass(frozen=True)
class Targets:
    """What a refresh fetches: symbols held today, the benchmark, and per symbol the first
    day of history it is missing."""

    held: list[str]
    benchmark: str | None
    #: per symbol, the first date to fetch bars from (after its last stored bar)
    history_start: dict[str, dt.date]
    #: currencies held (instruments and cash) other than the base currency, whose rates
    #: against it are refreshed
    foreign_currencies: list[str] = field(default_factory=list)

    @property
    def symbols(self) -> list[str]:
        """Held symbols, then the benchmark if it is not one of them."""
        extra = [self.benchmark] if self.benchmark and self.benchmark not in self.held else []
        return [*self.held, *extra]


def find_targets(
    db: str | os.PathLike[str] | None,
    *,
    benchmark: str | None = None,
    today: dt.date | None = None,
) -> Targets:
    """Read what needs refreshing, in one brief read-write open of the database.

    Read-write because a refresh is a writer: an older schema is migrated here first. The
    fetches that follow store what they get in brief opens of their own (quotes, bars, rates),
    never holding the file across network waits, when readers in other processes could not
    open it.

    Args:
        benchmark: the benchmark symbol; None means the apps' default benchmark (a priced
            broad-market ETF), if there is one.
        today: the last day of history wanted (default: today).
    """
    import polars as pl

    from workbench import store
    from workbench.analytics.positions import positions
    from workbench.fx.store import SUB_UNITS, code_problem
    from workbench.server.views import read_choices

    day = today or dt.date.today()
    path = config.db_path(db)
    if not path.exists():
        raise StoreError(
            f"database {path} does not exist; run `workbench init` or `workbench demo`"
        )
    with store.connect(db) as con:
        transactions = store.read_transactions(con, as_of=day)
        instruments = store.read_instruments(con)
        held = positions(transactions, as_of=day)["symbol"].unique().sort().to_list()
        if benchmark is None:
            benchmark = read_choices(con).default_benchmark
        elif benchmark:
            benchmark = benchmark.strip().upper()
        wanted = list(dict.fromkeys([*held, *([benchmark] if benchmark else [])]))
        stored = store.read_prices(con, symbols=wanted)
    last_bar = dict(stored.group_by("symbol").agg(pl.col("date").max()).iter_rows())
    first_trade = dict(
        transactions.filter(pl.col("symbol").is_not_null())
        .group_by("symbol")
        .agg(pl.col("date").min())
        .iter_rows()
    )
    first_date = transactions["date"].min() if transactions.height else None
    ledger_start = first_date if isinstance(first_date, dt.date) else day
    starts: dict[str, dt.date] = {}
    for symbol in wanted:
        if symbol in last_bar:
            starts[symbol] = last_bar[symbol] + dt.timedelta(days=1)
        else:
            # never priced: from its first trade (the benchmark: from the ledger's start)
            starts[symbol] = first_trade.get(symbol, ledger_start)
    held_currencies = set(
        instruments.filter(pl.col("symbol").is_in(held))["currency"].drop_nulls().to_list()
    ) | set(transactions["currency"].drop_nulls().to_list())
    # sub-units (GBp) are their main currency's rates; a code no source could have is left out
    mains = {SUB_UNITS.get(c, c) for c in held_currencies}
    main = {c for c in mains if code_problem(c) is None}
    foreign = sorted(main - {SUB_UNITS.get(config.BASE_CURRENCY, config.BASE_CURRENCY)})
    return Targets(held, benchmark or None, starts, foreign)


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did."""

    targets: Targets
    quotes: list[QuoteResult]
    history: list[HistoryResult]
    started: dt.datetime
    finished: dt.datetime
    #: the FX rate fetch, when foreign currencies are held and it got as far as asking
    fx: FetchReport | None = None
    #: why the FX fetch could not start (a bad currency code, an unknown source)
    fx_error: str | None = None

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        """(what, symbol, reason) for every request that failed."""
        out = [("quote", r.symbol, r.error or "error") for r in self.quotes if not r.ok]
        out += [("history", r.symbol, r.error or "error") for r in self.history if not r.ok]
        if self.fx is not None:
            out += [
                ("fx", f"{r.base}/{r.quote}", r.error or "error")
                for r in self.fx.results
                if not r.ok
            ]
        if self.fx_error is not None:
            out.append(("fx", ", ".join(self.targets.foreign_currencies), self.fx_error))
        return out

    @property
    def fetched(self) -> int:
        """Requests that succeeded (quotes priced, histories and FX pairs fetched; histories
        already up to date not counted)."""
        fx = sum(r.ok for r in self.fx.results) if self.fx is not None else 0
        return (
            sum(r.ok for r in self.quotes)
            + sum(r.ok and r.history is not None for r in self.history)
            + fx
        )

    @property
    def exit_code(self) -> int:
        """0 all succeeded (or nothing to fetch), 1 nothing fetched, 3 partial."""
        if not self.failures:
            return EXIT_OK
        return EXIT_PARTIAL if self.fetched else EXIT_NOTHING

    def summary(self) -> str:
        """One line for a scheduler's log."""
        t = self.targets
        if not t.symbols and not t.foreign_currencies:
            return "refresh: nothing to refresh (no position held and no benchmark)"
        quotes_ok = sum(r.ok for r in self.quotes)
        up_to_date = sum(r.ok and r.history is None for r in self.history)
        fetched = sum(r.ok and r.history is not None for r in self.history)
        bars = sum(r.stored for r in self.history)
        seconds = (self.finished - self.started).total_seconds()
        parts = [
            f"refresh: {len(t.held)} held symbols"
            + (f" + benchmark {t.benchmark}" if t.benchmark and t.benchmark not in t.held else ""),
            f"quotes {quotes_ok}/{len(self.quotes)}",
            f"history {fetched} fetched, {up_to_date} up to date, {bars} new bars",
        ]
        failures = self.failures
        if failures:
            shown = ", ".join(
                f"{what} {symbol} ({reason})" for what, symbol, reason in failures[:10]
            )
            more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
            parts.append(f"failed: {shown}{more}")
        if self.fx is not None:
            pairs_ok = sum(r.ok for r in self.fx.results)
            added = self.fx.totals().added
            parts.insert(
                -1 if failures else len(parts),
                f"fx {pairs_ok}/{len(self.fx.results)} pairs, {added} new rates",
            )
        status = {EXIT_OK: "ok", EXIT_PARTIAL: "partial", EXIT_NOTHING: "nothing fetched"}
        parts.append(f"{status[self.exit_code]} in {seconds:.1f} s")
        # symbols come from the ledger and the command line: escape what a terminal would run
        return escape_controls("; ".join(parts))


async def refresh(
    db: str | os.PathLike[str] | None,
    *,
    provider: ProviderSpec = "demo",
    benchmark: str | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 (per request attempt, passed to the engine)
    today: dt.date | None = None,
    client: Any | None = None,
    fx_providers: Sequence[str] | None = None,
    fx_base_url: str | None = None,
) -> RefreshResult:
    """Fetch latest quotes and missing daily history for held symbols and the benchmark,
    and the FX rates of held foreign currencies.

    Holds the refresh lock (:func:`refresh_lock`) throughout. Quotes and bars are stored by
    the fetch engine as they would be by ``workbench quotes`` and ``workbench history``, FX
    rates as by ``workbench fx fetch``.

    Args:
        fx_providers: FX rate sources in fallback order; default :func:`default_fx_providers`.
        fx_base_url: the first FX source's address (a mirror, or a quote server for ``demo``).

    Raises:
        RefreshLocked: another refresh of ``db`` is running; nothing was done.
        StoreError: the database does not exist or cannot be opened.
    """
    from workbench import store
    from workbench.quotes.engine import fetch_quotes

    started = dt.datetime.now(dt.UTC)
    day = today or dt.date.today()
    with refresh_lock(db):
        targets = await store.run_in_thread(find_targets, db, benchmark=benchmark, today=day)
        symbols = targets.symbols
        quotes: list[QuoteResult] = []
        history: list[HistoryResult] = []
        if symbols:
            quotes = await fetch_quotes(
                symbols, provider=provider, timeout=timeout, db=db, client=client
            )
            history = await _fetch_missing_history(
                db, targets, end=day, provider=provider, timeout=timeout, client=client
            )
        fx, fx_error = None, None
        if targets.foreign_currencies:
            fx, fx_error = await _fetch_fx(
                db,
                targets.foreign_currencies,
                providers=fx_providers or default_fx_providers(provider),
                base_url=fx_base_url,
                end=day,
                timeout=timeout,
            )
    return RefreshResult(
        targets, quotes, history, started, dt.datetime.now(dt.UTC), fx=fx, fx_error=fx_error
    )


def default_fx_providers(provider: ProviderSpec) -> list[str]:
    """FX sources to go with the quote ``provider``: the synthetic ``demo`` rates when the
    quotes are the synthetic ones (``demo``, or a ``workbench`` quote server, which also
    serves demo rates), else the ECB with Frankfurter as fallback."""
    specs = provider if isinstance(provider, list | tuple) else [provider]
    names = {p if isinstance(p, str) else str(getattr(p, "name", "")) for p in specs}
    return ["demo"] if names <= {"demo", "workbench"} else ["ecb", "frankfurter"]


async def _fetch_fx(
    db: str | os.PathLike[str] | None,
    currencies: list[str],
    *,
    providers: Sequence[str],
    base_url: str | None,
    end: dt.date,
    timeout: float,  # noqa: ASYNC109 (per request attempt)
) -> tuple[FetchReport | None, str | None]:
    """The missing daily rates of ``currencies`` against the base currency, stored; or why
    the fetch could not start (it is one part of the refresh: it never stops the others)."""
    from workbench.fx.fetch import fetch_rates

    wanted = [*currencies, config.BASE_CURRENCY]
    try:
        report = await fetch_rates(
            wanted,
            db=config.db_path(db),
            end=end,
            providers=list(providers),
            base_url=base_url,
            timeout=timeout,
        )
    except WorkbenchError as exc:
        return None, str(exc)
    return report, None


async def _fetch_missing_history(
    db: str | os.PathLike[str] | None,
    targets: Targets,
    *,
    end: dt.date,
    provider: ProviderSpec,
    timeout: float,  # noqa: ASYNC109 (per request attempt)
    client: Any | None,
) -> list[HistoryResult]:
    """One fetch_history call per distinct start date (usually one: all symbols were last
    refreshed together); symbols already up to date are reported without a request."""
    from workbench.quotes.history import HistoryResult, fetch_history

    by_start: dict[dt.date, list[str]] = {}
    results: dict[str, HistoryResult] = {}
    for symbol in targets.symbols:
        start = targets.history_start[symbol]
        if start > end:
            results[symbol] = HistoryResult(symbol=symbol)
        else:
            by_start.setdefault(start, []).append(symbol)
    for start, symbols in sorted(by_start.items()):
        fetched = await fetch_history(
            symbols, start=start, end=end, provider=provider, timeout=timeout, db=db, client=client
        )
        results.update((r.symbol, r) for r in fetched)
    return [results[s] for s in targets.symbols]


def last_fetch_times(db: str | os.PathLike[str] | None) -> dict[str, dt.datetime | None]:
    """When quotes and daily bars were last stored, read-only: ``{"quotes": t, "prices": t}``
    (UTC; None when there are none). For the apps to say how fresh their data is."""
    from workbench import store

    with store.connect(db, read_only=True) as con:
        return store.last_fetched(con)


def describe_fetch_times(
    times: dict[str, dt.datetime | None], *, now: dt.datetime | None = None
) -> str:
    """``times`` from :func:`last_fetch_times` as one sentence, e.g. "Quotes last fetched
    2026-12-01 16:05 UTC (3 h ago); prices 2026-12-01 16:05 UTC (3 h ago)."."""
    clock = now or dt.datetime.now(dt.UTC)

    def one(label: str, when: dt.datetime | None) -> str:
        if when is None:
            return f"{label} never"
        age = clock - when
        hours = age.total_seconds() / 3600
        ago = (
            f"{age.total_seconds() / 60:.0f} min"
            if hours < 1
            else (f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days")
        )
        return f"{label} {when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({ago} ago)"

    return (
        f"{one('Quotes last fetched', times.get('quotes'))}; {one('prices', times.get('prices'))}."
    )
