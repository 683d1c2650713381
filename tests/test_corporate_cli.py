"""Corporate actions end to end: import -> report --json -> gains, the holdings check at import,
and the local batch engine agreeing with ``report`` on a lake with every type."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _batch_helpers import cli_report, mismatches
from click.testing import CliRunner

from workbench.batch import run_batch
from workbench.cli import cli
from workbench.errors import InvalidRows, OversoldError
from workbench.lake import export_lake
from workbench.ledger import import_csv
from workbench.store import connect, read_transactions

WriteCsv = Callable[..., Path]

HEADER = (
    "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note,target,cost_fraction\n"
)
#: two lots of OLD (10 @ 100, 10 @ 120), renamed NEW at 2:1, a spin-off of 5 KID taking 20%,
#: NEW merged into BIG at 1:2 with 100 cash taking 10%, 25 back as capital, a stock dividend
#: of 1 BIG at a stated 12.5, then 5 BIG sold at 70. FIFO by hand:
#:   NEW lots 20/1000 20/1200 -> KID 2.5/200 2.5/240, NEW 800 960
#:   cash 100: 50 - 80 = -30 and 50 - 96 = -46 realized on NEW; BIG 10/720 10/864
#:   capital 12.5 off each: 707.5 851.5; dividend lot 1/12.5; sale of 5: 353.75, -3.75
#:   BIG left 5/353.75 10/851.5 1/12.5 = 16 shares, 1217.75; cash 10000 - 2200 + 100 + 25 + 350
LEDGER = (
    HEADER
    + """2024-01-02,main,DEPOSIT,,,,,10000,USD,,,,
2024-01-03,main,BUY,OLD,10,100,0,,USD,,,,
2024-01-04,main,BUY,OLD,10,120,0,,USD,,,,
2024-02-01,main,SYMBOL_CHANGE,OLD,,,,,USD,2:1,,NEW,
2024-03-01,main,SPINOFF,NEW,5,,,,USD,,,KID,0.2
2024-04-01,main,MERGER,NEW,,,,100,USD,1:2,,BIG,0.1
2024-05-01,main,RETURN_OF_CAPITAL,BIG,,,,25,USD,,,,
2024-06-03,main,STOCK_DIVIDEND,BIG,1,12.5,,,USD,,,,
2024-07-01,main,SELL,BIG,5,70,0,,USD,,,,
2024-01-02,other,DEPOSIT,,,,,1000,USD,,,,
2024-01-03,other,BUY,OLD,4,100,1,,USD,,,,
2024-02-01,other,SYMBOL_CHANGE,OLD,,,,,USD,2:1,,NEW,
2024-03-04,other,SELL,NEW,3,55,0,,USD,,,,
"""
)
PRICES = """date,symbol,close
2024-01-03,OLD,100
2024-02-01,NEW,55
2024-03-01,KID,30
2024-04-01,BIG,110
2024-07-01,BIG,70
2024-07-01,KID,31
"""
AS_OF = dt.date(2024, 7, 31)


def _run(args: list[str]) -> Any:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def corp_db(db_path: Path, write_csv: WriteCsv) -> Path:
    """A real DuckDB store with the ledger above and its prices, imported by the CLI."""
    _run(["import", "--db", str(db_path), str(write_csv(LEDGER))])
    _run(["prices", "import", "--db", str(db_path), str(write_csv(PRICES, "prices.csv"))])
    return db_path


def test_import_report_and_gains_end_to_end(corp_db: Path) -> None:
    """The CLI's report and gains give the hand-computed FIFO figures, and the books balance."""
    report = cli_report(corp_db, "main", as_of=AS_OF)
    by = {p["symbol"]: p for p in report["positions"]}
    assert (by["BIG"]["quantity"], by["BIG"]["cost_basis"]) == pytest.approx((16, 1217.75))
    assert by["BIG"]["market_value"] == pytest.approx(16 * 70)
    assert by["BIG"]["dividends"] == pytest.approx(12.5)
    assert (by["KID"]["quantity"], by["KID"]["cost_basis"]) == pytest.approx((5, 440))
    assert by["KID"]["market_value"] == pytest.approx(5 * 31)
    assert by["NEW"]["realized_pnl"] == pytest.approx(-76)
    assert (by["OLD"]["quantity"], by["OLD"]["realized_pnl"]) == (0, 0)
    totals = report["totals"]
    assert totals["cash"] == pytest.approx(10000 - 2200 + 100 + 25 + 350)
    assert totals["realized_pnl"] == pytest.approx(-79.75)
    assert totals["total_value"] - totals["net_deposits"] == pytest.approx(
        totals["unrealized_pnl"] + totals["realized_pnl"] + totals["dividends"]
    )
    out = _run(["gains", "--db", str(corp_db), "--year", "2024", "--account", "main", "--json"])
    rows = json.loads(out.stdout)["rows"]
    assert [(r["symbol"], r["acquired"], r["sold"], r["gain"]) for r in rows] == [
        ("NEW", "2024-01-03", "2024-04-01", pytest.approx(-30)),
        ("NEW", "2024-01-04", "2024-04-01", pytest.approx(-46)),
        ("BIG", "2024-01-03", "2024-07-01", pytest.approx(-3.75)),
    ]


