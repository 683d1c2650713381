"""Apply ledger rows to the store: all rows or none, and never the same row twice.

result = import_csv("data/workbench.duckdb", Path("trades.csv"))
print(result.added, "added,", result.duplicates, "already there")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from workbench import config
from workbench.errors import InvalidRow, InvalidRows, OversoldError, TradeError, escape_controls
from workbench.ledger import batches
from workbench.ledger.action_holdings import ActionProblems, any_actions
from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS, canonicalize
from workbench.ledger.csv_text import FileFacts, file_facts, read_text_csv, read_typed_csv
from workbench.ledger.holdings import lean_trades, oversold_rows
from workbench.ledger.keys import occurrence_numbers, row_digests, with_occurrence
from workbench.ledger.validate import CORPORATE, MONEY, NUMERIC, validate_rows
from workbench.store import connect
from workbench.store import ledger_rows as sql
from workbench.store.connection import remove_if_unused


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    source: str
    rows: int
    added: int
    dry_run: bool
    import_id: int | None = None
    first_id: int | None = None
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Rows already in the ledger, skipped."""
        return self.rows - self.added

    def summary(self) -> str:
        """One line for people."""
        verb = "would add" if self.dry_run else "added"
        text = f"{self.source}: {self.rows} rows, {verb} {self.added}, {self.duplicates} already imported"
        if self.ignored_columns:
            text += f" (ignored columns: {', '.join(self.ignored_columns)})"
        # file and column names come from outside: never echo a terminal escape sequence raw
        return escape_controls(text)


def _oversell_problems(file: str, violations: pl.DataFrame) -> list[InvalidRow]:
    problems = []
    for v in violations.iter_rows(named=True):
        held = f"{v['held']:.8g}"
        sold = f"{v['quantity']:.8g}"
        if v["line"] is not None:
            message = f"sells {sold} {v['symbol']} but account {v['account']!r} holds {held} on {v['date']}"
            problems.append(InvalidRow(file, v["line"], "quantity", message))
        else:
            message = (
                f"leaves stored transaction {v['id']} ({v['date']}) selling {sold} {v['symbol']}"
                f" with only {held} held in account {v['account']!r}"
            )
            problems.append(InvalidRow(file, v["first_new_line"], "quantity", message))
    return problems


