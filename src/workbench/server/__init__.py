"""``workbench serve``: the notebooks as read-only apps, token auth, and the viewers' SQL sandbox.

from workbench.server import create_app, load_token
app = create_app(notebooks=Path("notebooks"), token=load_token("token.txt"))
"""

from __future__ import annotations

from workbench.server.app import NotebookApp, create_app, default_notebooks_dir, discover
from workbench.server.auth import COOKIE_NAME, TokenAuth, load_token
from workbench.server.sandbox import SqlLimits, ensure_database, sandbox, writes_allowed
from workbench.server.viewer_sql import SqlResult, run_sql

__all__ = [
    "COOKIE_NAME",
    "NotebookApp",
    "SqlLimits",
    "SqlResult",
    "TokenAuth",
    "create_app",
    "default_notebooks_dir",
    "discover",
    "ensure_database",
    "load_token",
    "run_sql",
    "sandbox",
    "writes_allowed",
]
