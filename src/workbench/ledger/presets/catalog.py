"""The shipped presets (TOML files in ``data/``), user mapping files, and header detection."""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources
from pathlib import Path

from workbench.errors import MappingError, UnknownLayout
from workbench.ledger.columns import LEDGER_COLUMNS, SYNONYMS, canonical_name
from workbench.ledger.presets.reader import HEADER_SEARCH, Records, fold
from workbench.ledger.presets.spec import Spec, parse_spec


@functools.cache
def presets() -> tuple[Spec, ...]:
    """Every shipped preset, in the order they are tried."""
    out = []
    folder = resources.files("workbench.ledger.presets").joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            out.append(parse_spec(data, source=f"preset {entry.name}", name=entry.name[:-5]))
    return tuple(out)


def preset(name: str) -> Spec:
    """The preset called ``name``.

    Raises:
        MappingError: no such preset (the message lists them).
    """
    for spec in presets():
        if spec.name == name.strip().lower():
            return spec
    names = ", ".join(s.name for s in presets())
    raise MappingError(f"no preset {name!r} (presets: {names})")


def load_mapping(path: Path) -> Spec:
    """A user's mapping file, checked.

    Raises:
        MappingError: the file is missing, not TOML, or has bad keys (each named).
    """
    if not path.is_file():
        raise MappingError(f"mapping {path}: no such file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping {path}: not a TOML file: {exc}") from exc
    return parse_spec(data, source=str(path), name=str(data.get("name") or path.stem))


def signatures(spec: Spec) -> tuple[tuple[str, ...], ...]:
    """The header cells that identify a table layout (any one set of them): ``header``, else
    every column the mapping names."""
    if spec.headers:
        return tuple(tuple(fold(h) for h in header) for header in spec.headers)
    return (_named_columns(spec),)


def _named_columns(spec: Spec) -> tuple[str, ...]:
    names = []
    for block in spec.blocks:
        for ref in block.columns.values():
            if ref.op in ("column", "currency", "pattern") and not ref.optional:
                name = ref.args[0]
                if not name.startswith(("#", "@")):
                    names.append(fold(name))
    return tuple(dict.fromkeys(names))


def header_index(
    spec: Spec, records: Records, folded: list[frozenset[str]] | None = None
) -> tuple[int, int] | None:
    """The index of the record that is ``spec``'s header and the size of the signature it
    matched (larger: more specific), or None. ``folded``: the head's cells, folded (shared
    by the presets tried one after another)."""
    if spec.kind == "sections":
        sections = {fold(b.section or "") for b in spec.blocks}
        for i, (_, fields) in enumerate(records.records):
            if len(fields) > 1 and fold(fields[0]) in sections and fold(fields[1]) == "header":
                return i, 2
        text = records.text
        if records.complete or ("eader" not in text and "EADER" not in text):
            return None
        # past the head: a line starting "Section,Header," (found without parsing the rest)
        names = "|".join(re.escape(b.section or "") for b in spec.blocks)
        found = re.search(rf'(?mi)^"?(?:{names})"?,"?Header"?,', text)
        return (0, 2) if found else None
    wanted = [set(s) for s in signatures(spec) if s]
    if not wanted:
        return 0, 0
    if folded is None:
        folded = _folded(records)
    for i, cells in enumerate(folded):
        for one in wanted:
            if one <= cells:
                return i, len(one)
    return None


def _folded(records: Records) -> list[frozenset[str]]:
    return [frozenset(fold(f) for f in fields) for _, fields in records.records[:HEADER_SEARCH]]


def header_spec(fields: list[str]) -> Spec | None:
    """The table preset whose header ``fields`` are (the most specific), or None."""
    cells = frozenset(fold(f) for f in fields)
    best: tuple[int, Spec] | None = None
    for spec in presets():
        if spec.kind != "table":
            continue
        for signature in signatures(spec):
            if signature and set(signature) <= cells and (best is None or len(signature) > best[0]):
                best = (len(signature), spec)
    return best[1] if best else None


def own_layout(records: Records, *, strict: bool) -> bool:
    """Whether the first record is a workbench ledger header (``strict``: every column known)."""
    if not records.records:
        return False
    names = [canonical_name(f, SYNONYMS) for f in records.records[0][1] if f.strip()]
    if not {"date", "type"} <= set(names):
        return False
    return not strict or all(n in LEDGER_COLUMNS for n in names)


def detect(records: Records, *, xml: bool) -> tuple[Spec, int] | None:
    """The preset whose header comes first in the file (the most specific one if several
    match it), or None when the file is in workbench's own layout.

    Raises:
        UnknownLayout: neither; the message lists the presets tried and the columns seen.
    """
    if xml:
        return preset("ibkr-flex-xml"), 0
    if own_layout(records, strict=True):
        return None
    found: list[tuple[int, Spec, int]] = []
    folded = _folded(records)
    for spec in presets():
        if spec.kind == "ibkr-flex-xml":
            continue
        at = header_index(spec, records, folded)
        if at is not None:
            found.append((at[1], spec, at[0]))
    if found:
        # the first table of the file, by the most specific preset matching its header
        found.sort(key=lambda f: (f[2], -f[0]))
        return found[0][1], found[0][2]
    if own_layout(records, strict=False):
        return None
    seen = next((fields for _, fields in records.records if any(f.strip() for f in fields)), [])
    tried = ", ".join(s.name for s in presets())
    raise UnknownLayout(
        f"{records.file}: header not recognised (columns seen: {', '.join(repr(f) for f in seen)});"
        f" presets tried: {tried}; workbench's own layout needs date and type columns."
        " Force one with --preset NAME or map the columns with --mapping FILE.toml"
    )