def test_selling_the_old_symbol_in_a_later_file_is_refused(
    corp_db: Path, write_csv: WriteCsv
) -> None:
    """A later import selling OLD after its stored change is an oversell naming its line;
    selling NEW in the other account is fine."""
    bad = HEADER + "2024-03-05,other,SELL,OLD,1,50,0,,USD,,,,\n"
    with pytest.raises(OversoldError) as info:
        import_csv(corp_db, write_csv(bad, "later.csv"))
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "quantity")]
    assert "holds 0" in info.value.problems[0].message
    good = HEADER + "2024-03-05,other,SELL,NEW,5,50,0,,USD,,,,\n"
    assert import_csv(corp_db, write_csv(good, "good.csv")).added == 1


def test_a_new_change_that_strands_a_stored_sale_is_refused(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A symbol change imported before a stored sale of the old symbol strands that sale."""
    import_csv(db_path, write_csv(HEADER + "2024-01-03,a,BUY,OLD,4,100,0,,USD,,,,\n"
                                  "2024-03-01,a,SELL,OLD,1,100,0,,USD,,,,\n"))  # fmt: skip
    change = HEADER + "2024-02-01,a,SYMBOL_CHANGE,OLD,,,,,USD,,,NEW,\n"
    with pytest.raises(OversoldError, match="stored transaction 2"):
        import_csv(db_path, write_csv(change, "change.csv"))


def test_actions_the_holdings_cannot_carry_are_refused_with_their_line(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """A spin-off of a symbol not held and merger cash with nothing to allocate by are errors
    naming their lines; nothing is imported."""
    text = HEADER + (
        "2024-01-03,a,BUY,X,4,100,0,,USD,,,,\n"
        "2024-02-01,a,SPINOFF,Z,1,,,,USD,,,K,0.1\n"
        "2024-03-01,a,MERGER,X,2,,,50,USD,1:2,,M,\n"
    )
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(text))
    found = {(p.line, p.field): p.message for p in info.value.problems}
    assert "holds no Z" in found[(3, "symbol")]
    assert "cost_fraction" in found[(4, "cost_fraction")]
    with connect(db_path, read_only=True) as con:
        assert read_transactions(con).is_empty()


def test_stock_dividend_shares_can_be_sold(db_path: Path, write_csv: WriteCsv) -> None:
    """Shares received as a stock dividend count as held at import."""
    text = HEADER + (
        "2024-01-03,a,BUY,X,4,100,0,,USD,,,,\n"
        "2024-02-01,a,STOCK_DIVIDEND,X,1,,,,USD,,,,\n"
        "2024-03-01,a,SELL,X,5,100,0,,USD,,,,\n"
    )
    assert import_csv(db_path, write_csv(text)).added == 3


@pytest.mark.parametrize("method", ["fifo", "hifo", "average"])
def test_local_batch_equals_report_with_every_type(
    corp_db: Path, tmp_path: Path, method: str
) -> None:
    """The local batch engine over the exported lake gives every account exactly what
    `report --account A --json` gives (money within 1e-6)."""
    lake = tmp_path / "lake"
    export_lake(corp_db, lake, buckets=2)
    out = tmp_path / f"out-{method}"
    run_batch(lake, out, engine="local", as_of=AS_OF, cost_method=method, workers=1)
    reports = {a: cli_report(corp_db, a, as_of=AS_OF, method=method) for a in ("main", "other")}
    assert mismatches(out, reports) == []


def test_batched_import_follows_actions_across_batches(
    db_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read in batches of one or two records checks holdings across actions like a
    whole read: the ledger above imports; selling the old symbol after its change does not."""
    from workbench.ledger import batches

    monkeypatch.setattr(batches, "STREAM_BYTES", -1)
    monkeypatch.setattr(batches, "BATCH_BYTES", 60)
    assert import_csv(db_path, write_csv(LEDGER)).added == 13
    with connect(db_path, read_only=True) as con:
        assert read_transactions(con).height == 13
    bad = HEADER + (
        "2024-01-03,b,BUY,OLD,4,100,1,,USD,,,,\n"
        "2024-02-01,b,SYMBOL_CHANGE,OLD,,,,,USD,2:1,,NEW,\n"
        "2024-03-04,b,SELL,NEW,3,55,0,,USD,,,,\n"
        "2024-03-05,b,SELL,OLD,1,55,0,,USD,,,,\n"
    )
    with pytest.raises(OversoldError) as info:
        import_csv(db_path, write_csv(bad, "bad.csv"))
    assert [(p.line, p.field) for p in info.value.problems] == [(5, "quantity")]
