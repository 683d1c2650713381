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


def _cost_basis(report: dict[str, object]) -> dict[str, float]:
    positions = report["positions"]
    assert isinstance(positions, list)
    return {p["symbol"]: round(p["cost_basis"], 2) for p in positions if p["quantity"]}


def test_coinbase_2025_layout_convert_keeps_cost_basis(db_path: Path) -> None:
    """Coinbase 2025 layout with its preamble (BOM, a blank line, "Transactions", "User,..."),
    `€1,014.90` money, negative quantities on sends and sells, a fiat deposit and withdrawal,
    staking income, a transfer in, and a Convert whose fee column is empty: the spread
    (Total - Subtotal) is its fee, the ETH given is sold at its Total and the BTC got costs the
    Subtotal, so no cash appears and the cost basis carries."""
    report = check(
        db_path,
        "coinbase_2025.csv",
        Books(
            # 0.0005 + 0.01 - 0.002 + 0.0045 - 0.001; 0.5 + 0.002 - 0.1
            held={"BTC": "0.012", "ETH": "0.402"},
            # 2000 - 405.99 - 1014.90 + 108.35 + (7 - 7) + (300 - 4.50) - 295.50 - 200
            cash={"EUR": "487.46"},
            dividends={"EUR": "7"},
            fees={"EUR": "27.04"},  # 5.99 + 14.90 + 1.65 + 4.50 (the convert's spread)
            deposits={"EUR": "2000"},
            withdrawals={"EUR": "200"},
        ),
        currency="EUR",
    )
    # FIFO: BTC 0.0005 received at 0 then 0.01 for 405.99; the sell of 0.002 takes the 0.0005
    # and 0.0015 of the bought lot (60.90), the send of 0.001 another 40.60 (0.001 x 40599):
    # 0.0075 x 40599 = 304.49, plus 295.50 for the 0.0045 the convert got.
    # ETH: 0.5 for 1014.90 and 0.002 at 7; the convert sells 0.1 of the first: 0.4 x 2029.80
    # = 811.92 + 7.
    assert _cost_basis(report) == {"BTC": 599.99, "ETH": 818.92}


def test_coinbase_spot_price_layout(db_path: Path) -> None:
    """Coinbase's older "Spot Price" layout with the quoted disclaimer, blank lines and the
    User line before the header: card buys (no deposit, so cash goes negative), an Advanced
    Trade Buy, Coinbase Earn and Rewards Income (income whose coins cost their value), a
    Convert with its fee in the fee column, a sell and a send."""
    report = check(
        db_path,
        "coinbase_spot_price.csv",
        Books(
            # 0.05 + 0.0135 - 0.02; 1.2 - 0.2 + 0.001 - 0.5; 10
            held={"BTC": "0.0435", "ETH": "0.501", "XLM": "10"},
            # -852.45 - 1867.44 + (0.90 - 0.90) + (300 - 4.40) - 295.60 + (1.80 - 1.80)
            # + (540 - 8)
            cash={"USD": "-2187.89"},
            dividends={"USD": "2.70"},
            fees={"USD": "32.29"},  # 12.45 + 7.44 + 4.40 + 8
        ),
    )
    # BTC: 0.03 left of 0.05 bought for 852.45 (511.47) + 295.60 for the 0.0135 converted in;
    # ETH: 0.5 left of 1.2 bought for 1867.44 (778.10) + 1.80 of rewards; XLM: 0.90
    assert _cost_basis(report) == {"BTC": 807.07, "ETH": 779.9, "XLM": 0.9}


