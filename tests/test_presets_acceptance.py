"""Broker exports written for these tests (invented rows in each broker's real layout, with
the quirks their documentation and real files show) import by header detection alone and give
the positions, cash per currency, dividends, taxes, fees and deposits worked out by hand in
each test's comments."""

from __future__ import annotations

from pathlib import Path

from _acceptance_helpers import Books, check


def test_ibkr_activity_statement_eur_base(db_path: Path) -> None:
    """IBKR activity statement, EUR base: every section of a real statement (NAV, open
    positions, forex balances, instrument info, codes), order/fill/closed-lot rows, a Forex
    trade whose commission is in the base currency ("Comm in EUR"), per-currency Total rows,
    a withholding reversal pair, debit interest and a quoted "10,000" deposit."""
    check(
        db_path,
        "ibkr_activity_eur.csv",
        Books(
            account="U7654321",
            held={"AAPL": "15", "SAP": "10"},  # 20 - 5; 10
            cash={
                # 10000 - 5000 (EUR.USD sold) - 2 (its commission) - (1500 + 3) + 22 - 5.80
                # + 3.21 - 1000
                "EUR": "2514.41",
                # 5500 - (3600 + 1) + (1000 - 1.02) + 3.75 - 0.56 - 1.50 - 0.42 (debit interest)
                "USD": "2899.25",
            },
            dividends={"EUR": "22", "USD": "3.75"},
            taxes={"EUR": "5.80", "USD": "0.56"},  # -0.56 +0.56 -0.56 nets to 0.56
            fees={"EUR": "5", "USD": "3.94"},  # 3 + 2; 1 + 1.02 + 1.50 + 0.42
            interest={"EUR": "3.21"},
            deposits={"EUR": "10000"},
            withdrawals={"EUR": "1000"},
        ),
    )


def test_ibkr_flex_csv_trades_then_cash(db_path: Path) -> None:
    """IBKR Flex CSV, CRLF, every field quoted: a Trades table (columns in another order than
    the samples, EUR.USD currency trades both ways with commissions in USD) followed by a
    Cash Transactions table with its own header: dividends and withholding in two
    currencies, interest both ways, a fee with its reversal, a deposit and a withdrawal."""
    check(
        db_path,
        "ibkr_flex_two_sections.csv",
        Books(
            account="U5550001",
            held={"ASML": "2", "MSFT": "3"},  # 5 - 2; 2
            cash={
                # 5000 - 2000 (EUR.USD sold) - 1223 (ASML) + 3.04 - 0.46 + 300 (EUR.USD
                # bought) + 1.87 - 1000
                "EUR": "1081.45",
                # 2190 - 2 - 1853.50 + 818.99 - (327 + 2) + 2.25 - 0.34 - 0.25 - 10 + 10 - 1.50
                "USD": "824.65",
            },
            dividends={"EUR": "3.04", "USD": "2.25"},
            taxes={"EUR": "0.46", "USD": "0.34"},
            # 2 + 1 + 1.01 + 2 commissions, 0.25 debit interest, 1.50 (the 10 fee reversed)
            fees={"EUR": "3", "USD": "7.76"},
            interest={"EUR": "1.87"},
            deposits={"EUR": "5000"},
            withdrawals={"EUR": "1000"},
        ),
    )


def test_ibkr_flex_csv_header_and_trailer_records(db_path: Path) -> None:
    """IBKR Flex CSV with "Include header and trailer records" (BOF/BOA/BOS, HEADER/DATA
    prefixes, EOS/EOA/EOF), a Trades table chosen without Buy/Sell or TradeDate (the sign of
    Quantity and DateTime "2024-02-01 09:15:00" tell), a CLOSED_LOT row repeating a trade,
    a GBP.USD currency buy and a GBP fee."""
    check(
        db_path,
        "ibkr_flex_trailer_records.csv",
        Books(
            account="U5550002",
            held={"VWRA": "25"},  # 40 - 15 (the closed lot repeats the buy)
            cash={
                # 8000 - 2000 * 1.27 - 2 - (40 * 110.25 + 1.25) + (15 * 118 - 1.25) + 18.20
                # + 4.40 - 250
                "USD": "2588.10",
                "GBP": "1997",  # 2000 bought - 3 market data fee
            },
            dividends={"USD": "18.2"},
            fees={"USD": "4.5", "GBP": "3"},  # 1.25 + 1.25 + 2
            interest={"USD": "4.4"},
            deposits={"USD": "8000"},
            withdrawals={"USD": "250"},
        ),
    )


