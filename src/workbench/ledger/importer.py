"""Apply ledger rows to the store: all rows or none, and never the same row twice.

result = import_csv("data/workbench.duckdb", Path("trades.csv"))
print(result.added, "added,", result.duplicates, "already there")
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from workbench import config
from workbench.errors import InvalidRow, InvalidRows, OversoldError, TradeError, escape_controls
from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS, canonicalize
from workbench.ledger.csv_text import file_facts, read_text_csv
from workbench.ledger.holdings import oversold_rows
from workbench.ledger.keys import with_occurrence
from workbench.ledger.validate import validate_rows
from workbench.store import connect
from workbench.store import ledger_rows as sql


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


def _apply(
    db: str | os.PathLike[str] | None,
    load: Callable[[], tuple[pl.DataFrame, list[str]]],
    *,
    source: str,
    file_hash: Callable[[], str],
    dry_run: bool,
    dedupe: bool = True,
) -> ImportResult:
    """Validate the rows ``load`` returns (as text, with ignored column names) and apply them.

    ``load`` is called here so that nothing else holds the text: it is dropped once
    validated, and what follows reuses its memory (measured: a tenth fewer page faults on a
    million rows). ``file_hash`` is asked only when rows are written.
    """
    text, ignored = load()
    typed, problems = validate_rows(text, file=source)
    del text
    if problems:
        raise InvalidRows(problems)
    rows = with_occurrence(typed)
    with connect(db) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            if dedupe and sql.has_transactions(con):
                seen = sql.duplicate_lines(con, rows)
                if len(seen):
                    rows = rows.filter(~pl.col("line").is_in(seen.implode()))
            # before the insert, not beside it: both use every core, and running them at
            # once was measured slower than one after the other
            _check_holdings(con, rows, source)
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


def _check_holdings(con: Any, rows: pl.DataFrame, source: str) -> None:
    """Refuse the import if it sells more than is held anywhere.

    Only a SELL, or a split of fewer new shares than old, lowers a holding. A split is an
    event of its symbol (it applies to every account holding it), so pairs with a new SELL and
    every holder of a symbol with a new SPLIT take part, with their stored rows (read here, on
    the caller's connection and transaction).

    Raises:
        OversoldError: every sell left short, with its line (or the stored row it breaks).
    """
    pairs = rows.lazy().filter(pl.col("type") == "SELL").select("account", "symbol").unique()
    splits = rows.lazy().filter(pl.col("type") == "SPLIT").select(pl.col("symbol").unique())
    pairs_frame, splits_frame = pl.collect_all([pairs, splits])
    split_symbols = splits_frame["symbol"].to_list()
    if pairs_frame.is_empty() and not split_symbols:
        return
    violations = oversold_rows(sql.stored_trades(con, pairs_frame, split_symbols), rows)
    if not violations.is_empty():
        problems = _oversell_problems(source, violations)
        raise OversoldError(str(InvalidRows(problems)), problems=problems)


def import_csv(
    db: str | os.PathLike[str] | None, path: str | os.PathLike[str], *, dry_run: bool = False
) -> ImportResult:
    """Import a ledger CSV (DESIGN.md section 2) atomically and idempotently.

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
        facts = pool.submit(file_facts, file)
        return _apply(
            db,
            lambda: read_text_csv(file, known=LEDGER_COLUMNS, synonyms=SYNONYMS, facts=facts),
            source=str(file),
            file_hash=lambda: facts.result().sha256,
            dry_run=dry_run,
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