def test_kraken_ledgers_swap_valued_and_earn_moves(db_path: Path) -> None:
    """Kraken ledgers export (2024 columns with subtype and wallet, XXBT/XETH/ZEUR codes):
    the pending copy of a deposit, trades paired by refid with fees on top, an ETH->BTC trade
    with no currency leg (valued at the file's nearest ETH price, 2000 EUR, so the BTC got
    costs the 100 EUR the ETH given fetched), Kraken Earn allocations (two rows that change
    nothing held) and a reward, an EUR withdrawal with a fee and a BTC withdrawal."""
    report = check(
        db_path,
        "kraken_ledgers.csv",
        Books(
            # 0.01 + (0.0025 - 0.000005 fee) - 0.004 - (0.001 + 0.00002); 0.15 - 0.05 + 0.0002
            held={"BTC": "0.007475", "ETH": "0.1002"},
            # 1000 - (400 + 1.04) - (300 + 0.78) + (180 - 0.47) - 200 - 0.09
            cash={"EUR": "277.62"},
            fees={"EUR": "2.38"},
            deposits={"EUR": "1000"},
            withdrawals={"EUR": "200"},
        ),
        currency="EUR",
    )
    # BTC (FIFO): 0.01 for 401.04 and 0.002495 for 100; the sell of 0.004 and the withdrawal
    # of 0.00102 take 0.00502 of the first: 0.00498 x 40104 = 199.72, + 100.
    # ETH: 0.15 for 300.78, 0.05 swapped away: 0.1 x 2005.20 = 200.52; the reward costs 0.
    assert _cost_basis(report) == {"BTC": 299.72, "ETH": 200.52}


def test_binance_history_convert_earn_and_fees_in_kind(db_path: Path) -> None:
    """Binance transaction history, every field quoted: trades as Spend/Buy/Fee and
    Sold/Revenue/Fee rows of one second, fees in the coin bought, in BNB and in EUR, a fee as
    "-1.0E-5", a Binance Convert of ETH to BTC (valued at the file's nearest ETH price, 2000
    EUR), Simple Earn subscriptions and redemptions (moves between own wallets) and interest,
    a coin withdrawal and a fiat deposit and withdrawal."""
    report = check(
        db_path,
        "binance_history.csv",
        Books(
            # 0.01 - 0.00001 + 0.00125 - 0.005 - 0.002; 0.125 - 0.025 + 0.0001;
            # 0.1 - 0.0001 - 0.0005 (the ETH buy's fee)
            held={"BTC": "0.00424", "ETH": "0.1001", "BNB": "0.0994"},
            cash={"EUR": "444.775"},  # 1000 - 400 - 30 - 250 + (225 - 0.225) - 100
            fees={"EUR": "0.225"},
            deposits={"EUR": "1000"},
            withdrawals={"EUR": "100"},
        ),
        currency="EUR",
    )
    # BTC (FIFO): 0.00999 for 400, 0.00125 for 50 (the convert); 0.007 of the first sold or
    # withdrawn: 0.00299 x 400/0.00999 = 119.72, + 50. ETH: 0.1 of 0.125 bought for 250 = 200.
    # BNB: 0.0994 of 0.0999 bought for 30 = 29.85.
    assert _cost_basis(report) == {"BTC": 169.72, "ETH": 200.0, "BNB": 29.85}


def test_swap_without_any_price_in_the_file_moves_quantities(tmp_path: Path) -> None:
    """A Kraken trade of two assets in a file that never trades either for a currency has
    no value to go by: the documented fallback moves the quantities at price 0 (positions
    right, cost basis lost) and says so in the note; no crypto becomes cash."""
    from workbench.ledger.presets import convert_file

    path = tmp_path / "ledgers.csv"
    path.write_text(
        '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
        '"L1","D1","2024-01-01 10:00:00","deposit","","currency","XETH",1.0,0,1.0\n'
        '"L2","T1","2024-01-02 10:00:00","trade","","currency","XETH",-0.5,0,0.5\n'
        '"L3","T1","2024-01-02 10:00:00","trade","","currency","XXBT",0.025,0.0001,0.0249\n',
        encoding="utf-8",
    )
    conversion = convert_file(path)
    assert conversion is not None
    rows = conversion.rows.select("type", "symbol", "quantity", "price", "note").rows()
    assert rows[0][:4] == ("BUY", "ETH", "1", "0")  # the deposit of coins
    assert rows[1][:4] == ("SELL", "ETH", "0.5", "0")
    assert rows[2][:4] == ("BUY", "BTC", "0.0249", "0")  # 0.025 less the 0.0001 fee
    assert "no price in the file" in rows[2][4]
    assert set(conversion.rows["currency"].drop_nulls()) <= {"USD", "EUR"}


