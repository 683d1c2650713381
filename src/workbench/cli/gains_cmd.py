"""``workbench gains``: realized gains lot by lot, with holding term and FX part."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from workbench.cli.options import cost_method_option, currency_option, db_option, ledger_date

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


def _what_if(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, float] | None:
    """``SYMBOL=QTY`` as (symbol, quantity), else a usage error."""
    if value is None:
        return None
    symbol, sep, qty = value.partition("=")
    try:
        quantity = float(qty)
    except ValueError:
        quantity = float("nan")
    if not sep or not symbol.strip() or not quantity > 0 or quantity == float("inf"):
        raise click.BadParameter(f"{value!r} is not SYMBOL=QUANTITY (a positive number)")
    return symbol.strip().upper(), quantity


#: options that make no sense with --what-if (it compares every cost method on one date)
_NOT_WITH_WHAT_IF = ("year", "start", "end", "csv_path", "cost_method")


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
@click.option(
    "--what-if",
    "what_if",
    metavar="SYMBOL=QTY",
    callback=_what_if,
    default=None,
    help="Instead: what selling QTY of SYMBOL would realize, under each cost method.",
)
@click.option(
    "--price",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="--what-if price per share [default: the latest quote or close].",
)
@click.option(
    "--fee", type=click.FloatRange(min=0), default=0.0, help="--what-if sale fee [default: 0]."
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    callback=ledger_date,
    help="--what-if sale date (YYYY-MM-DD) [default: today].",
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
    what_if: tuple[str, float] | None,
    price: float | None,
    fee: float,
    as_of: dt.date | None,
    db: Path,
) -> None:
    """Realized gains: one row per lot a sale consumed, with proceeds, cost, gain, holding term
    (long: sold after the first anniversary of the purchase) and, in a reporting currency other
    than the instrument's, the FX part of the gain; totals by term.

    AVERAGE gives one row per sale (acquired "various", no term).

    --what-if SYMBOL=QTY instead compares the four cost methods for a sale of QTY shares on
    --as-of (default today) at --price (default the latest stored quote or close): the lots
    each would consume, the gain by term and its FX part, and the basis that would remain.
    """
    ctx = click.get_current_context()
    if what_if is None:
        for name in ("price", "fee", "as_of"):
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                raise click.UsageError(f"--{name.replace('_', '-')} needs --what-if")
    else:
        for name in _NOT_WITH_WHAT_IF:
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
                flag = "--csv" if name == "csv_path" else f"--{name.replace('_', '-')}"
                raise click.UsageError(f"{flag} cannot be combined with --what-if")
        from workbench.analytics.whatif import load_sale_preview

        preview = load_sale_preview(
            db, symbol=what_if[0], quantity=what_if[1], account=account, price=price, fee=fee,
            as_of=as_of, currency=currency,
        )  # fmt: skip
        click.echo(preview.to_json() if as_json else preview.to_text())
        return
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
