"""The realized-gains report: hand-computed ledgers for every cost method, splits, fees, the
one-year boundary and the FX part; a property that gains add up to the report's realized P&L;
and the ``workbench gains`` command."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _analytics_helpers import eur_usd_rates, ledger, price_frame, row, write_store
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analytics_currency_property import DAYS, START, scenarios

from workbench.analytics.gains import realized_gains
from workbench.analytics.report import build_report
from workbench.cli import cli
from workbench.errors import MissingRate, OversoldError, WorkbenchError

# Three buys, two partial sells (USD, fees on every trade):
#   B1 2023-01-10 BUY 10 @ 100 fee 5 -> cost 1005 (100.5 a share)
#   B2 2023-03-01 BUY 10 @ 130 fee 5 -> cost 1305 (130.5 a share)
#   B3 2023-06-01 BUY 10 @ 110 fee 5 -> cost 1105 (110.5 a share)
#   S1 2024-01-11 SELL 15 @ 140 fee 6 -> proceeds 15 * 140 - 6 = 2094 (139.6 a share)
#   S2 2024-03-05 SELL 10 @ 150 fee 0 -> proceeds 1500 (150 a share)
THREE_BUYS = [
    row("2023-01-10", "BUY", "ACME", 10, 100, fee=5),
    row("2023-03-01", "BUY", "ACME", 10, 130, fee=5),
    row("2023-06-01", "BUY", "ACME", 10, 110, fee=5),
    row("2024-01-11", "SELL", "ACME", 15, 140, fee=6),
    row("2024-03-05", "SELL", "ACME", 10, 150),
]
# (lot id, quantity, acquired, sold, proceeds, cost, gain, term), in report order
EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    # S1 takes B1 10 (proceeds 10 * 139.6 = 1396; sold the day after the anniversary: long)
    # and B2 5 (698 - 5 * 130.5 = 698 - 652.5); S2 takes B2 5 (750 - 652.5) and B3 5
    # (750 - 552.5). Total 3594 - 2862.5 = 731.5.
    "fifo": [
        (1, 10, "2023-01-10", "2024-01-11", 1396.0, 1005.0, 391.0, "long"),
        (2, 5, "2023-03-01", "2024-01-11", 698.0, 652.5, 45.5, "short"),
        (2, 5, "2023-03-01", "2024-03-05", 750.0, 652.5, 97.5, "long"),
        (3, 5, "2023-06-01", "2024-03-05", 750.0, 552.5, 197.5, "short"),
    ],
    # S1 takes B3 10 (1396 - 1105) and B2 5; S2 takes B2 5 and B1 5 (750 - 502.5).
    "lifo": [
        (2, 5, "2023-03-01", "2024-01-11", 698.0, 652.5, 45.5, "short"),
        (3, 10, "2023-06-01", "2024-01-11", 1396.0, 1105.0, 291.0, "short"),
        (1, 5, "2023-01-10", "2024-03-05", 750.0, 502.5, 247.5, "long"),
        (2, 5, "2023-03-01", "2024-03-05", 750.0, 652.5, 97.5, "long"),
    ],
    # S1 takes B2 10 (the dearest, 1396 - 1305) and B3 5 (698 - 552.5); S2 takes B3 5 and
    # B1 5.
    "hifo": [
        (2, 10, "2023-03-01", "2024-01-11", 1396.0, 1305.0, 91.0, "short"),
        (3, 5, "2023-06-01", "2024-01-11", 698.0, 552.5, 145.5, "short"),
        (1, 5, "2023-01-10", "2024-03-05", 750.0, 502.5, 247.5, "long"),
        (3, 5, "2023-06-01", "2024-03-05", 750.0, 552.5, 197.5, "short"),
    ],
    # pool 30 shares costing 3415; S1 takes half: 1707.5 (gain 2094 - 1707.5 = 386.5);
    # S2 takes 10 of 15: 1707.5 * 10 / 15 = 1138.333... (gain 1500 - 1138.333 = 361.667)
    "average": [
        (None, 15, None, "2024-01-11", 2094.0, 1707.5, 386.5, None),
        (None, 10, None, "2024-03-05", 1500.0, 1138.0 + 1 / 3, 361.0 + 2 / 3, None),
    ],
}


def _rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return [
        (r["lot_id"], r["quantity"], r["acquired"] and r["acquired"].isoformat(),
         r["sold"].isoformat(), r["proceeds"], r["cost"], r["gain"], r["term"])
        for r in frame.iter_rows(named=True)
    ]  # fmt: skip


def _same(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> bool:
    """Rows equal field by field, floats to pytest.approx's default tolerance."""
    if len(actual) != len(expected):
        return False
    for got, want in zip(actual, expected, strict=True):
        if len(got) != len(want):
            return False
        for x, y in zip(got, want, strict=True):
            if not (x == pytest.approx(y) if isinstance(y, float) else x == y):
                return False
    return True


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
def test_each_method_matches_the_hand_computed_lots(method: str) -> None:
    """Every cost method pairs each sale with the hand-computed lots, fee split by quantity."""
    gains = realized_gains(ledger(THREE_BUYS), method=method)
    assert _same(_rows(gains.rows), EXPECTED[method])
    assert gains.rows["fx_gain"].to_list() == [0.0] * len(EXPECTED[method])


