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
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--dry-run", is_flag=True, help="Show the preset, mapping and counts; store nothing.")
@click.option(
    "--preset", "preset", metavar="NAME", help="Use this broker preset (see --list-presets)."
)
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Map the file with this TOML mapping file (README "Broker exports").',
)
@click.option("--account", metavar="A", help="Account for rows the file names none for.")
@click.option(
    "--skip-unknown", is_flag=True, help="Leave out rows with an unmapped action (counted)."
)
@click.option("--list-presets", is_flag=True, help="List the broker presets and exit.")
@db_option
def import_cmd(
    file: Path | None,
    dry_run: bool,
    preset: str | None,
    mapping: Path | None,
    account: str | None,
    skip_unknown: bool,
    list_presets: bool,
    db: Path,
) -> None:
    """Import ledger rows from FILE: workbench's CSV or a broker export (preset by header).

    All rows or none; rows already imported are skipped, so re-running adds nothing.
    """
    from workbench.ledger.presets.importing import import_any, preset_listing

    if list_presets:
        click.echo("\n".join(preset_listing()))
        return
    if file is None:
        raise click.UsageError("FILE is required (or pass --list-presets)")
    if preset and mapping:
        raise click.UsageError("give --preset or --mapping, not both")
    report = import_any(
        db, file, preset=preset, mapping=mapping, account=account,
        skip_unknown=skip_unknown, dry_run=dry_run,
    )  # fmt: skip
    click.echo("\n".join(report.lines(show_mapping=dry_run)))


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
