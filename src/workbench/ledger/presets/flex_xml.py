"""Interactive Brokers Flex query XML as tables: one per element kind, attributes as columns.

``<Trade tradeDate="20130401" quantity="-100" .../>`` becomes a row of the ``Trade`` table
with a column per attribute; the same preset rules then apply as to a Flex CSV. The line of
each element is kept for messages.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from pathlib import Path

from workbench.errors import InvalidRow, InvalidRows
from workbench.ledger.presets.reader import Table

#: the element kinds read (others, e.g. positions and summaries, are not transactions)
KINDS = ("Trade", "CashTransaction", "CorporateAction")


def flex_tables(path: Path) -> list[tuple[str, Table]]:
    """The transaction tables of a Flex XML statement, each with every attribute seen.

    Raises:
        InvalidRows: not well-formed XML (with the line).
    """
    name = str(path)
    rows: dict[str, list[tuple[int, dict[str, str]]]] = {k: [] for k in KINDS}
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    try:
        with path.open("rb") as handle:
            line = 1
            account = ""
            for chunk in handle:
                parser.feed(chunk)
                for event in parser.read_events():
                    element = event[-1]
                    if not isinstance(element, ET.Element):
                        continue
                    if element.tag == "FlexStatement":
                        # the statement's account, for elements the query gave no accountId
                        account = element.attrib.get("accountId", "")
                    elif element.tag in rows:
                        attrs = dict(element.attrib)
                        if account and not attrs.get("accountId"):
                            attrs["accountId"] = account
                        rows[element.tag].append((line, attrs))
                line += 1
        parser.close()
    except ET.ParseError as exc:
        where = exc.position[0] if exc.position else 1
        raise InvalidRows([InvalidRow(name, where, "file", f"not well-formed XML: {exc}")]) from exc
    for _, attrs in rows["Trade"]:
        # older statements give cost, not tradePrice: the price is cost per unit
        if not attrs.get("tradePrice") and attrs.get("cost") and attrs.get("quantity"):
            with contextlib.suppress(ValueError, ZeroDivisionError):
                attrs["tradePrice"] = repr(abs(float(attrs["cost"]) / float(attrs["quantity"])))
    tables = []
    for kind, found in rows.items():
        if not found:
            continue
        header = list(dict.fromkeys(key for _, attrs in found for key in attrs))
        table = Table(
            name,
            header,
            [[attrs.get(h, "") for h in header] for _, attrs in found],
            [ln for ln, _ in found],
        )
        tables.append((kind, table))
    return tables
