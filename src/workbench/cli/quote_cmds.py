"""``quotes``, ``history``, ``trade`` and ``quote-server``: the fetch engine from the shell.

These are the only places quote fetching meets ``asyncio.run``. JSON output follows
DESIGN.md section 4 exactly; a progress bar goes to stderr only when it is a terminal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from workbench.cli.options import db_option, ledger_date, timeout_option
from workbench.errors import escape_controls

F = TypeVar("F", bound=Callable[..., Any])

#: mirrors workbench.quotes.engine defaults without importing the engine for --help
DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT = 10.0


def _provider_option(fn: F) -> F:
    fn = timeout_option(DEFAULT_TIMEOUT)(fn)
    fn = click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="Send the (first) provider's requests to this scheme://host:port"
        " (a mirror or local server).",
    )(fn)
    return click.option(
        "--provider",
        default=None,
        metavar="P[,P...]",
        help="Provider name, or several comma-separated for ordered fallback"
        " [default: demo, or workbench with --base-url].",
    )(fn)


def _providers(provider: str | None, base_url: str | None) -> list[Any]:
    """Resolve ``--provider``/``--base-url``; unknown names are a usage error (exit 2)."""
    from workbench.errors import QuoteError
    from workbench.quotes.providers import PROVIDER_NAMES, get_provider

    names = [p.strip() for p in (provider or ("workbench" if base_url else "demo")).split(",")]
    for name in names:
        if name.lower() not in PROVIDER_NAMES:
            raise click.BadParameter(
                f"{name!r} is not one of {', '.join(PROVIDER_NAMES)}", param_hint="--provider"
            )
    try:
        # the URL belongs to the first (primary) provider; fallbacks keep their own addresses
        return [get_provider(n, base_url=base_url if i == 0 else None) for i, n in enumerate(names)]
    except QuoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--base-url") from exc


@contextmanager
def _progress(
    total: int, label: str
) -> Iterator[tuple[Callable[[int, int], None] | None, Callable[[str], None] | None]]:
    """``on_progress`` and ``on_status`` callbacks drawing one bar on stderr (None off a terminal).

    The status (a wait for a provider's rate limit, a Retry-After pause, an open circuit) is
    shown in the bar's label, so a paced run shows why it is waiting.
    """
    if total < 2 or not sys.stderr.isatty():
        yield None, None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

        def update(done: int, _total: int) -> None:
            bar.update(done - bar.pos)

        def status(text: str) -> None:
            bar.label = f"{label} ({text})" if text else label
            bar.render_progress()

        yield update, status


def _concurrency_option(fn: F) -> F:
    return click.option(
        "--concurrency",
        type=click.IntRange(1, 1000),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight at once.",
    )(fn)


def _rate_limit_option(fn: F) -> F:
    return click.option(
        "--rate-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="N",
        help="Requests per second for the (first) provider (Binance: request weight)"
        " [default: its documented limit].",
    )(fn)


def _limits(
    providers: list[Any], *, rate_limit: float | None = None, batch_size: int | None = None
) -> dict[str, Any] | None:
    """Per-call limits of the first provider from ``--rate-limit``/``--batch-size``."""
    from workbench.quotes.limits import limits_for

    if rate_limit is None and batch_size is None:
        return None
    changes: dict[str, Any] = {}
    if rate_limit is not None:
        changes["rate"] = rate_limit
    if batch_size is not None:
        changes["batch_size"] = batch_size
    return {providers[0].name: dataclasses.replace(limits_for(providers[0]), **changes)}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@click.command("quotes")
@click.argument("symbols", nargs=-1, required=True)
@_provider_option
@_concurrency_option
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Bound the whole run; symbols not fetched by then end as 'rate limited'.",
)
@_rate_limit_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 500),
    default=None,
    metavar="N",
    help="Symbols per request where the provider takes batches [default: per provider].",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array in request order.")
@db_option
def quotes_cmd(
    symbols: tuple[str, ...],
    provider: str | None,
    base_url: str | None,
    timeout: float,
    concurrency: int,
    deadline: float | None,
    rate_limit: float | None,
    batch_size: int | None,
    as_json: bool,
    db: Path,
) -> None:
    """Fetch latest quotes for SYMBOL... and store the successful ones.

    Every symbol gets a price or a short error (not found, rate limited, timeout,
    unavailable, malformed response). A provider's rate limit is waited out, not failed on
    (the progress bar shows the wait); --deadline bounds the run. Exit status 0 if any
    symbol succeeded, 1 if none did.
    """
    from workbench.quotes.engine import fetch_quotes

    providers = _providers(provider, base_url)
    limits = _limits(providers, rate_limit=rate_limit, batch_size=batch_size)
    with _progress(len(symbols), "quotes") as (on_progress, on_status):
        results = asyncio.run(
            fetch_quotes(
                list(symbols),
                provider=providers,
                concurrency=concurrency,
                timeout=timeout,
                on_progress=on_progress,
                on_status=on_status,
                db=db,
                limits=limits,
                deadline=deadline,
            )
        )
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for r in results:
            if r.quote is not None:
                q = r.quote
                when = q.time.strftime("%Y-%m-%d %H:%M:%S %Z") if q.time else ""
                click.echo(
                    f"{r.symbol:<12} {q.price:>14,.4f} {q.currency or '':<4} {when}  [{r.provider}]"
                )
            else:
                symbol = escape_controls(r.symbol)  # the user's argument, shown not run
                click.echo(f"{symbol:<12} {'-':>14} {'':<4} error: {r.message or r.error}")
    if not any(r.ok for r in results):
        if not as_json:
            click.echo("error: no quote could be fetched", err=True)
        sys.exit(1)


@click.command("history")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--start", required=True, callback=ledger_date, help="First date (YYYY-MM-DD).")
@click.option("--end", callback=ledger_date, help="Last date (YYYY-MM-DD) [default: today].")
@_provider_option
@_concurrency_option
@_rate_limit_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array in request order.")
@db_option
def history_cmd(
    symbols: tuple[str, ...],
    start: dt.date,
    end: dt.date | None,
    provider: str | None,
    base_url: str | None,
    timeout: float,
    concurrency: int,
    rate_limit: float | None,
    as_json: bool,
    db: Path,
) -> None:
    """Fetch daily bars for SYMBOL... into the price table, skipping dates already stored.

    One request per distinct symbol, at most --concurrency at once, paced to the provider's
    rate limit (the progress bar shows the wait).

    JSON: one object per symbol, {"symbol", "provider", "currency", "fetched", "stored",
    "cached", "error", "bars": [{"date", "open", "high", "low", "close", "volume"}]}, where
    bars are every stored bar in the range after the fetch.
    """
    from workbench import store
    from workbench.quotes.history import fetch_history

    end = end or dt.date.today()
    if end < start:
        raise click.BadParameter(f"--end {end} is before --start {start}", param_hint="--end")
    providers = _providers(provider, base_url)
    limits = _limits(providers, rate_limit=rate_limit)
    with _progress(len(set(symbols)), "history") as (on_progress, on_status):
        results = asyncio.run(
            fetch_history(
                list(symbols),
                start=start,
                end=end,
                provider=providers,
                timeout=timeout,
                db=db,
                concurrency=concurrency,
                limits=limits,
                on_progress=on_progress,
                on_status=on_status,
            )
        )
    with store.connect(db, read_only=True) as con:
        prices = store.read_prices(con, symbols=list(symbols), start=start, end=end)
    by_symbol = {key[0]: part for key, part in prices.partition_by("symbol", as_dict=True).items()}
    out: list[dict[str, Any]] = []
    for r in results:
        part = by_symbol.get(r.symbol)
        bars = (
            [
                {
                    "date": row["date"].isoformat(),
                    **{k: _number(row[k]) for k in ("open", "high", "low", "close", "volume")},
                }
                for row in part.iter_rows(named=True)
            ]
            if part is not None
            else []
        )
        currency = r.history.currency if r.history else None
        if currency is None and part is not None:
            stored_currency = part["currency"].drop_nulls().first()
            currency = str(stored_currency) if stored_currency is not None else None
        out.append(
            {
                "symbol": r.symbol,
                "provider": r.provider,
                "currency": currency,
                "fetched": len(r.history.bars) if r.history else 0,
                "stored": r.stored,
                "cached": r.cached,
                "error": r.error,
                "bars": bars,
            }
        )
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for item, r in zip(out, results, strict=True):
            if r.error:
                click.echo(f"{escape_controls(r.symbol):<12} error: {r.message or r.error}")
                continue
            shown: list[dict[str, Any]] = item["bars"]
            last = f", last close {shown[-1]['close']:,.4f} on {shown[-1]['date']}" if shown else ""
            click.echo(
                f"{r.symbol:<12} {len(shown)} bars from {start} to {end}:"
                f" {r.stored} new, {r.cached} already stored{last}"
            )
    if not any(r.ok for r in results):
        if not as_json:
            click.echo("error: no history could be fetched", err=True)
        sys.exit(1)


# "-3" must reach the quantity check (exit 1), not be read as an unknown option (exit 2)
@click.command("trade", context_settings={"ignore_unknown_options": True})
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("symbol")
@click.argument("quantity")
@click.option("--account", default="default", show_default=True, help="Ledger account.")
@click.option("--fee", default="0", show_default=True, help="Commission in the trade currency.")
@_provider_option
@click.option("--json", "as_json", is_flag=True, help="Print the recorded trade as JSON.")
@db_option
def trade_cmd(
    side: str,
    symbol: str,
    quantity: str,
    account: str,
    fee: str,
    provider: str | None,
    base_url: str | None,
    timeout: float,
    as_json: bool,
    db: Path,
) -> None:
    """Buy or sell QUANTITY of SYMBOL at the live quote and record it in the ledger.

    Nothing is stored when the quote cannot be fetched or the trade is refused (a bad
    quantity, an unknown symbol, selling more than the account holds).
    """
    from workbench.quotes.trading import trade_at_market

    providers = _providers(provider, base_url)
    result = asyncio.run(
        trade_at_market(
            db,
            side=side,
            symbol=symbol,
            quantity=quantity,
            fee=fee,
            account=account,
            provider=providers,
            timeout=timeout,
        )
    )
    q = result.quote
    if as_json:
        data = {
            "symbol": q.symbol,
            "price": q.price,
            "currency": q.currency,
            "volume": q.volume,
            "time": q.time.isoformat() if q.time else None,
            "provider": result.provider,
        }
        payload = {"status": "success", "transaction_id": result.transaction_id, "data": data}
        click.echo(json.dumps(payload, indent=2))
    else:
        verb = "bought" if side.lower() == "buy" else "sold"
        click.echo(
            f"{verb} {quantity} {q.symbol} at {q.price:,.4f} {q.currency or ''}"
            f" from {result.provider} (transaction {result.transaction_id}, account {account})"
        )


@click.command("quote-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=8765, show_default=True, help="TCP port.")
@click.option(
    "--universe", type=click.IntRange(0, 99_999), default=0, help="Serve U00001..U{N:05d} too."
)
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, help="Delay every answer.")
@click.option(
    "--fail-rate", type=click.FloatRange(0, 1), default=0.0, help="Fraction of requests to 503."
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests per second before 429 with Retry-After.",
)
@click.option(
    "--retry-after",
    type=click.FloatRange(min=0),
    default=None,
    help="Retry-After seconds sent with 429s [default: the time to the next free slot].",
)
@click.option(
    "--outage",
    default=None,
    metavar="AFTER:SECONDS",
    help="After AFTER requests, answer everything 503 for SECONDS, then recover.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seeds prices and faults.")
@db_option
def quote_server_cmd(
    host: str,
    port: int,
    universe: int,
    latency_ms: float,
    fail_rate: float,
    rate_limit: float | None,
    retry_after: float | None,
    outage: str | None,
    seed: int,
    db: Path,
) -> None:
    """Run the local quote server (GET /v1/{symbol}, /v1/quotes?symbols=, /v1/{symbol}/history).

    Fault flags inject latency, 503s, 429s with Retry-After and an outage.

    Prices are synthetic and deterministic for the seed. --db is accepted for symmetry and
    not used: the server reads nothing from the database.
    """
    import uvicorn

    from workbench.quotes.server import create_app

    del db
    down: tuple[int, float] | None = None
    if outage is not None:
        after, _, seconds = outage.partition(":")
        try:
            down = (int(after), float(seconds))
        except ValueError as exc:
            raise click.BadParameter(
                f"{outage!r} is not AFTER:SECONDS (e.g. 200:5)", param_hint="--outage"
            ) from exc
    app = create_app(
        seed=seed,
        universe=universe,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
        retry_after=retry_after,
        outage=down,
        warm=True,
    )
    click.echo(f"quote server on http://{host}:{port} (synthetic prices, seed {seed})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, backlog=2048)


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (quotes_cmd, history_cmd, trade_cmd, quote_server_cmd):
        cli.add_command(command)
