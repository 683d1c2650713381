"""A broker export -> ledger rows in workbench's own columns, ready for the importer.

conversion = convert_file(Path("Transactions.csv"))        # preset picked by the header
print(conversion.spec.name, conversion.counts())
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows
from workbench.ledger.presets import catalog, hooks
from workbench.ledger.presets.actions import resolve_actions
from workbench.ledger.presets.engine import OUT_COLUMNS, Mapped, Options, map_table
from workbench.ledger.presets.flex_xml import flex_tables
from workbench.ledger.presets.legs import pair_legs, transfer_currency
from workbench.ledger.presets.reader import (
    HEADER_SEARCH,
    Records,
    Table,
    fast_table,
    first_record,
    read_records,
    section_tables,
    statement_field,
    table_under,
)
from workbench.ledger.presets.refunds import net_refunds
from workbench.ledger.presets.spec import Spec

#: an ISIN: country, nine alphanumerics, a check digit
ISIN = r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$"
LEDGER_TEXT = tuple(c for c in OUT_COLUMNS if c not in ("pair", "isin", "name"))


@dataclass
class Conversion:
    """A file mapped by a spec: ledger rows (text) in apply order, and what was left out.

    ``rows`` has ``line`` = 1, 2, ... in apply order and the ledger columns; ``lines[i]``
    is the file line the row ``line == i + 1`` came from.
    """

    spec: Spec
    file: str
    rows: pl.DataFrame
    lines: list[int]
    skipped: Counter[str] = field(default_factory=Counter)
    unknown: dict[str, list[int]] = field(default_factory=dict)
    #: (symbol, isin, name) of each instrument the file names by ISIN (the symbol is its
    #: ticker, or the ISIN itself when the file has none)
    instruments: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: the presets of the file's tables, when it has several (the first is ``spec``)
    parts: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Ledger rows per type, in the ledger's type order."""
        counted = self.rows.group_by("type").len().sort("type").iter_rows()
        return {kind: int(n) for kind, n in counted}


def _tables(
    spec: Spec, records: Records | None, path: Path, at: int
) -> list[tuple[str | None, Table]]:
    if spec.kind == "ibkr-flex-xml":
        wanted = {b.section or "" for b in spec.blocks}
        return [(name, table) for name, table in flex_tables(path) if name in wanted]
    assert records is not None
    if spec.kind == "sections":
        wanted = {b.section or "" for b in spec.blocks}
        return [(name, table) for name, table in section_tables(records.all(), wanted)]
    fast = fast_table(records, at)
    return [(None, fast if fast is not None else table_under(records.all(), at))]


def _map_jobs(jobs: list[tuple[Spec, str | None, Table]], options: Options) -> Mapped:
    """Map each (spec, section, table) and gather the results (hooks run per table)."""
    mapped = Mapped()
    for spec, section, table in jobs:
        block = next(b for b in spec.blocks if b.section == section)
        part = map_table(spec, block, table, options)
        frames = [f for f in part.frames if f.height]
        if frames:
            one = pl.concat(frames, how="vertical_relaxed")
            # apply order: oldest first, each source row's own rows in their order
            one = one.sort(["src", "sub"], descending=[part.newest_first, False])
            mapped.frames.append(hooks.apply(spec.hook, one))
        mapped.problems.extend(part.problems)
        for text, lines in part.unknown.items():
            mapped.unknown.setdefault(text, []).extend(lines)
        mapped.skipped.update(part.skipped)
    return mapped


def _split_at_headers(
    spec: Spec, records: Records, at: int, suspects: set[int]
) -> list[tuple[Spec, str | None, Table]]:
    """The file's tables when rows that did not map (unknown actions, or values that are
    not dates or numbers) are headers of presets (or a repeat of the first header); empty
    when none is."""
    starts: list[tuple[int, Spec]] = [(at, spec)]
    for index, (line, fields) in enumerate(records.records):
        if index <= at or line not in suspects:
            continue
        found = catalog.header_spec(fields)
        if found is not None:
            starts.append((index, found))
    if len(starts) == 1:
        return []
    jobs: list[tuple[Spec, str | None, Table]] = []
    for (start, part_spec), (stop, _) in zip(
        starts, [*starts[1:], (len(records.records), spec)], strict=True
    ):
        jobs.append((part_spec, None, table_under(records, start, stop=stop)))
    return jobs


