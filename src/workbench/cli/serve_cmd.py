"""``workbench serve``: the notebooks as read-only apps over one database."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.options import db_option


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
@db_option
def serve(host: str, port: int, token_file: str | None, notebooks: str | None, db: Path) -> None:
    """Serve every notebook as a read-only app at /apps/<name>, with an index at /.

    Builds the demo database first if DB does not exist. With a token (--token-file or
    WORKBENCH_TOKEN) every route but /healthz needs `Authorization: Bearer <token>` or
    `?access_token=<token>` once (a cookie then keeps the browser signed in).
    """
    import uvicorn

    from workbench.server import create_app, ensure_database, load_token

    token = load_token(token_file)
    if not db.exists():
        click.echo(f"{db} does not exist: building the demo database (synthetic data)...", err=True)
    ensure_database(db)
    app = create_app(notebooks=Path(notebooks) if notebooks else None, token=token, database=db)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    click.echo(f"workbench apps over {db.resolve()}: {url}")
    if token:
        click.echo("a token is required: open the URL with ?access_token=<token> once")
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="websockets-sansio")


def register(cli: click.Group) -> None:
    """Add ``serve`` to ``cli``."""
    cli.add_command(serve)