def test_ibkr_flex_xml_statement(db_path: Path) -> None:
    """IBKR Flex XML with AccountInformation, EquitySummary, CashReport (a BASE_SUMMARY
    row), OpenPositions and closed Lot elements around the transactions; elements without
    accountId (the FlexStatement's account applies), yyyy-MM-dd dates, an EUR.USD buy, a
    payment in lieu, and a partial withholding refund that lowers the tax."""
    check(
        db_path,
        "ibkr_flex_statement.xml",
        Books(
            account="U9990003",
            held={"NVDA": "6", "SIE": "10"},  # 10 - 4; 10
            cash={
                # 20000 - (4800 + 1) - 3000 * 1.09 - 2 + (2800 - 1.05) + 0.24 - 0.04
                # + 12.34 - 4.50 + 1.10 - 1000
                "USD": "13735.09",
                "EUR": "1536.55",  # 3000 - (1500 + 3) + 47 - 12.40 + 4.95
            },
            dividends={"USD": "1.34", "EUR": "47"},  # 0.24 + 1.10 in lieu
            taxes={"USD": "0.04", "EUR": "7.45"},  # 12.40 - 4.95 refunded
            fees={"USD": "8.55", "EUR": "3"},  # 1 + 2 + 1.05 + 4.50
            interest={"USD": "12.34"},
            deposits={"USD": "20000"},
            withdrawals={"USD": "1000"},
        ),
    )


def test_schwab_title_line_newest_first(db_path: Path) -> None:
    """Schwab, the layout with a title line, every field quoted, newest first and a
    "Transactions Total" row with a trailing comma: "as of" dates, `$1,234.56`, `-$2,000.00`
    and `$-0.62`, a reinvested dividend, foreign tax, NRA tax on interest, an advisor fee,
    a sell with a fee, shares journaled in (no cash), and a split's new shares."""
    check(
        db_path,
        "schwab_individual.csv",
        Books(
            account="default",
            # 30 - 10; 5; 4 + 36 from the 10:1 split; 100 journaled in + 0.8 reinvested
            held={"AAPL": "20", "ASML": "5", "NVDA": "40", "SCHD": "100.8"},
            # 1234.56 + 15000 - 5550 - 3500 - 2890 + 61.82 - 61.82 + 4.12 - 0.62 - 25
            # + (1900 - 0.02) + 20.30 - 3.05 - 2000
            cash={"USD": "4190.29"},
            dividends={"USD": "82.12"},  # 61.82 + 20.30
            taxes={"USD": "3.67"},  # 0.62 + 3.05
            fees={"USD": "25.02"},
            interest={"USD": "4.12"},
            deposits={"USD": "16234.56"},
            withdrawals={"USD": "2000"},
        ),
    )


def test_schwab_price_before_quantity_oldest_first(db_path: Path) -> None:
    """Schwab, the older layout: unquoted, Price before Quantity, a trailing comma on every
    line, oldest first, `$10000.00` with no thousands separator; capital gain and reinvest
    pairs, a negative dividend adjustment, a stock dividend, margin interest, a commission."""
    check(
        db_path,
        "schwab_price_first.csv",
        Books(
            held={"KO": "30", "VTI": "20.08"},  # 50 + 2 - 22; 20 + 0.08
            # 10000 - 3810 - (3000 + 4.95) + 1.40 + 16.48 - 16.48 + 23 - 1 - 3.10
            # + (1364 - 4.95) + 0.47 - 500
            cash={"USD": "4064.87"},
            dividends={"USD": "39.88"},  # 1.40 + 16.48 + 23 - 1
            fees={"USD": "13"},  # 4.95 + 3.10 + 4.95
            interest={"USD": "0.47"},
            deposits={"USD": "10000"},
            withdrawals={"USD": "500"},
        ),
    )


