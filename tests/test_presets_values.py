"""Cell parsing (numbers, dates, currencies in money text) and mapping-spec checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from workbench.errors import MappingError
from workbench.ledger.presets import parse_spec, presets
from workbench.ledger.presets import values as v


def _number(cell: str | None, decimal: str = ".", thousands: str = ",") -> Decimal | None:
    frame = pl.DataFrame({"x": [cell]}, schema={"x": pl.String})
    return frame.select(v.number(pl.col("x"), decimal=decimal, thousands=thousands)).item()


@pytest.mark.parametrize(
    ("cell", "decimal", "thousands", "expected"),
    [
        pytest.param("$1,234.56", ".", ",", "1234.56", id="dollar-thousands"),
        pytest.param("-$7,510.00", ".", ",", "-7510", id="minus-before-sign"),
        pytest.param("$-0.88", ".", ",", "-0.88", id="minus-after-sign"),
        pytest.param("(12.50)", ".", ",", "-12.5", id="parentheses"),
        pytest.param("89,162.28 SEK", ".", ",", "89162.28", id="code-after"),
        pytest.param("€0.00252", ".", ",", "0.00252", id="euro-sign"),
        pytest.param("-3.605E-05", ".", ",", "-0.00003605", id="scientific"),
        pytest.param(".9232", ".", ",", "0.9232", id="no-leading-zero"),
        pytest.param("1.234,56", ",", ".", "1234.56", id="german"),
        pytest.param("1 234,56", ",", " ", "1234.56", id="french-space"),
        pytest.param("26,45", "auto", "", "26.45", id="auto-comma"),
        pytest.param("-97.93", "auto", "", "-97.93", id="auto-point"),
        pytest.param("1.000,98", "auto", "", "1000.98", id="auto-both"),
        pytest.param("1,000", "auto", "", "1000", id="auto-thousands-group"),
        pytest.param("0,76672417", "auto", "", "0.76672417", id="auto-long-decimals"),
    ],
)
def test_numbers(cell: str, decimal: str, thousands: str, expected: str) -> None:
    """Money and quantities as brokers write them parse to the exact decimal."""
    assert _number(cell, decimal, thousands) == Decimal(expected)


@pytest.mark.parametrize("cell", [None, "", "-", "abc"])
def test_not_numbers_are_null(cell: str | None) -> None:
    """Empty cells, placeholders and words are no number (the engine reports words)."""
    assert _number(cell) is None


def test_dates_with_as_of_and_several_formats() -> None:
    """`07/29/2022 as of 07/28/2022` is the first date; formats are tried in order."""
    frame = pl.DataFrame({"d": ["07/29/2022 as of 07/28/2022", "2023-04-20T04:05:40Z", "x"]})
    got = frame.select(v.date(pl.col("d"), ("%m/%d/%Y", "%Y-%m-%dT%H:%M:%SZ"))).to_series()
    assert got.to_list() == [dt.date(2022, 7, 29), dt.date(2023, 4, 20), None]


def test_currency_in_money_text() -> None:
    """The currency a money cell names, by sign or code."""
    frame = pl.DataFrame({"m": ["€35,761.54", "-$3", "50.00 SEK", "£1", "12"]})
    got = frame.select(v.currency_in(pl.col("m"))).to_series().to_list()
    assert got == ["EUR", "USD", "SEK", "GBP", None]


def test_every_preset_is_a_valid_spec() -> None:
    """The shipped presets load (each is checked like a user's mapping file)."""
    names = {spec.name for spec in presets()}
    assert {
        "schwab",
        "fidelity",
        "vanguard",
        "degiro",
        "trading212",
        "revolut",
        "coinbase",
    } <= names
    assert {
        "ibkr-flex-trades",
        "ibkr-flex-cash",
        "ibkr-flex-xml",
        "ibkr-activity",
        "kraken",
        "binance",
    } <= names


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"columns": {"date": "D", "action": "A"}}, "rules: expected at least one", id="no-rules"
        ),
        pytest.param(
            {"columns": {"date": "D"}, "rules": [{"action": "x", "type": "BUY"}]},
            "columns.action: missing",
            id="no-action-column",
        ),
        pytest.param(
            {
                "columns": {"date": "D", "action": "A", "colour": "C"},
                "rules": [{"action": "x", "type": "BUY"}],
            },
            "columns.colour: unknown field",
            id="unknown-field",
        ),
        pytest.param(
            {"columns": {"date": "D", "action": "A"}, "rules": [{"pattern": "(", "type": "BUY"}]},
            "rules[0].pattern: not a regular expression",
            id="bad-regex",
        ),
        pytest.param(
            {"columns": {"date": "D", "action": "A"}, "rules": [{"type": "BUY"}]},
            "rules[0]: give action (texts) or pattern",
            id="rule-matches-nothing",
        ),
        pytest.param(
            {
                "format": {"date": "Y-m-d"},
                "columns": {"date": "D", "action": "A"},
                "rules": [{"action": "x", "type": "BUY"}],
            },
            "format.date[0]: 'Y-m-d' has no % directive",
            id="date-format",
        ),
        pytest.param(
            {
                "format": {"decimal": ",", "thousands": ","},
                "columns": {"date": "D", "action": "A"},
                "rules": [{"action": "x", "type": "BUY"}],
            },
            "format.thousands",
            id="same-separators",
        ),
        pytest.param(
            {
                "columns": {"date": "D", "action": "A"},
                "rules": [{"action": "x", "type": "BUY", "if_negative": "SELLL"}],
            },
            "rules[0].if_negative: 'SELLL' is not one of",
            id="bad-sign-type",
        ),
        pytest.param(
            {
                "colums": {},
                "columns": {"date": "D", "action": "A"},
                "rules": [{"action": "x", "type": "BUY"}],
            },
            "colums: unknown key",
            id="typo-key",
        ),
        pytest.param(
            {
                "columns": {"date": "D", "action": "A"},
                "rules": [
                    {"action": ["Withdrawal"], "type": "WITHDRAWAL"},
                    {"action": ["Deposit", "WITHDRAWAL "], "type": "DEPOSIT"},
                ],
            },
            "rules[1].action: 'WITHDRAWAL' never reaches this rule: rules[0] takes it first",
            id="shadowed-action",
        ),
    ],
)
def test_mapping_problems_name_their_key(data: dict[str, object], message: str) -> None:
    """A bad mapping is refused with the key at fault named."""
    with pytest.raises(MappingError) as raised:
        parse_spec(data, source="m.toml")
    assert str(raised.value).startswith("mapping m.toml: ")
    assert message in str(raised.value)
