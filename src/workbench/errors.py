"""The workbench exception tree.

Every error a user can cause derives from :class:`WorkbenchError`; the CLI turns any of them
into one line on stderr and exit status 1.

    WorkbenchError
    +-- StoreError
    |   +-- StoreBusy            another process holds the database file past the wait
    |   +-- SchemaError          the file has a schema this version cannot use
    +-- LedgerError
    |   +-- InvalidRows          one or more bad rows, each an InvalidRow(file, line, field)
    |   +-- OversoldError        a sell of more than is held
    +-- QuoteError
    |   +-- SymbolNotFound
    |   +-- RateLimited          carries retry_after (seconds) when the provider said
    |   +-- ProviderUnavailable  timeouts, 5xx, connection failures, open circuit
    |   +-- MalformedResponse    a body the parser cannot read
    +-- TradeError               a refused trade (bad side, quantity or symbol)
    +-- LakeError                a Parquet lake with a missing part or a bad schema
    +-- BatchError               a batch run that cannot start or finish
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class WorkbenchError(Exception):
    """Root of every error a workbench user can cause or meet."""


class StoreError(WorkbenchError):
    """A problem with the DuckDB database file."""


class StoreBusy(StoreError):
    """Another process held the database file for longer than the bounded wait."""

    def __init__(self, path: Path | str, waited: float, detail: str = "") -> None:
        self.path = Path(path)
        self.waited = waited
        msg = f"database {self.path} is busy: another process holds it (waited {waited:.1f} s)"
        if detail:
            msg += f"; {detail}"
        super().__init__(msg)


class SchemaError(StoreError):
    """The database has a schema version this workbench cannot use."""


class LedgerError(WorkbenchError):
    """A ledger import or transaction that cannot be applied."""


@dataclass(frozen=True)
class InvalidRow:
    """One bad value: where it is and what is wrong with it."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class InvalidRows(LedgerError):
    """An import refused because of bad rows; nothing was applied.

    ``problems`` lists every bad row found (not only the first).
    """

    def __init__(self, problems: list[InvalidRow], *, limit: int = 20) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:limit])
        more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
        noun = "row" if len(problems) == 1 else "rows"
        super().__init__(f"{len(problems)} invalid {noun}, nothing imported: {shown}{more}")


class OversoldError(LedgerError):
    """A sell of more than the account holds at that point; nothing was applied.

    ``problems`` names each offending row (file, line, what was sold and held).
    """

    def __init__(self, message: str, *, problems: list[InvalidRow] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class QuoteError(WorkbenchError):
    """A quote or history request that did not produce a value."""

    #: short reason used in the JSON ``error`` field
    reason = "error"


class SymbolNotFound(QuoteError):
    """The provider does not know the symbol."""

    reason = "not found"


class RateLimited(QuoteError):
    """The provider refused because of rate limits."""

    reason = "rate limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProviderUnavailable(QuoteError):
    """The provider could not be reached or failed (timeouts, 5xx, open circuit)."""

    reason = "unavailable"


class MalformedResponse(QuoteError):
    """The provider answered with a body that cannot be parsed."""

    reason = "malformed response"


class TradeError(WorkbenchError):
    """A trade that was refused; nothing was stored."""


class LakeError(WorkbenchError):
    """A Parquet lake that cannot be written or read (missing table or partition, bad schema)."""


class BatchError(WorkbenchError):
    """A batch run that cannot start or finish (bad option, a failing account, no engine)."""