def _books_of(report: dict[str, object]) -> dict[str, tuple[float, float, float]]:
    """symbol -> (quantity, cost basis, realized P&L), rounded to the cent."""
    positions = report["positions"]
    assert isinstance(positions, list)
    return {
        p["symbol"]: (p["quantity"], round(p["cost_basis"], 2), round(p["realized_pnl"], 2))
        for p in positions
    }


def test_schwab_corporate_actions(db_path: Path) -> None:
    """Schwab corporate actions: a Name Change and a Stock Merger as two rows (the new ticker
    +qty, the old line under its CUSIP -qty, named back to its ticker by its description), a
    Reverse Split 1:10 of 105 shares with cash in lieu of the half share, a merger 1:2 of 51
    shares with cash in lieu, a Spin-off naming only the child, a Stock Split whose ratio the
    file's holding gives (40 held + 40 = 2:1), and a sale after the name change."""
    report = check(
        db_path,
        "schwab_corporate_actions.csv",
        Books(
            held={"NEWC": "70", "PRNT": "80", "RSPL": "10", "SPNC": "20", "TARG": "25"},
            # 10000 - 2000 - 510 - 210 - 2000 + 6 + 9.50 + 750
            cash={"USD": "6045.50"},
            deposits={"USD": "10000"},
        ),
    )
    assert _books_of(report) == {
        # 100 OLDC for 2000 renamed: 70 left cost 1400; 30 sold for 750 - 600 = 150
        "NEWC": (70.0, 1400.0, 150.0),
        "OLDC": (0.0, 0.0, 0.0),
        "PRNT": (80.0, 2000.0, 0.0),  # 2:1, the cost unchanged
        # 105 for 210 become 10.5 at 20; the 0.5 (cost 10) sold for 9.50: -0.50
        "RSPL": (10.0, 200.0, -0.5),
        "SPNC": (20.0, 0.0, 0.0),  # the child at no cost (Schwab names no parent)
        # 51 for 510 become 25.5 at 20 (1:2); 25 kept (500), the half share (cost 10) paid 6
        "TARG": (25.0, 500.0, 0.0),
        "XSPC": (0.0, 0.0, -4.0),
    }


def test_ibkr_activity_corporate_actions_section(db_path: Path) -> None:
    """IBKR activity statement with a Corporate Actions section: an FB -> META ISIN change
    as two rows, AAPL "Split 4 for 1", a spin-off of SPN from XYZ (IBKR states no cost
    allocation: the child at no cost, the parent keeps its basis), a takeover of TWTR for
    USD 54.20 a share (a sale), and a later sale of META against FB's cost."""
    report = check(
        db_path,
        "ibkr_activity_corporate.csv",
        Books(
            account="U1112223",
            held={"AAPL": "100", "META": "6", "SPN": "10", "XYZ": "40"},
            # 10000 - 4001 - 3301 - 381 - 1001 + 542 + (460 - 1)
            cash={"USD": "2317"},
            fees={"USD": "5"},
            deposits={"USD": "10000"},
        ),
    )
    assert _books_of(report) == {
        "AAPL": (100.0, 4001.0, 0.0),  # 25 x 4
        "FB": (0.0, 0.0, 0.0),
        # 10 FB for 3301 become META; 4 sold for 459: 459 - 1320.40 = -861.40
        "META": (6.0, 1980.6, -861.4),
        "SPN": (10.0, 0.0, 0.0),
        "TWTR": (0.0, 0.0, 161.0),  # 542 - 381
        "XYZ": (40.0, 1001.0, 0.0),
    }


