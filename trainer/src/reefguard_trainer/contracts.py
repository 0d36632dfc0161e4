"""The message contracts of `core`, read from the JSON Schema files it emits.

`core` owns every contract (zod); `./reefguard schemas` writes them to core/schemas/. The
trainer validates what it reads and writes (model cards, retrain requests) against them, so
the two languages cannot drift apart silently.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "core" / "schemas"


class ContractError(ValueError):
    """A document does not match its contract; the message names the field."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.exists():
        raise ContractError(f"no contract named {name!r}: expected {path}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def validate(name: str, document: Any) -> None:
    """Raises ContractError naming the first offending field when `document` breaks `name`."""
    validator = jsonschema.Draft202012Validator(load_schema(name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.path) or "(root)"
        raise ContractError(f"{name}: {where}: {first.message}")
