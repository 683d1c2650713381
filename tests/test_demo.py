"""The synthetic demo data: deterministic prices, a ledger that never oversells, storing it."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.demo import (
    DEMO_INSTRUMENTS,
    DemoData,
    DemoSummary,
    daily_bars,
    demo_instruments_frame,
    generate,
    instrument_for,
    is_universe_symbol,
    latest_price,
    prices_frame,
    universe_symbol,
    write_demo,
)
from workbench.store import connect

ALL_TYPES = {"BUY", "SELL", "DIVIDEND", "INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL", "SPLIT"}
CASH_SIGN = {"DEPOSIT": 1, "DIVIDEND": 1, "INTEREST": 1, "FEE": -1, "TAX": -1, "WITHDRAWAL": -1}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    """The default demo data set for seed 7 (generated once for the module)."""
    return generate(seed=7)


@pytest.fixture(scope="module")
def scaled() -> DemoData:
    """A scaled demo ledger of 20,000 rows for seed 7."""
    return generate(seed=7, transactions=20_000)


def _dec(value: float | None) -> Decimal:
    """The decimal a float prints as (what the importer parses)."""
    return Decimal(repr(value)) if value is not None else Decimal(0)


def _replay(ledger: pl.DataFrame) -> tuple[list[str], dict[tuple[str, str], Decimal]]:
    """Apply rows in order with exact decimals; returns problems found and the final cash."""
    held: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cash: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    problems: list[str] = []
    for n, row in enumerate(ledger.iter_rows(named=True)):
        key = (row["account"], row["symbol"])
        # pence (GBp) are paid from pound cash: amounts in pence count 1/100 in GBP
        unit = Decimal("0.01") if row["currency"] == "GBp" else Decimal(1)
        money = (row["account"], "GBP" if row["currency"] == "GBp" else row["currency"])
        kind = row["type"]
        if kind == "BUY":
            held[key] += _dec(row["quantity"])
            cash[money] -= (_dec(row["quantity"]) * _dec(row["price"]) + _dec(row["fee"])) * unit
        elif kind == "SELL":
            if _dec(row["quantity"]) > held[key]:
                problems.append(f"row {n}: sells {row['quantity']} of {key}, holds {held[key]}")
            held[key] -= _dec(row["quantity"])
            cash[money] += (_dec(row["quantity"]) * _dec(row["price"]) - _dec(row["fee"])) * unit
        elif kind == "SPLIT":
            new, old = (Decimal(x) for x in row["ratio"].split(":"))
            held[key] = held[key] * new / old
        elif kind == "FX":  # pays currency, receives the currency named in symbol
            cash[money] -= _dec(row["quantity"]) * _dec(row["price"]) + _dec(row["fee"])
            cash[(row["account"], row["symbol"])] += _dec(row["quantity"])
        else:
            cash[money] += CASH_SIGN[kind] * _dec(row["amount"]) * unit
        if cash[money] < 0:
            problems.append(f"row {n}: cash of {money} is {cash[money]}")
    return problems, dict(cash)


# --- the synthetic market -------------------------------------------------------------------


def test_instruments_cover_sectors_classes_and_two_currencies() -> None:
    """About 20 instruments: equities in several sectors, ETFs, a bond fund, crypto; USD, EUR and GBp."""
    frame = demo_instruments_frame()
    assert frame.columns == ["symbol", "name", "asset_class", "sector", "currency"]
    assert 18 <= frame.height <= 24
    assert frame.get_column("symbol").is_unique().all()
    assert set(frame.get_column("asset_class")) == {"equity", "etf", "bond", "crypto"}
    assert set(frame.get_column("currency")) == {"USD", "EUR", "GBp"}
    equity_sectors = frame.filter(pl.col("asset_class") == "equity").get_column("sector")
    assert equity_sectors.n_unique() >= 6
    assert all("synthetic" in name for name in frame.get_column("name"))
    assert any(i.splits for i in DEMO_INSTRUMENTS)


def test_bars_are_business_days_with_consistent_ohlc() -> None:
    """Bars fall on weekdays only and every low <= open, close <= high, with positive volume."""
    bars = daily_bars("NWND", start=date(2024, 1, 1), end=date(2024, 12, 31))
    # 2024 has 262 weekdays (a leap year starting on a Monday)
    assert bars.height == 262
    assert all(d.weekday() < 5 for d in bars.get_column("date"))
    assert bars.get_column("date").is_sorted()
    checks = bars.select(
        ok=(pl.col("low") <= pl.min_horizontal("open", "close"))
        & (pl.col("high") >= pl.max_horizontal("open", "close"))
        & (pl.col("volume") > 0)
        & (pl.col("low") > 0)
    )
    assert checks.get_column("ok").all()


@pytest.mark.parametrize("symbol", ["ACME", "DMC-USD", "U00042", "ANY.THING"])
def test_bars_of_a_window_equal_the_same_days_of_a_longer_request(symbol: str) -> None:
    """March 2024 alone equals March 2024 inside a 2020..2026 request, for any symbol string."""
    short = daily_bars(symbol, seed=3, start=date(2024, 3, 1), end=date(2024, 3, 31))
    long = daily_bars(symbol, seed=3, start=date(2020, 1, 1), end=date(2026, 6, 30))
    inside = long.filter(pl.col("date").is_between(date(2024, 3, 1), date(2024, 3, 31)))
    assert short.height == 21  # the weekdays of March 2024
    assert short.equals(inside)


def test_bars_depend_on_seed_and_symbol() -> None:
    """Another seed or another symbol gives another path; the same pair gives the same one."""
    window = {"start": date(2023, 1, 1), "end": date(2023, 2, 1)}
    base = daily_bars("U00001", seed=7, **window)
    assert base.equals(daily_bars("U00001", seed=7, **window))
    assert not base.equals(daily_bars("U00001", seed=8, **window))
    assert not base.equals(daily_bars("U00002", seed=7, **window))


def test_bars_do_not_depend_on_the_process_hash_seed() -> None:
    """A fresh interpreter with another PYTHONHASHSEED computes the same closes."""
    code = (
        "from datetime import date; from workbench.demo import daily_bars;"
        "print(daily_bars('U00007', seed=11, start=date(2022,1,3), end=date(2022,1,7))"
        "['close'].to_list())"
    )
    # this process runs with a random hash seed; the child with a fixed one
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "1", "PATH": ""},
    ).stdout
    here = daily_bars("U00007", seed=11, start=date(2022, 1, 3), end=date(2022, 1, 7))
    assert child == f"{here['close'].to_list()}\n"


@pytest.mark.parametrize(
    ("symbol", "split_day", "ratio"),
    [
        ("ACME", date(2022, 6, 6), 4.0),
        ("CYBD", date(2023, 9, 18), 1.5),
        ("ZEIT", date(2024, 3, 11), 2.0),
    ],
)
def test_split_shows_as_a_drop_by_the_ratio(symbol: str, split_day: date, ratio: float) -> None:
    """Bars are unadjusted: on the split date the close falls by about the split ratio, and only then."""
    bars = daily_bars(symbol, start=date(2021, 1, 4), end=date(2025, 12, 31))
    moves = bars.select(
        "date", (pl.col("close").shift(1) / pl.col("close")).alias("fall")
    ).drop_nulls()
    on_split = moves.filter(pl.col("date") == split_day).get_column("fall").item()
    # the ratio times one day's move (daily volatility is ~2 %, so 20 % bounds it widely)
    assert ratio / 1.2 < on_split < ratio * 1.2
    others = moves.filter(pl.col("date") != split_day).get_column("fall")
    assert others.max() < 1.3
    assert others.min() > 1 / 1.3


def test_prices_frame_matches_daily_bars() -> None:
    """The many-symbol frame holds exactly the bars daily_bars gives, with each symbol's currency."""
    window = {"start": date(2022, 5, 1), "end": date(2022, 7, 1)}
    frame = prices_frame(["ZEIT", "U00005"], seed=9, **window)
    for symbol, currency in (("ZEIT", "EUR"), ("U00005", "USD")):
        part = frame.filter(pl.col("symbol") == symbol)
        assert set(part.get_column("currency")) == {currency}
        assert part.drop("symbol", "currency").equals(daily_bars(symbol, seed=9, **window))


