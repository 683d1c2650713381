"""What a refresh reads before it fetches: one open of the database, the same targets as the apps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from workbench.ledger import import_csv
from workbench.ledger.prices_csv import import_prices_csv
from workbench.refresh import find_targets
from workbench.server.views import load_choices
from workbench.store import connection

LEDGER = """date,type,symbol,quantity,price,amount,currency
2024-01-02,DEPOSIT,,,,100000,USD
2024-01-03,BUY,ACME,10,100,,USD
2024-01-03,BUY,NWND,5,10,,USD
2024-02-01,SELL,NWND,5,12,,USD
2024-02-05,BUY,VOLK,3,50,,EUR
"""


@pytest.fixture
def ledger_db(db_path: Path, tmp_path: Path) -> Path:
    """ACME and VOLK (EUR) held, NWND sold out; ACME priced to 2024-03-01, BRDX an ETF priced."""
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(LEDGER)
    import_csv(db_path, ledger)
    prices = tmp_path / "prices.csv"
    prices.write_text("date,symbol,close\n2024-01-03,ACME,1.0\n2024-03-01,ACME,1.1\n")
    import_prices_csv(db_path, prices)
    return db_path


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record the read_only flag of every database open from now on."""
    opened: list[bool] = []
    original = connection.open_connection

    def counting(path: Any, **kwargs: Any) -> Any:
        opened.append(bool(kwargs.get("read_only", False)))
        return original(path, **kwargs)

    monkeypatch.setattr(connection, "open_connection", counting)
    return opened


def test_find_targets_opens_the_database_once(
    ledger_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held symbols, the default benchmark and the stored bars come from one read-write open."""
    opened = _count_opens(monkeypatch)
    targets = find_targets(ledger_db, today=dt.date(2024, 3, 8))
    assert opened == [False]
    assert targets.held == ["ACME", "VOLK"]
    # ACME's last bar is 2024-03-01: fetch from the day after; VOLK from its first trade
    assert targets.history_start == {"ACME": dt.date(2024, 3, 2), "VOLK": dt.date(2024, 2, 5)}
    assert targets.foreign_currencies == ["EUR"]


def test_the_default_benchmark_is_the_apps_default(demo_db: Path) -> None:
    """With no benchmark given, a refresh picks what the apps show: the demo's one priced
    "Broad market" ETF in USD, WBUS (demo/market.py; WBEU is the EUR one)."""
    assert find_targets(demo_db).benchmark == "WBUS"
    assert load_choices(demo_db).default_benchmark == "WBUS"
