"""``workbench refresh``: the one command a scheduler runs (quotes and missing history)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from workbench.cli.options import db_option
from workbench.cli.quote_cmds import _provider_option, _providers


@click.command("refresh")
@_provider_option
@click.option(
    "--benchmark",
    default=None,
    metavar="SYMBOL",
    help="Benchmark to refresh with the holdings [default: the apps' default benchmark].",
)
@click.option(
    "--fx-provider",
    default=None,
    metavar="P[,P...]",
    help="FX rate sources (ecb, frankfurter, yahoo, demo) in fallback order [default: demo"
    " with the demo or workbench quote provider, else ecb,frankfurter].",
)
@click.option(
    "--fx-base-url",
    default=None,
    metavar="URL",
    help="The first FX source's scheme://host:port [default: --base-url for demo rates].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@db_option
def refresh_cmd(
    provider: str | None,
    base_url: str | None,
    timeout: float,
    benchmark: str | None,
    fx_provider: str | None,
    fx_base_url: str | None,
    as_json: bool,
    db: Path,
) -> None:
    """Fetch latest quotes and missing daily history for held symbols and the benchmark,
    and the FX rates of held currencies other than the base currency.

    Prints one summary line. Exit status: 0 all fetched (or nothing to fetch), 1 nothing
    could be fetched, 3 partial (the line names what failed), 75 another refresh of this
    database is running (nothing done). Two runs never overlap: a lock file
    <db>.refresh.lock is held while one runs.
    """
    from workbench.cli.fx_cmds import source_names
    from workbench.errors import RefreshLocked
    from workbench.refresh import EXIT_LOCKED, default_fx_providers, refresh

    providers = _providers(provider, base_url)
    if fx_provider:
        fx_names = source_names(fx_provider, option="--fx-provider")
    else:
        fx_names = default_fx_providers(providers)
    # a workbench quote server also serves the demo rates (GET /fx/{BASE}/{QUOTE}/history)
    fx_url = fx_base_url or (base_url if fx_names and fx_names[0] == "demo" else None)
    try:
        result = asyncio.run(
            refresh(
                db,
                provider=providers,
                benchmark=benchmark,
                timeout=timeout,
                fx_providers=fx_names or None,
                fx_base_url=fx_url,
            )
        )
    except RefreshLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    if as_json:
        payload = {
            "exit_code": result.exit_code,
            "held": result.targets.held,
            "benchmark": result.targets.benchmark,
            "quotes": [r.as_dict() for r in result.quotes],
            "history": [
                {"symbol": r.symbol, "stored": r.stored, "error": r.error, "provider": r.provider}
                for r in result.history
            ],
            "fx": result.fx.as_dicts() if result.fx is not None else [],
            "fx_error": result.fx_error,
            "summary": result.summary(),
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(result.summary())
    sys.exit(result.exit_code)


def register(cli: click.Group) -> None:
    """Add ``refresh`` to ``cli``."""
    cli.add_command(refresh_cmd)
