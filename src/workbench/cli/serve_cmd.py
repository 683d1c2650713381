"""``workbench serve``: the notebooks as read-only apps over one database."""

from __future__ import annotations

import os
from pathlib import Path

import click

from workbench.cli.options import db_option

#: hosts that only this machine can reach
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=2718, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="File whose first line is the access token [default: $WORKBENCH_TOKEN; none: open].",
)
@click.option(
    "--notebooks",
    "notebooks",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Directory of notebooks to serve [default: $WORKBENCH_NOTEBOOKS or ./notebooks].",
)
@click.option(
    "--sql-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds a viewer's SQL may run [default: $WORKBENCH_SQL_TIMEOUT or 5].",
)
@click.option(
    "--sql-max-rows",
    type=click.IntRange(min=1),
    default=None,
    help="Rows a viewer's SQL shows at most [default: $WORKBENCH_SQL_MAX_ROWS or 10000].",
)
@click.option(
    "--sql-memory",
    default=None,
    help="DuckDB memory limit of a viewer's SQL [default: $WORKBENCH_SQL_MEMORY or 256MB].",
)
@click.option(
    "--session-hours",
    type=click.FloatRange(min=0.01),
    default=12.0,
    show_default=True,
    help="How long a browser stays signed in.",
)
@db_option
def serve(
    host: str,
    port: int,
    token_file: str | None,
    notebooks: str | None,
    sql_timeout: float | None,
    sql_max_rows: int | None,
    sql_memory: str | None,
    session_hours: float,
    db: Path,
) -> None:
    """Serve every notebook as a read-only app at /apps/<name>, with an index at /.

    Builds the demo database first if DB does not exist. With a token (--token-file or
    WORKBENCH_TOKEN) every route but /healthz needs `Authorization: Bearer <token>` or
    `?access_token=<token>` once (a cookie then keeps the browser signed in; /signout ends it).
    """
    import uvicorn

    from workbench.server import SqlLimits, create_app, ensure_database, load_token
    from workbench.server.sandbox import MAX_ROWS_ENV, MEMORY_ENV, TIMEOUT_ENV

    token = load_token(token_file)
    for name, value in ((TIMEOUT_ENV, sql_timeout), (MAX_ROWS_ENV, sql_max_rows),
                        (MEMORY_ENV, sql_memory)):  # fmt: skip
        if value is not None:  # the notebooks read their limits from the environment
            os.environ[name] = str(value)
    limits = SqlLimits.from_env()  # a bad value fails here, not in a viewer's session
    if token is None and host not in LOOPBACK:
        click.echo(
            f"warning: serving on {host} without a token: anyone who can reach this machine"
            " can open the apps; set WORKBENCH_TOKEN or --token-file",
            err=True,
        )
    if not db.exists():
        click.echo(f"{db} does not exist: building the demo database (synthetic data)...", err=True)
    ensure_database(db)
    app = create_app(
        notebooks=Path(notebooks) if notebooks else None,
        token=token,
        database=db,
        cookie_max_age=int(session_hours * 3600),
    )
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    click.echo(f"workbench apps over {db.resolve()}: {url}")
    click.echo(
        f"viewer SQL: {limits.timeout:g} s deadline, {limits.max_rows:,} rows shown,"
        f" {limits.memory} memory"
    )
    if token:
        click.echo("a token is required: open the URL with ?access_token=<token> once")
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="websockets-sansio")


def register(cli: click.Group) -> None:
    """Add ``serve`` to ``cli``."""
    cli.add_command(serve)
