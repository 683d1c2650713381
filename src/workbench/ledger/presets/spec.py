"""The mapping spec: how a broker's columns and action texts become ledger rows.

A spec is plain data (a TOML file, or a dict of the same shape), checked here once with
errors that name the key at fault. Presets and user mapping files (``--mapping FILE.toml``)
are the same thing; README "Broker exports" documents the format. In short::

    name = "mybroker"
    header = ["Date", "Action", "Amount"]      # columns that identify the layout (or a list of such lists)
    [format]
    date = ["%m/%d/%Y"]                        # tried in order; " as of ..." is dropped
    decimal = "."                              # ".", "," or "auto" (last separator wins)
    thousands = ","
    currency = "USD"                           # when no column gives one
    [columns]                                  # ledger field = the file's column
    date = "Date"
    action = "Action"
    amount = "Amount"
    [[rules]]                                  # action text -> ledger type, first match wins
    action = ["Deposit", "Withdrawal"]
    type = "DEPOSIT"
    if_negative = "WITHDRAWAL"                 # sign convention: the amount's sign picks
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import MappingError

#: types a rule may give: the ledger's, FX (a currency exchange), SKIP (ignored on purpose)
RULE_TYPES = (
    "BUY", "SELL", "DIVIDEND", "INTEREST", "FEE", "TAX", "DEPOSIT", "WITHDRAWAL", "SPLIT",
    "FX", "SKIP", "TAX_REFUND", "FEE_REFUND", "DIVIDEND_REVERSAL",
    "SYMBOL_CHANGE", "SPINOFF", "MERGER", "RETURN_OF_CAPITAL", "STOCK_DIVIDEND",
    # a leg of a corporate action, resolved with the other legs of its pair_by key
    # (actions.py): a split, symbol change, merger, spin-off, stock dividend or cash takeover
    "ACTION",
)  # fmt: skip
#: ledger fields a column may feed (``action`` is the text the rules match)
FIELDS = (
    "date", "account", "action", "symbol", "quantity", "price", "fee", "amount", "currency",
    "ratio", "note", "isin", "name", "target", "cost_fraction",
)  # fmt: skip
NUMBER_FIELDS = ("quantity", "price", "fee", "amount")
#: the keys of a field's table that say where its value comes from (exactly one is given)
REF_SOURCES = ("value", "sum", "divide", "difference", "column", "first")
#: the sources that combine the numbers of several columns
COMBINED = ("sum", "divide", "difference")
KINDS = ("table", "sections", "ibkr-flex-xml")
ORDERS = ("auto", "oldest-first", "newest-first")


@dataclass(frozen=True)
class Ref:
    """Where a field's value comes from.

    ``op`` is ``column`` (one column, by header name, ``#N`` for the N-th column, or
    ``@name`` for a group a rule's ``extract`` captured), ``value`` (a constant), ``sum``,
    ``divide`` or ``difference`` (numbers from several columns, each taken positive), ``currency`` (the currency named inside a
    money cell such as ``€12.50`` or ``50.00 SEK``), ``header_currency`` (the currency in the
    column's header, ``Total (GBP)``), ``pattern`` (the first group of a regular expression
    over a column) or ``first`` (the first of ``refs`` with a value). ``optional`` columns
    may be absent from a file.
    """

    op: str
    args: tuple[str, ...]
    optional: bool = False
    pattern: str | None = None
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Rule:
    """Rows whose action text matches become rows of ``type``."""

    where: str
    actions: tuple[str, ...]
    pattern: str | None
    type: str
    if_negative: str | None = None
    sign: str = "amount"
    columns: dict[str, Ref] = field(default_factory=dict)
    extract: tuple[Ref, str] | None = None
    also: tuple[Rule, ...] = ()
    settle: dict[str, Ref] = field(default_factory=dict)
    pair_by: tuple[Ref, ...] = ()
    when: tuple[tuple[Ref, str], ...] = ()


@dataclass(frozen=True)
class Block:
    """Columns and rules for one table (a whole file, or one section of a statement)."""

    section: str | None
    columns: dict[str, Ref]
    rules: tuple[Rule, ...]
    skip: tuple[tuple[Ref, str], ...]
    keep: tuple[tuple[Ref, str], ...]


@dataclass(frozen=True)
class Spec:
    """A checked mapping: a preset or a user's mapping file."""

    name: str
    title: str
    source: str
    kind: str
    headers: tuple[tuple[str, ...], ...]
    dates: tuple[str, ...]
    decimal: str
    thousands: str
    currency: str | None
    order: str
    blocks: tuple[Block, ...]
    hook: str | None = None
    #: a statement section's field naming the account (``["Account Information", "Account"]``)
    account_from: tuple[str, ...] = ()
    #: a statement section's field naming the currency of rows that name none
    currency_from: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """The mapping in a few lines, for ``--dry-run`` and ``--list-presets``."""
        lines = [f"preset {self.name}: {self.title}"]
        for header in self.headers:
            lines.append(f"  detected by columns: {', '.join(header)}")
        lines.append(
            f"  dates {' | '.join(self.dates)}; decimal {self.decimal!r}, thousands"
            f" {self.thousands!r}" + (f"; currency {self.currency}" if self.currency else "")
        )
        for block in self.blocks:
            prefix = f"  [{block.section}] " if block.section else "  "
            cols = ", ".join(f"{k} <- {_show(v)}" for k, v in block.columns.items())
            lines.append(f"{prefix}columns: {cols}")
            for rule in block.rules:
                text = " | ".join(rule.actions) if rule.actions else f"/{rule.pattern}/"
                kind = rule.type + (f" (negative: {rule.if_negative})" if rule.if_negative else "")
                fixed = [
                    f"{k} = {r.args[0] or 'empty'}"
                    for k, r in rule.columns.items()
                    if r.op == "value"
                ]
                kind += f" ({', '.join(fixed)})" if fixed else ""
                lines.append(f"{prefix}  {text} -> {kind}")
        return lines


def _show(ref: Ref) -> str:
    if ref.op == "column":
        return repr(ref.args[0])
    return f"{ref.op}({', '.join(ref.args)})"


class _Checker:
    """Walks a mapping dict, collecting every problem with the key it sits at."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def keys(self, where: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                self.fail(
                    f"{where}.{key}".lstrip("."),
                    f"unknown key (expected one of {', '.join(allowed)})",
                )

    def strings(self, where: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.fail(where, f"expected a string or a list of strings, not {value!r}")
        return ()

    def regex(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(where, f"expected a regular expression string, not {value!r}")
            return None
        try:
            re.compile(value)
        except re.error as exc:
            self.fail(where, f"not a regular expression: {exc}")
            return None
        return value

    def ref(self, where: str, value: Any) -> Ref | None:
        if isinstance(value, str):
            if not value.strip():
                self.fail(where, "empty column name")
                return None
            optional = value.startswith("?")
            return Ref("column", (value[1:] if optional else value,), optional=optional)
        if not isinstance(value, dict):
            self.fail(where, f"expected a column name or a table, not {value!r}")
            return None
        ops = [k for k in REF_SOURCES if k in value]
        if len(ops) != 1:
            self.fail(where, "give exactly one of " + ", ".join(REF_SOURCES))
            return None
        self.keys(where, value, (*REF_SOURCES, "currency", "header_currency", "pattern"))
        if ops[0] == "first":
            choices = value["first"]
            if not isinstance(choices, list) or not choices:
                self.fail(f"{where}.first", "expected a list of column names or tables")
                return None
            refs = [self.ref(f"{where}.first[{i}]", c) for i, c in enumerate(choices)]
            return Ref("first", (), refs=tuple(r for r in refs if r is not None))
        op = ops[0]
        if op == "value":
            if not isinstance(value["value"], str):
                self.fail(f"{where}.value", "expected a string")
                return None
            return Ref("value", (value["value"],))
        if op in COMBINED:
            args = self.strings(f"{where}.{op}", value[op])
            if op == "divide" and len(args) != 2:
                self.fail(f"{where}.divide", "expected two columns: [numerator, denominator]")
            if op == "difference" and len(args) != 2:
                self.fail(f"{where}.difference", "expected two columns: [larger, smaller]")
            return Ref(op, args)
        column = self.strings(f"{where}.column", value["column"])[:1]
        if value.get("currency") is True:
            return Ref("currency", column)
        if value.get("header_currency") is True:
            # the currency named in the column's header: "Total (GBP)" -> GBP
            return Ref("header_currency", column)
        if "pattern" in value:
            pattern = self.regex(f"{where}.pattern", value["pattern"])
            if pattern is not None and re.compile(pattern).groups < 1:
                self.fail(f"{where}.pattern", "needs a group, e.g. '([A-Z]+)'")
            return Ref("pattern", column, pattern=pattern)
        return Ref("column", column)

    def columns(self, where: str, table: Any) -> dict[str, Ref]:
        if not isinstance(table, dict):
            self.fail(where, "expected a table of field = column")
            return {}
        out: dict[str, Ref] = {}
        for key, value in table.items():
            if key not in FIELDS:
                self.fail(f"{where}.{key}", f"unknown field (expected one of {', '.join(FIELDS)})")
                continue
            ref = self.ref(f"{where}.{key}", value)
            if ref is not None:
                out[key] = ref
        return out

    def rule(self, where: str, table: Any, *, nested: bool = False) -> Rule | None:
        if not isinstance(table, dict):
            self.fail(where, "expected a table")
            return None
        allowed = ("type", "columns") if nested else (
            "action", "pattern", "type", "if_negative", "sign", "columns", "extract", "also",
            "settle", "pair_by", "when",
        )  # fmt: skip
        self.keys(where, table, allowed)
        kind = table.get("type")
        if not isinstance(kind, str) or kind.upper() not in RULE_TYPES:
            self.fail(f"{where}.type", f"{kind!r} is not one of {', '.join(RULE_TYPES)}")
            return None
        negative = table.get("if_negative")
        if negative is not None and (
            not isinstance(negative, str) or negative.upper() not in RULE_TYPES
        ):
            self.fail(f"{where}.if_negative", f"{negative!r} is not one of {', '.join(RULE_TYPES)}")
            negative = None
        actions = tuple(a.strip() for a in self.strings(f"{where}.action", table.get("action", [])))
        pattern = self.regex(f"{where}.pattern", table["pattern"]) if "pattern" in table else None
        if not nested and not actions and pattern is None:
            self.fail(where, "give action (texts) or pattern (a regular expression)")
        sign = table.get("sign", "amount")
        if sign not in NUMBER_FIELDS:
            self.fail(f"{where}.sign", f"expected one of {', '.join(NUMBER_FIELDS)}")
        extract = None
        if "extract" in table:
            spec = table["extract"]
            if not isinstance(spec, dict) or "column" not in spec or "pattern" not in spec:
                self.fail(f"{where}.extract", "expected {column = ..., pattern = '(?P<field>...)'}")
            else:
                column = self.ref(f"{where}.extract.column", spec["column"])
                regex = self.regex(f"{where}.extract.pattern", spec["pattern"])
                if column is not None and regex is not None:
                    if not re.compile(regex).groupindex:
                        self.fail(
                            f"{where}.extract.pattern",
                            "needs named groups, e.g. (?P<quantity>[0-9.]+)",
                        )
                    extract = (column, regex)
        also: list[Rule] = []
        for i, sub in enumerate(table.get("also", [])):
            parsed = self.rule(f"{where}.also[{i}]", sub, nested=True)
            if parsed is not None:
                also.append(parsed)
        settle = self.columns(f"{where}.settle", table.get("settle", {}))
        pair_by = []
        raw_pair = table.get("pair_by", [])
        if not isinstance(raw_pair, list):
            raw_pair = [raw_pair]
        for i, name in enumerate(raw_pair):
            # a column name, or a table like any field's ({ column = ..., pattern = ... })
            ref = self.ref(f"{where}.pair_by[{i}]", name)
            if ref is not None:
                pair_by.append(ref)
        return Rule(
            where=where,
            actions=actions,
            pattern=pattern,
            type=kind.upper(),
            if_negative=negative.upper() if isinstance(negative, str) else None,
            sign=sign if isinstance(sign, str) else "amount",
            columns=self.columns(f"{where}.columns", table.get("columns", {})),
            extract=extract,
            also=tuple(also),
            settle=settle,
            pair_by=tuple(pair_by),
            when=self.filters(f"{where}.when", table.get("when", [])),
        )

    def block(self, where: str, table: dict[str, Any], section: str | None) -> Block:
        rules = []
        raw_rules = table.get("rules", [])
        if not isinstance(raw_rules, list) or not raw_rules:
            self.fail(f"{where}rules", "expected at least one [[rules]] table")
            raw_rules = []
        for i, raw in enumerate(raw_rules):
            rule = self.rule(f"{where}rules[{i}]", raw)
            if rule is not None:
                rules.append(rule)
        self.unreachable(rules)
        columns = self.columns(f"{where}columns", table.get("columns", {}))
        if "action" not in columns and rules:
            self.fail(f"{where}columns.action", "missing: the column whose text the rules match")
        if "date" not in columns:
            self.fail(f"{where}columns.date", "missing")
        return Block(
            section, columns, tuple(rules),
            self.filters(f"{where}skip", table.get("skip", [])),
            self.filters(f"{where}keep", table.get("keep", [])),
        )  # fmt: skip

    def unreachable(self, rules: list[Rule]) -> None:
        """Fail on an action text a rule lists that an earlier rule without ``when`` already
        takes (the first match wins, ignoring case and runs of spaces): the later listing is
        dead and says something the mapping never does."""
        taken: dict[str, str] = {}
        for rule in rules:
            for action in rule.actions:
                text = " ".join(action.lower().split())
                if text in taken and taken[text] != rule.where:
                    self.fail(
                        f"{rule.where}.action",
                        f"{action!r} never reaches this rule: {taken[text]} takes it first",
                    )
            if not rule.when:
                for action in rule.actions:
                    taken.setdefault(" ".join(action.lower().split()), rule.where)

    def filters(self, where: str, value: Any) -> tuple[tuple[Ref, str], ...]:
        out = []
        if not isinstance(value, list):
            self.fail(where, "expected a list of {column = ..., pattern = ...}")
            return ()
        for i, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"column", "pattern"}:
                self.fail(f"{where}[{i}]", "expected {column = ..., pattern = ...}")
                continue
            ref = self.ref(f"{where}[{i}].column", item["column"])
            regex = self.regex(f"{where}[{i}].pattern", item["pattern"])
            if ref is not None and regex is not None:
                out.append((ref, regex))
        return tuple(out)


def parse_spec(data: dict[str, Any], *, source: str, name: str | None = None) -> Spec:
    """Check a mapping dict and return it as a :class:`Spec`.

    Raises:
        MappingError: every problem found, each with its key (``rules[2].type: ...``).
    """
    check = _Checker(source)
    check.keys(
        "",
        data,
        ("name", "title", "kind", "header", "format", "order", "columns", "rules", "skip",
         "keep", "sections", "hook", "account_from", "currency_from"),
    )  # fmt: skip
    kind = data.get("kind", "table")
    if kind not in KINDS:
        check.fail("kind", f"expected one of {', '.join(KINDS)}")
    fmt = data.get("format", {})
    if not isinstance(fmt, dict):
        check.fail("format", "expected a table")
        fmt = {}
    check.keys("format", fmt, ("date", "decimal", "thousands", "currency"))
    dates = check.strings("format.date", fmt.get("date", "%Y-%m-%d"))
    for i, date_format in enumerate(dates):
        if "%" not in date_format:
            check.fail(f"format.date[{i}]", f"{date_format!r} has no % directive (e.g. %Y-%m-%d)")
    decimal = fmt.get("decimal", ".")
    if decimal not in (".", ",", "auto"):
        check.fail("format.decimal", f"expected '.', ',' or 'auto', not {decimal!r}")
    thousands = fmt.get("thousands", "," if decimal == "." else ".")
    if thousands not in (",", ".", " ", "'", "") or thousands == decimal:
        check.fail(
            "format.thousands",
            f"expected ',', '.', ' ', \"'\" or '' (not the decimal), not {thousands!r}",
        )
    currency = fmt.get("currency")
    if currency is not None and not (
        isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3,5}", currency)
    ):
        check.fail("format.currency", f"not a currency code: {currency!r}")
    order = data.get("order", "auto")
    if order not in ORDERS:
        check.fail("order", f"expected one of {', '.join(ORDERS)}")
    raw_header = data.get("header", [])
    if isinstance(raw_header, list) and raw_header and all(isinstance(h, list) for h in raw_header):
        headers = tuple(check.strings(f"header[{i}]", h) for i, h in enumerate(raw_header))
    else:
        headers = (check.strings("header", raw_header),) if raw_header else ()
    blocks: list[Block] = []
    if kind in ("sections", "ibkr-flex-xml"):
        sections = data.get("sections")
        if not isinstance(sections, dict) or not sections:
            check.fail("sections", "expected [sections.NAME] tables")
        else:
            for section, table in sections.items():
                if not isinstance(table, dict):
                    check.fail(f"sections.{section}", "expected a table")
                    continue
                check.keys(f"sections.{section}", table, ("columns", "rules", "skip", "keep"))
                blocks.append(check.block(f"sections.{section}.", table, section))
    else:
        blocks.append(check.block("", data, None))
    account_from = check.strings("account_from", data.get("account_from", []))
    if account_from and len(account_from) != 2:
        check.fail("account_from", "expected [section, field name]")
    currency_from = check.strings("currency_from", data.get("currency_from", []))
    if currency_from and len(currency_from) != 2:
        check.fail("currency_from", "expected [section, field name]")
    if check.problems:
        shown = "; ".join(check.problems[:12])
        more = f" (and {len(check.problems) - 12} more)" if len(check.problems) > 12 else ""
        raise MappingError(f"mapping {source}: {shown}{more}")
    spec_name = name or str(data.get("name") or source)
    return Spec(
        name=spec_name,
        title=str(data.get("title", spec_name)),
        source=source,
        kind=kind,
        headers=headers,
        dates=dates,
        decimal=decimal,
        thousands=thousands,
        currency=currency.upper() if isinstance(currency, str) else None,
        order=order,
        blocks=tuple(blocks),
        hook=data.get("hook") if isinstance(data.get("hook"), str) else None,
        account_from=account_from,
        currency_from=currency_from,
    )
