"""The Parquet lake: the ledger, prices, instruments and FX rates as files any engine reads.

``export_lake`` writes one from the store; ``open_lake`` checks one (ours or another tool's)
before a batch reads it. Layout, columns and the bucket function: :mod:`workbench.lake.schema`.
"""

from __future__ import annotations

from workbench.lake.export import LakeSummary, export_lake, staged_directory, write_lake
from workbench.lake.schema import (
    BUCKET_COLUMN,
    DEFAULT_BUCKETS,
    LAKE_VERSION,
    MANIFEST,
    REQUIRED,
    Lake,
    Table,
    bucket_of,
    open_lake,
)

__all__ = [
    "BUCKET_COLUMN",
    "DEFAULT_BUCKETS",
    "LAKE_VERSION",
    "MANIFEST",
    "REQUIRED",
    "Lake",
    "LakeSummary",
    "Table",
    "bucket_of",
    "export_lake",
    "open_lake",
    "staged_directory",
    "write_lake",
]
