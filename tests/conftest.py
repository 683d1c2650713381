"""Fixtures shared by every test module: a fresh database path per test, CSV writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


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
