"""The public API: what `workbench` exports, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys
import types

import workbench


def test_all_is_sorted_and_complete() -> None:
    """`__all__` is sorted and lists exactly the public names, each of which resolves."""
    assert workbench.__all__ == sorted(workbench.__all__)
    # subpackages appear as attributes once anything imports them; they are not API names
    public = {
        name
        for name in dir(workbench)
        if not name.startswith("_") and not isinstance(getattr(workbench, name), types.ModuleType)
    } - {"annotations", "TYPE_CHECKING", "Any"}
    assert set(workbench.__all__) - {"__version__"} >= public
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name


def test_every_error_derives_from_workbench_error() -> None:
    """Each exported exception is a WorkbenchError, so the CLI reports it as one line."""
    errors = [
        getattr(workbench, n)
        for n in workbench.__all__
        if n.endswith(
            ("Error", "Busy", "Found", "Limited", "Unavailable", "Response", "Rows", "Currency")
        )
    ]
    assert len(errors) == 15
    assert all(issubclass(e, workbench.WorkbenchError) for e in errors)


def test_import_does_not_load_heavy_libraries() -> None:
    """`import workbench` and the CLI module load neither Polars, DuckDB nor httpx."""
    code = "import sys, workbench, workbench.cli; print(sorted(m for m in ('polars','duckdb','httpx','altair','marimo') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
