"""The ``workbench`` command line: a thin shell over the package.

This is the only place ``asyncio.run`` appears. Any :class:`WorkbenchError` becomes one line
on stderr and exit status 1; click's own usage errors exit 2.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from workbench.cli import (
    check_cmd,
    demo_cmd,
    fx_cmds,
    gains_cmd,
    lake_cmds,
    ledger_cmds,
    quote_cmds,
    refresh_cmd,
    report_cmd,
    serve_cmd,
)
from workbench.cli.options import WorkbenchGroup


@click.group(cls=WorkbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench")
def cli() -> None:
    """workbench: portfolio ledger, market data and analytics in DuckDB, Polars and marimo.

    Every command takes --db PATH (default: $WORKBENCH_DB or data/workbench.duckdb).
    """


for module in (
    ledger_cmds,
    demo_cmd,
    quote_cmds,
    report_cmd,
    serve_cmd,
    fx_cmds,
    refresh_cmd,
    gains_cmd,
    lake_cmds,
    check_cmd,
):
    module.register(cli)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="workbench")
