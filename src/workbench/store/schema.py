"""The database schema as an ordered list of migrations.

Each migration moves the schema from version ``n - 1`` to ``n`` and runs inside the same
transaction as the version bump, so a file is always at exactly one known version.
Money, prices and quantities are ``DECIMAL(18, 8)``: exact sums that repeat bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.errors import SchemaError
from workbench.store.row_identity import recover_occurrences

MONEY = "DECIMAL(18, 8)"

#: version -> statements that bring the schema from version-1 to version
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE accounts (
            name VARCHAR PRIMARY KEY,
            currency VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
        )""",
        """CREATE TABLE instruments (
            symbol VARCHAR PRIMARY KEY,
            name VARCHAR,
            asset_class VARCHAR,
            sector VARCHAR,
            currency VARCHAR NOT NULL
        )""",
        f"""CREATE TABLE transactions (
            id BIGINT NOT NULL,
            date DATE NOT NULL,
            account VARCHAR NOT NULL,
            type VARCHAR NOT NULL,
            symbol VARCHAR,
            quantity {MONEY},
            price {MONEY},
            fee {MONEY} NOT NULL DEFAULT 0,
            amount {MONEY},
            currency VARCHAR NOT NULL,
            ratio_new {MONEY},
            ratio_old {MONEY},
            note VARCHAR,
            import_id BIGINT,
            row_key UHUGEINT NOT NULL
        )""",
        f"""CREATE TABLE prices (
            symbol VARCHAR NOT NULL,
            date DATE NOT NULL,
            open {MONEY},
            high {MONEY},
            low {MONEY},
            close {MONEY} NOT NULL,
            volume DOUBLE,
            currency VARCHAR,
            provider VARCHAR NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (symbol, date)
        )""",
        """CREATE TABLE imports (
            id BIGINT PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            file_hash VARCHAR NOT NULL,
            rows BIGINT NOT NULL,
            added BIGINT NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
        )""",
    ],
    2: [
        # version 2: the latest-quote log, and what kind of file an import was
        f"""CREATE TABLE quotes (
            symbol VARCHAR NOT NULL,
            price {MONEY} NOT NULL,
            currency VARCHAR,
            volume DOUBLE,
            quote_time TIMESTAMPTZ,
            provider VARCHAR NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL
        )""",
        "ALTER TABLE imports ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'transactions'",
    ],
    3: [
        # version 3: reference FX rates as published (1 base = rate quote) with provenance.
        # DOUBLE, not DECIMAL: every published rate (ECB's 4-6 significant digits, Yahoo's
        # 17) round-trips exactly, and rates of small units (1 IDR in EUR) keep their digits.
        # Writes replace a changed rate of a (date, base, quote); see workbench.fx.store.
        """CREATE TABLE fx_rates (
            date DATE NOT NULL,
            base VARCHAR NOT NULL,
            quote VARCHAR NOT NULL,
            rate DOUBLE NOT NULL,
            source VARCHAR NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (date, base, quote)
        )""",
    ],
    4: [
        # version 4: requests sent per provider and UTC day (Alpha Vantage's daily cap)
        """CREATE TABLE provider_usage (
            provider VARCHAR NOT NULL,
            day DATE NOT NULL,
            requests BIGINT NOT NULL,
            exhausted BOOLEAN NOT NULL DEFAULT false,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (provider, day)
        )""",
    ],
    5: [
        # version 5: instruments known by ISIN (broker files), and the ticker each is filed under
        """CREATE TABLE instrument_ids (
            isin VARCHAR PRIMARY KEY,
            symbol VARCHAR NOT NULL,
            name VARCHAR
        )""",
    ],
    6: [
        # version 6: corporate actions (SYMBOL_CHANGE, SPINOFF, MERGER, ...): the symbol a
        # row's shares become, and the fraction of the cost basis that moves with them
        "ALTER TABLE transactions ADD COLUMN target VARCHAR",
        f"ALTER TABLE transactions ADD COLUMN cost_fraction {MONEY}",
    ],
    7: [
        # version 7: a row's occurrence number is stored; its identity is its values and
        # occurrence, compared as they are (workbench.store.row_identity), not an MD5 of them.
        # The occurrences are read back out of the MD5 keys first (see PREPARE).
        "ALTER TABLE transactions ADD COLUMN occurrence BIGINT NOT NULL DEFAULT 0",
        "UPDATE transactions SET occurrence = o.occurrence FROM _wb_recovered_occurrence o"
        " WHERE transactions.rowid = o.rid",
        "ALTER TABLE transactions ALTER occurrence DROP DEFAULT",
        "ALTER TABLE transactions DROP COLUMN row_key",
        "DROP TABLE _wb_recovered_occurrence",
    ],
}


#: version -> a step run before that version's statements, in the same transaction
PREPARE: dict[int, Callable[[Any], None]] = {7: recover_occurrences}

SCHEMA_VERSION = max(MIGRATIONS)


def current_version(con: Any) -> int:
    """The schema version of an open database (0 when it is empty)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    return int(row or 0)


def migrate(con: Any, *, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Bring the schema up to ``target``; returns (version before, version after).

    Raises:
        SchemaError: the file is newer than this workbench knows.
    """
    before = current_version(con)
    if before > SCHEMA_VERSION:
        raise SchemaError(
            f"database schema version {before} is newer than this workbench supports"
            f" ({SCHEMA_VERSION}); upgrade workbench"
        )
    if before >= target:
        return before, before
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
        )
        for version in range(before + 1, target + 1):
            if version in PREPARE:
                PREPARE[version](con)
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return before, target
