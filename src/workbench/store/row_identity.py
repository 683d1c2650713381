"""A ledger row's identity as the store keeps it: its normalized values and occurrence number.

A row is the same as a stored row when every value and the occurrence number are equal (a
missing value equals only a missing value). The occurrence (1, 2, ... among identical rows
of one file, see ``workbench.ledger.keys``) is a column of ``transactions``; the values are
the row's own columns. So the identity needs no key derived from the values: the duplicate
check is a join on the values themselves, which DuckDB hashes as it joins, and two different
rows can never be taken for one. (Before occurrences were stored the store kept an MD5 of the
values and the occurrence instead; :func:`recover_occurrences` reads the occurrences back out.)
The caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

#: the values that make up a row's identity, with the occurrence number
IDENTITY = (
    "date", "account", "type", "symbol", "quantity", "price", "fee", "amount", "currency",
    "ratio_new", "ratio_old", "note", "target", "cost_fraction",
)  # fmt: skip

#: identity columns that are never NULL (compared with ``=``; the others with
#: ``IS NOT DISTINCT FROM``, so that two missing values are equal)
_REQUIRED = frozenset({"date", "account", "type", "fee", "currency"})

#: the partition of identical rows (NULLs equal, as in any PARTITION BY)
_VALUES = ", ".join(IDENTITY)


def same_row(a: str, b: str) -> str:
    """SQL that holds when the rows ``a`` and ``b`` (table aliases) have one identity."""
    return " AND ".join(
        f"{a}.{c} {'=' if c in _REQUIRED else 'IS NOT DISTINCT FROM'} {b}.{c}"
        for c in (*IDENTITY, "occurrence")
    )


def renumber(con: Any, where: str, params: list[Any]) -> None:
    """Number again the stored rows matching ``where`` that have become identical to each
    other (a symbol renamed onto another): 1, 2, ... among identical rows, keeping their
    order by occurrence, then id.

    Numbers 1..n for n identical rows cover every file that added or matched them (a file
    listing a row k times found or added occurrences 1..k, so k <= n), so a re-import of
    any of those files still adds nothing.
    """
    con.execute(
        "UPDATE transactions SET occurrence = k.occurrence FROM ("
        f" SELECT id, row_number() OVER (PARTITION BY {_VALUES} ORDER BY occurrence, id)"
        f" AS occurrence FROM transactions WHERE {where}) k"
        " WHERE transactions.id = k.id AND transactions.occurrence <> k.occurrence",
        params,
    )


# -- migrating from MD5 keys (the schema version that adds transactions.occurrence) -------


def _md5_key(occurrence: str) -> str:
    """The row key stored before occurrences were, with ``occurrence`` as the occurrence: an
    MD5 of the values and occurrence joined by '|' (NULL as ''); ``target`` and
    ``cost_fraction`` entered only when set, each with its own prefix."""
    return (
        "md5_number(concat(strftime(t.date, '%Y-%m-%d'), '|', t.account, '|', t.type, '|',"
        " t.symbol, '|', CAST(t.quantity AS VARCHAR), '|', CAST(t.price AS VARCHAR), '|',"
        " CAST(t.fee AS VARCHAR), '|', CAST(t.amount AS VARCHAR), '|', t.currency, '|',"
        " CAST(t.ratio_new AS VARCHAR), '|', CAST(t.ratio_old AS VARCHAR), '|', t.note, '|',"
        f" CAST({occurrence} AS VARCHAR), '|target=' || t.target,"
        " '|cost_fraction=' || CAST(t.cost_fraction AS VARCHAR)))"
    )


#: the temporary table :func:`recover_occurrences` fills: (rid, occurrence) of every row
RECOVERED = "_wb_recovered_occurrence"

#: the first window of occurrence numbers tried for a row whose guess was wrong
_FIRST_WINDOW = 64


def recover_occurrences(con: Any) -> None:
    """Each stored row's occurrence number, read back from its MD5 key, into :data:`RECOVERED`.

    The key is md5(values | occurrence), so the occurrence is the number whose MD5 matches.
    First guess: the row's place among identical rows in id order (right unless rows were
    deleted or a file was imported in overlapping parts, or a deleted row came back later).
    A row whose guess fails is tried with 1, 2, ... up to a bound no occurrence of it can
    pass: its file's row count, and the identical rows stored now plus every row ever
    deleted (a file listing a row k times found or added all of 1..k, and since then only
    deletions removed any); numbers are tried in growing windows, so the cost is that of the
    row's real number. A row no number matches (written by something other than an import)
    is numbered after the largest occurrence of its identical rows, in id order.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {RECOVERED} AS"
        f" SELECT rid, occurrence, {_md5_key('occurrence')} = row_key AS verified, size"
        f" FROM (SELECT *, rowid AS rid,"
        f"  row_number() OVER (PARTITION BY {_VALUES} ORDER BY id) AS occurrence,"
        f"  count(*) OVER (PARTITION BY {_VALUES}) AS size FROM transactions) t"
    )
    unverified = _count_unverified(con)
    if not unverified:
        return
    (deleted,) = con.execute(
        "SELECT greatest(0, (SELECT coalesce(sum(added), 0) FROM imports)"
        " - (SELECT count(*) FROM transactions WHERE import_id IS NOT NULL))"
    ).fetchall()[0]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _wb_search AS SELECT o.rid,"
        f" least(o.size + ?, coalesce(i.rows, o.size + ?)) AS bound"
        f" FROM {RECOVERED} o JOIN transactions t ON t.rowid = o.rid"
        f" LEFT JOIN imports i ON i.id = t.import_id WHERE NOT o.verified",
        [deleted, deleted],
    )
    low, high = 1, _FIRST_WINDOW
    while unverified:
        (widest,) = con.execute("SELECT max(bound) FROM _wb_search").fetchall()[0]
        if widest is None or low > widest:
            break
        con.execute(
            f"UPDATE {RECOVERED} o SET occurrence = f.k, verified = true FROM ("
            f" SELECT s.rid, min(r.k) AS k FROM _wb_search s"
            f" JOIN transactions t ON t.rowid = s.rid, range(?, ?) r(k)"
            f" WHERE r.k <= s.bound AND {_md5_key('r.k')} = t.row_key GROUP BY s.rid"
            f") f WHERE o.rid = f.rid",
            [low, high],
        )
        con.execute(
            f"DELETE FROM _wb_search WHERE rid IN (SELECT rid FROM {RECOVERED} WHERE verified)"
        )
        unverified = _count_unverified(con)
        low, high = high, high * 4
    con.execute("DROP TABLE _wb_search")
    if unverified:
        _number_after(con)


def _count_unverified(con: Any) -> int:
    return int(con.execute(f"SELECT count(*) FROM {RECOVERED} WHERE NOT verified").fetchall()[0][0])


def _number_after(con: Any) -> None:
    """Number the rows no MD5 matched after the verified ones of their identical rows."""
    con.execute(
        f"UPDATE {RECOVERED} o SET occurrence = f.occurrence FROM ("
        f" SELECT rid, verified, coalesce(max(CASE WHEN verified THEN occurrence END)"
        f"  OVER (PARTITION BY {_VALUES}), 0)"
        f"  + row_number() OVER (PARTITION BY {_VALUES}, verified ORDER BY id) AS occurrence"
        f" FROM {RECOVERED} JOIN (SELECT rowid AS rid, * FROM transactions) USING (rid)"
        f") f WHERE o.rid = f.rid AND NOT f.verified"
    )