def test_fidelity_history_core_position_is_cash(db_path: Path) -> None:
    """Fidelity single-account history (2024 layout with Cash Balance), CRLF, blank lines
    before the header, actions and symbols led by a space, a negative sell quantity with a
    fee, reinvested dividends, foreign tax, and the disclaimer and "Date downloaded" footer.
    The core money market's (SPAXX) reinvested dividend stays cash, as Fidelity shows it."""
    check(
        db_path,
        "fidelity_history.csv",
        Books(
            held={"MSFT": "15", "NVO": "20", "VTI": "40.125"},  # 20 - 5; 20; 40 + 0.125
            # 20000 - 7500 - 9200 - 2500 + 30 - 30 + 10 - 1.50 + 3.12 + 11.25
            # + (2251.25 - 0.04) - 1000
            cash={"USD": "2074.08"},
            dividends={"USD": "54.37"},  # 30 + 10 + 3.12 + 11.25
            taxes={"USD": "1.5"},
            fees={"USD": "0.04"},
            deposits={"USD": "20000"},
            withdrawals={"USD": "1000"},
        ),
    )


def test_vanguard_two_tables_two_accounts(db_path: Path) -> None:
    """Vanguard US OfxDownload CSV, CRLF: the holdings table, blank rows, then the
    transactions of two accounts newest first with a trailing empty field; sweeps in and
    out of the settlement fund and its 0-share dividend reinvestment stay cash; a capital
    gain distribution, a sell fee, a contribution, an account service fee, a withdrawal."""
    check(
        db_path,
        "vanguard_two_accounts.csv",
        Books(
            # 10 + 0.0326 - 2; 30; 139 + 0.9 (the IRA)
            held={"VOO": "8.0326", "VXUS": "30", "VFIFX": "139.9"},
            # brokerage: 10000 - 4400 - 1740 + 16.30 - 16.30 + 3 + 25.10 + (1020 - 0.03) - 2000
            # = 2908.07; IRA: 7000 - 6950 + 45 - 45 - 20 = 30
            cash={"USD": "2938.07"},
            dividends={"USD": "89.40"},  # 16.30 + 3 + 25.10 + 45
            fees={"USD": "20.03"},
            deposits={"USD": "17000"},
            withdrawals={"USD": "2000"},
        ),
    )


def test_degiro_dutch_autofx_and_wrapped_order_id(db_path: Path) -> None:
    """DEGIRO, Dutch headers (amounts in the unnamed columns after Mutatie and Saldo),
    decimal commas with dotted thousands, newest first: an iDEAL deposit and its
    reservation, cash sweeps, a USD buy paid through an AutoFX credit/debit pair, a USD
    dividend with tax converted back to EUR, a sell whose order id wraps onto the next line,
    a connection fee, interest and a withdrawal. Products by ISIN only."""
    check(
        db_path,
        "degiro_nl.csv",
        Books(
            held={"NL0000INV012": "6", "US00INVENT19": "5"},  # 10 - 4; 5
            cash={
                # 2000 - 255 - 2 - 830.12 - 2 + 1.95 + 108 - 2 - 2.50 - 500 + 0.37
                "EUR": "516.70",
                "USD": "0",  # 901.25 - 901.25 + 2.50 - 0.38 - 2.12
            },
            dividends={"USD": "2.50"},
            taxes={"USD": "0.38"},
            fees={"EUR": "8.50"},  # 2 + 2 + 2 + 2.50
            interest={"EUR": "0.37"},
            deposits={"EUR": "2000"},
            withdrawals={"EUR": "500"},
        ),
    )