def test_universe_symbols() -> None:
    """Universe symbols are U plus five digits from U00001; others are not universe symbols."""
    assert universe_symbol(1) == "U00001"
    assert universe_symbol(2000) == "U02000"
    assert is_universe_symbol("U00001")
    assert is_universe_symbol("U99999")
    for other in ("U00000", "U0001", "U000001", "ACME", "u00001", "U0000a", "U٠٠٠٠١"):
        assert not is_universe_symbol(other), other
    with pytest.raises(ValueError, match="universe index"):
        universe_symbol(0)
    assert instrument_for("U00001").currency == "USD"


def test_latest_price_is_deterministic_and_starts_from_the_previous_close() -> None:
    """A live price repeats for the same moment, moves between minutes, starts near yesterday's close."""
    moment = datetime(2025, 3, 5, 15, 30, tzinfo=UTC)
    price = latest_price("ACME", seed=7, at=moment)
    assert price == latest_price("ACME", seed=7, at=moment)
    assert price == latest_price("ACME", seed=7, at=moment.replace(tzinfo=None))
    assert price != latest_price("ACME", seed=7, at=moment + timedelta(minutes=1))
    assert price != latest_price("ACME", seed=8, at=moment)
    yesterday = daily_bars("ACME", seed=7, start=date(2025, 3, 4), end=date(2025, 3, 4))
    prev_close = yesterday.get_column("close").item()
    just_after_midnight = latest_price(
        "ACME", seed=7, at=datetime(2025, 3, 5, 0, 0, 30, tzinfo=UTC)
    )
    # one minute into the day the move is a twentieth of a day's volatility (~0.1 %)
    assert math.isclose(just_after_midnight, prev_close, rel_tol=0.01)
    # within a day's range of yesterday's close (32 % yearly volatility: 2 % a day, 6 sigma)
    assert math.isclose(price, prev_close, rel_tol=0.12)


