"""``workbench check``: report stored rows a current import would refuse (dates out of range)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from workbench.cli.options import db_option


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


@click.command("check")
@click.option(
    "--remove",
    is_flag=True,
    help="Delete the rows reported (and nothing else), in one transaction.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
@db_option
def check_cmd(remove: bool, as_json: bool, db: Path) -> None:
    """Report transactions, prices and FX rates dated before 1900-01-01 or after the end of
    next year: imports refuse such dates, but an older database may hold some.

    Each row is listed with what identifies it (a transaction's id, a price's symbol and
    date, a rate's date and pair). Nothing changes unless --remove is given; then exactly
    the rows listed are deleted (a removed BUY may leave a later SELL unmatched: read the
    list first). Without --remove the database is opened read-only. Exit status 0 when every
    date is in range (or --remove removed every row found), 1 otherwise.
    """
    from workbench import store
    from workbench.ledger.validate import date_bounds
    from workbench.store.out_of_range import delete_rows, rows_outside

    earliest, latest = date_bounds()
    removed = 0
    with store.connect(db, read_only=not remove) as con:
        rows = rows_outside(con, earliest, latest)
        if remove and rows:
            removed = delete_rows(con, rows)
    if as_json:
        payload = {
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
            "out_of_range": [
                {
                    "table": row.table,
                    "key": {k: _plain(v) for k, v in row.key.items()},
                    "date": row.date.isoformat(),
                    "detail": row.detail,
                }
                for row in rows
            ],
            "removed": removed,
        }
        click.echo(json.dumps(payload, indent=2))
    elif not rows:
        click.echo(f"check: every date is within {earliest} .. {latest}")
    else:
        click.echo(f"check: {len(rows)} stored row(s) dated outside {earliest} .. {latest}:")
        for row in rows:
            click.echo(f"  {row.describe()}")
        if remove:
            click.echo(f"check: removed {removed} row(s)")
        else:
            click.echo(
                "Nothing was changed; `workbench check --remove` deletes exactly these rows."
            )
    if rows and not remove:
        sys.exit(1)


def register(cli: click.Group) -> None:
    """Add this module's command to ``cli``."""
    cli.add_command(check_cmd)
