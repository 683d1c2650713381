"""Apply a spec's rules to one table: broker rows in, ledger rows (as text) out.

Each rule's rows are selected and mapped with Polars expressions over the whole table; the
per-row work is vectorized. Every row the table holds ends up in exactly one place: a
ledger row (or several), a skip count with its reason, or a problem naming its line.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from workbench.errors import InvalidRow, MappingError
from workbench.ledger.presets import values as v
from workbench.ledger.presets.reader import Table, fold
from workbench.ledger.presets.spec import COMBINED, NUMBER_FIELDS, Block, Ref, Rule, Spec

#: ledger text columns every mapped frame has, in order, after ``src``/``sub``
OUT_COLUMNS = (
    "date", "account", "type", "symbol", "quantity", "price", "fee", "amount", "currency",
    "ratio", "note", "pair", "isin", "name", "target", "cost_fraction",
)  # fmt: skip


@dataclass
class Mapped:
    """What a table mapped to: ledger rows as text, counts and problems."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    problems: list[InvalidRow] = field(default_factory=list)
    unknown: dict[str, list[int]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    newest_first: bool = False


@dataclass(frozen=True)
class Options:
    """What the command line adds to a spec."""

    account: str | None = None
    base_currency: str | None = None


class _Columns:
    """Resolves a spec's column references against one table's header."""

    def __init__(self, spec: Spec, table: Table, block: Block) -> None:
        self.spec = spec
        self.table = table
        self.block = block
        self.by_name: dict[str, str] = {}
        for i, name in enumerate(table.header):
            self.by_name.setdefault(fold(name), f"c{i}")

    def _glob(self, name: str) -> str | None:
        """The folded header a name with ``*`` matches (``Comm in *``: ``Comm in EUR``)."""
        if "*" not in name:
            return fold(name) if fold(name) in self.by_name else None
        found = fnmatch.filter(self.by_name, fold(name))
        return found[0] if found else None

    def column(self, name: str, *, optional: bool, where: str) -> pl.Expr:
        if " | " in name or "*" in name:
            # the first of several names the file has (exports name one thing differently)
            choices = [n.strip() for n in name.split(" | ")]
            for choice in choices:
                if choice.startswith("@") or (
                    re.fullmatch(r"#[0-9]+", choice)
                    and 0 < int(choice[1:]) <= len(self.table.header)
                ):
                    return self.column(choice, optional=False, where=where)
                found = self._glob(choice)
                if found is not None:
                    return pl.col(self.by_name[found])
            name = choices[0]
        if name.startswith("@"):
            return pl.col(f"g_{name[1:]}")
        if re.fullmatch(r"#[0-9]+", name):
            index = int(name[1:]) - 1
            if 0 <= index < len(self.table.header):
                return pl.col(f"c{index}")
        elif fold(name) in self.by_name:
            return pl.col(self.by_name[fold(name)])
        if optional:
            return pl.lit(None, dtype=pl.String)
        seen = ", ".join(repr(h) for h in self.table.header)
        raise MappingError(
            f"mapping {self.spec.source}: {where}: column {name!r} is not in the header of"
            f" {self.table.file} (columns seen: {seen})"
        )

    def has(self, ref: Ref) -> bool:
        """Whether the file has the column ``ref`` reads (constants and groups: yes)."""
        if ref.op not in ("column", "pattern", "currency") or not ref.optional:
            return True
        return any(
            self._glob(n.strip()) is not None or n.strip().startswith(("#", "@"))
            for n in ref.args[0].split(" | ")
        )

    def header_currency(self, name: str) -> str | None:
        """The currency code in the header of the first of ``name``'s columns the file has."""
        for choice in (n.strip().lstrip("?") for n in name.split(" | ")):
            folded = self._glob(choice)
            if folded is not None:
                header = self.table.header[int(self.by_name[folded][1:])]
                # "Total (GBP)", or IBKR's "Comm in EUR"
                found = re.search(r"\(([A-Z]{3})\)|\bin ([A-Z]{3})\s*$", header)
                return (found.group(1) or found.group(2)) if found else None
        return None

    def text(self, ref: Ref, where: str) -> pl.Expr:
        if ref.op == "value":
            return pl.lit(ref.args[0], dtype=pl.String)
        if ref.op == "first":
            return pl.coalesce(self.text(r, where) for r in ref.refs)
        if ref.op in COMBINED:
            return v.to_text(self.number(ref, where))
        if ref.op == "header_currency":
            return pl.lit(self.header_currency(ref.args[0]), dtype=pl.String)
        base = self.column(ref.args[0], optional=ref.optional, where=where)
        if ref.op == "currency":
            return v.currency_in(base)
        if ref.op == "pattern":
            assert ref.pattern is not None
            return base.str.extract(ref.pattern, 1).str.strip_chars()
        # "-" and "--" stand for an empty cell in some exports (IBKR statements)
        return base.replace(["-", "--"], None)

    def number(self, ref: Ref, where: str) -> pl.Expr:
        spec = self.spec

        def one(name: str) -> pl.Expr:
            optional = name.startswith("?")
            column = self.column(name.lstrip("?"), optional=optional, where=where)
            return v.number(column, decimal=spec.decimal, thousands=spec.thousands)

        if ref.op == "sum":
            return pl.sum_horizontal(one(a).abs() for a in ref.args).cast(v.NUMBER)
        if ref.op == "divide":
            numerator, denominator = (one(a).abs() for a in ref.args)
            return pl.when(denominator != 0).then(numerator / denominator).cast(v.NUMBER)
        if ref.op == "difference":
            larger, smaller = (one(a).abs() for a in ref.args)
            return (larger - smaller).cast(v.NUMBER)
        return v.number(self.text(ref, where), decimal=spec.decimal, thousands=spec.thousands)


def _action(columns: _Columns, block: Block) -> pl.Expr:
    """The index of the first rule matching each row's action text (null: none)."""
    return _action_of(columns.text(block.columns["action"], "columns.action"), block, columns)


def _action_of(action: pl.Expr, block: Block, columns: _Columns | None = None) -> pl.Expr:
    """The index of the first rule matching ``action`` (rules with ``when`` need ``columns``)."""
    text = action.str.strip_chars()
    lowered = text.str.to_lowercase().str.replace_all(r"\s+", " ")
    expr: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for index in reversed(range(len(block.rules))):
        rule = block.rules[index]
        matches: list[pl.Expr] = []
        if rule.actions:
            matches.append(lowered.is_in([" ".join(a.lower().split()) for a in rule.actions]))
        if rule.pattern is not None:
            matches.append(text.str.contains(f"(?i){rule.pattern}"))
        condition = pl.any_horizontal(matches)
        if rule.when and columns is not None:
            condition = condition & pl.all_horizontal(
                columns.text(ref, f"{rule.where}.when").fill_null("").str.contains(f"(?i){pattern}")
                for ref, pattern in rule.when
            )
        expr = pl.when(condition).then(pl.lit(index, pl.Int32)).otherwise(expr)
    return expr


def _filter(columns: _Columns, filters: tuple[tuple[Ref, str], ...], where: str) -> pl.Expr:
    return pl.any_horizontal(
        # an empty cell is tested as "" (so "^$" finds it)
        columns.text(ref, f"{where}[{i}]").fill_null("").str.contains(f"(?i){pattern}")
        for i, (ref, pattern) in enumerate(filters)
    )


def map_table(spec: Spec, block: Block, table: Table, options: Options) -> Mapped:
    """Map one table with ``block``'s rules.

    Raises:
        MappingError: the spec names a column the table does not have.
    """
    out = Mapped()
    columns = _Columns(spec, table, block)
    frame = table.frame()
    cells = [c for c in frame.columns if c != "line"]
    blank = pl.all_horizontal(pl.col(c).is_null() for c in cells) if cells else pl.lit(True)
    date_ref, action_ref = block.columns["date"], block.columns["action"]
    # a keep filter on an optional column the file lacks keeps every row
    keep = tuple((ref, p) for ref, p in block.keep if columns.has(ref))
    date_text = columns.text(date_ref, "columns.date")
    action_text = columns.text(action_ref, "columns.action")
    frame = frame.with_columns(
        blank.alias("_blank"),
        (date_text.is_null() & action_text.is_null()).alias("_nothing"),
        (_filter(columns, block.skip, "skip") if block.skip else pl.lit(False)).alias("_skip"),
        (~_filter(columns, keep, "keep") if keep else pl.lit(False)).alias("_drop"),
    )
    counts = frame.select(
        pl.col("_blank").sum().alias("blank"),
        (~pl.col("_blank") & (pl.col("_skip") | pl.col("_drop"))).sum().alias("summary"),
        (~pl.col("_blank") & ~pl.col("_skip") & ~pl.col("_drop") & pl.col("_nothing"))
        .sum()
        .alias("no date or action"),
    ).row(0, named=True)
    for reason, count in counts.items():
        if count:
            out.skipped[f"{reason} rows"] += int(count)
    frame = frame.filter(
        ~(pl.col("_blank") | pl.col("_skip") | pl.col("_drop") | pl.col("_nothing"))
    )
    if frame.is_empty():
        return out
    # an export has few distinct action texts: match those (ignoring ``when``), then look
    # each row's up; only rows whose text first matches a rule with ``when`` are matched
    # row by row
    texts = frame.select(action_text.alias("_text")).unique().drop_nulls()
    matched = texts.with_columns(_action_of(pl.col("_text"), block).alias("_rule"))
    lookup = dict(zip(matched["_text"].to_list(), matched["_rule"].to_list(), strict=True))
    frame = frame.with_columns(
        action_text.replace_strict(lookup, default=None, return_dtype=pl.Int32).alias("_rule")
    )
    conditional = [i for i, rule in enumerate(block.rules) if rule.when]
    if conditional and frame.select(pl.col("_rule").is_in(conditional).any()).item():
        frame = frame.with_columns(
            pl.when(pl.col("_rule").is_in(conditional))
            .then(_action(columns, block))
            .otherwise(pl.col("_rule"))
            .alias("_rule")
        )
    unknown = frame.filter(pl.col("_rule").is_null())
    if not unknown.is_empty():
        texts = unknown.select(action_text.fill_null("(empty)").alias("text"), "line")
        for text, lines in texts.group_by("text", maintain_order=True).agg("line").iter_rows():
            out.unknown.setdefault(text, []).extend(lines)
        frame = frame.filter(pl.col("_rule").is_not_null())
    # newest first when the first dated rows are later than the last ones (a file's ends
    # tell; parsing every date for it would cost a pass)
    ends = pl.concat([frame.head(20), frame.tail(20)]) if frame.height > 40 else frame
    known = ends.select(v.date(date_text, spec.dates)).to_series().drop_nulls()
    if spec.order != "auto":
        out.newest_first = spec.order == "newest-first"
    elif known.len() >= 2:
        out.newest_first = bool(known[0] > known[-1])
    for index, rule in enumerate(block.rules):
        rows = frame.filter(pl.col("_rule") == index)
        if rows.is_empty():
            continue
        if rule.type == "SKIP":
            # counted per action text, which says more than the rule's position
            texts = rows.select(action_text.fill_null("(empty)").alias("text"))
            for text, count in texts.group_by("text", maintain_order=True).len().iter_rows():
                out.skipped[f"{text!r} rows (left out by the preset)"] += count
            continue
        _map_rule(spec, block, columns, rule, rows, options, out)
    return out


def _merged(block: Block, rule: Rule, groups: list[str]) -> dict[str, Ref]:
    fields = dict(block.columns)
    for name in groups:
        if name in fields or name in (
            "quantity",
            "price",
            "currency",
            "symbol",
            "amount",
            "fee",
            "ratio",
            "note",
        ):
            fields[name] = Ref("column", (f"@{name}",))
    fields.update(rule.columns)
    return fields


def _map_rule(
    spec: Spec,
    block: Block,
    columns: _Columns,
    rule: Rule,
    rows: pl.DataFrame,
    options: Options,
    out: Mapped,
) -> None:
    groups: list[str] = []
    if rule.extract is not None:
        ref, pattern = rule.extract
        groups = list(re.compile(pattern).groupindex)
        extracted = rows.select(
            columns.text(ref, f"{rule.where}.extract").str.extract_groups(pattern).alias("_g")
        ).unnest("_g")
        rows = rows.with_columns(
            extracted[name].str.strip_chars().alias(f"g_{name}") for name in groups
        )
    fields = _merged(block, rule, groups)
    main = _rows(spec, columns, rule, rule.type, fields, rows, options, out, sub=0)
    out.frames.append(main)
    for i, extra in enumerate(rule.also, start=1):
        sub_fields = {**fields, **extra.columns}
        sub = _rows(spec, columns, extra, extra.type, sub_fields, rows, options, out, sub=2 * i)
        value = "quantity" if extra.type in ("BUY", "SELL", "FX") else "amount"
        keep = sub[value].cast(v.NUMBER, strict=False).fill_null(0) != 0
        out.frames.append(sub.filter(keep))
    if rule.settle and rule.type in ("BUY", "SELL"):
        main, settled = _settlements(columns, rule, main, rows)
        out.frames[-1] = main
        out.frames.extend(settled)


def _rows(
    spec: Spec,
    columns: _Columns,
    rule: Rule,
    kind: str,
    fields: dict[str, Ref],
    rows: pl.DataFrame,
    options: Options,
    out: Mapped,
    *,
    sub: int,
) -> pl.DataFrame:
    """The ledger rows one rule (or one of its ``also`` rows) makes of ``rows``."""
    where = rule.where
    file = columns.table.file
    exprs: dict[str, pl.Expr] = {}
    # parsed once into helper columns, then read by the outputs and the checks
    staged: dict[str, pl.Expr] = {}
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    raw_date = columns.text(fields["date"], "columns.date")
    staged["_date"] = v.date(raw_date, spec.dates)
    exprs["date"] = pl.col("_date").dt.to_string("%Y-%m-%d")
    checks.append(
        (
            "date",
            raw_date.is_null() | pl.col("_date").is_null(),
            pl.lit(f"not a date (expected {' or '.join(spec.dates)}): '")
            + raw_date.fill_null("")
            + pl.lit("'"),
        )
    )
    numbers: dict[str, pl.Expr] = {}
    for name in NUMBER_FIELDS:
        if name not in fields:
            continue
        ref = fields[name]
        staged[f"_{name}"] = columns.number(ref, f"{where}.{name}")
        numbers[name] = pl.col(f"_{name}")
        if ref.op in ("column", "pattern", "currency"):
            raw = columns.text(ref, f"{where}.{name}")
            checks.append(
                (
                    name,
                    v.present(raw) & numbers[name].is_null(),
                    pl.lit("not a number: '") + raw + pl.lit("'"),
                )
            )
    sign_field = numbers.get(rule.sign) if rule.if_negative else None
    if sign_field is not None and rule.if_negative:
        exprs["type"] = (
            pl.when(sign_field < 0).then(pl.lit(rule.if_negative)).otherwise(pl.lit(kind))
        )
    else:
        exprs["type"] = pl.lit(kind)
    legs = kind in ("FX", "ACTION") and bool(rule.pair_by)
    for name, value in numbers.items():
        # the legs of an exchange keep their signs: the pairing tells bought from paid
        exprs[name] = v.to_text(value if legs else value.abs())
    if legs:
        exprs["pair"] = pl.concat_str(
            [columns.text(ref, f"{where}.pair_by").fill_null("") for ref in rule.pair_by],
            separator="\x1f",
        )
    for name in ("symbol", "currency", "ratio", "note", "isin", "name", "target", "cost_fraction"):
        if name in fields:
            exprs[name] = columns.text(fields[name], f"{where}.{name}")
    if "ratio" in exprs:
        # "4 for 1", "4/1" and "4-for-1" as the ledger's new:old
        exprs["ratio"] = exprs["ratio"].str.replace(
            r"(?i)^\s*(\d+)\s*(?:for|/|-for-|:)\s*(\d+)\s*$", "$1:$2"
        )
    default_currency = spec.currency or options.base_currency
    if "currency" not in exprs or default_currency:
        # rows whose currency cell is empty are in the file's (or statement's) currency
        default = pl.lit(default_currency, dtype=pl.String)
        exprs["currency"] = (
            pl.coalesce(exprs["currency"], default) if "currency" in exprs else default
        )
    account = pl.lit(options.account, dtype=pl.String)
    exprs["account"] = (
        pl.coalesce(columns.text(fields["account"], "columns.account"), account)
        if "account" in fields
        else account
    )
    # a product known only by its ISIN (DEGIRO) is recorded under it; a name goes to the note
    if "isin" in exprs:
        exprs["symbol"] = pl.coalesce(exprs.get("symbol", pl.lit(None, pl.String)), exprs["isin"])
    note_parts = [e for e in (exprs.get("name"), exprs.get("note")) if e is not None]
    exprs["note"] = (
        pl.concat_str(note_parts, separator=" | ", ignore_nulls=True).replace("", None)
        if note_parts
        else pl.lit(None, pl.String)
    )
    rows = rows.with_columns(**staged)
    bad_any = pl.any_horizontal(bad.fill_null(False) for _, bad, _ in checks)
    flagged = rows.filter(bad_any)
    if not flagged.is_empty():
        # messages are built for the bad rows only
        report = flagged.select(
            "line",
            *(bad.fill_null(False).alias(f"_bad{i}") for i, (_, bad, _) in enumerate(checks)),
            *(message.alias(f"_msg{i}") for i, (_, _, message) in enumerate(checks)),
        )
        for row in report.iter_rows(named=True):
            for i, (label, _, _) in enumerate(checks):
                if row[f"_bad{i}"]:
                    header = _header_of(columns, fields.get(label))
                    out.problems.append(
                        InvalidRow(file, row["line"], header or label, row[f"_msg{i}"])
                    )
    mapped = rows.select(
        pl.col("line").alias("src"),
        pl.lit(sub, dtype=pl.Int32).alias("sub"),
        *(
            (exprs[name] if name in exprs else pl.lit(None, dtype=pl.String)).alias(name)
            for name in OUT_COLUMNS
        ),
    )
    return mapped.select("src", "sub", *OUT_COLUMNS)


def _header_of(columns: _Columns, ref: Ref | None) -> str | None:
    if ref is None or ref.op not in ("column", "pattern", "currency"):
        return None
    name = ref.args[0]
    if re.fullmatch(r"#[0-9]+", name):
        index = int(name[1:]) - 1
        header = columns.table.header
        return header[index] or f"column {index + 1}" if index < len(header) else name
    return name


def _settlements(
    columns: _Columns, rule: Rule, main: pl.DataFrame, rows: pl.DataFrame
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """FX rows for trades settled in another currency than they are priced in.

    A buy of USD shares paid in EUR is an FX row (buy the USD, fee = the conversion fee in
    EUR) and the BUY in USD; a sell is the SELL in USD, an FX row turning the proceeds into
    EUR, and the fees as a FEE row in EUR. The trade's own fee column is taken to be in the
    settlement currency then (as the brokers that need this write it) and moves to those rows.
    Returns the trades (fees moved) and the new rows.
    """
    where = f"{rule.where}.settle"
    settle_ccy = (
        columns.text(rule.settle["currency"], f"{where}.currency")
        if "currency" in rule.settle
        else pl.lit(None, pl.String)
    )
    total = (
        columns.number(rule.settle["amount"], f"{where}.amount").abs()
        if "amount" in rule.settle
        else pl.lit(None, v.NUMBER)
    )
    fee = (
        columns.number(rule.settle["fee"], f"{where}.fee").abs().fill_null(0)
        if "fee" in rule.settle
        else pl.lit(0, v.NUMBER)
    )
    legs = rows.select(
        pl.col("line").alias("src"),
        settle_ccy.str.to_uppercase().alias("_ccy"),
        total.cast(v.NUMBER).alias("_total"),
        fee.cast(v.NUMBER).alias("_fee"),
    )
    joined = main.with_columns(
        pl.col("quantity").cast(v.NUMBER, strict=False).alias("_q"),
        pl.col("price").cast(v.NUMBER, strict=False).alias("_p"),
        pl.col("fee").cast(v.NUMBER, strict=False).fill_null(0).alias("_own_fee"),
    ).hstack(legs.drop("src"))
    joined = joined.with_columns((pl.col("_fee") + pl.col("_own_fee")).cast(v.NUMBER).alias("_fee"))
    gross = (pl.col("_q") * pl.col("_p")).cast(v.NUMBER)
    # a price in pence (GBX) paid in pounds is no exchange: the pence become pounds later
    main_unit = (
        pl.col("currency").str.to_uppercase().replace({k: m for k, (m, _) in v.SUB_UNITS.items()})
    )
    needs = (
        pl.col("_ccy").is_not_null()
        & pl.col("_total").is_not_null()
        & (pl.col("_total") > 0)
        & (pl.col("_ccy") != main_unit)
        & (gross > 0)
    )
    joined = joined.with_columns(needs.fill_null(False).alias("_needs"))
    legs_rows = joined.filter("_needs")
    if legs_rows.is_empty():
        return main, []
    main = joined.select(
        "src",
        "sub",
        *(c for c in OUT_COLUMNS if c != "fee"),
        pl.when(pl.col("_needs")).then(pl.lit("0")).otherwise(pl.col("fee")).alias("fee"),
    ).select("src", "sub", *OUT_COLUMNS)
    is_buy = pl.col("type") == "BUY"
    base = legs_rows.select(
        "src",
        pl.when(is_buy).then(-1).otherwise(1).cast(pl.Int32).alias("sub"),
        "date",
        "account",
        pl.lit("FX").alias("type"),
        pl.when(is_buy).then(pl.col("currency")).otherwise(pl.col("_ccy")).alias("symbol"),
        v.to_text(pl.when(is_buy).then(gross).otherwise(pl.col("_total") + pl.col("_fee"))).alias(
            "quantity"
        ),
        v.to_text(
            pl.when(is_buy)
            .then((pl.col("_total") - pl.col("_fee")) / gross)
            .otherwise(gross / (pl.col("_total") + pl.col("_fee")))
        ).alias("price"),
        v.to_text(pl.when(is_buy).then(pl.col("_fee")).otherwise(pl.lit(0, v.NUMBER))).alias("fee"),
        pl.lit(None, pl.String).alias("amount"),
        pl.when(is_buy).then(pl.col("_ccy")).otherwise(pl.col("currency")).alias("currency"),
        *_blank("ratio", "note", "pair", "isin", "name", "target", "cost_fraction"),
    )
    # a sell's conversion fee, in the currency the proceeds land in
    sell_fees = legs_rows.filter(~is_buy & (pl.col("_fee") > 0)).select(
        "src",
        pl.lit(3, pl.Int32).alias("sub"),
        "date",
        "account",
        pl.lit("FEE").alias("type"),
        *_blank("symbol", "quantity", "price", "fee"),
        v.to_text(pl.col("_fee")).alias("amount"),
        pl.col("_ccy").alias("currency"),
        *_blank("ratio"),
        pl.lit("currency conversion fee").alias("note"),
        *_blank("pair", "isin", "name", "target", "cost_fraction"),
    )
    return main, [base, sell_fees]


def _blank(*names: str) -> list[pl.Expr]:
    """Empty text columns ``names``: the ledger fields a generated row leaves out."""
    return [pl.lit(None, pl.String).alias(name) for name in names]
