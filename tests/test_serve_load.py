"""Many viewers at once: kernels starting together, and their SQL running side by side."""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _browser_helpers import (
    NOTEBOOKS,
    KernelRun,
    copy_db,
    run_app_session,
    serve_process,
)

from workbench.server import compile_lock, create_app

TOKEN = "load-test-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def restore_compile() -> Iterator[None]:
    """Put the builtin compile back after a test that built the serve app."""
    yield
    compile_lock.uninstall()


class _Finalized:
    """Garbage whose finalizer runs Python code: a thread switch can happen inside it."""

    partner: Any = None

    def __del__(self) -> None:
        sum(range(100))


def _parse_and_compile(sources: list[str], errors: list[str], rounds: int) -> None:
    for i in range(rounds):
        for _ in range(100):  # reference cycles, collected by the GC at arbitrary points
            a, b = _Finalized(), _Finalized()
            a.partner, b.partner = b, a
        try:
            compile(ast.parse(sources[i % len(sources)]), "<cell>", "exec")
        except SystemError as exc:  # "AST constructor recursion depth mismatch"
            errors.append(str(exc))


@pytest.mark.slow
def test_kernels_compiling_at_once_never_fail(
    template_db: Path, tmp_path: Path, app_env: None, restore_compile: None
) -> None:
    """With the serve app built, 20 threads parsing and compiling notebooks at once never fail.

    This is what 20 viewers' kernels do when they start together. Without the lock, CPython
    3.11 raised "AST constructor recursion depth mismatch" a few times per run of this load.
    """
    create_app(notebooks=NOTEBOOKS, database=copy_db(template_db, tmp_path / "w.duckdb"))
    sources = [p.read_text(encoding="utf-8") for p in sorted(NOTEBOOKS.glob("*.py"))]
    errors: list[str] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(target=_parse_and_compile, args=(sources, errors, 40))
            for _ in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
        gc.collect()
    assert errors == []


@pytest.mark.slow
def test_twenty_viewers_start_together(template_db: Path, tmp_path: Path) -> None:
    """20 app sessions opened at once on `workbench serve` all complete with no cell error."""
    db = copy_db(template_db, tmp_path / "workbench.duckdb")
    names = ["ledger", "quotes"] * 10
    with serve_process(db, token=TOKEN) as (base, _proc), ThreadPoolExecutor(20) as pool:
        runs: list[KernelRun] = list(
            pool.map(lambda n: run_app_session(base, n, headers=BEARER, timeout=240), names)
        )
    failed = [(n, r.outcome, r.errors) for n, r in zip(names, runs, strict=True) if r.errors]
    assert failed == []
    assert [r.outcome for r in runs] == ["succeeded"] * 20