def test_degiro_english_gbp_account_gbx_prices(db_path: Path) -> None:
    """DEGIRO, English headers, a GBP account, decimal points and "3,000.00": buys and
    sells priced in pence (GBX) booked in pounds, a USD buy through FX Credit/FX Debit,
    a USD dividend and its tax left in USD, interest and a withdrawal."""
    check(
        db_path,
        "degiro_en.csv",
        Books(
            held={"GB00INVENT07": "60", "US00INVENT27": "3"},  # 100 - 40; 3
            cash={
                # 3000 - 45.20 - 1 - 357 - 1.75 + 20 - 1 + 0.84 - 250 (100 at 45.2p = 45.20)
                "GBP": "2364.89",
                "USD": "0.61",  # 450 - 450 + 0.72 - 0.11
            },
            dividends={"USD": "0.72"},
            taxes={"USD": "0.11"},
            fees={"GBP": "3.75"},
            interest={"GBP": "0.84"},
            deposits={"GBP": "3000"},
            withdrawals={"GBP": "250"},
        ),
    )


def test_degiro_german_bom_crlf(db_path: Path) -> None:
    """DEGIRO, German headers, BOM and CRLF: "Kauf 8 zu je 152,4 EUR", a USD buy through
    Währungswechsel (Einbuchung/Ausbuchung), Dividende and Dividendensteuer in EUR and USD,
    the yearly "Einrichtung von Handelsmodalitäten" exchange fee, an Auszahlung."""
    check(
        db_path,
        "degiro_de.csv",
        Books(
            held={"DE000INVENT3": "5", "US00INVENT35": "10"},  # 8 - 3; 10
            cash={
                # 5000 - 1219.20 - 2 - 2.50 - 867.58 - 2 + 32 - 8.44 + 480 - 2 - 1000
                "EUR": "2408.28",
                "USD": "2.04",  # 950 - 950 + 2.40 - 0.36
            },
            dividends={"EUR": "32", "USD": "2.40"},
            taxes={"EUR": "8.44", "USD": "0.36"},
            fees={"EUR": "8.50"},
            deposits={"EUR": "5000"},
            withdrawals={"EUR": "1000"},
        ),
    )


def test_trading212_2024_layout_eur_account(db_path: Path) -> None:
    """Trading 212, the 2024 column set (Transaction fee, Currency conversion fee), an EUR
    account: a USD buy and sell each settled in EUR through an FX row with the conversion
    fee, an EUR ETF bought and sold without one, a dividend net in EUR with its US
    withholding in USD, interest, a withdrawal; times with and without milliseconds."""
    check(
        db_path,
        "trading212_2024_eur.csv",
        Books(
            held={"EXA": "3", "VUSA": "8"},  # 4 - 1; 10 - 2
            cash={
                # 2500 - 400.60 - 800 + 1.55 + 1.23 + 99.85 + 170 - 300: a buy's Total
                # (4 * 110 USD / 1.10 + 0.60 fee) and a sell's (125 USD / 1.25 - 0.15)
                "EUR": "1272.03",
                "USD": "0",  # 440 - 440 + 0.30 - 0.30 + 125 - 125
            },
            # the net 1.55 EUR, and the 0.30 USD withheld as income and as tax
            dividends={"EUR": "1.55", "USD": "0.30"},
            taxes={"USD": "0.30"},
            fees={"EUR": "0.75"},  # 0.60 + 0.15 conversion fees
            interest={"EUR": "1.23"},
            deposits={"EUR": "2500"},
            withdrawals={"EUR": "300"},
        ),
    )


