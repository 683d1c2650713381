"""Ledger I/O: CSV import (atomic, idempotent, validated), trades, price history and export."""

from __future__ import annotations

from workbench.ledger.importer import (
    ImportResult,
    import_csv,
    import_frame,
    import_mapped,
    record_trade,
)

__all__ = ["ImportResult", "import_csv", "import_frame", "import_mapped", "record_trade"]
