"""The ledger commands through click's CliRunner, and the installed console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.store import SCHEMA_VERSION, connect

WriteCsv = Callable[..., Path]
LEDGER = "date,type,symbol,quantity,price,amount\n2024-01-02,DEPOSIT,,,,1000\n2024-01-03,BUY,ACME,2,10,\n"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_then_reports_current(db_path: Path) -> None:
    """`init` creates the file, and a second run says the schema is current."""
    created = f"{db_path}: created (schema version {SCHEMA_VERSION})\n"
    assert _run("init", "--db", str(db_path)) == (0, created, "")
    code, out, _ = _run("init", "--db", str(db_path))
    assert (code, out) == (0, f"{db_path}: schema is current (version {SCHEMA_VERSION})\n")


def test_import_then_reimport(db_path: Path, write_csv: WriteCsv) -> None:
    """`import` reports rows added, and re-importing reports them as already imported."""
    path = write_csv(LEDGER)
    assert _run("import", str(path), "--db", str(db_path))[:2] == (
        0,
        f"{path}: 2 rows, added 2, 0 already imported\n",
    )
    assert _run("import", str(path), "--db", str(db_path))[:2] == (
        0,
        f"{path}: 2 rows, added 0, 2 already imported\n",
    )


def test_import_dry_run(db_path: Path, write_csv: WriteCsv) -> None:
    """`import --dry-run` says what it would add and stores nothing."""
    path = write_csv(LEDGER)
    code, out, _ = _run("import", str(path), "--dry-run", "--db", str(db_path))
    assert (code, out) == (0, f"{path}: 2 rows, would add 2, 0 already imported\n")
    with connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]


def test_bad_import_is_one_line_on_stderr_exit_1(db_path: Path, write_csv: WriteCsv) -> None:
    """A bad row gives exit 1 and one line on stderr naming file, line and field; no traceback."""
    path = write_csv("date,type,symbol,quantity,price\n2024-01-02,BUY,ACME,lots,1\n")
    code, out, err = _run("import", str(path), "--db", str(db_path))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert f"{path}:2: quantity: not a number: 'lots'" in err
    assert "Traceback" not in err


def test_missing_file_and_usage_errors(db_path: Path) -> None:
    """A missing file is a user error (exit 1); an unknown option is usage (exit 2)."""
    assert _run("import", "/nonexistent/x.csv", "--db", str(db_path))[0] == 1
    assert _run("import", "--bogus")[0] == 2
    assert _run("export", "nothing", "--out", "x")[0] == 2


def test_env_var_picks_the_database(
    tmp_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --db, WORKBENCH_DB names the database."""
    target = tmp_path / "from-env.duckdb"
    monkeypatch.setenv("WORKBENCH_DB", str(target))
    assert _run("import", str(write_csv(LEDGER)))[0] == 0
    assert target.exists()


def test_export_and_prices_import(db_path: Path, write_csv: WriteCsv, tmp_path: Path) -> None:
    """`prices import` stores bars and `export all` writes each table."""
    _run("import", str(write_csv(LEDGER)), "--db", str(db_path))
    prices = write_csv("date,symbol,close\n2024-01-03,ACME,10\n2024-01-04,ACME,11\n", "p.csv")
    assert _run("prices", "import", str(prices), "--db", str(db_path))[:2] == (
        0,
        f"{prices}: 2 bars stored\n",
    )
    code, out, _ = _run(
        "export", "all", "--format", "csv", "--out", str(tmp_path / "out"), "--db", str(db_path)
    )
    assert code == 0
    assert "transactions: 2 rows" in out
    assert "prices: 2 rows" in out
    assert (tmp_path / "out" / "prices.csv").read_text().count("\n") == 3


def test_every_command_has_help() -> None:
    """Every command and subcommand has --help text."""

    def walk(group: object, prefix: list[str]) -> list[list[str]]:
        commands = getattr(group, "commands", {})
        paths = []
        for name, command in commands.items():
            paths.append([*prefix, name])
            paths += walk(command, [*prefix, name])
        return paths

    for path in walk(cli, []):
        code, out, _ = _run(*path, "--help")
        assert code == 0, path
        assert "Usage:" in out, path
        assert len(out.splitlines()) > 3, path


def test_installed_console_script(db_path: Path, write_csv: WriteCsv) -> None:
    """The `workbench` console script from the environment runs a real import."""
    script = shutil.which("workbench") or str(Path(sys.executable).parent / "workbench")
    result = subprocess.run(
        [script, "import", str(write_csv(LEDGER)), "--db", str(db_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "added 2" in result.stdout
