"""FX rows in the ledger (DESIGN 3b), the rate lookup, and `report --currency` on a real store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from workbench import store
from workbench.analytics import fx
from workbench.cli import cli
from workbench.errors import InvalidRows, MissingRate
from workbench.ledger.importer import import_csv

WriteCsv = Callable[..., Path]
D = dt.date

HEADER = "date,account,type,symbol,quantity,price,fee,amount,currency,ratio,note\n"
# a USD and a EUR account; ECB 2024-01-03: 1 EUR = 1.0919 USD = 0.8647 GBP
TWO_ACCOUNTS = HEADER + (
    "2024-01-02,us,DEPOSIT,,,,,12000,USD,,\n"
    "2024-01-02,eu,DEPOSIT,,,,,5000,EUR,,\n"
    "2024-01-02,us,FX,EUR,1000,1.1,2,,USD,,broker rate\n"
    "2024-01-03,eu,BUY,SAP,10,140,5,,EUR,,\n"
    "2024-01-03,us,BUY,VOD,100,70,,,GBp,,pence\n"
)


def test_fx_row_is_imported_and_its_symbol_is_not_an_instrument(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """An FX row keeps its currencies; GBp stays pence (GBX), not pounds."""
    import_csv(db_path, write_csv(TWO_ACCOUNTS))
    with store.connect(db_path, read_only=True) as con:
        tx = store.read_transactions(con)
        instruments = store.read_instruments(con)
    exchange = tx.filter(pl.col("type") == "FX").row(0, named=True)
    assert (exchange["symbol"], exchange["currency"], float(exchange["quantity"])) == (
        "EUR", "USD", 1000.0,
    )  # fmt: skip
    assert set(instruments["symbol"]) == {"SAP", "VOD"}
    assert tx.filter(pl.col("symbol") == "VOD")["currency"].to_list() == ["GBX"]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        pytest.param("2024-01-02,us,FX,EURO1,10,1.1,,,USD,,", "symbol", "not a currency code",
                     id="bad-symbol"),
        pytest.param("2024-01-02,us,FX,,10,1.1,,,USD,,", "symbol", "missing", id="no-symbol"),
        pytest.param("2024-01-02,us,FX,EUR,0,1.1,,,USD,,", "quantity", "greater than 0",
                     id="zero-amount"),
        pytest.param("2024-01-02,us,FX,EUR,-5,1.1,,,USD,,", "quantity", "greater than 0",
                     id="negative-amount"),
        pytest.param("2024-01-02,us,FX,EUR,10,,,,USD,,", "price", "missing", id="no-price"),
        pytest.param("2024-01-02,us,FX,EUR,10,0,,,USD,,", "price", "greater than 0",
                     id="zero-price"),
        pytest.param("2024-01-02,us,FX,USD,10,1,,,USD,,", "symbol", "currency paid",
                     id="same-currency"),
        pytest.param("2024-01-02,us,FX,EUR,10,1.1,,,U$D,,", "currency", "not a currency code",
                     id="bad-currency"),
    ],
)  # fmt: skip
def test_bad_fx_rows_are_named_and_nothing_imported(
    db_path: Path, write_csv: WriteCsv, line: str, field: str, message: str
) -> None:
    """Every bad FX value is reported as file:line: field: problem; nothing is stored."""
    good = "2024-01-02,us,DEPOSIT,,,,,100,USD,,\n"
    with pytest.raises(InvalidRows) as info:
        import_csv(db_path, write_csv(HEADER + good + line + "\n"))
    problem = info.value.problems[0]
    assert (problem.line, problem.field) == (3, field)
    assert message in problem.message
    assert str(problem).startswith(f"{db_path.parent / 'ledger.csv'}:3: {field}: ")
    if db_path.exists():  # the import may refuse before creating the file
        with store.connect(db_path, read_only=True) as con:
            assert store.read_transactions(con).is_empty()


def _report(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["report", "--db", str(db), "--as-of", "2024-01-03", *args])
    return result.exit_code, result.output


def test_report_currency_converts_with_the_bundled_ecb_rates(
    db_path: Path, write_csv: WriteCsv
) -> None:
    """`report --currency EUR --json`: the USD cash at ECB's 2024-01-03 rate, positions in EUR."""
    import_csv(db_path, write_csv(TWO_ACCOUNTS))
    code, out = _report(db_path, "--currency", "EUR", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["base_currency"] == "EUR"
    cash = data["totals"]["cash_by_currency"]
    # USD 12000 - (1000 x 1.1 + 2) = 10898; EUR 5000 - 1405 + 1000 = 4595; 7000 pence paid
    # for VOD count as -70 GBP (cash in a sub-unit is cash in its currency)
    assert cash == {"EUR": 4595.0, "GBP": -70.0, "USD": 10898.0}
    sap = next(p for p in data["positions"] if p["symbol"] == "SAP")
    assert (sap["currency"], sap["fx_rate"], sap["cost_basis"]) == ("EUR", 1.0, 1405.0)
    vod = next(p for p in data["positions"] if p["symbol"] == "VOD")
    # ECB 2024-01-03: 1 EUR = 0.8647 GBP, so 1 GBX = 0.01 / 0.8647 EUR; 7000 GBX cost
    assert vod["fx_rate"] == pytest.approx(0.01 / 0.8647)
    assert vod["cost_basis"] == pytest.approx(70.0 / 0.8647)
    assert set(data["totals"]) >= {"unrealized_fx_pnl", "realized_fx_pnl", "cash_fx_gain"}


def test_report_currency_defaults_to_the_environment(
    db_path: Path, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --currency the report is in WORKBENCH_BASE_CURRENCY."""
    import_csv(db_path, write_csv(TWO_ACCOUNTS))
    monkeypatch.setenv("WORKBENCH_BASE_CURRENCY", "GBP")
    code, out = _report(db_path, "--json")
    assert code == 0, out
    assert json.loads(out)["base_currency"] == "GBP"


def test_text_report_shows_the_fx_part_and_no_caveat(db_path: Path, write_csv: WriteCsv) -> None:
    """The text report has FX columns and cash by currency, not an "added without" caveat."""
    import_csv(db_path, write_csv(TWO_ACCOUNTS))
    code, out = _report(db_path, "--currency", "USD")
    assert code == 0, out
    assert "of it FX" in out
    assert "cash fx gain" in out
    assert "cash by currency: EUR 4,595.00, GBP -70.00, USD 10,898.00" in out
    assert "without FX conversion" not in out


def test_a_row_before_any_rate_fails_with_one_line(db_path: Path, write_csv: WriteCsv) -> None:
    """A EUR row of 1998 (before the ECB's first fixing) exits 1 naming the pair and date."""
    import_csv(db_path, write_csv(HEADER + "1998-06-01,eu,DEPOSIT,,,,,100,EUR,,\n"))
    code, out = _report(db_path, "--currency", "USD")
    assert code == 1
    assert "EUR->USD on or before 1998-06-01" in out


def test_lookup_takes_the_latest_rate_on_or_before_and_never_a_later_one() -> None:
    """As-of lookup: the day's rate, the prior one on a gap, an error before the first."""
    rates = pl.DataFrame({
        "date": [D(2024, 1, 2), D(2024, 1, 5)], "base": ["EUR", "EUR"],
        "quote": ["USD", "USD"], "rate": [1.10, 1.20], "source": ["t", "t"],
    })  # fmt: skip
    assert fx.rate_on(rates, "EUR", "USD", D(2024, 1, 4)) == (1.10, D(2024, 1, 2))
    assert fx.rate_on(rates, "EUR", "USD", D(2024, 1, 5)).rate == 1.20
    # the inverse: 1 USD = 1 / 1.20 EUR
    assert fx.rate_on(rates, "USD", "EUR", D(2024, 1, 9)).rate == pytest.approx(1 / 1.20)
    assert fx.rate_on(rates, "USD", "USD", D(1900, 1, 1)) == (1.0, None)
    with pytest.raises(MissingRate, match="EUR->USD on or before 2024-01-01"):
        fx.rate_on(rates, "EUR", "USD", D(2024, 1, 1))


def test_cross_rates_and_sub_units() -> None:
    """GBP->USD crosses EUR; GBp, ZAc and ILA are hundredths of GBP, ZAR and ILS."""
    rates = pl.DataFrame({
        "date": [D(2024, 1, 2)] * 4, "base": ["EUR"] * 4,
        "quote": ["USD", "GBP", "ZAR", "ILS"], "rate": [1.10, 0.85, 20.0, 4.0],
        "source": ["t"] * 4,
    })  # fmt: skip
    day = D(2024, 1, 3)
    assert fx.rate_on(rates, "GBP", "USD", day).rate == pytest.approx(1.10 / 0.85)
    assert fx.rate_on(rates, "GBp", "GBP", day).rate == pytest.approx(0.01)
    assert fx.rate_on(rates, "GBX", "USD", day).rate == pytest.approx(0.011 / 0.85)
    assert fx.rate_on(rates, "ZAc", "EUR", day).rate == pytest.approx(0.01 / 20.0)
    assert fx.rate_on(rates, "ILA", "ILS", day).rate == pytest.approx(0.01)
    table = fx.rates_in_force(rates, day, base="USD")
    # 1 USD = 0.85 / 1.10 GBP
    gbp = table.filter(pl.col("currency") == "GBP").row(0, named=True)
    assert gbp["rate"] == pytest.approx(0.85 / 1.10)
    assert (gbp["rate_date"], gbp["stale"]) == (D(2024, 1, 2), False)


def test_fx_rates_command_shows_the_rates_in_force(tmp_path: Path) -> None:
    """`fx rates --date 2024-04-01 --base USD`: Easter Monday shows ECB's Thursday fixing."""
    from workbench.fx.offline import bundled_rates

    thursday = bundled_rates(currencies=["USD", "GBP"]).filter(pl.col("date") == D(2024, 3, 28))
    usd, gbp = (thursday.filter(pl.col("quote") == c)["rate"].item() for c in ("USD", "GBP"))
    assert usd == 1.0811  # ECB's published EUR/USD of 2024-03-28
    result = CliRunner().invoke(
        cli, ["fx", "rates", "--date", "2024-04-01", "--base", "USD", "--json",
              "--db", str(tmp_path / "none.duckdb")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["currency"]: r for r in json.loads(result.output)}
    # 1 USD = GBP per EUR / USD per EUR, both of 2024-03-28 (Good Friday to Monday: no fixing)
    assert rows["GBP"]["rate"] == pytest.approx(gbp / usd)
    assert rows["EUR"]["rate"] == pytest.approx(1 / usd)
    assert (rows["GBP"]["rate_date"], rows["GBP"]["age_days"], rows["GBP"]["stale"]) == (
        "2024-03-28", 4, False,
    )  # fmt: skip
