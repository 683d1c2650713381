"""Crypto swaps keep their cost basis: Coinbase converts at the value the export gives,
Kraken and Binance trades of two coins at the file's nearest price of the coin given (its
fallback documented and tested), every figure worked out by hand in the comments."""

from __future__ import annotations

from pathlib import Path

from _acceptance_helpers import Books, check, cost_basis

from workbench.ledger.presets import convert_file


def test_coinbase_2025_layout_convert_keepscost_basis(db_path: Path) -> None:
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
    assert cost_basis(report) == {"BTC": 599.99, "ETH": 818.92}


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
    assert cost_basis(report) == {"BTC": 807.07, "ETH": 779.9, "XLM": 0.9}


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
    assert cost_basis(report) == {"BTC": 299.72, "ETH": 200.52}


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
    assert cost_basis(report) == {"BTC": 169.72, "ETH": 200.0, "BNB": 29.85}


def test_swap_without_any_price_in_the_file_moves_quantities(tmp_path: Path) -> None:
    """A Kraken trade of two assets in a file that never trades either for a currency has
    no value to go by: the documented fallback moves the quantities at price 0 (positions
    right, cost basis lost) and says so in the note; no crypto becomes cash."""

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
    assert cost_basis(report) == {"BTC": 340.62, "ETH": 200.52}