# --- the default ledger ---------------------------------------------------------------------


def test_same_seed_gives_identical_frames_byte_for_byte(demo: DemoData) -> None:
    """Generating seed 7 again gives the same instruments, prices and ledger, to the byte."""
    again = generate(seed=7)
    for name in ("instruments", "prices", "transactions"):
        first, second = getattr(demo, name), getattr(again, name)
        assert first.schema == second.schema
        assert first.write_csv() == second.write_csv(), name


def test_another_seed_gives_other_data(demo: DemoData) -> None:
    """Seed 8 gives other prices and another ledger."""
    other = generate(seed=8)
    assert not other.prices.equals(demo.prices)
    assert not other.transactions.equals(demo.transactions)


def test_default_ledger_has_every_type_both_currencies_and_three_accounts(demo: DemoData) -> None:
    """All ten transaction types (FX included), USD and EUR, three accounts, every row labelled synthetic."""
    ledger = demo.transactions
    assert ledger.columns == [
        "date", "account", "type", "symbol", "quantity", "price", "fee", "amount",
        "currency", "ratio", "note",
    ]  # fmt: skip
    assert set(ledger.get_column("type")) == ALL_TYPES | {"FX"}
    # GBP: the depot's pound cash (from FX rows); GBp: its pence-quoted stock
    assert set(ledger.get_column("currency")) == {"USD", "EUR", "GBP", "GBp"}
    assert demo.accounts == ["crypto", "depot", "ira", "taxable"]
    assert ledger.get_column("note").str.starts_with("synthetic demo data").all()
    assert 500 <= ledger.height <= 5000
    dates = ledger.get_column("date")
    assert dates.is_sorted()
    assert dates.min() >= date(2021, 1, 4)
    assert dates.max() <= date(2025, 12, 31)
    assert all(d.weekday() < 5 for d in dates.unique())


def test_each_account_starts_with_deposits(demo: DemoData) -> None:
    """The first rows of every account are deposits, before any trade."""
    for account in demo.accounts:
        types = demo.transactions.filter(pl.col("account") == account).get_column("type")
        assert types[0] == "DEPOSIT"
        first_trade = types.to_list().index("BUY")
        assert set(types[:first_trade]) == {"DEPOSIT"}


def test_trades_are_at_that_days_close(demo: DemoData) -> None:
    """Every BUY and SELL is priced at the symbol's close on the trade date."""
    trades = demo.transactions.filter(pl.col("type").is_in(["BUY", "SELL"]))
    joined = trades.join(
        demo.prices.select("symbol", "date", "close"), on=["symbol", "date"], how="left"
    )
    assert joined.height == trades.height
    assert (joined.get_column("price") == joined.get_column("close")).all()


def test_default_ledger_never_oversells_and_cash_stays_positive(demo: DemoData) -> None:
    """Replaying the ledger in order with splits, no sell exceeds the holding and no cash goes below 0."""
    problems, _ = _replay(demo.transactions)
    assert problems == []


