"""Fixtures shared by every test module: a fresh database path per test, CSV writing, and the
demo database and token-protected serve app of the server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from _browser_helpers import NOTEBOOKS, SERVE_TOKEN, copy_db, demo_template, uvicorn_thread


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path in a fresh temporary directory (not yet created)."""
    return tmp_path / "workbench.duckdb"


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write text to a CSV file in tmp_path and return its path."""

    def write(text: str, name: str = "ledger.csv", *, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per session; tests use copies."""
    return demo_template(tmp_path_factory)


@pytest.fixture
def demo_db(template_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database in this test's tmp_path."""
    return copy_db(template_db, tmp_path / "workbench.duckdb")


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let create_app set WORKBENCH_DB/WORKBENCH_READ_ONLY, restored after the test."""
    for name in ("WORKBENCH_DB", "WORKBENCH_READ_ONLY", "WORKBENCH_TOKEN"):
        monkeypatch.setenv(name, "")


@pytest.fixture
def protected_app(demo_db: Path, app_env: None) -> Any:
    """The serve app over the demo database, with the token :data:`SERVE_TOKEN`."""
    from workbench.server import create_app

    return create_app(notebooks=NOTEBOOKS, token=SERVE_TOKEN, database=demo_db)


@pytest_asyncio.fixture
async def client(protected_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling the app in-process, not following redirects."""
    transport = httpx.ASGITransport(app=protected_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def live_server(protected_app: Any) -> Iterator[str]:
    """The protected app on a real uvicorn server on 127.0.0.1 (for websockets, browsers)."""
    with uvicorn_thread(protected_app) as base:
        yield base
