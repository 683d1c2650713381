"""More broker layouts and their quirks, from the project's own fixtures: Fidelity's
all-accounts file, IBKR activity statements, Vanguard US, and the crypto exchanges."""

from __future__ import annotations

from pathlib import Path

from _presets_helpers import D, convert_fixture, read_books, row_tuples
from _presets_helpers import import_fixture as _import


def test_fidelity_accounts_keeps_each_account(db_path: Path) -> None:
    """Fidelity all-accounts: the Account column names each row's account; quoted fields; a footer."""
    _import(db_path, "fidelity_accounts.csv")
    ira = read_books(db_path, "IRA")
    assert ira["held"] == {"EXC": D("6")}
    assert ira["cash"] == {"USD": D("718.69")}  # 1000 - (500 + 0.65) + (220 - 0.66)
    brokerage = read_books(db_path, "Brokerage")
    assert brokerage["held"] == {"EXF": D("20.5")}  # 20 bought, 0.5 reinvested
    assert brokerage["cash"] == {"USD": D("1500")}  # 2000 - 500 + 12.40 - 12.40
    assert brokerage["dividends"] == D("12.4")


def test_ibkr_activity_counts_each_order_once(db_path: Path) -> None:
    """IBKR activity statement: Order rows only (not their fills or closed lots), every
    cash section, Total rows left out, the account from Account Information."""
    out = _import(db_path, "ibkr_activity.csv")
    # the two fills and the closed lot of the first order, and one Total row per cash section
    assert "left out: 8 summary rows" in out
    books = read_books(db_path, "U3333333")
    assert books["held"] == {"XMPL": D("750")}  # "1,000" bought, 250 sold
    # 15000 - 500 - (10500 + 5) + (3000 - 1.25) + 150 - 22.50 + 4.10 - 10
    assert books["cash"] == {"USD": D("7115.35")}
    assert (books["dividends"], books["taxes"], books["interest"]) == (
        D("150"),
        D("22.5"),
        D("4.1"),
    )
    assert books["fees"] == D("16.25")
    assert (books["deposits"], books["withdrawals"]) == (D("15000"), D("500"))


def test_ibkr_activity_forex_frame() -> None:
    """IBKR activity Forex: EUR.USD bought is EUR at 1.1 USD; sold, the USD proceeds bought
    with EUR. The commission is a FEE row in the commission's currency (here the statement
    names none, so the trade's currency, USD), not a fee of the FX row in the currency paid."""
    conversion = convert_fixture("ibkr_activity_forex.csv")
    got = row_tuples(conversion, "type", "symbol", "quantity", "price", "fee", "amount", "currency")
    # 600 USD for 500 EUR: 500/600 EUR per USD
    assert got == [
        ("FX", "EUR", "2000", "1.1", "0", None, "USD"),
        ("FEE", "", None, None, None, "2", "USD"),
        ("FX", "USD", "600", "0.83333333", "0", None, "EUR"),
        ("FEE", "", None, None, None, "2", "USD"),
    ]
    assert not conversion.skipped  # the Total line is not a Data line: never read as a row


def test_vanguard_second_table_and_sweeps(db_path: Path) -> None:
    """Vanguard US: the transactions table under the holdings; sweeps and 0-share money-market
    reinvestments stay cash (counted as left out)."""
    out = _import(db_path, "vanguard.csv", "--dry-run")
    assert "left out: 1 'Sweep in' rows (left out by the preset)" in out
    assert "left out: 1 'Sweep out' rows (left out by the preset)" in out
    assert "left out: 1 'Reinvestment' rows (left out by the preset)" in out  # 0 shares
    _import(db_path, "vanguard.csv")
    books = read_books(db_path, "12345678")
    assert books["held"] == {"VTI": D("10")}  # 12 - 2.2 + 0.2
    assert books["cash"] == {"USD": D("1131.25")}  # 3000 - 2400 + 528 + 3.25 + 50 - 50
    assert books["dividends"] == D("53.25")