def test_totals_by_term_add_up() -> None:
    """FIFO totals: long 391 + 97.5 = 488.5, short 45.5 + 197.5 = 243, all 731.5."""
    totals = realized_gains(ledger(THREE_BUYS), method="fifo").totals()
    assert totals["long"]["gain"] == pytest.approx(488.5)
    assert totals["short"]["gain"] == pytest.approx(243.0)
    assert totals["total"] == pytest.approx(
        {"proceeds": 3594.0, "cost": 2862.5, "gain": 731.5, "fx_gain": 0.0}
    )
    assert "unassigned" not in totals


def test_average_rows_are_unassigned_in_the_totals() -> None:
    """AVERAGE rows have no term; their totals are under ``unassigned`` (386.5 + 361.667)."""
    totals = realized_gains(ledger(THREE_BUYS), method="average").totals()
    assert totals["unassigned"]["gain"] == pytest.approx(748.0 + 1 / 6)
    assert totals["long"]["gain"] == 0.0


def test_period_filters_rows_but_lots_match_over_all_history() -> None:
    """Only S2 is in 2024-02..2024-12, and under FIFO it still starts at B2 (S1 took B1)."""
    gains = realized_gains(ledger(THREE_BUYS), start=dt.date(2024, 2, 1), end=dt.date(2024, 12, 31))
    assert _same(_rows(gains.rows), EXPECTED["fifo"][2:])


def test_split_changes_quantity_and_unit_cost_not_cost_or_date() -> None:
    """A 2:1 split between buy and sale: 10 @ 100 become 20 @ 50; selling 5 @ 60 gains 50.

    A later 3:1 split does not change the quantity shown (5 shares as of the sale date).
    """
    tx = ledger([
        row("2023-01-10", "BUY", "ACME", 10, 100),
        row("2023-05-01", "SPLIT", "ACME", ratio=(2, 1)),
        row("2023-08-01", "SELL", "ACME", 5, 60),
        row("2023-09-01", "SPLIT", "ACME", ratio=(3, 1)),
    ])  # fmt: skip
    gains = realized_gains(tx)
    # cost 5 * 1000 / 20 = 250; proceeds 300
    assert _same(
        _rows(gains.rows), [(1, 5, "2023-01-10", "2023-08-01", 300.0, 250.0, 50.0, "short")]
    )


@pytest.mark.parametrize(
    ("bought", "sold", "term"),
    [
        pytest.param("2023-03-15", "2024-03-15", "short", id="on-the-anniversary"),
        pytest.param("2023-03-15", "2024-03-16", "long", id="day-after-anniversary"),
        pytest.param("2024-02-29", "2025-02-28", "short", id="leap-day-anniversary"),
        pytest.param("2024-02-29", "2025-03-01", "long", id="leap-day-after"),
    ],
)
def test_long_term_means_sold_after_the_first_anniversary(
    bought: str, sold: str, term: str
) -> None:
    """Held more than a year: the sale date is after the anniversary (29 Feb -> 28 Feb)."""
    tx = ledger([row(bought, "BUY", "ACME", 1, 10), row(sold, "SELL", "ACME", 1, 12)])
    assert realized_gains(tx).rows["term"].to_list() == [term]


