"""Fetching reference rates into the store: which pairs, which dates, from which sources.

:func:`fetch_rates` asks the sources (in fallback order) for every pair on the quote engine
(:mod:`workbench.fx.engine`) and stores what came back with :func:`workbench.fx.store.
write_rates`, the source that answered each pair as its provenance. Store calls run in
worker threads; nothing is written for a pair that failed.

    report = await fetch_rates(["USD", "GBP/USD"], db=path, providers=["ecb", "frankfurter"])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import FXError, UnknownCurrency
from workbench.fx import PIVOT
from workbench.fx.store import SUB_UNITS, WriteSummary, code_problem

if TYPE_CHECKING:
    import httpx

    from workbench.fx.engine import PairResult

#: days before the ledger's first date that a first fetch starts (a rate in force on day one)
LEAD_DAYS = 14
#: how far back a first fetch goes when the store has no ledger either
DEFAULT_SPAN = dt.timedelta(days=365)


def parse_pairs(items: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs from the command line: ``USD`` is ``EUR/USD``; ``GBP/USD`` is itself.

    Sub-units read their main currency (``GBp`` is ``EUR/GBP``); a bare ``EUR`` adds nothing.
    Repeats are dropped, the order kept.

    Raises:
        UnknownCurrency: a malformed code or pair.
    """
    from workbench.fx.sources import split_pair

    out: list[tuple[str, str]] = []
    for raw in items:
        item = raw.strip()
        if "/" in item:
            base, _, quote = item.partition("/")
            pair = split_pair(f"{SUB_UNITS.get(base, base)}/{SUB_UNITS.get(quote, quote)}")
        else:
            code = SUB_UNITS.get(item, item)
            problem = code_problem(code)
            if problem:
                raise UnknownCurrency(problem)
            if code == PIVOT:
                continue
            pair = (PIVOT, code)
        if pair not in out:
            out.append(pair)
    return out


def ledger_currencies(con: Any) -> list[str]:
    """Every currency the ledger uses (accounts, instruments, transactions, FX rows' symbol),
    sub-units as their main currency, malformed codes left out; sorted."""
    rows = con.execute(
        "SELECT currency FROM accounts UNION SELECT currency FROM instruments"
        " UNION SELECT currency FROM transactions"
        " UNION SELECT symbol FROM transactions WHERE upper(type) = 'FX'"
    ).fetchall()
    codes = {SUB_UNITS.get(r[0], r[0]) for r in rows if r[0]}
    return sorted(c for c in codes if code_problem(c) is None)


def _plan(
    db: Path, pairs: list[tuple[str, str]], start: dt.date | None, end: dt.date
) -> tuple[list[tuple[str, str]], dt.date]:
    """Pairs (the ledger's when none are given) and the first date to fetch."""
    from workbench import config
    from workbench.store import connect

    with connect(db) as con:
        if not pairs:
            wanted = ledger_currencies(con)
            wanted.append(SUB_UNITS.get(config.BASE_CURRENCY, config.BASE_CURRENCY))
            pairs = parse_pairs(c for c in wanted if code_problem(c) is None)
            if not pairs:
                raise FXError(
                    "no currencies to fetch: the ledger uses only EUR; name them,"
                    " e.g. `workbench fx fetch USD GBP`"
                )
        if start is not None:
            return pairs, start
        ledger_start = con.execute("SELECT min(date) FROM transactions").fetchall()[0][0]
        unstored = (
            ledger_start - dt.timedelta(days=LEAD_DAYS)
            if ledger_start is not None
            else end - DEFAULT_SPAN
        )
        firsts: list[dt.date] = []
        for base, quote in pairs:
            last = con.execute(
                "SELECT max(date) FROM fx_rates WHERE base = ? AND quote = ?", [base, quote]
            ).fetchall()[0][0]
            firsts.append(last + dt.timedelta(days=1) if last is not None else unstored)
    return pairs, min(min(firsts), end)