def test_split_rows_for_every_account_holding_the_instrument(demo: DemoData) -> None:
    """Each split date has a SPLIT row (ratio new:old) for exactly the accounts then holding the symbol."""
    ledger = demo.transactions
    for inst in (i for i in DEMO_INSTRUMENTS if i.splits):
        for split in inst.splits:
            before = ledger.filter(
                (pl.col("symbol") == inst.symbol) & (pl.col("date") < split.date)
            )
            held: dict[str, Decimal] = defaultdict(Decimal)
            for row in before.iter_rows(named=True):
                sign = {"BUY": 1, "SELL": -1}.get(row["type"], 0)
                held[row["account"]] += sign * _dec(row["quantity"])
            holders = {account for account, q in held.items() if q > 0}
            rows = ledger.filter(
                (pl.col("type") == "SPLIT") & (pl.col("symbol") == inst.symbol)
                & (pl.col("date") == split.date)
            )  # fmt: skip
            assert set(rows.get_column("account")) == holders
            assert set(rows.get_column("ratio")) == {f"{split.new}:{split.old}"}
    assert ledger.filter(pl.col("type") == "SPLIT").get_column("account").n_unique() >= 1


def test_values_print_as_short_decimals(demo: DemoData) -> None:
    """Quantities have at most 6 decimals and money 2, so the importer stores them exactly."""
    ledger = demo.transactions
    for column, places in (("quantity", 6), ("fee", 2), ("amount", 2)):
        for value in ledger.get_column(column).drop_nulls():
            assert -_dec(value).as_tuple().exponent <= places, (column, value)


# --- the scaled ledger ----------------------------------------------------------------------


def test_scaled_ledger_has_exactly_n_rows(scaled: DemoData) -> None:
    """transactions=20,000 gives exactly 20,000 rows, in date order, over more accounts and symbols."""
    ledger = scaled.transactions
    assert ledger.height == 20_000
    assert ledger.get_column("date").is_sorted()
    assert ledger.get_column("symbol").drop_nulls().n_unique() > 100
    assert any(is_universe_symbol(s) for s in ledger.get_column("symbol").drop_nulls().unique())
    assert set(ledger.get_column("type")) == ALL_TYPES
    assert ledger.get_column("note").str.starts_with("synthetic demo data").all()


def test_scaled_ledger_never_oversells(scaled: DemoData) -> None:
    """Replaying 20,000 scaled rows in order with splits: no sell exceeds the holding, cash stays >= 0."""
    problems, _ = _replay(scaled.transactions)
    assert problems == []


def test_scaled_trades_are_at_that_days_close(scaled: DemoData) -> None:
    """Scaled trades use the stored closes too, so the prices frame explains every trade."""
    trades = scaled.transactions.filter(pl.col("type").is_in(["BUY", "SELL"]))
    joined = trades.join(scaled.prices, on=["symbol", "date"], how="left")
    assert (joined.get_column("price") == joined.get_column("close")).all()


def test_scaled_ledger_sizes_are_exact_and_repeatable() -> None:
    """Other sizes are exact too; the same seed repeats and another seed differs."""
    n = 7_777
    first = generate(seed=7, transactions=n).transactions
    assert first.height == n
    assert first.equals(generate(seed=7, transactions=n).transactions)
    assert not first.equals(generate(seed=8, transactions=n).transactions)
    assert _replay(first)[0] == []


def test_scaled_ledger_refuses_too_few_rows() -> None:
    """A size below the fixed rows (deposits, splits, yearly rows) is a clear ValueError."""
    with pytest.raises(ValueError, match="too few"):
        generate(transactions=10)


# --- storing it -----------------------------------------------------------------------------


def _counts(db: Path) -> dict[str, int]:
    with connect(db) as con:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in ("transactions", "prices", "instruments", "accounts")
        }


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary, list[str]]:
    """A database written once by write_demo(seed=7), its summary and the progress messages."""
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    messages: list[str] = []
    summary = write_demo(db, seed=7, progress=messages.append)
    return db, summary, messages


def test_write_demo_stores_everything_once(
    demo_db: tuple[Path, DemoSummary, list[str]], demo: DemoData
) -> None:
    """write_demo stores instruments, prices and the ledger; a second run adds nothing."""
    db, summary, messages = demo_db
    assert messages  # progress was reported
    expected = {
        "transactions": demo.transactions.height,
        "prices": demo.prices.height,
        "instruments": 21,
        "accounts": 4,
    }
    assert _counts(db) == expected
    assert summary.transactions_added == demo.transactions.height
    again = write_demo(db, seed=7)
    assert again.transactions_added == 0
    assert _counts(db) == expected
    assert "nothing added" in again.describe()


