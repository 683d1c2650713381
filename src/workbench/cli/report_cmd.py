"""``workbench report``: positions, totals, performance and risk on a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from workbench.cli.options import as_of_option, cost_method_option, currency_option, db_option

_CONVENTIONS = ("empyrical", "quantstats", "calendar365")


@click.command("report")
@as_of_option
@click.option("--account", default=None, help="Only this account [default: all accounts].")
@cost_method_option
@click.option("--benchmark", default=None, help="Symbol for beta, alpha, tracking error.")
@click.option(
    "--convention",
    type=click.Choice(_CONVENTIONS, case_sensitive=False),
    default="empyrical",
    show_default=True,
    help="Risk metric convention.",
)
@currency_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
def report(
    as_of: dt.date | None,
    account: str | None,
    cost_method: str,
    benchmark: str | None,
    convention: str,
    currency: str | None,
    as_json: bool,
    db: Path,
) -> None:
    """Positions, P&L, cash, performance (TWR, XIRR, Modified Dietz) and risk as of a date.

    Every amount is in the reporting currency (--currency), converted at each row's date's
    rate; P&L shows its FX part beside it.
    """
    from workbench.analytics.report import load_report

    result = load_report(
        db,
        as_of=as_of,
        account=account,
        cost_method=cost_method.lower(),
        benchmark=benchmark,
        convention=convention.lower(),
        currency=currency,
    )
    click.echo(result.to_json() if as_json else result.to_text())


def register(cli: click.Group) -> None:
    """Add ``report`` to ``cli``."""
    cli.add_command(report)