def test_trading212_2026_layout_gbp_account(db_path: Path) -> None:
    """Trading 212, the newest column set (Notes and ID after Name, stamp duty, French
    transaction tax, Finra fee, currency conversion from/to columns, merchant columns),
    CRLF, a GBP account: a UK buy priced in pence with stamp duty (no exchange), a US buy
    and sell through FX rows, a GBP->USD conversion given only in its own columns, UK and US
    dividends, lending interest, interest, a card payment, cashback and a withdrawal."""
    check(
        db_path,
        "trading212_2026_gbp.csv",
        Books(
            held={"EXB": "6", "LLOY": "1000"},  # 10 - 4; 1000
            cash={
                # 5000 - (1000 * 0.524 + 2.62) - 400.60 - 200 + 12 + 2.72 + 199.70 + 0.45
                # + 2.10 - 12.50 + 0.12 - 1000
                "GBP": "3077.37",
                # 500 - 500 + 249.50 + 0.60 - 0.60 + 240 - 240
                "USD": "249.50",
            },
            dividends={"GBP": "14.72", "USD": "0.60"},  # 12 + 2.72; withheld 0.60
            taxes={"USD": "0.60"},
            fees={"GBP": "3.52"},  # 2.62 stamp duty + 0.60 + 0.30 conversion fees
            interest={"GBP": "2.67"},  # 0.45 + 2.10 + 0.12
            deposits={"GBP": "5000"},
            withdrawals={"GBP": "1012.50"},
        ),
    )


def test_revolut_stocks_two_currencies(db_path: Path) -> None:
    """Revolut stocks statement, newest first: ISO times with and without microseconds,
    money as `$1,500`, `-$100`, `€180.20`, a decimal-comma quantity "1,5", USD and EUR
    top-ups, a custody fee, a dividend, a withdrawal and a split's new shares."""
    check(
        db_path,
        "revolut_stocks.csv",
        Books(
            held={"AAPL": "4", "SAP": "1", "TSLA": "1"},  # 2 + 2 (split); 1; 1.5 - 0.5
            cash={
                "USD": "759.29",  # 1500 - 2 * 185.50 - 1.5 * 240 + 0.41 - 0.12 + 90 - 100
                "EUR": "19.80",  # 200 - 180.20
            },
            dividends={"USD": "0.41"},
            fees={"USD": "0.12"},
            deposits={"USD": "1500", "EUR": "200"},
            withdrawals={"USD": "100"},
        ),
    )


def test_revolut_crypto_money_strings_and_rewards(db_path: Path) -> None:
    """Revolut crypto statement: "€40,000.00" prices, fees in their own column, dates as
    "Jan 5, 2024, 10:10:57 AM", a stake (coins stay held), a staking reward with no price
    (coins at no cost), a sell and a send."""
    check(
        db_path,
        "revolut_crypto.csv",
        Books(
            held={"BTC": "0.0005", "ETH": "0.1005"},  # 0.002 - 0.001 - 0.0005; 0.1 + 0.0005
            # -(80 + 1.20) - (200 + 3) + (45 - 0.68): the file has no cash movements
            cash={"EUR": "-239.88"},
            fees={"EUR": "4.88"},
        ),
    )


def test_trading212_2022_layout_currency_in_column_names(db_path: Path) -> None:
    """Trading 212's 2021-2022 column set, the account currency in the names ("Total (EUR)",
    "Result (EUR)", "Currency conversion fee (EUR)", "Stamp duty reserve tax (EUR)"): a USD buy
    and sell settled in EUR with their conversion fees, a dividend, a withdrawal."""
    check(
        db_path,
        "trading212_2022_eur.csv",
        Books(
            held={"EXA": "1"},
            # 1000 - (200 / 1.1 + 0.27) + 0.77 + (120 / 1.2 - 0.15) - 200
            cash={"EUR": "718.53", "USD": "0"},
            dividends={"EUR": "0.77", "USD": "0.15"},
            taxes={"USD": "0.15"},
            fees={"EUR": "0.42"},
            deposits={"EUR": "1000"},
            withdrawals={"EUR": "200"},
        ),
    )


