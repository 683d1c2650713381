"""The import preview of the ledger app: what ``workbench import --dry-run`` shows, as a model.

Before anything is written the app shows the detected preset (or workbench's own layout), the
mapping, how many ledger rows of each type the file gives, how many are new, the rows left out
or not mapped, and every error with its line; then one button writes. Both steps go through
:func:`workbench.ledger.presets.importing.import_any` (first with ``dry_run``), so the preview
and the import cannot disagree about a file, and the import stays all-or-nothing.

Uploads arrive as bytes: :func:`preview_upload` and :func:`import_upload` put them in a private
temporary directory under their own base name for the call and remove them after.

    >>> preview = preview_import("data/workbench.duckdb", Path("schwab.csv"))
    >>> preview.preset, preview.counts, preview.to_add
    ('schwab', {'BUY': 2, 'DEPOSIT': 1, ...}, 10)
"""

from __future__ import annotations

import contextlib
import html
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import (
    InvalidRow,
    InvalidRows,
    LedgerError,
    OversoldError,
    StoreError,
    escape_controls,
)
from workbench.ledger.presets.importing import ImportReport, import_any, not_mapped

#: the name shown for files in workbench's own ledger layout
OWN_LAYOUT = "workbench"
#: upload extensions the app accepts (broker CSVs, IBKR Flex XML)
UPLOAD_TYPES = (".csv", ".txt", ".tsv", ".xml")


@dataclass(frozen=True)
class ImportPreview:
    """What importing a file would do, or why it cannot.

    ``problems`` are the bad rows (line, field, message) and ``error`` a whole-file refusal
    (an unrecognised header, a busy database); with either, ``ok`` is false and nothing can
    be imported. ``counts`` are the file's ledger rows per type, ``to_add`` those not
    already in the ledger.
    """

    file: str
    preset: str | None
    title: str
    mapping: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, list[int]] = field(default_factory=dict)
    rows: int = 0
    to_add: int = 0
    problems: list[InvalidRow] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file would import (possibly adding nothing new)."""
        return self.error is None and not self.problems

    @property
    def duplicates(self) -> int:
        """The file's rows already in the ledger (skipped on import)."""
        return self.rows - self.to_add

    def counts_frame(self) -> pl.DataFrame:
        """type, rows: the file's ledger rows per type."""
        return pl.DataFrame(
            {"type": list(self.counts), "rows": list(self.counts.values())},
            schema={"type": pl.String, "rows": pl.Int64},
        )

    def problems_frame(self) -> pl.DataFrame:
        """line, field, message: each bad row, in line order."""
        return pl.DataFrame(
            [(p.line, p.field, p.message) for p in self.problems],
            schema={"line": pl.Int64, "field": pl.String, "message": pl.String},
            orient="row",
        )

    def unmapped_frame(self) -> pl.DataFrame:
        """action, rows, lines: the actions left out as unknown (``skip_unknown``) and the
        rows left out for other reasons (summary and blank rows), one row each."""
        rows = [
            (
                text,
                len(lines),
                ", ".join(map(str, lines[:20])) + (" ..." if len(lines) > 20 else ""),
            )
            for text, lines in self.unmapped.items()
        ]
        rows += [(f"({reason})", n, "") for reason, n in sorted(self.skipped.items())]
        return pl.DataFrame(
            rows, schema={"action": pl.String, "rows": pl.Int64, "lines": pl.String}, orient="row"
        )

    def headline(self) -> str:
        """One line of Markdown (values escaped): the layout and what an import would add."""
        name = html.escape(self.file).replace("`", "'")  # inside a code span
        layout = (
            f"preset **{html.escape(self.preset)}** ({html.escape(self.title)})"
            if self.preset and self.preset != OWN_LAYOUT
            else "workbench's own layout"
            if self.preset == OWN_LAYOUT
            else "layout not recognised"
        )
        if self.error is not None:
            return f"`{name}`: {layout}. Cannot import: {html.escape(self.error)}"
        if self.problems:
            noun = "row has" if len(self.problems) == 1 else "rows have"
            return (
                f"`{name}`: {layout}. Nothing can be imported: {len(self.problems)} {noun}"
                " errors (below)."
            )
        return (
            f"`{name}`: {layout}. {self.rows:,} ledger rows: **{self.to_add:,} new**,"
            f" {self.duplicates:,} already imported."
        )

    def lines(self) -> list[str]:
        """Plain text lines, as ``workbench import --dry-run`` prints them."""
        out = [f"{self.file}: " + (f"preset {self.preset} ({self.title})" if self.preset else "")]
        out += self.mapping
        if self.counts:
            out.append(
                "ledger rows by type: " + ", ".join(f"{k} {n}" for k, n in self.counts.items())
            )
        for reason, n in sorted(self.skipped.items()):
            out.append(f"left out: {n} {reason}")
        out += [not_mapped(text, lines) for text, lines in self.unmapped.items()]
        out += [
            escape_controls(f"{self.file}:{p.line}: {p.field}: {p.message}") for p in self.problems
        ]
        if self.error is not None:
            out.append(f"error: {self.error}")
        elif not self.problems:
            out.append(
                f"{self.rows} rows, would add {self.to_add}, {self.duplicates} already imported"
            )
        return out


