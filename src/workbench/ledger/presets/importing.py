"""``workbench import`` for any layout: pick the preset, map, and hand the rows to the importer.

report = import_any("data/workbench.duckdb", Path("schwab.csv"), dry_run=True)
print("\\n".join(report.lines()))
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench import config
from workbench.ledger.csv_text import file_facts
from workbench.ledger.importer import ImportResult, import_csv, import_mapped
from workbench.ledger.presets import catalog
from workbench.ledger.presets.convert import Conversion, convert_file
from workbench.store import connect, instrument_ids


@dataclass(frozen=True)
class ImportReport:
    """What ``workbench import`` did: the importer's result and, for a broker file, the mapping."""

    result: ImportResult
    conversion: Conversion | None

    def lines(self, *, show_mapping: bool = False) -> list[str]:
        """Lines for people: the mapping and counts (``show_mapping``: with the rules)."""
        out: list[str] = []
        c = self.conversion
        if c is not None:
            out.append(f"{c.file}: preset {c.spec.name} ({c.spec.title})")
            for other in c.parts[1:]:
                out.append(f"{c.file}: and a table for preset {other}")
            if show_mapping:
                out.extend(c.spec.describe()[1:])
            counts = ", ".join(f"{kind} {n}" for kind, n in c.counts().items()) or "none"
            out.append(f"ledger rows by type: {counts}")
            for reason, n in sorted(c.skipped.items()):
                out.append(f"left out: {n} {reason}")
            out += [not_mapped(text, lines) for text, lines in c.unknown.items()]
        out.append(self.result.summary())
        return out


def not_mapped(text: str, lines: list[int]) -> str:
    """The line telling an action text no rule maps, with its first ten file lines."""
    shown = ", ".join(map(str, lines[:10])) + (" ..." if len(lines) > 10 else "")
    return f"not mapped: {text!r} on line{'s' if len(lines) > 1 else ''} {shown}"


def import_any(
    db: str | os.PathLike[str] | None,
    path: Path,
    *,
    preset: str | None = None,
    mapping: Path | None = None,
    account: str | None = None,
    skip_unknown: bool = False,
    dry_run: bool = False,
    source: str | None = None,
) -> ImportReport:
    """Import ``path`` in workbench's own layout or any broker layout, atomically.

    ``preset`` forces a preset and ``mapping`` uses a mapping file; otherwise the header
    picks (workbench's own layout when it is one). ``source`` names the file in the imports
    record and row errors (default its path).

    Raises:
        UnknownLayout, MappingError, InvalidRows, OversoldError, StoreBusy.
    """
    spec = catalog.load_mapping(mapping) if mapping else catalog.preset(preset) if preset else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the imports record keeps the file's hash: computed beside the mapping
        facts = pool.submit(file_facts, path) if path.is_file() else None
        conversion = convert_file(path, spec=spec, account=account, skip_unknown=skip_unknown)
        if conversion is None:
            return ImportReport(
                import_csv(db, path, dry_run=dry_run, facts=facts, source=source), None
            )
        rows = _known_tickers(db, conversion)
        instruments = conversion.instruments
        result = import_mapped(
            db,
            rows,
            source=source or str(path),
            lines=conversion.lines,
            file_hash=(lambda: facts.result().sha256) if facts is not None else None,
            dry_run=dry_run,
            prepare=(lambda con: instrument_ids.attach(con, instruments))
            if instruments.height
            else None,
        )
    return ImportReport(result, conversion)


def _known_tickers(db: str | os.PathLike[str] | None, conversion: Conversion) -> pl.DataFrame:
    """The conversion's rows with products named only by ISIN filed under their ticker, where
    an earlier import named it (DEGIRO after IBKR)."""
    pairs = conversion.instruments
    if pairs.is_empty():
        return conversion.rows
    isin_only = pairs.filter(pl.col("symbol") == pl.col("isin"))["isin"].to_list()
    if not isin_only or not config.db_path(db).is_file():
        return conversion.rows
    with connect(db) as con:
        tickers = instrument_ids.tickers_for(con, isin_only)
    if not tickers:
        return conversion.rows
    symbol = pl.col("symbol").str.strip_chars().str.to_uppercase()
    return conversion.rows.with_columns(
        symbol=pl.when(symbol.is_in(list(tickers)))
        .then(symbol.replace(tickers))
        .otherwise(pl.col("symbol"))
    )


def preset_listing() -> list[str]:
    """One line per preset: its name and title."""
    specs = catalog.presets()
    width = max(len(s.name) for s in specs)
    return [f"{s.name.ljust(width)}  {s.title}" for s in specs]