def test_degiro_header_without_the_unnamed_columns(db_path: Path) -> None:
    """The Dutch statement of test_degiro_dutch_autofx_and_wrapped_order_id with a header
    that leaves out the two unnamed columns (ten names over rows of twelve fields, the order
    id not wrapped): the same books."""
    check(
        db_path,
        "degiro_nl_header_without_unnamed.csv",
        Books(
            held={"NL0000INV012": "6", "US00INVENT19": "5"},
            cash={"EUR": "516.70", "USD": "0"},
            dividends={"USD": "2.50"},
            taxes={"USD": "0.38"},
            fees={"EUR": "8.50"},
            interest={"EUR": "0.37"},
            deposits={"EUR": "2000"},
            withdrawals={"EUR": "500"},
        ),
    )


def test_degiro_currency_and_amount_in_one_cell(db_path: Path) -> None:
    """The German statement of test_degiro_german_bom_crlf with ten columns, the currency
    and the amount in one cell ("EUR -1.000,00") under Änderung and Saldo: the same books."""
    check(
        db_path,
        "degiro_de_money_cells.csv",
        Books(
            held={"DE000INVENT3": "5", "US00INVENT35": "10"},
            cash={"EUR": "2408.28", "USD": "2.04"},
            dividends={"EUR": "32", "USD": "2.40"},
            taxes={"EUR": "8.44", "USD": "0.36"},
            fees={"EUR": "8.50"},
            deposits={"EUR": "5000"},
            withdrawals={"EUR": "1000"},
        ),
    )


def test_ibkr_option_price_per_contract(tmp_path: Path) -> None:
    """An IBKR option trade is priced per contract from its Proceeds (T. Price 2.15 is per
    share of a 100-share contract): 3 bought for 645, so cash moves by what IBKR booked."""
    from workbench.ledger.presets import convert_file

    path = tmp_path / "activity.csv"
    path.write_text(
        "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,"
        "T. Price,Proceeds,Comm/Fee,Code\n"
        'Trades,Data,Order,Equity and Index Options,USD,XYZ 20DEC24 50 C,"2024-06-03, 10:00:00",'
        "3,2.15,-645,-1.95,O\n"
        'Trades,Data,Order,Stocks,USD,XYZ,"2024-06-03, 10:05:00",10,48.5,-485,-1,O\n',
        encoding="utf-8",
    )
    conversion = convert_file(path)
    assert conversion is not None
    rows = conversion.rows.select("type", "symbol", "quantity", "price", "fee").rows()
    assert rows == [
        ("BUY", "XYZ 20DEC24 50 C", "3", "215", "1.95"),  # 645 / 3
        ("BUY", "XYZ", "10", "48.5", "1"),
    ]


def test_fidelity_all_accounts_2025_layout(db_path: Path) -> None:
    """Fidelity's 2025 all-accounts layout (Account and Account Number quoted, Exchange
    Quantity/Currency columns, negative sell quantity with a fee, rows newest first, a quoted
    "Date downloaded" footer): a brokerage account and a Roth IRA, a contribution, a transfer
    between the two (a withdrawal from one, a deposit to the other), reinvested dividends (the
    core SPAXX one stays cash) and foreign tax."""
    check(
        db_path,
        "fidelity_all_accounts.csv",
        Books(
            held={"AAPL": "6", "ASML": "2", "VT": "50.05"},  # 10 - 4; 2; 50 + 0.05
            # Brokerage: 5000 - 2300 - 1400 + 8 - 1.20 + 2.60 + 2.15 + (1000 - 0.03) - 500
            # = 1811.52; Roth IRA: 7000 - 6000 + 6.30 - 6.30 + 500 = 1500
            cash={"USD": "3311.52"},
            dividends={"USD": "19.05"},  # 8 + 2.60 + 2.15 + 6.30
            taxes={"USD": "1.20"},
            fees={"USD": "0.03"},
            deposits={"USD": "12500"},  # 5000 + 7000 + 500 transferred in
            withdrawals={"USD": "500"},
        ),
    )
