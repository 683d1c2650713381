"""Reading a large ledger CSV in batches of records, so an import's memory stays bounded.

The file is cut at record ends into batches of about :data:`BATCH_BYTES`. A line feed ends a
record unless it sits inside a quoted field, which is when an odd number of quote characters
comes before it in the file (a quote inside a quoted field is written twice, so it never
changes the count's parity). Each batch is read like a whole file (the header, then the
batch's records, through :func:`workbench.ledger.csv_text.read_text_csv`), so every rule of
reading holds in it, and its rows and problems carry the lines they have in the file.

    for text, ignored in csv_batches(path, known=LEDGER_COLUMNS, synonyms=SYNONYMS):
        ...
"""

from __future__ import annotations

import tempfile
from collections.abc import Generator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from workbench.errors import InvalidRows
from workbench.ledger.csv_text import FileFacts, read_text_csv

#: files larger than this are imported in batches (a million demo rows are ~92 MB)
STREAM_BYTES = 256 << 20
#: the size a batch of records is cut at (the record that crosses it ends the batch)
BATCH_BYTES = 24 << 20
_BLOCK = 16 << 20


@dataclass(frozen=True)
class _Cut:
    """A record end: the byte after it and how many line feeds come before that byte."""

    offset: int
    feeds: int


def _record_ends(path: Path, every: int) -> tuple[list[_Cut], int]:
    """The end of the header record, then the first record end at or after each further
    ``every`` bytes; and the file's size."""
    cuts: list[_Cut] = []
    quotes = feeds = base = 0
    want = 0  # the next cut is the first record end at or after this offset
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            search = max(want - base, 0)
            counted, block_quotes = 0, 0  # quotes in block[:counted]
            while search < len(block):
                end = block.find(b"\n", search)
                if end < 0:
                    break
                block_quotes += block.count(b'"', counted, end)
                counted = end
                if (quotes + block_quotes) % 2 == 0:
                    cuts.append(_Cut(base + end + 1, feeds + block.count(b"\n", 0, end) + 1))
                    want = base + end + 1 + every
                    search = want - base
                else:
                    search = end + 1
            quotes += block.count(b'"')
            feeds += block.count(b"\n")
            base += len(block)
    return cuts, base


def _done(facts: FileFacts) -> Future[FileFacts]:
    future: Future[FileFacts] = Future()
    future.set_result(facts)
    return future


def csv_batches(
    path: Path,
    *,
    known: tuple[str, ...],
    synonyms: dict[str, str],
    every: int = BATCH_BYTES,
) -> Generator[tuple[pl.DataFrame, list[str]]]:
    """Each batch of ``path``'s records as :func:`read_text_csv` reads a whole file: text
    columns with ``line`` as in ``path``, and the ignored column names. Batches whose rows
    are all blank are left out.

    Raises:
        InvalidRows: as :func:`read_text_csv`, naming ``path`` and its lines.
    """
    name = str(path)
    cuts, size = _record_ends(path, every)
    if len(cuts) < 2 and (not cuts or cuts[0].offset >= size):
        # nothing after the header: read as one file, which says what is wrong with it
        yield read_text_csv(path, known=known, synonyms=synonyms)
        return
    header_end, header_feeds = cuts[0].offset, cuts[0].feeds
    ends = [*cuts[1:], _Cut(size, -1)] if cuts[-1].offset < size else cuts[1:]
    with path.open("rb") as source, tempfile.TemporaryDirectory(prefix="wb-batch-") as tmp:
        header = source.read(header_end)
        batch_file = Path(tmp) / "batch.csv"
        start = _Cut(header_end, header_feeds)
        for end in ends:
            body = source.read(end.offset - start.offset)
            batch_file.write_bytes(header + body)
            facts = FileFacts(
                "",
                header_feeds + body.count(b"\n"),
                body.endswith(b"\n"),
                b"'" in body or b"'" in header,
            )
            # the batch file's line header_feeds + 1 is the file's line start.feeds + 1
            shift = start.feeds - header_feeds
            try:
                text, ignored = read_text_csv(
                    batch_file, known=known, synonyms=synonyms, facts=_done(facts)
                )
            except InvalidRows as exc:
                raise InvalidRows(
                    [
                        replace(p, file=name, line=p.line + shift if p.line > 1 else p.line)
                        for p in exc.problems
                    ]
                ) from None
            if not text.is_empty():
                yield text.with_columns(pl.col("line") + shift), ignored
            start = end
