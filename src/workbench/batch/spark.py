"""The ``spark`` engine: the kernel per account inside ``groupBy("account").applyInArrow``.

Spark reads the lake's transactions, shuffles them by account and hands each account's rows
to :func:`apply_group` as one Arrow table; Polars wraps it (``pl.from_arrow``, no copy, no
pandas) and the kernel returns the account's combined rows as Arrow. The shared data (closes
and every account's SPLIT rows) travels once: as a Spark broadcast on a classic session, inside
the function's closure on Spark Connect (which has no broadcast API), and is decoded once per
Python worker process, not per account.

Workers import this module, so they need the workbench package: in local mode they run this
very interpreter (``PYSPARK_PYTHON``); on a cluster ship the wheel (``--py-files`` or a
cluster library, see README "Scale-out on Spark"). pyspark is imported only here, inside
functions, so ``workbench`` runs without it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl

from workbench.batch.kernel import NUMBERS, TABLES, TEXT, Params, Shared, accounts_frame
from workbench.errors import BatchError, WorkbenchError
from workbench.lake.schema import Lake
from workbench.store.tables import TRANSACTION_COLUMNS

EXTRA = "pip install 'workbench[spark]'"
_MASTER = re.compile(
    r"^(local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|local-cluster\[\d+,\d+,\d+\]"
    r"|spark://\S+|yarn|k8s://\S+|mesos://\S+|sc://\S+)$"
)
# the worker's decoded shared data, per job token: decoded once per Python worker process
_CACHE: dict[str, Shared] = {}


def check_master(master: str) -> str:
    """``master`` if Spark knows its form, else BatchError listing the forms."""
    if not _MASTER.match(master):
        raise BatchError(
            f"unknown Spark master {master!r}; expected local[*], local[N], spark://HOST:PORT,"
            " yarn, k8s://URL or sc://HOST:PORT (Spark Connect)"
        )
    return master


def java_runtime() -> str | None:
    """The ``java`` Spark would start: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyspark's warning that it is not yet certified with pandas 3 (workbench hands
    Spark no pandas objects; pyspark only checks the installed version)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        yield


def _pyspark() -> Any:
    """The pyspark pieces the engine uses; BatchError naming the extra when pyspark is missing."""
    try:
        from pyspark import StorageLevel
        from pyspark.sql import SparkSession, functions
        from pyspark.sql import types as spark_types
    except ImportError as exc:
        raise BatchError(
            f"the spark engine needs pyspark, which is not installed: {EXTRA}"
        ) from exc
    return SimpleNamespace(
        StorageLevel=StorageLevel, SparkSession=SparkSession, F=functions, T=spark_types
    )


def session(master: str) -> tuple[Any, bool]:
    """The active Spark session, or a new one for ``master``; (session, whether we own it).

    Raises:
        BatchError: pyspark missing, no Java runtime for a JVM master, Spark failed to start.
    """
    check_master(master)
    SparkSession = _pyspark().SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        if java_runtime() is None:
            raise BatchError(
                "the spark engine needs a Java runtime (17 or newer) and found none on PATH or in"
                " JAVA_HOME; install one, e.g. `apt-get install openjdk-17-jre-headless`"
            )
        if master.startswith("local"):
            # workers must run this interpreter: the one that has workbench and polars
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(master).appName("workbench batch")
        if master.startswith("local"):
            cores = os.cpu_count() or 2
            builder = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", str(2 * cores))
            )
    try:
        with _quiet():
            spark = builder.getOrCreate()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BatchError(f"cannot start Spark with master {master!r}: {first}") from exc
    if not master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark, True


@dataclass
class Job:
    """What each Python worker needs: the parameters and the shared data (or its broadcast)."""

    params: Params
    token: str
    payload: bytes | None = None
    broadcast: Any = None


def _arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [(name, pa.string()) for name in TEXT] + [(name, pa.float64()) for name in NUMBERS]
    )


