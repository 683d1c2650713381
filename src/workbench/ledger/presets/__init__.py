"""Broker exports in: presets picked by the header, user mapping files, and their rules.

A preset is a mapping spec shipped as a TOML file in ``data/``; a user's ``--mapping
FILE.toml`` has the same form (see :mod:`workbench.ledger.presets.spec`).

    conversion = convert_file(Path("schwab.csv"))
    print(conversion.spec.name, conversion.counts())
"""

from __future__ import annotations

from workbench.ledger.presets.catalog import load_mapping, preset, presets
from workbench.ledger.presets.convert import Conversion, convert_file
from workbench.ledger.presets.spec import Spec, parse_spec

__all__ = ["Conversion", "Spec", "convert_file", "load_mapping", "parse_spec", "preset", "presets"]
