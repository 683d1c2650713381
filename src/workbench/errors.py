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
    |   +-- MappingError         a broker mapping file (or preset) with bad keys
    |   +-- UnknownLayout        a file no preset recognises, with the columns seen
    |   +-- CorporateActionError a corporate action the ledger's holdings cannot carry out
    +-- QuoteError
    |   +-- SymbolNotFound
    |   +-- RateLimited          carries retry_after (seconds) when the provider said
    |   |   +-- DailyLimitReached  the day's requests are used up
    |   +-- ProviderUnavailable  timeouts, 5xx, connection failures, open circuit
    |   +-- MalformedResponse    a body the parser cannot read
    +-- TradeError               a refused trade (bad side, quantity or symbol)
    +-- FXError                  bad FX rate values; fetch failures are QuoteErrors
    |   +-- UnknownCurrency      a malformed code, or one a rate source does not publish
    |   +-- MissingRate          no exchange rate on or before a date for a currency pair
    +-- RefreshLocked            another refresh of the same database is running
    +-- LakeError                a Parquet lake with a missing part or a bad schema
    +-- BatchError               a batch run that cannot start or finish

Messages quote what users typed or files held, so ``str()`` of any of them escapes
non-printable characters the way ``repr`` does (``\\x1b``, ``\\n``, ``\\u202e``): a value
holding a terminal escape sequence or a line break is shown, never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character written as in a ``repr``.

    Control characters (ANSI escape sequences, line breaks, tabs), format characters such as
    bidirectional overrides, and separators other than the space become ``\\x1b``, ``\\n``,
    ``\\u202e``, ...; everything printable, backslashes and quotes included, is kept as it is,
    so a message stays readable and escaping twice changes nothing.

        >>> escape_controls("\\x1b[2J2024-01-02")
        '\\\\x1b[2J2024-01-02'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class WorkbenchError(Exception):
    """Root of every error a workbench user can cause or meet."""

    def __str__(self) -> str:
        # one line, and nothing a terminal would interpret (see the module docstring)
        return escape_controls(super().__str__())


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
        return escape_controls(f"{self.file}:{self.line}: {self.field}: {self.message}")


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


class FXError(WorkbenchError):
    """FX reference rates that cannot be read, stored or fetched.

    Fetch failures of a provider are :class:`QuoteError` subclasses (the same engine as
    quotes); this is for bad rate values and currencies no source has.
    """


class UnknownCurrency(FXError):
    """A currency code that is malformed, or that a rate source does not publish."""


class MissingRate(FXError):
    """No exchange rate on or before a date for a pair (never replaced by a silent 1).

    ``source`` and ``target`` are the pair asked for, ``date`` the day (None when no rate of
    the pair exists at all), ``leg`` the published pair that lacked a rate in a cross rate.
    """

    def __init__(
        self,
        source: str,
        target: str,
        date: object,
        *,
        leg: tuple[str, str] | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.date = date
        self.leg = leg
        if date is None:
            msg = f"no exchange rate for {source}->{target}: no rates connect the two currencies"
        else:
            msg = f"no exchange rate for {source}->{target} on or before {date}"
            if leg is not None and leg != (source, target):
                msg += f" (no {leg[0]}->{leg[1]} rate by then)"
        super().__init__(msg + "; import or fetch rates with `workbench fx`")


class RefreshLocked(WorkbenchError):
    """Another ``workbench refresh`` holds the refresh lock of this database.

    ``holder`` is the process id written in the lock file, when it could be read.
    """

    def __init__(self, lock: Path | str, holder: int | None = None) -> None:
        self.lock = Path(lock)
        self.holder = holder
        by = f"process {holder}" if holder is not None else "another process"
        super().__init__(
            f"a refresh is already running ({by} holds {self.lock}); this run did nothing"
        )


class DailyLimitReached(RateLimited):
    """The provider's requests for the day are used up (Alpha Vantage's 25 a day)."""


class MappingError(LedgerError):
    """A mapping file (or preset) that cannot be used: each problem names its key."""


class UnknownLayout(LedgerError):
    """A file whose header matches no preset and is not workbench's own layout."""


class LakeError(WorkbenchError):
    """A Parquet lake that cannot be written or read (missing table or partition, bad schema)."""


class BatchError(WorkbenchError):
    """A batch run that cannot start or finish (bad option, a failing account, no engine)."""


class CorporateActionError(LedgerError):
    """A corporate action that cannot be carried out on the holdings of its account (a
    spin-off of a symbol not held, merger cash with no way to allocate the cost basis)."""
