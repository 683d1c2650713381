"""Every account's report at once, from a Parquet lake, on this machine or on Spark.

``run_batch`` checks the lake and options and runs an engine: ``local`` (worker processes
over the lake's partitions) or ``spark`` (``groupBy("account").applyInArrow``). Both call the
same per-account kernel (:mod:`workbench.batch.kernel`), which calls ``build_report``, the
function behind ``workbench report``.

    >>> run_batch("lake/", "out/", engine="local", as_of=date(2025, 12, 31))
"""

from __future__ import annotations

from workbench.batch.kernel import TABLES, Params, Shared, account_rows, accounts_frame
from workbench.batch.run import ENGINES, OUTPUT_MANIFEST, BatchSummary, run_batch

__all__ = [
    "ENGINES",
    "OUTPUT_MANIFEST",
    "TABLES",
    "BatchSummary",
    "Params",
    "Shared",
    "account_rows",
    "accounts_frame",
    "run_batch",
]
