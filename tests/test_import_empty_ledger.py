"""Into an empty ledger the holdings check reads nothing back: the same refusals as a ledger
whose stored rows are of another account.

Each case imports one file twice: into a new database, and into one that already holds a
deposit of an unrelated account (so the check takes its path through the stored rows). The
problems must be equal, and hand-checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.errors import InvalidRows, OversoldError
from workbench.ledger import import_csv, importer
from workbench.store import connect

WriteCsv = Callable[..., Path]

HEADER = (
    "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note,target,cost_fraction"
)
OTHER = f"{HEADER}\n2020-01-01,other,DEPOSIT,,,,,100,USD,,,,\n"


def _problems(db: Path, path: Path) -> list[tuple[int, str, str]]:
    """(line, field, message) of the import's refusal, and that it stored nothing."""
    with pytest.raises((InvalidRows, OversoldError)) as refused:
        import_csv(db, path)
    with connect(db) as con:
        assert con.execute(
            "SELECT count(*) FROM transactions WHERE account <> 'other'"
        ).fetchall() == [(0,)]
    return [(p.line, p.field, p.message) for p in refused.value.problems]


def _both(tmp_path: Path, write_csv: WriteCsv, text: str) -> list[tuple[int, str, str]]:
    """The problems of ``text`` imported into an empty ledger, checked equal to those of a
    ledger with another account's deposit."""
    path = write_csv(text)
    fresh = _problems(tmp_path / "fresh.duckdb", path)
    used = tmp_path / "used.duckdb"
    import_csv(used, write_csv(OTHER, "other.csv"))
    assert _problems(used, path) == fresh
    return fresh


def test_an_oversell_into_an_empty_ledger(tmp_path: Path, write_csv: WriteCsv) -> None:
    """Buy 3, sell 2, sell 2: the second sell (line 4) holds 1."""
    text = (
        f"{HEADER}\n2024-01-02,a,BUY,X,3,10,,,USD,,,,\n2024-01-03,a,SELL,X,2,11,,,USD,,,,\n"
        "2024-01-04,a,SELL,X,2,12,,,USD,,,,\n"
    )
    assert _both(tmp_path, write_csv, text) == [
        (4, "quantity", "sells 2 X but account 'a' holds 1 on 2024-01-04")
    ]


def test_a_reverse_split_alone_can_oversell(tmp_path: Path, write_csv: WriteCsv) -> None:
    """Buy 4, a 1:4 split on day 3 leaves 1, so a sell of 2 on day 4 (line 5) is short;
    a split is no SELL, yet the check runs."""
    text = (
        f"{HEADER}\n2024-01-02,a,BUY,X,4,10,,,USD,,,,\n2024-01-03,a,SPLIT,X,,,,,USD,1:4,,,\n"
        "2024-01-03,b,DEPOSIT,,,,,5,USD,,,,\n2024-01-04,a,SELL,X,2,12,,,USD,,,,\n"
    )
    assert _both(tmp_path, write_csv, text) == [
        (5, "quantity", "sells 2 X but account 'a' holds 1 on 2024-01-04")
    ]


def test_a_spinoff_of_a_symbol_not_held(tmp_path: Path, write_csv: WriteCsv) -> None:
    """A spin-off from X in an account holding no X is refused on its line (3)."""
    text = (
        f"{HEADER}\n2024-01-02,a,BUY,Y,4,10,,,USD,,,,\n2024-01-03,a,SPINOFF,X,5,,,,USD,,,K,0.25\n"
    )
    problems = _both(tmp_path, write_csv, text)
    assert [(line, field) for line, field, _ in problems] == [(3, "symbol")]


def test_buys_only_need_no_check_and_import(db_path: Path, write_csv: WriteCsv) -> None:
    """Buys alone into an empty ledger import (2 rows)."""
    text = f"{HEADER}\n2024-01-02,a,BUY,X,3,10,,,USD,,,,\n2024-01-03,a,BUY,X,1,10,,,USD,,,,\n"
    assert import_csv(db_path, write_csv(text)).added == 2


def test_batches_into_an_empty_ledger_refuse_the_same_oversell(
    tmp_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read in batches of a few records: the oversell on line 5 is refused, nothing
    is stored, as when it is read whole."""
    monkeypatch.setattr(importer.batches, "STREAM_BYTES", 10)
    monkeypatch.setattr(importer.batches, "BATCH_BYTES", 40)
    text = (
        f"{HEADER}\n2024-01-02,a,BUY,X,3,10,,,USD,,,,\n2024-01-02,a,BUY,Y,3,10,,,USD,,,,\n"
        "2024-01-03,a,SELL,X,2,11,,,USD,,,,\n2024-01-04,a,SELL,X,2,12,,,USD,,,,\n"
    )
    db = tmp_path / "batched.duckdb"
    with pytest.raises(OversoldError) as refused:
        import_csv(db, write_csv(text))
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (5, "sells 2 X but account 'a' holds 1 on 2024-01-04")
    ]
    with connect(db) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]
