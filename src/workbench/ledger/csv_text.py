"""Reading a CSV file as text columns, each row with the line it starts on.

Polars parses the file. Around it: an empty file is named as such, a file Polars refuses is
read again with Python's ``csv`` module to say which line is at fault, a record that spans
lines (a quoted field with a line break) moves the line numbers of the rows after it, and
rows with every field empty (blank lines, or a spreadsheet's ``,,,,`` rows) are skipped
rather than reported as rows with every field missing.

The header is also read as written (Polars renames a repeated name to ``x_duplicated_0``
and replaces bytes that are not UTF-8): two columns meaning one field, and a header that is
not UTF-8, are errors on line 1.

Formula neutralising (the OWASP advice on CSV injection): a text cell a spreadsheet would
run as a formula (starting with ``= + - @``, a tab or a carriage return) is exported with a
leading single quote, and reading takes one leading quote off such a cell, so an export
imports back to the values it was written from. :func:`neutralise_formulas` is the writing
side.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows
from workbench.ledger.columns import canonical_name, canonicalize

#: bytes read to tell an empty file (blanks only) from one with a header, and to read the header
_EMPTY_PROBE = 1 << 16
#: a text cell a spreadsheet would run as a formula, after any quotes added to neutralise it
_FORMULA = r"^'*[=+\-@\t\r]"
#: a cell neutralised by :func:`neutralise_formulas` (a leading quote before a formula start)
_NEUTRALISED = r"^'+[=+\-@\t\r]"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns with every cell a spreadsheet would run as a formula prefixed with ``'``.

    A cell starting with ``= + - @``, a tab or a carriage return, after any single quotes,
    gets one more quote, so ``=cmd|' /C calc'!A0`` is written ``'=cmd|' /C calc'!A0`` and a
    note that was ``'=x`` is written ``''=x`` (reading takes exactly one quote off). Numbers
    and dates are not text and are never touched: ``-5`` in a number column stays ``-5``.
    """
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA))
        .then("'" + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def _restore_formulas(text: pl.DataFrame) -> pl.DataFrame:
    """Take the quote :func:`neutralise_formulas` added off every cell that has one.

    Only columns with a cell starting with a quote are looked at again.
    """
    columns = [c for c in text.columns if text.schema[c] == pl.String]
    if not columns or text.is_empty():
        return text
    # a literal prefix test first: a regex over every cell of a million-row file cost 0.4 s
    found = text.select(pl.col(c).str.starts_with("'").any() for c in columns).row(0)
    marked = [c for c, hit in zip(columns, found, strict=True) if hit]
    if not marked:
        return text
    return text.with_columns(
        pl.when(pl.col(c).str.contains(_NEUTRALISED))
        .then(pl.col(c).str.slice(1))
        .otherwise(pl.col(c))
        .alias(c)
        for c in marked
    )


@dataclass(frozen=True)
class FileFacts:
    """What one pass over a file's bytes tells: its SHA-256, its line feeds, and whether it
    has a single quote anywhere (without one no cell was neutralised against formulas)."""

    sha256: str
    line_ends: int
    ends_with_newline: bool
    has_apostrophe: bool = True


def file_facts(path: Path) -> FileFacts:
    """Hash the file and count its line feeds in one read."""
    digest = hashlib.sha256()
    count, last, apostrophe = 0, b"", False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            count += chunk.count(b"\n")
            apostrophe = apostrophe or b"'" in chunk
            last = chunk[-1:]
    return FileFacts(digest.hexdigest(), count, last == b"\n", apostrophe)


def read_text_csv(
    path: Path,
    *,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    facts: Future[FileFacts] | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Read a CSV as all-text columns renamed to canonical names, with a ``line`` column.

    A UTF-8 byte-order mark and CRLF line ends are accepted. ``line`` is the 1-based line of
    the file a row starts on (the header is line 1). Rows with every field empty are skipped.
    Returns the frame and the names of ignored columns. ``facts``: :func:`file_facts` of
    ``path`` already under way (the importer also wants the hash); else it runs here, beside
    the parse.

    Cells that an export neutralised against formula injection are read back as they were
    (see the module docstring).

    Raises:
        InvalidRows: the file is empty, is not UTF-8 or not a CSV (with the line at fault),
            has no header, or has two columns meaning one field.
    """
    read = _read(path, known=known, synonyms=synonyms, facts=facts, decimals={})
    assert read is not None  # read as text, a file is never left to another reader
    return read


def read_typed_csv(
    path: Path,
    *,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    decimals: dict[str, pl.Decimal],
    facts: Future[FileFacts] | None = None,
) -> tuple[pl.DataFrame, list[str]] | None:
    """:func:`read_text_csv`, but the columns named in ``decimals`` (canonical name -> type)
    parsed as those decimals by the CSV reader; None when that reading cannot stand for the
    text one (then read the file with :func:`read_text_csv`).

    Only a file whose every such cell the reader takes is read: a value it refuses fails the
    read (-> None). A cell of blanks is read as empty, as validation strips it; so a row
    whose only other cells are blanks in those columns could pass for a blank row: any blank
    row also gives None. Validation of the frame gives the values of the text's; its problem
    messages quote the decimals, not the text (read the text again to report problems).

    Raises:
        InvalidRows: what :func:`read_text_csv` raises before parsing (empty file, header).
    """
    return _read(path, known=known, synonyms=synonyms, facts=facts, decimals=decimals)


def _read(
    path: Path,
    *,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    facts: Future[FileFacts] | None,
    decimals: dict[str, pl.Decimal],
) -> tuple[pl.DataFrame, list[str]] | None:
    """The body of :func:`read_text_csv` (``decimals`` empty) and :func:`read_typed_csv`."""
    name = str(path)
    with path.open("rb") as handle:
        start = handle.read(_EMPTY_PROBE)
    if not start.strip(b"\xef\xbb\xbf \t\r\n") and len(start) < _EMPTY_PROBE:
        raise InvalidRows([InvalidRow(name, 1, "file", "empty file: expected a header row")])
    header = _header(name, start, whole=len(start) < _EMPTY_PROBE)
    if header is not None:
        repeated = _repeated_columns(name, header, known=known, synonyms=synonyms)
        if repeated:
            raise InvalidRows(repeated)
    overrides = {}
    if decimals:
        if header is None or len(set(header)) < len(header):
            return None
        # never the first column: the blank-row test strips its text
        overrides = {
            column: decimals[field]
            for column in header[1:]
            if (field := canonical_name(column, synonyms)) in decimals
        }
    with ThreadPoolExecutor(max_workers=1) as pool:
        # counting line ends (to tell whether any record spans lines) overlaps the parse
        counted = facts or pool.submit(file_facts, path)
        try:
            frame = pl.read_csv(
                path, infer_schema=False, has_header=True, schema_overrides=overrides or None
            )
        except pl.exceptions.PolarsError as exc:
            if overrides:  # a cell the decimal reader refuses: read as text instead
                counted.result()  # not left running beside the next read
                return None
            if not isinstance(exc, pl.exceptions.ComputeError | pl.exceptions.NoDataError):
                raise
            raise InvalidRows([_unreadable(path, exc)]) from exc
        found = counted.result()
    if overrides and list(frame.columns) != header:
        return None  # the reader named the columns otherwise: the overrides may not hold
    physical = found.line_ends + (0 if found.ends_with_newline else 1)
    # one line per record unless a quoted field holds a line break (rare): then ask csv
    lines = None if frame.height == physical - 1 else _record_lines(path, frame.height)
    blank = _blank_rows(frame)
    if overrides and blank is not None:
        return None
    text, ignored = canonicalize(
        frame, file=name, known=known, synonyms=synonyms, lines=lines, typed=bool(overrides)
    )
    if header is not None and len(header) == frame.width:
        # name ignored columns as the file does, not as Polars renamed them
        written = dict(zip(frame.columns, header, strict=True))
        ignored = [written[c] for c in ignored]
    if blank is not None:
        text = text.filter(~blank)
    # a file without a single quote has no neutralised cell: its columns are not scanned
    return (_restore_formulas(text) if found.has_apostrophe else text), ignored


def read_required_csv(
    path: Path, *, known: tuple[str, ...], synonyms: dict[str, str], required: Sequence[str]
) -> pl.DataFrame:
    """:func:`read_text_csv` of a file that must exist, have the ``required`` columns and at
    least one row (the rate and price imports).

    Raises:
        InvalidRows: no such file (line 0), each required column missing (line 1), no rows
            after the header (line 2), or what :func:`read_text_csv` refuses.
    """
    name = str(path)
    if not path.is_file():
        raise InvalidRows([InvalidRow(name, 0, "file", "no such file")])
    text, _ignored = read_text_csv(path, known=known, synonyms=synonyms)
    missing = [c for c in required if c not in text.columns]
    if missing:
        raise InvalidRows([InvalidRow(name, 1, c, "required column missing") for c in missing])
    if text.is_empty():
        raise InvalidRows([InvalidRow(name, 2, "file", "no rows after the header")])
    return text


def _header(name: str, start: bytes, *, whole: bool) -> list[str] | None:
    """The header's fields as written, from the file's first bytes ``start`` (``whole``: the
    entire file); None when they hold no complete header record that ``csv`` accepts (the
    parse then says what is wrong).

    Raises:
        InvalidRows: ``start`` is not UTF-8 (the header, or a row near it), with the line.
    """
    try:
        # incremental: a character cut at the end of the probe is not an error
        text = codecs.getincrementaldecoder("utf-8")().decode(start, final=whole)
    except UnicodeDecodeError as bad:
        raise InvalidRows([_not_utf8(name, start, bad)]) from bad
    text = text.removeprefix("\ufeff")
    if not whole:
        text = text[: text.rfind("\n") + 1]  # complete lines only
    try:
        for _start, fields in _records(io.StringIO(text, newline="")):
            return fields
    except _BadRecord:
        return None
    return None


def _repeated_columns(
    name: str, header: list[str], *, known: tuple[str, ...], synonyms: dict[str, str]
) -> list[InvalidRow]:
    """One problem per known field that two or more columns of ``header`` mean (``date,date``
    or ``date,trade_date``), naming the columns and their positions."""
    by_field: dict[str, list[str]] = {}
    for position, column in enumerate(header, start=1):
        field = canonical_name(column, synonyms)
        if field in known:
            by_field.setdefault(field, []).append(f"{column!r} (column {position})")
    return [
        InvalidRow(name, 1, field, f"{len(cols)} columns mean {field}: {', '.join(cols)}; keep one")
        for field, cols in by_field.items()
        if len(cols) > 1
    ]


class _BadRecord(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


def _records(text: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Each record (the header first) with the line it starts on, as Python's ``csv`` reads
    it; a quoted field may span lines.

    Raises:
        _BadRecord: a record ``csv`` refuses, with the line it starts on.
    """
    reader = csv.reader(text, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader, None)
        except csv.Error as bad:
            raise _BadRecord(start, str(bad)) from bad
        if fields is None:
            return
        yield start, fields


def _record_lines(path: Path, rows: int) -> pl.Series | None:
    """The line each record after the header starts on, read with Python's ``csv``; None if
    it does not find the same records as Polars (rows then count one line each)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            starts = [start for start, _ in _records(handle)][1:]
        except _BadRecord:
            return None
        except UnicodeDecodeError as bad:
            # Polars replaces some bytes that are not UTF-8 instead of refusing them
            raise InvalidRows([_unreadable(path, bad)]) from bad
    if len(starts) != rows:
        return None
    return pl.Series("line", starts, dtype=pl.Int64)


def _blank_rows(frame: pl.DataFrame) -> pl.Series | None:
    """Rows with every field empty (a blank line, or separators only; the first field may
    hold spaces), or None when there are none. Judged on every column of the file, known or
    not."""
    if frame.width == 0 or frame.is_empty():
        return None
    first, *rest = frame.columns
    if rest:
        others_empty = frame.select(pl.all_horizontal(pl.col(c).is_null() for c in rest))
        candidates = others_empty.to_series()
        if not candidates.any():
            return None
    else:
        candidates = pl.repeat(True, frame.height, eager=True)
    blank = candidates & (frame[first].str.strip_chars().fill_null("") == "")
    return blank if blank.any() else None


def _unreadable(path: Path, exc: Exception) -> InvalidRow:
    """Say where and why a file the CSV reader refused is not a CSV it can read.

    Only runs after a failure, so it reads the file again with Python's ``csv`` module, which
    knows the line of the first bad record; the reader's own message is a fallback.
    """
    name = str(path)
    raw = path.read_bytes()
    not_utf8 = _first_not_utf8(name, raw)
    if not_utf8 is not None:
        return not_utf8
    text = raw.decode("utf-8-sig")
    try:
        header: list[str] | None = None
        for start, fields in _records(io.StringIO(text, newline="")):
            if header is None:
                header = fields
            elif len(fields) > len(header):
                reason = f"{len(fields)} fields, but the header has {len(header)}"
                return InvalidRow(name, start, "file", reason)
    except _BadRecord as bad:
        reason = str(bad)
        if "end of data" in reason:
            reason = "a quoted field that starts on this line is never closed"
        return InvalidRow(name, bad.line, "file", f"not a readable CSV: {reason}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidRow(name, 1, "file", f"not a readable CSV: {first}")


def _first_not_utf8(name: str, raw: bytes) -> InvalidRow | None:
    """The line of the first byte of ``raw`` that is not UTF-8, or None if all of it is."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return _not_utf8(name, raw, bad)
    return None


def _not_utf8(name: str, raw: bytes, bad: UnicodeDecodeError) -> InvalidRow:
    """The problem for ``bad``, raised decoding ``raw`` (a file, or its first bytes)."""
    line = raw[: bad.start].count(b"\n") + 1
    return InvalidRow(
        name, line, "file", f"not UTF-8 text (byte 0x{raw[bad.start]:02x}); save it as UTF-8"
    )
