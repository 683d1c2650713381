"""Corporate actions in broker exports (Schwab, IBKR activity and Flex XML, DEGIRO,
Vanguard) become the ledger's SPLIT, SYMBOL_CHANGE, MERGER, SPINOFF, STOCK_DIVIDEND and
RETURN_OF_CAPITAL rows, with positions, cost and realized P&L worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from _acceptance_helpers import FIXTURES, Books, books_of, check, run

from workbench.errors import InvalidRows
from workbench.ledger.presets import convert_file


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
    assert books_of(report) == {
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
    assert books_of(report) == {
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
    assert books_of(report)["NL0000NEW002"] == (52.0, 500.0, 0.0)


def test_ibkr_flex_xml_corporate_actions(tmp_path: Path) -> None:
    """Flex XML CorporateAction elements: a reverse split as the new line +40 and the .OLD
    line -1000 (one SPLIT 1:25), a tender 1 for 1 to a new symbol (a symbol change), and
    the tendered shares taken over for CAD 3.10 a share (a sale)."""

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


def test_vanguard_stock_split_and_share_class_conversion(tmp_path: Path) -> None:
    """Vanguard US: a "Stock split" row of new shares is a SPLIT at the ratio the file's
    holding gives (10 held + 10 = 2:1), and a Conversion (outgoing)/(incoming) pair between
    share classes a symbol change at the exact ratio of the quantities (10.5 -> 2 is 4:21)."""

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


@pytest.mark.parametrize(
    "name",
    ["schwab_corporate_actions.csv", "ibkr_activity_corporate.csv", "degiro_product_change.csv"],
)
def test_corporate_action_files_import_once(db_path: Path, name: str) -> None:
    """A file with corporate actions imported twice adds its rows once (the resolved rows
    have stable identities)."""
    first = run("import", str(FIXTURES / name), "--db", str(db_path))
    second = run("import", str(FIXTURES / name), "--db", str(db_path))
    added = int(first.rsplit("added ", 1)[1].split(",")[0])
    assert added > 0
    assert f"added 0, {added} already imported" in second
