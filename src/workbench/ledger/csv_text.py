"""Reading a CSV file as text columns, each row with the line it starts on.

Polars parses the file. Around it: an empty file is named as such, a file Polars refuses is
read again with Python's ``csv`` module to say which line is at fault, a record that spans
lines (a quoted field with a line break) moves the line numbers of the rows after it, and
rows with every field empty (blank lines, or a spreadsheet's ``,,,,`` rows) are skipped
rather than reported as rows with every field missing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows
from workbench.ledger.columns import canonicalize

#: bytes read to tell an empty file (blanks only) from one with a header
_EMPTY_PROBE = 1 << 16


@dataclass(frozen=True)
class FileFacts:
    """What one pass over a file's bytes tells: its SHA-256 and its line feeds."""

    sha256: str
    line_ends: int
    ends_with_newline: bool


def file_facts(path: Path) -> FileFacts:
    """Hash the file and count its line feeds in one read."""
    digest = hashlib.sha256()
    count, last = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return FileFacts(digest.hexdigest(), count, last == b"\n")


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

    Raises:
        InvalidRows: the file is empty, is not a CSV (with the line at fault), has no header,
            or repeats a column.
    """
    name = str(path)
    with path.open("rb") as handle:
        start = handle.read(_EMPTY_PROBE)
    if not start.strip(b"\xef\xbb\xbf \t\r\n") and len(start) < _EMPTY_PROBE:
        raise InvalidRows([InvalidRow(name, 1, "file", "empty file: expected a header row")])
    with ThreadPoolExecutor(max_workers=1) as pool:
        # counting line ends (to tell whether any record spans lines) overlaps the parse
        counted = facts or pool.submit(file_facts, path)
        try:
            frame = pl.read_csv(path, infer_schema=False, has_header=True)
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
            raise InvalidRows([_unreadable(path, exc)]) from exc
        found = counted.result()
    physical = found.line_ends + (0 if found.ends_with_newline else 1)
    # one line per record unless a quoted field holds a line break (rare): then ask csv
    lines = None if frame.height == physical - 1 else _record_lines(path, frame.height)
    blank = _blank_rows(frame)
    text, ignored = canonicalize(frame, file=name, known=known, synonyms=synonyms, lines=lines)
    if blank is not None:
        text = text.filter(~blank)
    return text, ignored


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
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        line = raw[: bad.start].count(b"\n") + 1
        return InvalidRow(
            name, line, "file", f"not UTF-8 text (byte 0x{raw[bad.start]:02x}); save it as UTF-8"
        )
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