def test_fx_part_of_a_eur_stock_in_a_usd_report() -> None:
    """EUR/USD 1.10 at the buy and 1.05 at the sale: gain 154.65 of which FX -50.10.

    Buy 10 @ 100 EUR + 2 fee = 1002 EUR = 1102.20 USD; sell 10 @ 120 EUR - 3 fee = 1197 EUR
    = 1256.85 USD. Gain 1256.85 - 1102.20 = 154.65; FX part 1002 x 1.05 - 1102.20 = -50.10.
    In EUR: gain 1197 - 1002 = 195, FX part 0.
    """
    tx = ledger([
        row("2023-01-10", "BUY", "SAP", 10, 100, fee=2, currency="EUR"),
        row("2024-02-01", "SELL", "SAP", 10, 120, fee=3, currency="EUR"),
    ])  # fmt: skip
    rates = eur_usd_rates([("2023-01-10", 1.10), ("2024-02-01", 1.05)])
    usd = realized_gains(tx, target="USD", rates=rates).rows.row(0, named=True)
    assert usd["proceeds"] == pytest.approx(1256.85)
    assert usd["cost"] == pytest.approx(1102.2)
    assert usd["gain"] == pytest.approx(154.65)
    assert usd["fx_gain"] == pytest.approx(-50.1)
    assert usd["currency"] == "EUR"
    assert usd["term"] == "long"
    eur = realized_gains(tx, target="EUR", rates=rates).rows.row(0, named=True)
    assert (eur["gain"], eur["fx_gain"]) == pytest.approx((195.0, 0.0))


def test_missing_rate_and_oversold_sale_are_errors() -> None:
    """No EUR rate before the buy is a MissingRate; selling more than held names the sale."""
    tx = ledger([
        row("2023-01-10", "BUY", "SAP", 10, 100, currency="EUR"),
        row("2024-02-01", "SELL", "SAP", 10, 120, currency="EUR"),
    ])  # fmt: skip
    with pytest.raises(MissingRate):
        realized_gains(tx, target="USD", rates=eur_usd_rates([("2024-01-01", 1.1)]))
    over = ledger([row("2023-01-10", "BUY", "A", 1, 10), row("2023-02-01", "SELL", "A", 2, 10)])
    for method in ("fifo", "average"):
        with pytest.raises(OversoldError, match="row id 2"):
            realized_gains(over, method=method)
    with pytest.raises(WorkbenchError, match="unknown cost method"):
        realized_gains(over, method="nope")


# ---------------------------------------------------------------- consistency with the report


def _check_against_report(
    tx: pl.DataFrame, prices: pl.DataFrame, rates: pl.DataFrame | None, as_of: dt.date,
    method: str, target: str,
) -> None:  # fmt: skip
    gains = realized_gains(tx, method=method, target=target, rates=rates)
    report = build_report(tx, prices, as_of=as_of, cost_method=method, base_currency=target,
                          rates=rates)  # fmt: skip
    mine = {
        (a, s): (g, f)
        for a, s, g, f in gains.rows.group_by("account", "symbol")
        .agg(pl.col("gain").sum(), pl.col("fx_gain").sum())
        .iter_rows()
    }
    for pos in report.positions.iter_rows(named=True):
        gain, fx_gain = mine.get((pos["account"], pos["symbol"]), (0.0, 0.0))
        assert gain == pytest.approx(pos["realized_pnl"], abs=1e-6)
        assert fx_gain == pytest.approx(pos["realized_fx_pnl"], abs=1e-6)
    assert set(mine) <= {
        (p["account"], p["symbol"]) for p in report.positions.iter_rows(named=True)
    }


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=scenarios())
def test_gains_add_up_to_the_reports_realized_pnl(
    method: str, case: tuple[list[dict[str, Any]], pl.DataFrame, pl.DataFrame]
) -> None:
    """Per position, gains sum to build_report's realized_pnl and FX parts to realized_fx_pnl."""
    rows, fx, prices = case
    tx = ledger(rows)
    for target in ("USD", "EUR"):
        _check_against_report(tx, prices, fx, START + dt.timedelta(days=DAYS), method, target)


