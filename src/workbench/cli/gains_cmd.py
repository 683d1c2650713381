"""``workbench gains``: realized gains lot by lot, with holding term and FX part."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from workbench.cli.options import cost_method_option, currency_option, db_option

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _period(
    year: int | None, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[dt.date | None, dt.date | None]:
    """(start, end) from --year or --start/--end; usage errors (exit 2) for bad combinations."""
    if year is not None:
        if start is not None or end is not None:
            raise click.UsageError("--year cannot be combined with --start or --end")
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    first = start.date() if start else None
    last = end.date() if end else None
    if first is not None and last is not None and first > last:
        raise click.BadParameter(f"{first} is after --end {last}", param_hint="--start")
    return first, last


@click.command("gains")
@click.option(
    "--year", type=click.IntRange(1900, 2999), default=None, help="Sales in this calendar year."
)
@click.option("--start", type=_DATE, default=None, help="Sales on or after this date.")
@click.option("--end", type=_DATE, default=None, help="Sales on or before this date.")
@cost_method_option
@currency_option
@click.option("--account", default=None, help="Only this account [default: all accounts].")
@click.option("--json", "as_json", is_flag=True, help="Print rows and totals as JSON.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the rows to this CSV file.",
)
@db_option
def gains(
    year: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    cost_method: str,
    currency: str | None,
    account: str | None,
    as_json: bool,
    csv_path: str | None,
    db: Path,
) -> None:
    """Realized gains: one row per lot a sale consumed, with proceeds, cost, gain, holding term
    (long: sold after the first anniversary of the purchase) and, in a reporting currency other
    than the instrument's, the FX part of the gain; totals by term.

    AVERAGE gives one row per sale (acquired "various", no term).
    """
    if as_json and csv_path:
        raise click.UsageError("--json and --csv are exclusive")
    first, last = _period(year, start, end)
    from workbench.analytics.gains import load_gains

    result = load_gains(
        db, method=cost_method.lower(), currency=currency, start=first, end=last, account=account
    )
    if csv_path:
        result.write_csv(csv_path)
        click.echo(f"wrote {result.rows.height} rows to {csv_path}")
    elif as_json:
        click.echo(result.to_json())
    else:
        click.echo(result.to_text())


def register(cli: click.Group) -> None:
    """Add ``gains`` to ``cli``."""
    cli.add_command(gains)