@dataclass(frozen=True)
class FetchReport:
    """What one fetch did: per pair, the rates or the error; in the store, the write counts."""

    start: dt.date
    end: dt.date
    results: list[PairResult]
    written: dict[str, WriteSummary] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether at least one pair was answered."""
        return any(r.ok for r in self.results)

    def totals(self) -> WriteSummary:
        """Rows added, replaced and unchanged over every source."""
        return WriteSummary(
            sum(w.added for w in self.written.values()),
            sum(w.replaced for w in self.written.values()),
            sum(w.unchanged for w in self.written.values()),
        )

    def summary(self) -> str:
        """One line: pairs answered and failed, rates fetched, rows added/replaced/unchanged."""
        done = sum(r.ok for r in self.results)
        failed = len(self.results) - done
        fetched = sum(len(r.rates) for r in self.results)
        t = self.totals()
        sources = ", ".join(sorted(self.written)) or "none"
        return (
            f"{done} of {len(self.results)} {'pair' if len(self.results) == 1 else 'pairs'}"
            f" fetched ({failed} failed), {fetched} rates"
            f" {self.start}..{self.end} from {sources}: {t.added} added, {t.replaced} replaced,"
            f" {t.unchanged} unchanged"
        )

    def as_dicts(self) -> list[dict[str, Any]]:
        """One object per pair in request order: base, quote, source, rates, first, last, error."""
        out = []
        for r in self.results:
            days = [day for day, _ in r.rates]
            out.append(
                {
                    "base": r.base,
                    "quote": r.quote,
                    "source": r.source if r.ok else None,
                    "rates": len(r.rates),
                    "first": min(days).isoformat() if days else None,
                    "last": max(days).isoformat() if days else None,
                    "latest_rate": r.rates[-1][1] if r.rates else None,
                    "error": r.error,
                    "message": r.message,
                }
            )
        return out


def _store(db: Path, results: Sequence[PairResult]) -> dict[str, WriteSummary]:
    """Write each answered pair's rates under the source that answered, in one connection."""
    import polars as pl

    from workbench.fx.store import write_rates
    from workbench.store import connect

    by_source: dict[str, list[tuple[dt.date, str, str, float]]] = {}
    for r in results:
        if r.ok and r.rates and r.source:
            by_source.setdefault(r.source, []).extend(
                (day, r.base, r.quote, rate) for day, rate in r.rates
            )
    written: dict[str, WriteSummary] = {}
    if not by_source:
        return written
    now = dt.datetime.now(dt.UTC)
    with connect(db) as con:
        for source, rows in by_source.items():
            frame = pl.DataFrame(
                rows,
                schema={"date": pl.Date, "base": pl.String, "quote": pl.String, "rate": pl.Float64},
                orient="row",
            )
            written[source] = write_rates(con, frame, source=source, fetched_at=now)
    return written


async def fetch_rates(
    currencies: Iterable[str] = (),
    *,
    db: Path | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    providers: Sequence[str] = ("ecb", "frankfurter"),
    base_url: str | None = None,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 8,
    timeout: float = 30.0,  # noqa: ASYNC109 (per attempt, as in the quote engine)
    retries: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[list[tuple[str, str]], dt.date, dt.date], None] | None = None,
) -> FetchReport:
    """Fetch daily rates of ``currencies`` and store them (when ``db`` is given).

    Args:
        currencies: ``USD`` (meaning EUR/USD) or ``GBP/USD``; empty: every currency the
            ledger uses and the base currency (needs ``db``).
        start: first date; default, per pair, the day after its latest stored rate, else
            two weeks before the ledger's first date, else a year before ``end``; the
            earliest of these over the pairs.
        end: last date (default today).
        providers: source names in fallback order; ``base_url`` applies to the first.
        on_plan: told (pairs, start, end) before any request, for a progress line.

    Raises:
        FXError, UnknownCurrency: no currency to fetch, a bad code, ``end`` before ``start``.
        QuoteError: an unknown provider.
    """
    from workbench.fx.engine import run_pairs
    from workbench.fx.sources import get_source
    from workbench.store import run_in_thread

    end = end or dt.date.today()
    pairs = parse_pairs(currencies)
    sources = [
        get_source(n, base_url=base_url if i == 0 else None) for i, n in enumerate(providers)
    ]
    if db is not None:
        pairs, start = await run_in_thread(_plan, db, pairs, start, end)
    elif not pairs:
        raise FXError("name the currencies to fetch (or give a database to read them from)")
    start = start or end - DEFAULT_SPAN
    if end < start:
        raise FXError(f"end {end} is before start {start}")
    if on_plan is not None:
        on_plan(pairs, start, end)
    results = await run_pairs(
        pairs,
        sources,
        start=start,
        end=end,
        client=client,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        on_progress=on_progress,
    )
    written = await run_in_thread(_store, db, results) if db is not None else {}
    return FetchReport(start=start, end=end, results=results, written=written)
