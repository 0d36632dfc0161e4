"""Units and monotone constraints of the feature catalogue, and the trainer's physical
directions for the modifiers the catalogue leaves free.

The catalogue has one definition, core/src/features/catalog.ts; this module reads the name,
unit and monotone fields from that file instead of repeating them, so a feature added there
is known here without a second edit.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_FILE = Path(__file__).resolve().parents[3] / "core" / "src" / "features" / "catalog.ts"

_ENTRY = re.compile(
    r"name:\s*'(?P<name>[a-z0-9_]+)',\s*unit:\s*'(?P<unit>[^']*)',\s*cadence:\s*'[a-z]+',"
    r"\s*monotone:\s*(?P<monotone>-?[01]),"
)


@dataclass(frozen=True)
class FeatureInfo:
    name: str
    unit: str
    monotone: int


@cache
def load_catalog(path: Path = CATALOG_FILE) -> dict[str, FeatureInfo]:
    entries = {
        m["name"]: FeatureInfo(m["name"], m["unit"], int(m["monotone"]))
        for m in _ENTRY.finditer(path.read_text())
    }
    if not entries:
        raise ValueError(f"{path}: no feature definitions found (has the catalogue moved?)")
    return entries


def describe(name: str) -> FeatureInfo:
    catalog = load_catalog()
    if name not in catalog:
        raise KeyError(f"feature {name!r} is not in {CATALOG_FILE}; known: {sorted(catalog)}")
    return catalog[name]


def monotone_constraints(names: list[str]) -> list[int]:
    return [describe(name).monotone for name in names]


MODIFIER_DIRECTIONS = {"sst_clim_range": -1, "k490": -1, "depth_m": -1}
"""Physical directions of the learned modifiers the catalogue leaves free (monotone 0):
acclimatisation (a reef used to a wide seasonal SST range bleaches less at the same heat
stress), shading by turbid water (higher K490, less light), and depth (less light and heat
lower down). In 1998 and 2002 the SST range ranks bleached reefs the other way round (inshore
reefs with wide ranges bleached more): the trees may not learn that, as it does not transfer."""


def tree_constraints(features: list[str]) -> list[int]:
    """The catalogue's heat-stress constraints (+1), then the modifiers' physical directions."""
    return [
        m if m != 0 else MODIFIER_DIRECTIONS.get(name, 0)
        for name, m in zip(features, monotone_constraints(features), strict=True)
    ]