def _unseen(con: Any, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` without those whose key is already in the ledger."""
    seen = sql.duplicate_lines(con, rows)
    return rows.filter(~pl.col("line").is_in(seen.implode())) if len(seen) else rows


def _apply(
    db: str | os.PathLike[str] | None,
    load: Callable[[], tuple[pl.DataFrame, list[str]]],
    *,
    source: str,
    file_hash: Callable[[], str],
    dry_run: bool,
    dedupe: bool = True,
    prepare: Callable[[Any], object] | None = None,
    text: Callable[[], tuple[pl.DataFrame, list[str]]] | None = None,
) -> ImportResult:
    """Validate the rows ``load`` returns (as text, with ignored column names) and apply them.

    ``text``: the rows as text, asked when those ``load`` gave had numeric columns read as
    decimals and problems: the problems of the text are reported (they quote values as
    written).

    ``load`` is called here so that nothing else holds the text: it is dropped once
    validated, and what follows reuses its memory (measured: a tenth fewer page faults on a
    million rows). ``file_hash`` is asked only when rows are written. ``prepare`` runs first
    in the transaction (on its connection), before the duplicate and holdings checks.

    The database is opened (and migrated) in a worker thread while the rows are read and
    validated.
    """
    target = config.db_path(db)
    fresh = not target.exists()
    try:
        result = _apply_to(
            target,
            load,
            source=source,
            file_hash=file_hash,
            dry_run=dry_run,
            dedupe=dedupe,
            prepare=prepare,
            text=text,
        )
    except BaseException:
        if fresh:  # opened early for speed: a refused import leaves no new, empty database
            remove_if_unused(target)
        raise
    return result


def _apply_to(
    db: Path,
    load: Callable[[], tuple[pl.DataFrame, list[str]]],
    *,
    source: str,
    file_hash: Callable[[], str],
    dry_run: bool,
    dedupe: bool,
    prepare: Callable[[Any], object] | None,
    text: Callable[[], tuple[pl.DataFrame, list[str]]] | None,
) -> ImportResult:
    """The body of :func:`_apply`."""
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        opening = pool.submit(stack.enter_context, connect(db))
        rows, ignored = load()
        decimals = any(isinstance(dtype, pl.Decimal) for dtype in rows.schema.values())
        typed, problems = _validate(rows, source, pool)
        del rows
        if problems and decimals and text is not None:
            rows, ignored = text()
            typed, problems = _validate(rows, source, pool)
            del rows
        if problems:
            raise InvalidRows(problems)
        rows = with_occurrence(typed)
        con = opening.result()
        con.execute("BEGIN TRANSACTION")
        try:
            if prepare is not None:
                prepare(con)
            stored = sql.has_transactions(con)
            if dedupe and stored:
                rows = _unseen(con, rows)
            # before the insert, not beside it: both use every core, and running them at
            # once was measured slower than one after the other (again with a two-step
            # check: it saved no time and cost CPU on a loaded machine)
            _check_holdings(con, rows, source, stored=stored)
            if dry_run or rows.is_empty():
                con.execute("ROLLBACK")
                return ImportResult(
                    source, typed.height, rows.height, dry_run, ignored_columns=ignored
                )
            info = sql.insert_rows(
                con, rows, file_name=source, total_rows=typed.height, kind="transactions",
                file_hash=file_hash(),
            )  # fmt: skip
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return ImportResult(
        source, typed.height, info["added"], dry_run,
        import_id=info["import_id"], first_id=info["first_id"], ignored_columns=ignored,
    )  # fmt: skip


#: rows from which validation runs in two halves side by side
_HALVES_FROM = 100_000


def _validate(
    text: pl.DataFrame, source: str, pool: ThreadPoolExecutor
) -> tuple[pl.DataFrame, list[InvalidRow]]:
    """:func:`validate_rows` of ``text``: a large frame in two halves, one on ``pool``.

    Every check of a row reads that row only, so the halves find the rows and problems the
    whole finds, in line order; a problem of the file's columns (line 1) is reported as the
    whole frame reports it.
    """
    if text.height < _HALVES_FROM:
        return validate_rows(text, file=source)
    half = text.height // 2
    later = pool.submit(validate_rows, text.slice(half), file=source)
    try:
        first = validate_rows(text.slice(0, half), file=source)
    finally:
        second = later.result()
    problems = first[1] + second[1]
    if any(p.line <= 1 for p in problems):
        return validate_rows(text, file=source)
    if problems:
        return pl.DataFrame(), problems
    return pl.concat([first[0], second[0]]), []


def _check_holdings(
    con: Any,
    rows: pl.DataFrame,
    source: str,
    *,
    trades: pl.DataFrame | None = None,
    parts: list[list[pl.DataFrame]] | None = None,
    stored: bool = True,
) -> None:
    """Refuse the import if it sells more than is held anywhere.

    Only a SELL, or a split of fewer new shares than old, lowers a holding. A split is an
    event of its symbol (it applies to every account holding it), so pairs with a new SELL and
    every holder of a symbol with a new SPLIT take part, with their stored rows (read here, on
    the caller's connection and transaction). ``trades``: :func:`lean_trades` of the new
    rows when ``rows`` holds only their splits. ``parts``: instead of ``trades``, those of a
    file read in batches, split by :func:`_symbol_part` (each part is checked on its own, so
    the check's working memory is that of one part: symbols never span parts). ``stored``:
    whether the ledger holds any transaction (if not, none is read).

    Raises:
        OversoldError: every sell left short, with its line (or the stored row it breaks).
    """
    if parts is None or any_actions(rows):
        # corporate actions move shares between symbols of different parts: one check
        if parts is not None:
            pieces = [piece for part in parts for piece in part]
            trades = pl.concat(pieces) if pieces else lean_trades(rows.head(0))
        _refuse(source, [_oversold(con, rows, trades, source=source, stored=stored)])
        return
    part = pl.col("symbol").cast(pl.Categorical).to_physical() % _CHECK_PARTS
    found = []
    for k, pieces in enumerate(parts):
        splits = rows.filter(part == k)
        if pieces or not splits.is_empty():
            new = pl.concat(pieces) if pieces else lean_trades(splits.head(0))
            found.append(_oversold(con, splits, new, source=source, stored=stored))
    _refuse(source, found)


def _refuse(source: str, found: list[pl.DataFrame | None]) -> None:
    """Raise :class:`OversoldError` for the violations ``found``, if any."""
    violations = [v for v in found if v is not None and not v.is_empty()]
    if violations:
        ordered = pl.concat(violations).sort("account", "symbol", maintain_order=True)
        problems = _oversell_problems(source, ordered)
        raise OversoldError(str(InvalidRows(problems)), problems=problems)


def _oversold(
    con: Any, rows: pl.DataFrame, trades: pl.DataFrame | None, *, source: str, stored: bool
) -> pl.DataFrame | None:
    """:func:`oversold_rows` of ``rows`` (or of their splits and ``trades``) and the stored
    rows they touch (none when ``stored`` is false: an empty ledger); None when no row can
    lower a holding."""
    if not stored:
        # nothing to read back: measured 0.03-0.1 s of a million new rows for their pairs,
        # the queries and the registered pairs frame
        kinds = ("SPLIT", *CORPORATE) if trades is not None else ("SELL", "SPLIT", *CORPORATE)
        lowers = rows.select(pl.col("type").is_in(kinds).any()).item()
        if not lowers and (trades is None or not (trades["signed"] < 0).any()):
            return None
        columns = ("account", "symbol", "date", "type", "quantity", "ratio_new", "ratio_old")
        return _replayed(
            rows.head(0).select(pl.col("line").alias("id"), *columns), rows, trades, source
        )
    if trades is None:
        pairs = rows.lazy().filter(pl.col("type") == "SELL").select("account", "symbol")
    else:
        pairs = trades.lazy().filter(pl.col("signed") < 0).select("account", "symbol")
    pairs = pairs.unique()
    splits = rows.lazy().filter(pl.col("type") == "SPLIT").select(pl.col("symbol").unique())
    pairs_frame, splits_frame = pl.collect_all([pairs, splits])
    split_symbols = splits_frame["symbol"].to_list()
    actions = rows.filter(pl.col("type").is_in(CORPORATE)) if any_actions(rows) else rows.head(0)
    if pairs_frame.is_empty() and not split_symbols and actions.is_empty():
        return None
    # corporate actions (stored or new) of the accounts checked bring in every position they
    # touch: a sale of a symbol after its change finds nothing held
    accounts = (
        pl.concat([pairs_frame["account"].cast(pl.String), actions["account"].cast(pl.String)])
        .unique()
        .to_list()
    )
    stored_actions = sql.stored_actions(con, accounts) if accounts else pl.DataFrame()
    if not stored_actions.is_empty() or not actions.is_empty():
        pairs_frame = pl.concat(
            [pairs_frame.select(pl.col("account", "symbol").cast(pl.String))]
            + [
                part.select("account", "symbol")
                for frame in (stored_actions, actions)
                if not frame.is_empty()
                for part in (frame, frame.filter(pl.col("target").is_not_null()).select(
                    "account", symbol="target"))
            ]
        ).unique()  # fmt: skip
    existing = sql.stored_trades(con, pairs_frame, split_symbols)
    if not stored_actions.is_empty():
        existing = pl.concat([existing, stored_actions], how="diagonal_relaxed")
    return _replayed(existing, rows, trades, source)


def _replayed(
    existing: pl.DataFrame, rows: pl.DataFrame, trades: pl.DataFrame | None, source: str
) -> pl.DataFrame:
    """:func:`oversold_rows`, its corporate-action problems raised as bad rows."""
    try:
        return oversold_rows(existing, rows, new_trades=trades)
    except ActionProblems as exc:
        problems = [
            InvalidRow(source, order, field, message)
            if src == 1
            else InvalidRow(source, 0, field, f"stored transaction {order}: {message}")
            for src, order, field, message in exc.problems
        ]
        raise InvalidRows(problems) from exc


#: parts of the symbols whose holdings a file read in batches checks one after another
_CHECK_PARTS = 8


def _symbol_part(trades: pl.DataFrame) -> list[pl.DataFrame]:
    """:func:`lean_trades` split into :data:`_CHECK_PARTS` parts by symbol (its categorical
    code, the same for the same text in every frame of the process)."""
    part = pl.col("symbol").to_physical() % _CHECK_PARTS
    return [trades.filter(part == k) for k in range(_CHECK_PARTS)]


#: DuckDB's memory limit while a batched import stages its rows: staged rows beyond it go to
#: DuckDB's temporary files instead of staying in memory
_STAGING_MEMORY = "300MB"


def _apply_batches(
    db: str | os.PathLike[str] | None,
    parts: Generator[tuple[pl.DataFrame, list[str]]],
    *,
    source: str,
    file_hash: Callable[[], str],
    dry_run: bool,
) -> ImportResult:
    """Validate and apply a file read in batches (``parts``), all or nothing, in bounded memory.

    Good batches are staged as they come in a temporary table of the connection (never in the
    database file, so a killed process leaves the file as it was); once a batch has bad rows
    nothing more is staged, but every batch is still validated so that every bad row is
    reported. Across batches each row keeps its digest (occurrence numbers count identical
    rows of earlier batches) and, if a trade, the few columns the holdings check reads
    (:func:`lean_trades`; it runs once over all of them, with the splits). Then one transaction checks holdings and moves the staged rows into the ledger.
    Measured: rows inserted batch by batch into ``transactions`` inside one transaction stay in
    DuckDB's memory until the commit (~185 bytes a row); staged rows and one move do not.
    """
    problems: list[InvalidRow] = []
    digests: pl.Series | None = None  # of every row so far, one chunk a batch (never copied)
    trades: list[list[pl.DataFrame]] = [[] for _ in range(_CHECK_PARTS)]
    splits: list[pl.DataFrame] = []
    accounts: list[pl.DataFrame] = []
    instruments: list[pl.DataFrame] = []
    ignored: list[str] = []
    total = added = 0
    with connect(db) as con:
        con.execute(f"SET memory_limit = '{_STAGING_MEMORY}'")
        try:
            sql.create_staging(con)
            stored = sql.has_transactions(con)  # staging never writes transactions: it holds
            for text, columns in parts:
                ignored = columns
                typed, found = validate_rows(text, file=source)
                del text
                if any(p.line == 1 for p in found):  # the header: the same in every batch
                    raise InvalidRows(found)
                problems += found
                if problems:
                    continue
                total += typed.height
                digest = row_digests(typed)
                rows = typed.with_columns(occurrence_numbers(digest, digests))
                del typed
                digests = digest if digests is None else digests.append(digest)
                if stored:
                    rows = _unseen(con, rows)
                for part, piece in zip(trades, _symbol_part(lean_trades(rows)), strict=True):
                    if not piece.is_empty():
                        part.append(piece)
                # splits and corporate actions (few) are kept whole for the holdings check
                splits.append(rows.filter(pl.col("type").is_in(("SPLIT", *CORPORATE))))
                names = sql.names_of(rows)
                accounts.append(names[0])
                instruments.append(names[1])
                sql.insert_batch(con, rows, first_id=added, import_id=0, table=sql.STAGING)
                added += rows.height
                del rows
            if problems:
                raise InvalidRows(problems)
            if digests is None:
                raise InvalidRows([InvalidRow(source, 2, "file", "no rows after the header")])
            del digests
            con.execute("BEGIN TRANSACTION")
            try:
                _check_holdings(con, pl.concat(splits), source, parts=trades, stored=stored)
                if dry_run or not added:
                    con.execute("ROLLBACK")
                    return ImportResult(source, total, added, dry_run, ignored_columns=ignored)
                import_id, first_id = sql.next_ids(con)
                sql.insert_names(
                    con,
                    pl.concat(accounts).unique("account", keep="first"),
                    pl.concat(instruments).unique("symbol", keep="first"),
                )
                sql.move_staged(con, first_id=first_id, import_id=import_id)
                sql.record_import(
                    con, import_id, file_name=source, file_hash=file_hash(), total_rows=total,
                    added=added, kind="transactions",
                )  # fmt: skip
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            parts.close()  # its batch file goes now, not when the generator is collected
            sql.drop_staging(con)
            # the checkpoint that writes the moved rows runs within the limit too: left to
            # the close, after the reset, it was measured the import's peak (1.7 GB of
            # 10 million demo rows, against 1.1 GB while staging)
            _checkpoint(con)
            con.execute("RESET memory_limit")
    return ImportResult(
        source, total, added, dry_run, import_id=import_id, first_id=first_id,
        ignored_columns=ignored,
    )  # fmt: skip


def _checkpoint(con: Any) -> None:
    """Checkpoint now if no other transaction is open (then the close does it, as always)."""
    import duckdb

    with suppress(duckdb.Error):
        con.execute("CHECKPOINT")


#: the columns a ledger CSV is read with as decimals (validation's type for them)
_DECIMALS = dict.fromkeys(NUMERIC, MONEY)


def import_csv(
    db: str | os.PathLike[str] | None,
    path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    facts: Future[FileFacts] | None = None,
    source: str | None = None,
) -> ImportResult:
    """Import a ledger CSV (DESIGN.md section 2) atomically and idempotently.

    ``facts``: :func:`file_facts` of the file already under way (a caller that started it
    while telling the file's layout), so that the file is not read for it twice.
    ``source``: the name the imports record and row errors give the file (default its path;
    an app's upload gives the name it was uploaded as, not its temporary copy's path).

    Raises:
        InvalidRows: every bad value, with file, line and field; nothing is imported.
        OversoldError: a sell of more than is held; nothing is imported.
        StoreBusy: another process held the database past the bounded wait.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidRows([InvalidRow(str(file), 0, "file", "no such file")])
    with ThreadPoolExecutor(max_workers=1) as pool:
        # one read hashes the file (for the imports record) and counts its lines (for
        # records spanning lines), beside parsing and validating it
        known = facts if facts is not None else pool.submit(file_facts, file)
        if file.stat().st_size > batches.STREAM_BYTES:
            return _apply_batches(
                db,
                batches.csv_batches(
                    file, known=LEDGER_COLUMNS, synonyms=SYNONYMS, every=batches.BATCH_BYTES
                ),
                source=source or str(file),
                file_hash=lambda: known.result().sha256,
                dry_run=dry_run,
            )

        def text() -> tuple[pl.DataFrame, list[str]]:
            return read_text_csv(file, known=LEDGER_COLUMNS, synonyms=SYNONYMS, facts=known)

        def load() -> tuple[pl.DataFrame, list[str]]:
            # numbers parsed by the CSV reader: measured 0.05-0.15 s less CPU a million rows
            # than casting their text
            typed = read_typed_csv(
                file, known=LEDGER_COLUMNS, synonyms=SYNONYMS, decimals=_DECIMALS, facts=known
            )
            return typed if typed is not None else text()

        return _apply(
            db,
            load,
            source=source or str(file),
            file_hash=lambda: known.result().sha256,
            dry_run=dry_run,
            text=text,
        )


def import_frame(
    db: str | os.PathLike[str] | None,
    frame: pl.DataFrame,
    *,
    source: str,
    dry_run: bool = False,
) -> ImportResult:
    """Import ledger rows held in a frame (ledger CSV columns, any types) like a CSV file.

    ``source`` names the rows in messages and in the imports table; line numbers count as if
    the frame were a CSV file with a header.
    """
    # no file behind the rows: the imports record keeps an empty hash, as for trades
    return _apply(
        db,
        lambda: canonicalize(frame, file=source, known=LEDGER_COLUMNS, synonyms=SYNONYMS),
        source=source,
        file_hash=lambda: "",
        dry_run=dry_run,
    )


def import_mapped(
    db: str | os.PathLike[str] | None,
    rows: pl.DataFrame,
    *,
    source: str,
    lines: list[int],
    file_hash: Callable[[], str] | None = None,
    dry_run: bool = False,
    prepare: Callable[[Any], object] | None = None,
) -> ImportResult:
    """Import ledger rows mapped from another layout (a broker export) like a CSV file.

    ``rows`` has the ledger columns as text and ``line`` = 1, 2, ... in apply order (one file
    line may give several rows); ``lines[i]`` is the file line of the row ``line == i + 1``,
    and errors name those file lines. ``file_hash`` gives the file's SHA-256 for the imports
    record (asked only when rows are written). ``prepare(con)`` runs first in the import's
    transaction (instruments known by ISIN attach their tickers there).

    Raises:
        InvalidRows, OversoldError: as :func:`import_csv`, with the file's own line numbers.
    """

    def original(problems: list[InvalidRow]) -> list[InvalidRow]:
        return [
            InvalidRow(
                p.file,
                lines[p.line - 1] if 0 < p.line <= len(lines) else p.line,
                p.field,
                p.message,
            )
            for p in problems
        ]

    try:
        return _apply(
            db,
            lambda: (rows, []),
            source=source,
            file_hash=file_hash or (lambda: ""),
            dry_run=dry_run,
            prepare=prepare,
        )
    except OversoldError as exc:
        problems = original(exc.problems)
        raise OversoldError(str(InvalidRows(problems)), problems=problems) from exc
    except InvalidRows as exc:
        raise InvalidRows(original(exc.problems)) from exc


def record_trade(
    db: str | os.PathLike[str] | None,
    *,
    side: str,
    symbol: str,
    quantity: Decimal | float | str,
    price: Decimal | float | str,
    fee: Decimal | float | str = 0,
    account: str = "default",
    currency: str | None = None,
    date: dt.date | None = None,
    note: str | None = None,
) -> int:
    """Record one BUY or SELL at a given price; returns the new transaction id.

    Two identical trades are two rows (unlike file imports, trades are never de-duplicated).

    Raises:
        TradeError: a bad side, quantity, price or symbol; nothing is stored.
        OversoldError: a sell of more than the account holds; nothing is stored.
    """
    kind = side.strip().upper()
    if kind not in ("BUY", "SELL"):
        raise TradeError(f"trade side must be buy or sell, not {side!r}")
    if not symbol.strip():
        raise TradeError("trade symbol is empty")
    row = {
        "date": (date or dt.date.today()).isoformat(),
        "account": account,
        "type": kind,
        "symbol": symbol.strip(),
        "quantity": str(quantity),
        "price": str(price),
        "fee": str(fee),
        "currency": currency or config.BASE_CURRENCY,
        "note": note,
    }
    frame = pl.DataFrame([row], schema={k: pl.String for k in row})
    source = f"trade {kind} {symbol}"
    try:
        result = _apply(
            db,
            lambda: canonicalize(frame, file=source, known=LEDGER_COLUMNS, synonyms=SYNONYMS),
            source=source,
            file_hash=lambda: "",
            dry_run=False,
            dedupe=False,
        )
    except InvalidRows as exc:
        raise TradeError("; ".join(f"{p.field}: {p.message}" for p in exc.problems)) from exc
    except OversoldError as exc:
        # a trade is not a file: say what was refused without a file and line
        reasons = "; ".join(p.message for p in exc.problems) or str(exc)
        raise OversoldError(f"trade refused: {reasons}", problems=exc.problems) from exc
    assert result.first_id is not None
    return result.first_id