def test_degiro_product_change_and_stock_dividend(db_path: Path) -> None:
    """DEGIRO "PRODUCTWIJZIGING": the new ISIN bought and the old sold at no cash, one
    symbol change at 1:2 (100 old for 50 new) keeping the cost; a "STOCK DIVIDEND: Koop 2 @
    0 EUR" adds shares at no cost."""
    report = check(
        db_path,
        "degiro_product_change.csv",
        Books(
            held={"NL0000NEW002": "52"},  # 100 x 1/2 + 2
            cash={"EUR": "498"},  # 1000 - 500 - 2
            fees={"EUR": "2"},
            deposits={"EUR": "1000"},
        ),
        currency="EUR",
    )
    # the 500 paid for OLDCO carries to NEWCO (DEGIRO's fee is a FEE row of its own)
    assert _books_of(report)["NL0000NEW002"] == (52.0, 500.0, 0.0)


def test_ibkr_flex_xml_corporate_actions(tmp_path: Path) -> None:
    """Flex XML CorporateAction elements: a reverse split as the new line +40 and the .OLD
    line -1000 (one SPLIT 1:25), a tender 1 for 1 to a new symbol (a symbol change), and
    the tendered shares taken over for CAD 3.10 a share (a sale)."""
    from workbench.ledger.presets import convert_file

    path = tmp_path / "flex.xml"
    path.write_text(
        """<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">
<FlexStatement accountId="U4440001" fromDate="20240101" toDate="20241231">
<Trades>
<Trade currency="CAD" assetCategory="STK" symbol="ABC" tradeDate="20240102" quantity="1000" tradePrice="0.5" ibCommission="-1" buySell="BUY" />
<Trade currency="CAD" assetCategory="STK" symbol="DEF" tradeDate="20240102" quantity="200" tradePrice="2" ibCommission="-1" buySell="BUY" />
</Trades>
<CorporateActions>
<CorporateAction currency="CAD" assetCategory="STK" symbol="ABC" description="ABC(CA0000000AB1) SPLIT 1 FOR 25 (ABC, ABC MINING, CA0000000AB9)" reportDate="2024-03-02" dateTime="2024-03-01, 20:25:00" proceeds="0" quantity="40" />
<CorporateAction currency="CAD" assetCategory="STK" symbol="ABC.OLD" description="ABC(CA0000000AB1) SPLIT 1 FOR 25 (ABC.OLD, ABC MINING, CA0000000AB1)" reportDate="2024-03-02" dateTime="2024-03-01, 20:25:00" proceeds="0" quantity="-1000" />
<CorporateAction currency="CAD" assetCategory="STK" symbol="DEF" description="DEF(CA0000000DE1) TENDERED TO CA0000000DT1 1 FOR 1 (DEF, DEF CORP, CA0000000DE1)" reportDate="2024-04-02" dateTime="2024-04-01, 20:25:00" proceeds="0" quantity="-200" />
<CorporateAction currency="CAD" assetCategory="STK" symbol="DEF.TEN" description="DEF(CA0000000DE1) TENDERED TO CA0000000DT1 1 FOR 1 (DEF.TEN, DEF CORP - TENDER, CA0000000DT1)" reportDate="2024-04-02" dateTime="2024-04-01, 20:25:00" proceeds="0" quantity="200" />
<CorporateAction currency="CAD" assetCategory="STK" symbol="DEF.TEN" description="DEF.TEN(CA0000000DT1) MERGED(Voluntary Offer Allocation) FOR CAD 3.10 PER SHARE (DEF.TEN, DEF CORP - TENDER, CA0000000DT1)" reportDate="2024-05-02" dateTime="2024-05-01, 20:25:00" proceeds="620" quantity="-200" />
</CorporateActions>
</FlexStatement></FlexStatements></FlexQueryResponse>
""",
        encoding="utf-8",
    )
    conversion = convert_file(path)
    assert conversion is not None
    got = conversion.rows.filter(~conversion.rows["type"].is_in(["BUY"])).select(
        "date", "account", "type", "symbol", "target", "quantity", "price", "ratio"
    )
    assert got.rows() == [
        ("2024-03-01", "U4440001", "SPLIT", "ABC", None, None, None, "1:25"),
        ("2024-04-01", "U4440001", "SYMBOL_CHANGE", "DEF", "DEF.TEN", None, None, None),
        # 620 for 200 shares
        ("2024-05-01", "U4440001", "SELL", "DEF.TEN", None, "200", "3.1", None),
    ]


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


