"""Exchange rates as of a date: the lookup every conversion to a reporting currency uses.

Rates come as published (``date, base, quote, rate``: 1 base = rate quote). The rate of
``c -> R`` on day ``d`` (DESIGN section 3b):

* ``c -> c`` is 1;
* otherwise the latest published rate on or before ``d``, never a later one: the pair as
  published (``c, R``), or its inverse (``R, c``: ``1 / rate``), or a cross rate through a
  currency both sides have rates with (EUR first, then USD, then any other in alphabetical
  order): ``c -> R = (c -> P) x (P -> R)`` with each leg looked up as of ``d`` on its own,
  so a leg missing on a day (a holiday of one publisher) takes that leg's previous rate;
* sub-units: ``GBp``/``GBX`` (pence), ``ZAc``/``ZAC`` (cents) and ``ILA`` (agorot) are 1/100
  of GBP, ZAR and ILS.

No rate on or before ``d`` is a :class:`~workbench.errors.MissingRate` naming the pair and
the date, never a silent 1. A rate used for a day more than :data:`STALE_AFTER_DAYS` calendar
days after it was published is *stale*: allowed, and listed by :func:`stale_warnings` (a
long weekend with a holiday, such as Good Friday to Easter Monday, leaves the ECB's Thursday
rate in force for 4 days, which is not stale).

    >>> to_reporting(rows, "USD", rates)          # adds column fx: USD per unit of `currency`
    >>> rate_on(rates, "EUR", "USD", date(2024, 3, 29))
    RateOn(rate=1.0811, date=datetime.date(2024, 3, 28))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from workbench.errors import MissingRate

#: a rate older than this many calendar days on the day it is used is listed as stale
STALE_AFTER_DAYS = 5
#: sub-unit code -> (currency, units of it per sub-unit)
SUBUNITS: dict[str, tuple[str, float]] = {
    "GBP_PENCE": ("GBP", 0.01),
    "GBX": ("GBP", 0.01),
    "GBp": ("GBP", 0.01),
    "ZAC": ("ZAR", 0.01),
    "ZAc": ("ZAR", 0.01),
    "ILA": ("ILS", 0.01),
}
#: pivots tried for cross rates, in order, before any other currency
PIVOTS = ("EUR", "USD")
_EPOCH = dt.date(1900, 1, 1)
RATES_SCHEMA = {
    "date": pl.Date, "base": pl.String, "quote": pl.String, "rate": pl.Float64,
    "source": pl.String,
}  # fmt: skip
LOOKUP_SCHEMA = {
    "date": pl.Date, "currency": pl.String, "fx": pl.Float64, "rate_date": pl.Date,
}  # fmt: skip

_PLAN_SCHEMA = {
    "currency": pl.String, "_s1": pl.String, "_d1": pl.String, "_s2": pl.String,
    "_d2": pl.String, "_factor": pl.Float64,
}  # fmt: skip
IN_FORCE_SCHEMA = {
    "currency": pl.String, "rate": pl.Float64, "rate_date": pl.Date, "age_days": pl.Int64,
    "stale": pl.Boolean,
}  # fmt: skip


def empty_rates() -> pl.DataFrame:
    """A rates frame with no rows (for ledgers in one currency)."""
    return pl.DataFrame(schema=RATES_SCHEMA)


def split_unit(code: str) -> tuple[str, float]:
    """``'GBp'`` -> ``('GBP', 0.01)``; a plain currency -> ``(code, 1.0)``."""
    return SUBUNITS.get(code, (code, 1.0))


@dataclass(frozen=True)
class RateTable:
    """Published rates turned into directed legs (both directions), sorted by date."""

    legs: pl.DataFrame
    pairs: frozenset[tuple[str, str]]

    @classmethod
    def from_rates(cls, rates: pl.DataFrame) -> RateTable:
        """Build from a ``date, base, quote, rate`` frame (other columns ignored)."""
        clean = (
            rates.select(
                "date",
                pl.col("base").cast(pl.String),
                pl.col("quote").cast(pl.String),
                pl.col("rate").cast(pl.Float64),
            )
            .filter(pl.col("rate").is_finite() & (pl.col("rate") > 0))
            .filter(pl.col("base") != pl.col("quote"))
        )
        legs = (
            pl.concat(
                [
                    clean.select("date", src="base", dst="quote", rate="rate"),
                    clean.select("date", src="quote", dst="base", rate=1.0 / pl.col("rate")),
                ]
            )
            # one rate per leg and day (the last given wins when a pair was published twice)
            .unique(subset=["src", "dst", "date"], keep="last", maintain_order=True)
            .sort("date")
        )
        pairs = frozenset(
            (s, d) for s, d in legs.select("src", "dst").unique().iter_rows() if s and d
        )
        return cls(legs=legs, pairs=pairs)

    def currencies(self) -> set[str]:
        """Every currency with a rate."""
        return {c for pair in self.pairs for c in pair}

    def path(self, source: str, target: str) -> tuple[tuple[str, str], tuple[str, str]]:
        """The two legs (``src, dst``) that convert ``source`` to ``target`` (plain codes).

        An identity leg ``(X, X)`` stands for "no leg". Raises :class:`MissingRate` when no
        published pair, inverse or cross through a common currency exists.
        """
        if source == target:
            return (source, source), (target, target)
        if (source, target) in self.pairs:
            return (source, target), (target, target)
        others = sorted(self.currencies() - set(PIVOTS))
        for pivot in (*PIVOTS, *others):
            if (source, pivot) in self.pairs and (pivot, target) in self.pairs:
                return (source, pivot), (pivot, target)
        raise MissingRate(source, target, None)


def _plan(currencies: list[str], target: str, table: RateTable) -> pl.DataFrame:
    """Per currency: the two legs and the sub-unit factor that convert it to ``target``."""
    target_plain, target_factor = split_unit(target)
    rows = []
    for code in currencies:
        plain, factor = split_unit(code)
        try:
            (s1, d1), (s2, d2) = table.path(plain, target_plain)
        except MissingRate:
            raise MissingRate(code, target, None) from None
        rows.append((code, s1, d1, s2, d2, factor / target_factor))
    return pl.DataFrame(
        rows,
        schema=_PLAN_SCHEMA,
        orient="row",
    )


def lookup(queries: pl.DataFrame, target: str, table: RateTable | pl.DataFrame) -> pl.DataFrame:
    """Rates to ``target`` for distinct (date, currency) rows: date, currency, fx, rate_date.

    ``fx`` is units of ``target`` per unit of ``currency`` on ``date``; ``rate_date`` the
    publication date of the oldest leg used (null for ``c -> c``).

    Raises:
        MissingRate: no rate on or before a date for a pair (the earliest such date is named).
    """
    rates = table if isinstance(table, RateTable) else RateTable.from_rates(table)
    wanted = queries.select("date", pl.col("currency").cast(pl.String)).unique()
    if wanted.is_empty():
        return pl.DataFrame(schema=LOOKUP_SCHEMA)
    plan = _plan(sorted(wanted["currency"].unique().to_list()), target, rates)
    identity = pl.DataFrame(
        {
            "date": _EPOCH,
            "src": sorted({*plan["_s1"], *plan["_s2"]}),
        }
    ).with_columns(dst=pl.col("src"), rate=pl.lit(1.0))
    legs = pl.concat(
        [identity.select("date", "src", "dst", "rate"), rates.legs], how="vertical_relaxed"
    ).sort("date")
    staged = wanted.join(plan, on="currency", how="left").sort("date")
    out = staged
    for n in (1, 2):
        out = out.join_asof(
            legs.rename({"rate": f"_r{n}", "date": f"_t{n}"}),
            left_on="date",
            right_on=f"_t{n}",
            by_left=[f"_s{n}", f"_d{n}"],
            by_right=["src", "dst"],
            strategy="backward",
            check_sortedness=False,
            coalesce=False,
        ).drop("src", "dst", strict=False)
    missing = out.filter(pl.col("_r1").is_null() | pl.col("_r2").is_null())
    if not missing.is_empty():
        first = missing.sort("date").row(0, named=True)
        leg = (first["_s1"], first["_d1"]) if first["_r1"] is None else (first["_s2"], first["_d2"])
        raise MissingRate(first["currency"], target, first["date"], leg=leg)
    real = [pl.when(pl.col(f"_t{n}") > _EPOCH).then(pl.col(f"_t{n}")) for n in (1, 2)]
    return out.select(
        "date",
        "currency",
        fx=pl.col("_r1") * pl.col("_r2") * pl.col("_factor"),
        rate_date=pl.min_horizontal(*real),
    )


def to_reporting(
    frame: pl.DataFrame,
    target: str,
    table: RateTable | pl.DataFrame,
    *,
    date: str = "date",
    currency: str = "currency",
    name: str = "fx",
) -> pl.DataFrame:
    """Add column ``name``: units of ``target`` per unit of ``currency`` on ``date``, per row.

    Rows keep their order. Only distinct (date, currency) pairs are looked up.
    """
    if frame.is_empty():
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    codes = frame[currency].unique().to_list()
    if codes == [target]:
        return frame.with_columns(pl.lit(1.0).alias(name))
    found = lookup(
        frame.select(pl.col(date).alias("date"), pl.col(currency).alias("currency")),
        target,
        table,
    )
    return frame.join(
        found.select(pl.col("date").alias(date), pl.col("currency").alias(currency), name),
        on=[date, currency],
        how="left",
        maintain_order="left",
    )


def stale_warnings(
    found: pl.DataFrame, target: str, *, threshold: int = STALE_AFTER_DAYS
) -> list[str]:
    """One line per currency whose rate was older than ``threshold`` days on some date.

    ``found`` is a :func:`lookup` result; the worst case is named with the count of dates.
    """
    if found.is_empty():
        return []
    age = (pl.col("date") - pl.col("rate_date")).dt.total_days()
    stale = (
        found.filter(pl.col("rate_date").is_not_null())
        .with_columns(_age=age)
        .filter(pl.col("_age") > threshold)
    )
    if stale.is_empty():
        return []
    worst = (
        stale.sort("_age", "date", descending=[True, False])
        .group_by("currency", maintain_order=True)
        .agg(pl.all().first(), count=pl.len())
        .sort("currency")
    )
    return [
        f"stale rate: {row['currency']}->{target} on {row['date']} uses the rate of "
        f"{row['rate_date']} ({row['_age']} days old)"
        + (f", and {row['count'] - 1} more dates" if row["count"] > 1 else "")
        for row in worst.iter_rows(named=True)
    ]


class RateOn(NamedTuple):
    """A rate in force on a day and the date it was published (None for ``c -> c``)."""

    rate: float
    date: dt.date | None


def rate_on(rates: RateTable | pl.DataFrame, base: str, quote: str, day: dt.date) -> RateOn:
    """The rate 1 ``base`` = rate ``quote`` in force on ``day`` (the scalar lookup, for people).

    Raises:
        MissingRate: no rate on or before ``day``.
    """
    found = lookup(pl.DataFrame({"date": [day], "currency": [base]}), quote, rates)
    row = found.row(0, named=True)
    return RateOn(float(row["fx"]), row["rate_date"])


def rates_in_force(
    rates: RateTable | pl.DataFrame, day: dt.date, *, base: str = "EUR"
) -> pl.DataFrame:
    """Every currency with a rate, as 1 ``base`` = rate currency on ``day``: currency, rate,
    rate_date, age_days, stale. Currencies without a rate on or before ``day`` are left out.
    """
    table = rates if isinstance(rates, RateTable) else RateTable.from_rates(rates)
    codes = sorted(table.currencies() - {base})
    try:  # every currency at once; one by one when some have no rate by then
        found = lookup(pl.DataFrame({"date": [day] * len(codes), "currency": codes}), base, table)
    except MissingRate:
        parts = []
        for code in codes:
            try:
                parts.append(lookup(pl.DataFrame({"date": [day], "currency": [code]}), base, table))
            except MissingRate:
                continue
        found = pl.concat(parts) if parts else pl.DataFrame(schema=LOOKUP_SCHEMA)
    rows = []
    for code, per_base, published in (
        found.sort("currency").select("currency", "fx", "rate_date").iter_rows()
    ):
        age = (day - published).days if published else 0
        # lookup gives base per unit of the currency; 1 base = 1 / that
        rows.append((code, 1.0 / per_base, published, age, age > STALE_AFTER_DAYS))
    return pl.DataFrame(
        rows,
        schema=IN_FORCE_SCHEMA,
        orient="row",
    )
