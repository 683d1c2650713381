"""``fx import`` and ``fx fetch``: reference FX rates into the store, from a file or a source.

A thin shell over :mod:`workbench.fx`; fetching meets ``asyncio.run`` only here. Progress goes
to stderr (a bar on a terminal), results to stdout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from workbench.cli.options import db_option, iso_date, timeout_option

#: mirrors workbench.fx.sources without importing it for --help
SOURCE_NAMES = ("ecb", "frankfurter", "yahoo", "demo")


@click.group("fx")
def fx_group() -> None:
    """Reference FX rates (1 base = rate quote on a date), with their source.

    Without stored rates for a currency, conversions use the ECB history bundled with
    workbench (see README "FX rates").
    """


@fx_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def fx_import_cmd(file: Path, db: Path) -> None:
    """Import rates from FILE (CSV: date, base, quote, rate; 1 base = rate quote).

    All rows or none; a rate already stored is kept, a different one replaces it, so
    importing a file again changes nothing.
    """
    from workbench.fx.csv_import import import_rates_csv

    click.echo(import_rates_csv(db, file).summary())


def source_names(value: str, *, option: str) -> list[str]:
    """The FX source names of a comma-separated ``option`` value, lower-cased, blanks left out;
    a name not in :data:`SOURCE_NAMES` is a usage error (exit 2) naming the option."""
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    for name in names:
        if name not in SOURCE_NAMES:
            raise click.BadParameter(
                f"{name!r} is not one of {', '.join(SOURCE_NAMES)}", param_hint=option
            )
    return names


def _sources(value: str | None) -> list[str]:
    return source_names(value or "ecb,frankfurter", option="--provider") or ["ecb", "frankfurter"]


@contextmanager
def _progress(json_out: bool) -> Iterator[tuple[Callable[..., None], Callable[[int, int], None]]]:
    """(on_plan, on_progress): a plan line and a bar on a terminal's stderr, else nothing."""
    tty = sys.stderr.isatty()

    def on_plan(pairs: list[tuple[str, str]], start: dt.date, end: dt.date) -> None:
        if not json_out:
            names = ", ".join(f"{b}/{q}" for b, q in pairs)
            noun = "pair" if len(pairs) == 1 else "pairs"
            click.echo(f"fetching {len(pairs)} {noun} {start}..{end}: {names}", err=True)

    def on_progress(done: int, total: int) -> None:
        if tty and total > 1:
            click.echo(f"\r  {done}/{total} pairs", err=True, nl=done == total)

    yield on_plan, on_progress


@fx_group.command("fetch")
@click.argument("currencies", nargs=-1, metavar="[CCY|BASE/QUOTE]...")
@click.option("--start", callback=iso_date, help="First date (YYYY-MM-DD) [default: see below].")
@click.option("--end", callback=iso_date, help="Last date (YYYY-MM-DD) [default: today].")
@click.option(
    "--provider",
    default=None,
    metavar="P[,P...]",
    help="ecb, frankfurter, yahoo or demo; several comma-separated for ordered fallback"
    " [default: ecb,frankfurter].",
)
@click.option(
    "--base-url",
    default=None,
    metavar="URL",
    help="Send the (first) provider's requests to this scheme://host:port (a mirror, or a"
    " running `workbench quote-server` for demo).",
)
@timeout_option(30.0)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per pair.")
@db_option
def fx_fetch_cmd(
    currencies: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
    provider: str | None,
    base_url: str | None,
    timeout: float,
    as_json: bool,
    db: Path,
) -> None:
    """Fetch daily reference rates and store them with their source and fetch time.

    CCY means EUR/CCY (the ECB's euro rates; the lookup derives crosses); BASE/QUOTE asks a
    pair as such (frankfurter, yahoo, demo). No currencies: every currency the ledger uses,
    and the base currency. --start defaults, per pair, to the day after its latest stored
    rate, else two weeks before the ledger's first date, else a year ago. Exit 1 when no
    pair could be fetched.

    JSON: [{"base", "quote", "source", "rates", "first", "last", "latest_rate", "error",
    "message"}] in request order.
    """
    from workbench.fx.fetch import fetch_rates

    names = _sources(provider)
    with _progress(as_json) as (on_plan, on_progress):
        report = asyncio.run(
            fetch_rates(
                list(currencies),
                db=db,
                start=start,
                end=end,
                providers=names,
                base_url=base_url,
                timeout=timeout,
                on_plan=on_plan,
                on_progress=on_progress,
            )
        )
    if as_json:
        click.echo(json.dumps(report.as_dicts(), indent=2))
    else:
        for item in report.as_dicts():
            pair = f"{item['base']}/{item['quote']}"
            if item["error"]:
                click.echo(f"{pair:<8} error: {item['message'] or item['error']}")
            elif item["rates"]:
                click.echo(
                    f"{pair:<8} {item['rates']} rates {item['first']}..{item['last']} from"
                    f" {item['source']}, latest {item['latest_rate']:g}"
                )
            else:
                where = f" from {item['source']}" if item["source"] else " (no weekday in it)"
                click.echo(f"{pair:<8} no rates in the range{where}")
        click.echo(report.summary())
    if not report.ok:
        if not as_json:
            click.echo("error: no FX rates could be fetched", err=True)
        sys.exit(1)


@fx_group.command("rates")
@click.option("--date", "day", callback=iso_date, default=None,
              help="The day (YYYY-MM-DD) [default: today].")  # fmt: skip
@click.option("--base", default="EUR", show_default=True, help="1 BASE = rate currency.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@db_option
def fx_rates_cmd(day: dt.date | None, base: str, as_json: bool, db: Path) -> None:
    """The rates in force on a date: for each currency, the latest rate on or before it.

    Crosses go through EUR as the ECB publishes; a rate more than 5 days old is marked stale.
    Stored rates come first, the bundled ECB history fills currencies the store lacks.
    """
    from workbench.analytics.fx import rates_in_force
    from workbench.analytics.report import reporting_currency
    from workbench.fx import rates_for
    from workbench.fx.offline import bundled_rates
    from workbench.fx.store import read_rates
    from workbench.store import connect

    when = day or dt.date.today()
    code = reporting_currency(base)
    codes = set(bundled_rates()["quote"].unique().to_list()) | {"EUR", code}
    if Path(db).exists():
        with connect(db, read_only=True) as con:
            stored = read_rates(con)
            codes |= set(stored["base"].to_list()) | set(stored["quote"].to_list())
            rates = rates_for(con, sorted(codes))
    else:
        rates = rates_for(None, sorted(codes))
    table = rates_in_force(rates, when, base=code)
    if as_json:
        click.echo(json.dumps(
            [{**row, "rate_date": row["rate_date"].isoformat()} for row in table.to_dicts()],
            indent=2,
        ))  # fmt: skip
        return
    click.echo(f"1 {code} on {when.isoformat()} (latest rate on or before the day):")
    for row in table.iter_rows(named=True):
        stale = f"  stale ({row['age_days']} days old)" if row["stale"] else ""
        click.echo(f"  {row['currency']:<5} {row['rate']:>16.6f}  from {row['rate_date']}{stale}")


def register(cli: click.Group) -> None:
    """Add the ``fx`` group to ``cli``."""
    cli.add_command(fx_group)
