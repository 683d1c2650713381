"""Broker cell text -> numbers, dates and currency codes, as Polars expressions.

Exports write ``$1,234.56``, ``-$7,510.00``, ``$-0.88``, ``(12.50)``, ``"26,45"``,
``89,162.28 SEK``, ``€0.00252``, ``-3.605E-05``, ``1,000`` or ``-`` for nothing, and dates
such as ``07/29/2022 as of 07/28/2022``, ``20230403;095853`` or ``May 5, 2020, 10:10:57 PM``.
Every function here builds an expression over a whole column; nothing loops per row.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

#: numbers are carried exactly, rounded to the ledger's 8 decimals
NUMBER = pl.Decimal(38, 8)
#: cells that mean "no value" in some exports
EMPTY_MARKS = ("-", "--", "n/a", "N/A", "Not available")

_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₿": "BTC"}
#: sub-units quoted by exchanges: code -> (main currency, units per main unit)
SUB_UNITS = {
    "GBX": ("GBP", 100),
    "GBP_PENCE": ("GBP", 100),
    "ZAC": ("ZAR", 100),
    "ILA": ("ILS", 100),
}


def present(text: pl.Expr) -> pl.Expr:
    """Whether a cell holds a value (not empty, not a placeholder such as ``-``)."""
    return text.is_not_null() & ~text.str.strip_chars().is_in(EMPTY_MARKS)


def number(text: pl.Expr, *, decimal: str, thousands: str) -> pl.Expr:
    """Parse money and quantities; null where the cell is empty or not a number.

    ``decimal`` is ``.``, ``,`` or ``auto`` (for files mixing locales: a comma followed by
    one or two digits, or by four or more, or after a dotted thousands group, is the decimal
    point). Currency words and signs around the number are dropped; a ``-`` before the
    digits or parentheses around the value make it negative.
    """
    negative = text.str.contains(r"^[^0-9]*[-(]")
    # what surrounds the digits: signs, currency codes and symbols, blanks, parentheses
    t = text.str.replace_all(r"^[^0-9.,]+|[^0-9]+$", "")
    if decimal == "auto":
        # "26,45", "0,7667" and "1.000,98" have a decimal comma; "1,000" and "89,162.28" not
        comma_decimal = t.str.contains(r",(?:[0-9]{1,2}|[0-9]{4,})$|\.[0-9]{3},[0-9]+$")
        t = (
            pl.when(comma_decimal)
            .then(t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
            .otherwise(t.str.replace_all(",", "", literal=True))
        )
    else:
        for sep in {thousands, "'"} - {"", decimal}:
            t = t.str.replace_all(sep, "", literal=True)
        if thousands == " ":
            t = t.str.replace_all("\u00a0", "", literal=True).str.replace_all(
                "\u202f", "", literal=True
            )
        if decimal == ",":
            t = t.str.replace(",", ".", literal=True)
    value = t.cast(NUMBER, strict=False)
    return pl.when(negative).then(-value).otherwise(value)


def to_text(value: pl.Expr) -> pl.Expr:
    """A number as plain decimal text (no exponent), trailing zeros dropped."""
    # the cast always writes the 8 decimals of NUMBER, so there is a point to strip to
    return value.cast(NUMBER).cast(pl.String).str.strip_chars_end("0").str.strip_chars_end(".")


def _has_time(date_format: str) -> bool:
    return bool(re.search(r"%[HIMSpzZTfRrcXs]|%\.f", date_format))


#: what may follow the date in a date and time
_TIME_SEPARATORS = [";", ",", " ", "T"]
#: a time part after a date, for formats not of a fixed width
_TIME_PART = r"(?:[;,T]\s*|\s+)[0-9]{1,2}:?[0-9]{2}(?::?[0-9]{2})?\S*(?:\s*[AP]M)?(?:\s+\S+)?$"


def _date_part(cleaned: pl.Expr, date_format: str) -> pl.Expr:
    """The date before a time part ("2024-01-29 12:00:00", "20240129;120000",
    "2024-01-29T12:00:00Z"), parsed with the date-only ``date_format``; null where there is
    no time part. Exports let users pick the separator."""
    if re.fullmatch(r"(%[Ymd]|[-/.])+", date_format):
        # digits only: the date is a fixed number of characters (no regular expression)
        width = len(dt.date(2000, 12, 28).strftime(date_format))
        follows = cleaned.str.slice(width, 1).is_in(_TIME_SEPARATORS)
        head = pl.when(follows).then(cleaned.str.slice(0, width))
        return head.str.to_date(date_format, strict=False)
    day = cleaned.str.replace(_TIME_PART, "")
    return pl.when(day != cleaned).then(day).str.to_date(date_format, strict=False)


def date(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    """Parse a date with the first of ``formats`` that fits; `` as of ...`` is dropped, and
    a date-only format reads the date of a date and time too."""
    cleaned = text.str.replace(r"(?i)\s+as\s+of\s+.*$", "").str.strip_chars()
    parsed = []
    for date_format in formats:
        if _has_time(date_format):
            parsed.append(cleaned.str.to_datetime(date_format, strict=False).dt.date())
        else:
            parsed.append(cleaned.str.to_date(date_format, strict=False))
            parsed.append(_date_part(cleaned, date_format))
    return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)


def currency_in(text: pl.Expr) -> pl.Expr:
    """The currency a money cell names: a sign (``€12``, ``-$3``) or a code (``50.00 SEK``)."""
    expr = text.str.extract(r"\b([A-Z]{3,4})\b", 1)
    for sign, code in _SIGNS.items():
        expr = pl.when(text.str.contains(sign, literal=True)).then(pl.lit(code)).otherwise(expr)
    return expr