def convert_file(
    path: Path,
    *,
    spec: Spec | None = None,
    account: str | None = None,
    base_currency: str | None = None,
    skip_unknown: bool = False,
) -> Conversion | None:
    """Map ``path`` with ``spec`` (or the preset its header names).

    Returns None when the file is in workbench's own layout (and no spec was given).

    Raises:
        UnknownLayout: no preset recognises the header.
        MappingError: the spec names columns the file does not have.
        InvalidRows: unknown action texts (unless ``skip_unknown``), bad dates or numbers,
            each with its line in the file.
    """
    file = str(path)
    xml = is_xml(path)
    if (
        spec is None
        and not xml
        and path.is_file()
        and catalog.own_layout(first_record(path), strict=True)
    ):
        return None  # workbench's own layout, told from the header alone (no whole read)
    records = (
        None
        if xml and (spec is None or spec.kind == "ibkr-flex-xml")
        else read_records(path, limit=HEADER_SEARCH)
    )
    at = 0
    if spec is None:
        assert records is not None or xml
        found = catalog.detect(records or Records(file, []), xml=xml)
        if found is None:
            return None
        spec, at = found
    elif records is not None and spec.kind == "table":
        located = catalog.header_index(spec, records)
        if located is None:
            raise InvalidRows(
                [
                    InvalidRow(
                        file,
                        1,
                        "header",
                        f"no header with the columns {spec.name} needs: "
                        + " or ".join(", ".join(s) for s in catalog.signatures(spec)),
                    )
                ]
            )
        at = located[0]
    if account is None and spec.account_from and records is not None:
        account = statement_field(records.all(), *spec.account_from)
    if base_currency is None and spec.currency_from and records is not None:
        base_currency = statement_field(records.all(), *spec.currency_from)
    options = Options(account=account, base_currency=base_currency)
    jobs = [(spec, section, table) for section, table in _tables(spec, records, path, at)]
    mapped = _map_jobs(jobs, options)
    if (mapped.unknown or mapped.problems) and spec.kind == "table" and records is not None:
        # a second table in the file (an IBKR Flex CSV with trades, then cash transactions):
        # its header row reads as an unknown action or a bad value; split the file there
        # and map each part
        suspects = {line for lines in mapped.unknown.values() for line in lines}
        suspects.update(p.line for p in mapped.problems)
        split = _split_at_headers(spec, records.all(), at, suspects)
        if split:
            jobs = split
            mapped = _map_jobs(jobs, options)
    parts = list(dict.fromkeys(job[0].name for job in jobs))
    problems = list(mapped.problems)
    if mapped.unknown and not skip_unknown:
        for text, lines in mapped.unknown.items():
            shown = ", ".join(map(str, lines[:10])) + (" ..." if len(lines) > 10 else "")
            problems.append(
                InvalidRow(
                    file, lines[0], "action",
                    f"unknown action {text!r} for preset {spec.name} (lines {shown});"
                    " map it with --mapping, or pass --skip-unknown to leave it out",
                )
            )  # fmt: skip
    if mapped.frames:
        rows = pl.concat(mapped.frames, how="vertical_relaxed")
    else:
        rows = pl.DataFrame(
            schema={"src": pl.Int64, "sub": pl.Int32, **{c: pl.String for c in OUT_COLUMNS}}
        )
    rows = net_refunds(rows)
    rows, action_problems = resolve_actions(rows, file=file)
    problems.extend(action_problems)
    rows, leg_problems = pair_legs(rows, file=file)
    rows = transfer_currency(rows)
    problems.extend(leg_problems)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise InvalidRows(problems)
    # by date (a stable sort: within a day the file's order, made oldest first, stays)
    rows = hooks.sub_units(rows).sort("date", maintain_order=True, nulls_last=True)
    lines = rows["src"].to_list()
    ordered = rows.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line"), *LEDGER_TEXT)
    if mapped.unknown:
        mapped.skipped["unknown action (--skip-unknown)"] += sum(
            len(x) for x in mapped.unknown.values()
        )
    isin = pl.col("isin").str.strip_chars().str.to_uppercase()
    instruments = (
        rows.filter(isin.str.contains(ISIN) & pl.col("symbol").is_not_null())
        .select(
            pl.col("symbol").str.strip_chars().str.to_uppercase(),
            isin.alias("isin"),
            pl.col("name").str.strip_chars(),
        )
        .unique("isin", keep="first", maintain_order=True)
    )
    return Conversion(
        spec, file, ordered, lines, mapped.skipped, mapped.unknown, instruments, parts
    )


def is_xml(path: Path) -> bool:
    """Whether the file starts like XML (an IBKR Flex statement), after a BOM and blanks."""
    try:
        with path.open("rb") as handle:
            start = handle.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return start.startswith(b"<")