def test_stored_ledger_keeps_exact_values(
    demo_db: tuple[Path, DemoSummary, list[str]], demo: DemoData
) -> None:
    """Stored quantities and amounts sum exactly to the decimals the generator meant."""
    db = demo_db[0]
    ledger = demo.transactions
    want_qty = sum(_dec(q) for q in ledger.filter(pl.col("type") == "BUY").get_column("quantity"))
    want_amount = sum(_dec(a) for a in ledger.get_column("amount").drop_nulls())
    with connect(db) as con:
        got_qty, got_amount, provider = con.execute(
            "SELECT (SELECT sum(quantity) FROM transactions WHERE type = 'BUY'),"
            " (SELECT sum(amount) FROM transactions),"
            " (SELECT string_agg(DISTINCT provider) FROM prices)"
        ).fetchall()[0]
        acme = con.execute(
            "SELECT close FROM prices WHERE symbol = 'ACME' AND date = DATE '2022-06-06'"
        ).fetchall()[0][0]
    assert got_qty == want_qty
    assert got_amount == want_amount
    assert provider == "demo"
    expected_close = daily_bars("ACME", start=date(2022, 6, 6), end=date(2022, 6, 6))[
        "close"
    ].item()
    assert acme == _dec(expected_close)


def test_cli_demo_prints_a_labelled_summary(tmp_path: Path) -> None:
    """`workbench demo --db` stores the data and says it is synthetic; progress goes to stderr."""
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--seed", "7"])
    assert result.exit_code == 0, result.output
    counts = _counts(db)
    assert "Synthetic demo data (seed 7)" in result.stdout
    assert f"transactions: {counts['transactions']:,} (all new)" in result.stdout
    assert f"price rows:   {counts['prices']:,}" in result.stdout
    assert "accounts:     4" in result.stdout
    assert str(db) in result.stdout
    assert "2021-01-04 .. 2025-12-31" in result.stdout
    assert "generating" in result.stderr
    rerun = CliRunner().invoke(cli, ["demo", "--db", str(db)])
    assert rerun.exit_code == 0
    assert "nothing added" in rerun.stdout
    assert _counts(db) == counts


def test_cli_demo_scaled_and_bad_sizes(tmp_path: Path) -> None:
    """--transactions N stores exactly N rows; a size too small is a usage error (exit 2)."""
    db = tmp_path / "scaled.duckdb"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--transactions", "3000"])
    assert result.exit_code == 0, result.output
    assert _counts(db)["transactions"] == 3000
    for bad in ("10", "0", "many"):
        refused = CliRunner().invoke(
            cli, ["demo", "--db", str(tmp_path / "x.duckdb"), "--transactions", bad]
        )
        assert refused.exit_code == 2, (bad, refused.output)


def test_demo_fx_rows_pay_the_ecb_reference_plus_the_markup(demo: DemoData) -> None:
    """Quarterly FX rows: taxable buys 1,000 EUR with USD, depot 500 GBP with EUR, each at ECB's
    rate in force x 1.005 (USD per EUR; EUR per GBP = 1 / EUR->GBP), fees 2 USD and 1.50 EUR."""
    from workbench.analytics.fx import rate_on
    from workbench.fx.offline import bundled_rates

    rows = demo.transactions.filter(pl.col("type") == "FX")
    ecb = bundled_rates(currencies=["USD", "GBP"])
    expected = {"taxable": ("EUR", "USD", 1000.0, 2.0), "depot": ("GBP", "EUR", 500.0, 1.5)}
    for account, (bought, paid, amount, fee) in expected.items():
        mine = rows.filter(pl.col("account") == account)
        assert mine.height >= 15  # four a year over five years, less the first quarter
        for row in mine.iter_rows(named=True):
            assert (row["symbol"], row["currency"]) == (bought, paid)
            assert (row["quantity"], row["fee"]) == (amount, fee)
            ecb_rows = ecb.filter(pl.col("date") <= row["date"])
            usd = ecb_rows.filter(pl.col("quote") == "USD")["rate"][-1]
            gbp = ecb_rows.filter(pl.col("quote") == "GBP")["rate"][-1]
            reference = usd if bought == "EUR" else 1 / gbp
            assert row["price"] == pytest.approx(reference * 1.005, abs=1e-6)
            assert rate_on(ecb, bought, paid, row["date"]).rate == pytest.approx(reference)