def test_kraken_ledger_pairs_by_refid(db_path: Path) -> None:
    """Kraken ledgers: a pending deposit listed twice counts once; trade legs pair by refid;
    asset codes (XXBT, ZEUR, DOT.S) read as BTC, EUR, DOT; fees on top of amounts."""
    _import(db_path, "kraken_ledgers.csv")
    books = read_books(db_path)
    assert books["held"] == {"BTC": D("0.02"), "DOT": D("1.5")}
    # 2000 - (1000 + 2.60) + (210 - 0.50) - 500 - 0.09: the file's own balance column says 706.81
    assert books["cash"] == {"EUR": D("706.81")}
    assert (books["fees"], books["deposits"], books["withdrawals"]) == (
        D("3.19"),
        D("2000"),
        D("500"),
    )


def test_binance_rows_of_one_second_are_one_trade(db_path: Path) -> None:
    """Binance: the spend, buy and fee rows of one second net into one trade (two fills of
    BTC in one second too); a fee in BNB sells that BNB; earn subscriptions change nothing."""
    _import(db_path, "binance.csv")
    books = read_books(db_path)
    # BNB: 0.4 - 0.0004 fee + 0.001 interest - 0.002 paid as a fee; BTC: 0.006 + 0.004 - 0.002
    assert books["held"] == {"BNB": D("0.3986"), "BTC": D("0.008")}
    # 1000 - 100 - 400, within the rounding of the BNB price to 8 decimals (100 / 0.3996)
    assert abs(books["cash"]["EUR"] - D("500")) < D("1e-6")  # type: ignore[index,operator]


def test_coinbase_pro_match_and_fee_rows(db_path: Path) -> None:
    """Coinbase Pro: two match rows and a fee row of one trade id are one BUY with its fee."""
    _import(db_path, "coinbase_pro.csv")
    books = read_books(db_path, "default")
    assert books["held"] == {"BTC": D("0.08")}
    assert books["cash"] == {"EUR": D("980")}  # 5000 - 4000 - 20
    assert books["fees"] == D("20")


def test_ibkr_flex_csv_with_two_sections(db_path: Path) -> None:
    """An IBKR Flex CSV with a Trades and a Cash Transactions table (and BOF/BOS/EOS trailer
    lines): each table is mapped by its own preset."""
    out = _import(db_path, "ibkr_flex_multi.csv", "--dry-run")
    assert "preset ibkr-flex-trades" in out
    assert "and a table for preset ibkr-flex-cash" in out
    _import(db_path, "ibkr_flex_multi.csv")
    books = read_books(db_path, "U5555555")
    assert books["held"] == {"XYZ": D("6")}
    # 1000 - (500 + 1) + (220 - 1) + 6 - 0.90
    assert books["cash"] == {"USD": D("723.1")}
    assert (books["dividends"], books["taxes"], books["fees"]) == (D("6"), D("0.9"), D("2"))


def test_vanguard_uk_two_tables(db_path: Path) -> None:
    """Vanguard UK: a title line, a cash table (deposits, interest, fees, dividends and a
    reversal that cancels one) and an investment table (the trades), each by its preset."""
    _import(db_path, "vanguard_uk.csv")
    books = read_books(db_path)
    # EXE 1000 - 100; a fund with no ticker is filed under its name (".5" units)
    assert books["held"] == {"EXE": D("900"), "GLOBAL INDEX FUND - ACCUMULATION": D("0.5")}
    # the cash table's own Balance row says 867.70
    assert books["cash"] == {"GBP": D("867.7")}
    assert books["dividends"] == D("50")  # 50 paid, reversed, paid again
    assert (books["fees"], books["interest"], books["withdrawals"]) == (
        D("3.5"),
        D("1.2"),
        D("500"),
    )


def test_ibkr_activity_without_data_discriminator() -> None:
    """An activity statement whose Trades have no DataDiscriminator column keeps every row
    (the Order-only filter applies when the column is there)."""
    conversion = convert_fixture("ibkr_activity_plain.csv", account="U1")
    got = row_tuples(conversion, "type", "quantity", "price", "fee")
    assert got == [("BUY", "10", "20", "1"), ("SELL", "4", "25", "1")]