@st.composite
def split_ledgers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Random USD trades over two years in two accounts, with splits of the symbol."""
    day = dt.date(2022, 1, 3)
    rows = [row(day, "BUY", "ACME", 10, 50.0, account="a1")]
    held = {"a1": 10.0, "a2": 0.0}
    applied: set[tuple[dt.date, tuple[int, int]]] = set()
    for _ in range(draw(st.integers(1, 20))):
        day += dt.timedelta(days=draw(st.integers(0, 80)))
        account = draw(st.sampled_from(("a1", "a2")))
        kind = draw(st.sampled_from(("BUY", "BUY", "SELL", "SELL", "SPLIT")))
        fee = draw(st.sampled_from((0.0, 1.25)))
        price = float(draw(st.integers(10, 200)))
        if kind == "SPLIT":
            ratio = draw(st.sampled_from(((2, 1), (3, 1), (1, 2))))
            rows.append(row(day, "SPLIT", "ACME", ratio=ratio, account=account))
            if (day, ratio) not in applied:  # the same split recorded again counts once
                applied.add((day, ratio))
                held = {a: q * ratio[0] / ratio[1] for a, q in held.items()}
        elif kind == "BUY":
            qty = draw(st.integers(1, 30))
            held[account] += qty
            rows.append(row(day, kind, "ACME", qty, price, fee=fee, account=account))
        elif held[account] >= 1:
            qty = draw(st.integers(1, int(held[account])))
            held[account] -= qty
            rows.append(row(day, kind, "ACME", qty, price, fee=fee, account=account))
    return rows


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=split_ledgers())
def test_gains_with_splits_add_up_to_the_reports_realized_pnl(
    method: str, rows: list[dict[str, Any]]
) -> None:
    """With splits in between, gains per position still sum to the report's realized P&L."""
    tx = ledger(rows)
    last = tx["date"].max()
    assert isinstance(last, dt.date)
    prices = price_frame([("ACME", "2022-01-03", 100.0)])
    _check_against_report(tx, prices, None, last, method, "USD")


# ---------------------------------------------------------------- the command


@pytest.fixture
def gains_db(tmp_path: Path) -> Path:
    """A real DuckDB store holding the three-buys ledger."""
    return write_store(tmp_path / "wb.duckdb", ledger(THREE_BUYS))


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["gains", *args])


def test_cli_json_rows_and_totals(gains_db: Path) -> None:
    """--json prints the FIFO rows and totals computed by hand above."""
    result = _run("--db", str(gains_db), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [(r["lot_id"], r["sold"], r["gain"], r["term"]) for r in doc["rows"]] == [
        (1, "2024-01-11", 391.0, "long"), (2, "2024-01-11", 45.5, "short"),
        (2, "2024-03-05", 97.5, "long"), (3, "2024-03-05", 197.5, "short"),
    ]  # fmt: skip
    assert doc["totals"]["total"]["gain"] == 731.5
    assert doc["base_currency"] == "USD"


def test_cli_year_filter_and_average_csv(gains_db: Path, tmp_path: Path) -> None:
    """--year 2023 has no sales; --csv with AVERAGE writes acquired as "various"."""
    none = _run("--db", str(gains_db), "--year", "2023", "--json")
    assert none.exit_code == 0, none.output
    assert json.loads(none.output)["rows"] == []
    out = tmp_path / "gains.csv"
    result = _run("--db", str(gains_db), "--year", "2024", "--cost-method", "average",
                  "--csv", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert _same(
        [(r["acquired"], r["sold"], float(r["gain"])) for r in rows],
        [("various", "2024-01-11", 386.5), ("various", "2024-03-05", 361.0 + 2 / 3)],
    )


def test_cli_text_table(gains_db: Path) -> None:
    """The default output is a table with a totals-by-term section."""
    result = _run("--db", str(gains_db), "--cost-method", "HIFO")
    assert result.exit_code == 0, result.output
    assert "cost method hifo" in result.output
    assert "Totals by term (USD)" in result.output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--year", "2024", "--start", "2024-01-01"], id="year-and-start"),
        pytest.param(["--start", "2024-05-01", "--end", "2024-01-01"], id="start-after-end"),
        pytest.param(["--cost-method", "lofi"], id="bad-method"),
        pytest.param(["--start", "2024-13-01"], id="bad-date"),
        pytest.param(["--json", "--csv", "x.csv"], id="json-and-csv"),
    ],
)
def test_cli_misuse_exits_2(gains_db: Path, args: list[str]) -> None:
    """Bad or conflicting options are click usage errors (exit 2)."""
    assert _run("--db", str(gains_db), *args).exit_code == 2


def test_cli_bad_data_exits_1(gains_db: Path, tmp_path: Path) -> None:
    """An unknown account, a currency without rates, or an oversold ledger: one line, exit 1."""
    unknown = _run("--db", str(gains_db), "--account", "nobody")
    assert unknown.exit_code == 1
    assert "unknown account 'nobody'" in unknown.output
    no_rates = _run("--db", str(gains_db), "--currency", "XYZ")
    assert no_rates.exit_code == 1
    assert "XYZ" in no_rates.output
    over = write_store(
        tmp_path / "over.duckdb",
        ledger([row("2023-01-10", "BUY", "A", 1, 10), row("2023-02-01", "SELL", "A", 2, 10)]),
    )
    result = _run("--db", str(over))
    assert result.exit_code == 1
    assert result.output.startswith("error: sale of A in account default on 2023-02-01")