def test_vanguard_stock_split_and_share_class_conversion(tmp_path: Path) -> None:
    """Vanguard US: a "Stock split" row of new shares is a SPLIT at the ratio the file's
    holding gives (10 held + 10 = 2:1), and a Conversion (outgoing)/(incoming) pair between
    share classes a symbol change at the exact ratio of the quantities (10.5 -> 2 is 4:21)."""
    from workbench.ledger.presets import convert_file

    header = (
        "Account Number,Trade Date,Settlement Date,Transaction Type,Transaction Description,"
        "Investment Name,Symbol,Shares,Share Price,Principal Amount,Commissions and Fees,"
        "Net Amount,Accrued Interest,Account Type,"
    )
    path = tmp_path / "OfxDownload.csv"
    path.write_text(
        "\n".join(
            [
                header,
                "1111,2024-06-10,2024-06-10,Conversion (incoming),Conversion,VANGUARD S&P 500 ETF,"
                "VOO,2,0,0,0,0,0,CASH,",
                "1111,2024-06-10,2024-06-10,Conversion (outgoing),Conversion,VANGUARD 500 INDEX"
                " ADMIRAL,VFIAX,-10.5,0,0,0,0,0,CASH,",
                "1111,2024-06-07,2024-06-07,Stock split,Stock split,VANGUARD TOTAL STOCK ETF,VTI,"
                "10,0,0,0,0,0,CASH,",
                "1111,2024-01-05,2024-01-08,Buy,Buy,VANGUARD TOTAL STOCK ETF,VTI,10,240,-2400,0,"
                "-2400,0,CASH,",
                "1111,2024-01-04,2024-01-05,Buy,Buy,VANGUARD 500 INDEX ADMIRAL,VFIAX,10.5,400,"
                "-4200,0,-4200,0,CASH,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    conversion = convert_file(path)
    assert conversion is not None
    got = conversion.rows.filter(conversion.rows["type"] != "BUY").select(
        "type", "symbol", "target", "ratio"
    )
    assert got.rows() == [
        ("SPLIT", "VTI", None, "2:1"),
        ("SYMBOL_CHANGE", "VFIAX", "VOO", "4:21"),
    ]


def test_corporate_action_that_does_not_pair_is_an_error(tmp_path: Path) -> None:
    """Two Schwab "Name Change" rows that both add shares (no old line) cannot be read as one
    action: the import is refused with the line and what was seen, nothing guessed."""
    import pytest

    from workbench.errors import InvalidRows
    from workbench.ledger.presets import convert_file

    path = tmp_path / "schwab.csv"
    path.write_text(
        '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
        '"03/01/2024","Name Change","NEWA","NEW A INC","10","","",""\n'
        '"03/01/2024","Name Change","NEWB","NEW B INC","5","","",""\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidRows) as caught:
        convert_file(path)
    message = str(caught.value)
    assert "schwab.csv:2: quantity: a corporate action this preset cannot read" in message
    assert "NEWA 10, NEWB 5" in message


def test_kraken_trades_export_crypto_pair_is_a_swap(db_path: Path) -> None:
    """Kraken trades export: two ledger ids in the last field (14 fields under 13 names),
    EUR pairs, and an XETHXXBT sell priced in BTC: a swap valued at the file's nearest ETH
    price (2000 EUR), so BTC is never cash and the BTC got costs 100 EUR."""
    report = check(
        db_path,
        "kraken_trades.csv",
        Books(
            # 0.01 + (0.0025 - 0.000005 fee in BTC) - 0.004; 0.15 - 0.05
            held={"BTC": "0.008495", "ETH": "0.1"},
            cash={"EUR": "-522.29"},  # -(400 + 1.04) - (300 + 0.78) + (180 - 0.47)
            fees={"EUR": "2.29"},
        ),
        currency="EUR",
    )
    # BTC: 0.006 left of 0.01 bought for 401.04 (240.62) + 100; ETH: 0.1 of 0.15 for 300.78
    assert _cost_basis(report) == {"BTC": 340.62, "ETH": 200.52}
