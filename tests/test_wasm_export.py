"""`marimo export html-wasm` of the portfolio dashboard over a data snapshot, and the snapshot itself.

The export runs for real (marimo's CLI, uv, Ruff's import graph) from a copy of the project whose
pyproject.toml carries the marimo runtime setting README documents, so it tests the notebook and
the package as they are. Viewing the result needs a browser, Pyodide from its CDN and Pyodide
builds of polars and duckdb: that part is not tested here (no internet).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _browser_helpers import NOTEBOOKS, ROOT, build_demo_db

from workbench import analytics, store
from workbench.errors import StoreError
from workbench.server.snapshot import MANIFEST, load_snapshot, write_snapshot

BIN = Path(sys.executable).parent
# the lines README asks for in pyproject.toml: marimo bundles what it finds under src/ as a wheel
RUNTIME_CONFIG = '[tool.marimo.runtime]\npythonpath = ["src"]\n'
TABLES = ("accounts", "instruments", "prices", "transactions")


def export_env() -> dict[str, str]:
    """The environment for marimo: the venv's bin first, so its uv (the test extra) is found."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deterministic demo database, built once for this module."""
    return build_demo_db(tmp_path_factory.mktemp("db") / "workbench.duckdb")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> Path:
    """The html-wasm export of notebooks/portfolio.py with a snapshot of the demo database."""
    project = tmp_path_factory.mktemp("project")
    (project / "notebooks").mkdir()
    shutil.copy2(NOTEBOOKS / "portfolio.py", project / "notebooks" / "portfolio.py")
    shutil.copytree(
        ROOT / "src" / "workbench",
        project / "src" / "workbench",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / "pyproject.toml").write_text(RUNTIME_CONFIG, encoding="utf-8")
    out = project / "site"
    done = subprocess.run(
        [str(BIN / "marimo"), "export", "html-wasm", "notebooks/portfolio.py",
         "-o", str(out), "--mode", "run", "--no-sandbox"],
        cwd=project, env=export_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"export failed:\n{done.stdout}\n{done.stderr}"
    write_snapshot(demo_db, out)
    return out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log each request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        """Drop the access log line."""


@pytest.fixture
def site_url(exported: Path) -> Iterator[str]:
    """The export served over HTTP on 127.0.0.1, as a static host would serve it."""
    handler = functools.partial(QuietHandler, directory=str(exported))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def read_tables(db: Path) -> dict[str, pl.DataFrame]:
    """The tables the dashboard reads, through the store's own readers."""
    with store.connect(db, read_only=True) as con:
        return {
            "accounts": store.read_accounts(con),
            "instruments": store.read_instruments(con),
            "prices": store.read_prices(con),
            "transactions": store.read_transactions(con),
        }


def test_uv_is_installed() -> None:
    """uv, which marimo needs to find the notebook's local imports, is on the export's PATH."""
    found = shutil.which("uv", path=export_env()["PATH"])
    assert found is not None, "uv is missing: install the test extra (pip install -e '.[test]')"


def test_export_writes_the_page_and_its_assets(exported: Path) -> None:
    """The export has index.html with the notebook's code in it, and marimo's assets."""
    page = (exported / "index.html").read_text(encoding="utf-8")
    assert "load_snapshot" in page
    assert "explain_position" in page
    assert (exported / "assets").is_dir()
    assert any((exported / "assets").iterdir())


def test_export_bundles_the_workbench_package_as_a_wheel(exported: Path) -> None:
    """The workbench package travels as a wheel under public/wheels/, named in the page."""
    wheels = sorted((exported / "public" / "wheels").glob("workbench-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
    for module in ("__init__.py", "server/snapshot.py", "server/views.py", "analytics/report.py",
                   "charts/__init__.py", "store/connection.py"):  # fmt: skip
        assert f"workbench/{module}" in names
    page = (exported / "index.html").read_text(encoding="utf-8")
    assert "workbench @ ../public/wheels/workbench-" in page


def test_snapshot_is_published_beside_the_page(exported: Path) -> None:
    """public/snapshot/ holds the manifest, schema.sql, load.sql and one Parquet file per table."""
    snapshot = exported / "public" / "snapshot"
    manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == 1
    assert {"schema.sql", "load.sql"} <= set(manifest["files"])
    assert {f"{table}.parquet" for table in TABLES} <= set(manifest["files"])
    assert all((snapshot / name).is_file() for name in manifest["files"])


def test_snapshot_loads_back_into_the_same_data(
    exported: Path, demo_db: Path, tmp_path: Path
) -> None:
    """A database built from the published snapshot reads exactly what the source database reads."""
    url = (exported / "public" / "snapshot").as_uri()
    rebuilt = load_snapshot(url, into=tmp_path / "browser")
    assert rebuilt.parent == tmp_path / "browser"
    source, copy = read_tables(demo_db), read_tables(rebuilt)
    for table in TABLES:
        assert copy[table].height > 0
        assert copy[table].equals(source[table]), table


def test_write_snapshot_replaces_an_older_one(demo_db: Path, tmp_path: Path) -> None:
    """Writing twice leaves one complete snapshot and no staging directories behind."""
    first = write_snapshot(demo_db, tmp_path)
    (first / "stale.parquet").write_bytes(b"old")
    second = write_snapshot(demo_db, tmp_path)
    assert second == first
    assert not (second / "stale.parquet").exists()
    assert [p.name for p in (tmp_path / "public").iterdir()] == ["snapshot"]


def test_write_snapshot_of_a_missing_database_fails(tmp_path: Path) -> None:
    """A missing database is an error naming the file, and builds no demo data."""
    missing = tmp_path / "nope.duckdb"
    with pytest.raises(StoreError, match=r"nope\.duckdb does not exist"):
        write_snapshot(missing, tmp_path / "out")
    assert not missing.exists()


def test_load_snapshot_without_a_manifest_fails(tmp_path: Path) -> None:
    """A URL without a snapshot manifest is a clear StoreError, not a traceback from urllib."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="cannot read snapshot file"):
        load_snapshot((tmp_path / "empty").as_uri(), into=tmp_path / "into")


def test_load_snapshot_refuses_paths_outside_the_snapshot(tmp_path: Path) -> None:
    """A manifest naming ../ files is refused before anything is fetched."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / MANIFEST).write_text(json.dumps({"format": 1, "files": ["../x"]}), encoding="utf-8")
    with pytest.raises(StoreError, match="outside the snapshot"):
        load_snapshot(bad.as_uri(), into=tmp_path / "into")


def test_notebook_under_pyodide_reads_the_snapshot_not_workbench_db(
    site_url: str, demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sys.platform "emscripten" the dashboard loads public/snapshot over HTTP and values it.

    WORKBENCH_DB points at a missing file in read-only mode, so reading it would fail; the
    notebook's URL comes from mo.notebook_location() as marimo's Pyodide runtime gives it.
    """
    from marimo._runtime.runtime import URLPath

    monkeypatch.setenv("WORKBENCH_DB", str(tmp_path / "missing" / "workbench.duckdb"))
    monkeypatch.setenv("WORKBENCH_READ_ONLY", "1")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spec = importlib.util.spec_from_file_location("nb_portfolio_wasm", NOTEBOOKS / "portfolio.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import marimo

    monkeypatch.setattr(marimo, "notebook_location", lambda: URLPath(site_url))
    with monkeypatch.context() as wasm:
        wasm.setattr(sys, "platform", "emscripten")
        _, defs = module.app.run()
    assert Path(defs["db"]).is_relative_to(tmp_path)
    assert Path(defs["db"]).name == "workbench.duckdb"
    expected = analytics.load_report(demo_db, as_of=defs["as_of"]).totals
    assert defs["report"].totals["total_value"] == expected["total_value"]
    assert defs["report"].totals["realized_pnl"] == expected["realized_pnl"]
