"""``workbench demo``: build the synthetic demo ledger, instruments and prices."""

from __future__ import annotations

import time
from pathlib import Path

import click

from workbench.cli.options import db_option


@click.command("demo")
@click.option(
    "--seed", type=int, default=7, show_default=True, help="The same seed gives the same data."
)
@click.option(
    "--transactions",
    type=click.IntRange(min=1),
    default=None,
    help="Build a ledger of exactly N rows over many accounts and generated symbols"
    " (for benchmarks) instead of the three-account demo ledger.",
)
@db_option
def demo_cmd(seed: int, transactions: int | None, db: Path) -> None:
    """Store synthetic demo data: invented instruments, daily prices and a ledger.

    Nothing here is real market data. Re-running with the same seed adds nothing new.
    Progress goes to stderr, the summary to stdout.
    """
    from workbench.demo.build import write_demo

    started = time.monotonic()

    def progress(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f} s] {message}", err=True)

    try:
        summary = write_demo(db, seed=seed, transactions=transactions, progress=progress)
    except ValueError as exc:  # only the generator raises it: a ledger size it cannot build
        raise click.BadParameter(str(exc), param_hint="'--transactions'") from exc
    progress("done")
    click.echo(summary.describe())


def register(cli: click.Group) -> None:
    """Add ``demo`` to ``cli``."""
    cli.add_command(demo_cmd)
