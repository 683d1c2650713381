"""``init``, ``import``, ``prices import`` and ``export``."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.options import db_option


@click.command("init")
@db_option
def init_cmd(db: Path) -> None:
    """Create the database, or migrate it to the current schema."""
    from workbench.store import SCHEMA_VERSION, current_version, open_connection
    from workbench.store.schema import migrate

    con = open_connection(db)
    try:
        before = current_version(con)
        migrate(con)
    finally:
        con.close()
    if before == SCHEMA_VERSION:
        click.echo(f"{db}: schema is current (version {SCHEMA_VERSION})")
    elif before == 0:
        click.echo(f"{db}: created (schema version {SCHEMA_VERSION})")
    else:
        click.echo(f"{db}: migrated schema version {before} -> {SCHEMA_VERSION}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count, but store nothing.")
@db_option
def import_cmd(file: Path, dry_run: bool, db: Path) -> None:
    """Import ledger rows from FILE (CSV; see README "Ledger format").

    All rows or none; rows already imported are skipped, so re-running adds nothing.
    """
    from workbench.ledger import import_csv

    result = import_csv(db, file, dry_run=dry_run)
    click.echo(result.summary())


@click.group("prices")
def prices_group() -> None:
    """Price history."""


@prices_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--provider", default="csv", show_default=True, help="Provenance recorded with the bars."
)
@db_option
def prices_import_cmd(file: Path, provider: str, db: Path) -> None:
    """Import daily unadjusted bars from FILE (date, symbol, close; open, high, low, volume, currency)."""
    from workbench.ledger.prices_csv import import_prices_csv

    written = import_prices_csv(db, file, provider=provider)
    click.echo(f"{file}: {written} bars stored")


@click.command("export")
@click.argument("table", type=click.Choice(["transactions", "prices", "quotes", "all"]))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output file (a directory for `all`).",
)
@db_option
def export_cmd(table: str, fmt: str, out: Path, db: Path) -> None:
    """Export TABLE to CSV or Parquet; a transactions export can be imported again."""
    from workbench.ledger.export import export_table

    written = export_table(db, table, fmt=fmt, out=out)
    for name, rows in written.items():
        click.echo(f"{name}: {rows} rows -> {out / f'{name}.{fmt}' if table == 'all' else out}")


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (init_cmd, import_cmd, prices_group, export_cmd):
        cli.add_command(command)
