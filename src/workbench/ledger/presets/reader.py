"""Reading a broker export into a table of text cells, each row with the line it starts on.

Broker files are not clean CSV: a title or disclaimer before the header, blank and summary
rows, a footer after the data, rows with more fields than the header, a byte-order mark,
Windows-1252 bytes, and (Interactive Brokers' activity statements) several tables in one
file, each line starting with its section's name. This module finds the header a preset
asks for and hands the rows under it on as text; it judges no value.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRow, InvalidRows

#: lines searched for a header before giving up
HEADER_SEARCH = 400


@dataclass(frozen=True)
class Records:
    """The records of a file (all, or the first ``limit``), as ``csv`` reads them, with the
    line each starts on, and the file's text."""

    file: str
    records: list[tuple[int, list[str]]]
    text: str = ""
    complete: bool = True

    def all(self) -> Records:
        """Every record (parsing the rest of the text when only a head was read)."""
        if self.complete:
            return self
        return Records(self.file, list(_records(self.file, self.text)), self.text, True)


def decode(raw: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 (some exports are)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_records(path: Path, *, limit: int | None = None) -> Records:
    """The records of ``path`` (the first ``limit`` only, if given); a quoted field may span
    lines.

    Raises:
        InvalidRows: the file is missing, empty, or not readable as CSV (with the line).
    """
    name = str(path)
    if not path.is_file():
        raise InvalidRows([InvalidRow(name, 0, "file", "no such file")])
    text = decode(path.read_bytes())
    if not text.strip():
        raise InvalidRows([InvalidRow(name, 1, "file", "empty file: expected a header row")])
    if limit is None:
        return Records(name, list(_records(name, text)), text, True)
    head = list(itertools.islice(_records(name, text), limit + 1))
    return Records(name, head[:limit], text, len(head) <= limit)


#: bytes read to see a file's first record before deciding whether the whole file is needed
HEAD_BYTES = 1 << 16


def first_record(path: Path) -> Records:
    """The first record of ``path`` from its first :data:`HEAD_BYTES` only (no records when
    there are none there, or they do not parse): enough to tell workbench's own layout,
    whose import then reads the file its own (batched) way instead of whole here.
    """
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    try:
        # a replaced byte (a cut character, a non-UTF-8 header) is no known column name anyway
        first = next(_records(str(path), head.decode("utf-8-sig", errors="replace")), None)
    except InvalidRows:
        first = None
    return Records(str(path), [first] if first else [], "", False)


def _records(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader, None)
        except csv.Error as bad:
            raise InvalidRows(
                [InvalidRow(name, start, "file", f"not a readable CSV: {bad}")]
            ) from bad
        if fields is None:
            return
        yield start, fields


def fold(name: str) -> str:
    """A header cell as compared: stripped, lower case, inner blanks collapsed."""
    return " ".join(name.strip().lower().split())


def table_under(records: Records, header_at: int, *, stop: int | None = None) -> Table:
    """The rows after the record at index ``header_at`` (up to the record at ``stop``) as a
    :class:`Table`.

    Rows longer than the header keep their extra fields joined to the last column with
    commas (a Kraken trades export lists two ledger ids in its last field); shorter rows are
    padded with empty cells.
    """
    _, header = records.records[header_at]
    width = len(header)
    lines: list[int] = []
    rows: list[list[str]] = []
    for line, fields in records.records[header_at + 1 : stop]:
        if len(fields) > width:
            fields = [*fields[: width - 1], ",".join(fields[width - 1 :])]
        elif len(fields) < width:
            fields = fields + [""] * (width - len(fields))
        if rows and fields[-1] and rows[-1][-1] and not any(f.strip() for f in fields[:-1]):
            # a last field wrapped onto a line of its own (a DEGIRO order id): rejoin it
            rows[-1][-1] += fields[-1]
            continue
        lines.append(line)
        rows.append(fields)
    return Table(records.file, [h.strip() for h in header], rows, lines)


@dataclass
class Table:
    """One table of a file: header cells, rows of text cells, and each row's line (or the
    frame of them, already built)."""

    file: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    built: pl.DataFrame | None = None

    def frame(self) -> pl.DataFrame:
        """Columns ``c0``, ``c1``, ... (text, empty cells as null) and ``line``."""
        if self.built is not None:
            return self.built
        columns = list(zip(*self.rows, strict=True)) if self.rows else []
        data: dict[str, pl.Series] = {}
        for i in range(len(self.header)):
            values = columns[i] if columns else ()
            data[f"c{i}"] = pl.Series(f"c{i}", values, dtype=pl.String)
        frame = pl.DataFrame(data).with_columns(pl.all().str.strip_chars().replace("", None))
        return frame.with_columns(pl.Series("line", self.lines, dtype=pl.Int64))


def fast_table(records: Records, header_at: int) -> Table | None:
    """The rows under the header record ``header_at``, parsed by Polars (fast), or None when
    line numbers could not be trusted that way: a record spanning lines, a field wrapped onto
    a line of its own, or a parse Polars refuses. :func:`table_under` reads those."""
    header_line, header = records.records[header_at]
    text = records.text
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    body = physical - header_line
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            skip_lines=header_line - 1,
            has_header=True,
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, pl.exceptions.ShapeError):
        return None
    if frame.height != body or frame.width != len(header):
        return None
    names = [f"c{i}" for i in range(frame.width)]
    frame = frame.rename(dict(zip(frame.columns, names, strict=True))).with_columns(
        pl.all().str.strip_chars().replace("", None)
    )
    if frame.width > 1:
        wrapped = frame.select(
            (
                pl.col(names[-1]).is_not_null()
                & pl.all_horizontal(pl.col(c).is_null() for c in names[:-1])
            ).any()
        ).item()
        if wrapped:
            return None
    frame = frame.with_columns(
        pl.int_range(header_line + 1, header_line + 1 + frame.height, dtype=pl.Int64).alias("line")
    )
    return Table(records.file, [h.strip() for h in header], [], [], built=frame)


def section_tables(records: Records, sections: set[str]) -> list[tuple[str, Table]]:
    """Interactive Brokers' statement layout: ``Section,Header,...`` then ``Section,Data,...``.

    Returns one table per header line of a wanted section (the section name and the
    ``Header``/``Data`` marker dropped), in file order: a section that repeats its header
    (another asset class, other columns) gives a second table.
    """
    wanted = {fold(s): s for s in sections}
    tables: list[tuple[str, Table]] = []
    current: dict[str, Table] = {}
    for line, fields in records.records:
        if len(fields) < 2:
            continue
        name = wanted.get(fold(fields[0]))
        if name is None:
            continue
        marker = fold(fields[1])
        if marker == "header":
            table = Table(records.file, [h.strip() for h in fields[2:]], [], [])
            current[name] = table
            tables.append((name, table))
            continue
        table_or_none = current.get(name)
        if marker != "data" or table_or_none is None:
            continue
        width = len(table_or_none.header)
        cells = fields[2:]
        if len(cells) > width:
            cells = [*cells[: width - 1], ",".join(cells[width - 1 :])]
        table_or_none.rows.append(cells + [""] * (width - len(cells)))
        table_or_none.lines.append(line)
    return tables


def statement_field(records: Records, section: str, name: str) -> str | None:
    """A ``Section,Data,Name,Value`` line's value (IBKR's account number), or None."""
    for _, fields in records.records:
        if (
            len(fields) > 3
            and fold(fields[0]) == fold(section)
            and fold(fields[1]) == "data"
            and fold(fields[2]) == fold(name)
        ):
            return fields[3].strip() or None
    return None
