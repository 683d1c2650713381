"""Shared click options and the error handling every command gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workbench import config
from workbench.errors import WorkbenchError

F = TypeVar("F", bound=Callable[..., Any])


class WorkbenchGroup(click.Group):
    """A group whose commands report WorkbenchError as one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


def db_option(fn: F) -> F:
    """``--db PATH``: the database file; resolved through WORKBENCH_DB and the default."""

    def resolve(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Path:
        return config.db_path(value)

    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False),
        default=None,
        callback=resolve,
        help="Database file [default: $WORKBENCH_DB or data/workbench.duckdb].",
    )(fn)


def timeout_option(default: float) -> Callable[[F], F]:
    """``--timeout SECONDS``: seconds per request attempt (at least 0.1)."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=default,
        show_default=True,
        help="Seconds per request attempt.",
    )


def ledger_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback: :func:`iso_date` within the ledger's date range (1900-01-01 to the end
    of next year), else a usage error: a year like 9999 would build series across millennia."""
    day = iso_date(ctx, param, value)
    if day is None:
        return None
    from workbench.ledger.validate import date_bounds

    earliest, latest = date_bounds()
    if not earliest <= day <= latest:
        raise click.BadParameter(f"{day} is out of range ({earliest} to {latest})")
    return day


def as_of_option(fn: F) -> F:
    """``--as-of YYYY-MM-DD``: the report date (None: today), within the ledger's date range."""
    return click.option(
        "--as-of",
        "as_of",
        default=None,
        callback=ledger_date,
        help="Report date (YYYY-MM-DD) [default: today].",
    )(fn)


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback: a YYYY-MM-DD value as a date (None stays None), else a usage error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


#: the cost methods of workbench.analytics.lots (spelled here so --help needs no Polars import)
COST_METHODS = ("fifo", "lifo", "hifo", "average")


def cost_method_option(fn: F) -> F:
    """``--cost-method``: how sells consume lots (fifo, lifo, hifo, average)."""
    return click.option(
        "--cost-method",
        type=click.Choice(COST_METHODS, case_sensitive=False),
        default="fifo",
        show_default=True,
        help="How sells consume lots.",
    )(fn)


def currency_option(fn: F) -> F:
    """``--currency C``: the reporting currency (None: WORKBENCH_BASE_CURRENCY, else USD)."""
    return click.option(
        "--currency",
        default=None,
        help="Reporting currency [default: WORKBENCH_BASE_CURRENCY, else USD].",
    )(fn)