def spark_schema() -> Any:
    """The combined output as a Spark StructType (``table`` is a SQL keyword in DDL)."""
    T = _pyspark().T
    return T.StructType(
        [T.StructField(name, T.StringType()) for name in TEXT]
        + [T.StructField(name, T.DoubleType()) for name in NUMBERS]
    )


def apply_group(job: Job, table: Any) -> Any:
    """One account's rows (an Arrow table) -> its combined rows (an Arrow table); on workers."""
    shared = _CACHE.get(job.token)
    if shared is None:
        payload = job.broadcast.value if job.broadcast is not None else job.payload
        assert payload is not None
        shared = Shared.from_bytes(payload)
        _CACHE.clear()  # one job at a time per worker: drop an earlier job's data
        _CACHE[job.token] = shared
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    combined = accounts_frame(frame, shared, job.params)
    return combined.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(_arrow_schema())


def _worker_message(exc: BaseException) -> str:
    """The error a Python worker raised, out of Spark's wrapped traceback text."""
    text = str(exc)
    found = re.findall(r"(?:BatchError|WorkbenchError|LakeError): (.+)", text)
    if found:
        return str(found[-1]).strip()
    missing = re.findall(r"ModuleNotFoundError: (.+)", text)
    if missing:
        return (
            f"the Spark workers' Python cannot import what the batch needs ({missing[-1].strip()});"
            " install the workbench wheel on the workers (README: Scale-out on Spark) or point"
            " PYSPARK_PYTHON at an interpreter that has it"
        )
    errors = re.findall(r"^\s*([\w.]+(?:Error|Exception): .+)$", text, flags=re.MULTILINE)
    first = errors[-1] if errors else (text.strip().splitlines() or [type(exc).__name__])[0]
    return f"Spark job failed: {first.strip()}"


def _parallelism(spark: Any) -> int:
    """Partitions for the per-account work: two per core the session has (classic), else the
    session's shuffle partitions (Spark Connect has no SparkContext)."""
    try:
        return max(1, 2 * int(spark.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect: no SparkContext
        return max(1, int(spark.conf.get("spark.sql.shuffle.partitions")))


def run_spark(
    lake: Lake, staging: Path, shared: Shared, params: Params, *, master: str = "local[*]"
) -> None:
    """Compute every account of ``lake`` on Spark and write the three tables into ``staging``.

    Raises:
        BatchError: Spark cannot start, or an account fails (the message names it).
    """
    spark, owned = session(master)
    try:
        with _quiet():
            ps = _pyspark()
            source = spark.read.parquet(lake.tables["transactions"].path.resolve().as_uri())
            columns = [c for c in TRANSACTION_COLUMNS if c in source.columns]
            job = Job(params=params, token=uuid.uuid4().hex)
            payload = shared.to_bytes()
            if type(spark).__module__.startswith("pyspark.sql.connect"):
                job.payload = payload  # Spark Connect has no broadcast: the closure carries it
            else:
                job.broadcast = spark.sparkContext.broadcast(payload)

            # a plain function without annotations: applyInArrow then takes the Table form
            def apply(table):  # type: ignore[no-untyped-def]
                return apply_group(job, table)

            # an explicit hash partitioning by account: the groupBy reuses it (no second
            # shuffle), and adaptive execution cannot merge it into one partition, which it
            # does for small inputs (rows are few; the work per row is what is large)
            result = (
                source.select(*columns)
                .repartition(_parallelism(spark), "account")
                .groupBy("account")
                .applyInArrow(apply, schema=spark_schema())
                .persist(ps.StorageLevel.MEMORY_AND_DISK)
            )
            for name, cols in TABLES.items():
                (
                    result.filter(ps.F.col("table") == name)
                    .select(*cols)
                    .write.mode("errorifexists")
                    .parquet((staging / name).resolve().as_uri())
                )
            result.unpersist()
            if job.broadcast is not None:
                job.broadcast.destroy()
    except WorkbenchError:
        raise
    except Exception as exc:
        raise BatchError(_worker_message(exc)) from exc
    finally:
        if owned:
            spark.stop()