def _detected(path: Path, preset: str | None) -> tuple[str | None, str, list[str]]:
    """(preset name, title, mapping lines) the file would be read with, for a preview of a
    file that fails later on; (None, "", []) when not even the layout is known."""
    from workbench.ledger.presets import catalog
    from workbench.ledger.presets.convert import is_xml
    from workbench.ledger.presets.reader import HEADER_SEARCH, Records, read_records

    try:
        if preset:
            spec = catalog.preset(preset)
        else:
            xml = is_xml(path)
            records = Records(str(path), []) if xml else read_records(path, limit=HEADER_SEARCH)
            found = catalog.detect(records, xml=xml)
            if found is None:
                return OWN_LAYOUT, "workbench ledger CSV", []
            spec = found[0]
    except (LedgerError, OSError):
        return None, "", []
    return spec.name, spec.title, spec.describe()[1:]


def _own_counts(path: Path) -> dict[str, int]:
    """Rows per type of a file in workbench's own layout (already validated by the dry run)."""
    from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS
    from workbench.ledger.csv_text import read_text_csv

    text, _ = read_text_csv(path, known=LEDGER_COLUMNS, synonyms=SYNONYMS)
    kinds = text.select(pl.col("type").str.strip_chars().str.to_uppercase()).group_by("type").len()
    return {str(k): int(n) for k, n in kinds.sort("type").iter_rows()}


def _from_report(name: str, path: Path, report: ImportReport) -> ImportPreview:
    c = report.conversion
    result = report.result
    if c is None:
        return ImportPreview(
            file=name, preset=OWN_LAYOUT, title="workbench ledger CSV", counts=_own_counts(path),
            rows=result.rows, to_add=result.added,
        )  # fmt: skip
    return ImportPreview(
        file=name, preset=c.spec.name, title=c.spec.title, mapping=c.spec.describe()[1:],
        counts=c.counts(), skipped=dict(c.skipped), unmapped=dict(c.unknown), rows=result.rows,
        to_add=result.added,
    )  # fmt: skip


def preview_import(
    db: str | os.PathLike[str] | None,
    path: Path,
    *,
    preset: str | None = None,
    account: str | None = None,
    skip_unknown: bool = False,
    name: str | None = None,
) -> ImportPreview:
    """What importing ``path`` would do (``import_any`` with ``dry_run``), errors included.

    ``name`` is the file name shown (default: the path). Bad rows, an oversell, an unknown
    layout or a busy database come back in the preview, not as exceptions.
    """
    shown = name or str(path)
    try:
        report = import_any(
            db, path, preset=preset, account=account, skip_unknown=skip_unknown, dry_run=True
        )
    except (InvalidRows, OversoldError) as exc:
        found, title, mapping = _detected(path, preset)
        problems = list(exc.problems) or [
            InvalidRow(shown, 0, "file", str(exc).replace(str(path), shown))
        ]
        return ImportPreview(
            file=shown, preset=found, title=title, mapping=mapping, problems=problems
        )
    except (LedgerError, StoreError) as exc:
        found, title, mapping = _detected(path, preset)
        message = str(exc).replace(str(path), shown)
        return ImportPreview(file=shown, preset=found, title=title, mapping=mapping, error=message)
    return _from_report(shown, path, report)


@contextlib.contextmanager
def _uploaded(name: str, contents: bytes) -> Iterator[tuple[str, Path]]:
    """The upload as a file under its base name in a private temporary directory."""
    base = Path(name.replace("\\", "/")).name.strip()
    if base in ("", ".", ".."):
        base = "upload.csv"
    with tempfile.TemporaryDirectory(prefix="workbench-upload-") as folder:
        path = Path(folder) / base
        path.write_bytes(contents)
        yield base, path


def preview_upload(
    db: str | os.PathLike[str] | None,
    name: str,
    contents: bytes,
    *,
    preset: str | None = None,
    account: str | None = None,
    skip_unknown: bool = False,
) -> ImportPreview:
    """:func:`preview_import` of uploaded bytes, shown under the upload's base name."""
    with _uploaded(name, contents) as (base, path):
        return preview_import(
            db, path, preset=preset, account=account, skip_unknown=skip_unknown, name=base
        )


def import_upload(
    db: str | os.PathLike[str] | None,
    name: str,
    contents: bytes,
    *,
    preset: str | None = None,
    account: str | None = None,
    skip_unknown: bool = False,
) -> ImportReport:
    """Import uploaded bytes for real (all rows or none), with the options of the preview.

    Raises:
        everything :func:`~workbench.ledger.presets.importing.import_any` raises.
    """
    with _uploaded(name, contents) as (base, path):
        return import_any(
            db, path, preset=preset, account=account, skip_unknown=skip_unknown, source=base
        )


def preset_choices() -> dict[str, str]:
    """Label -> preset name for a picker: each shipped preset by its title."""
    from workbench.ledger.presets import catalog

    return {f"{s.name}: {s.title}": s.name for s in catalog.presets()}
