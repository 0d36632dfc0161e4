"""Schema check of rendered Kubernetes objects against the types of the official Python
client (generated from the Kubernetes OpenAPI spec): unknown fields, wrong value types and
missing required fields are reported. Custom resources (Istio, KServe, KEDA) have no such
types here and are checked by the tests themselves."""

from __future__ import annotations

import re
from typing import Any

import kubernetes.client.models as models

# Quantities (cpu: 1, memory: 512Mi) are strings in the client's types but numbers are
# valid YAML for them, as the API server's resource.Quantity accepts both.
QUANTITY_FIELDS = {"limits", "requests", "size_limit", "hard"}
SCALARS = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
    "datetime": (str,),
    "date": (str,),
}


def model_for(obj: dict[str, Any]) -> type | None:
    """The client class of a built-in kind (apps/v1 Deployment -> V1Deployment), or None."""
    version = obj["apiVersion"].split("/")[-1]
    return getattr(models, f"{version[0].upper()}{version[1:]}{obj['kind']}", None)


def _check(value: Any, type_name: str, path: str, field: str, errors: list[str]) -> None:
    if value is None:
        return
    if type_name == "object":
        return
    if type_name in SCALARS:
        ok = SCALARS[type_name]
        if field in QUANTITY_FIELDS or (type_name == "str" and field.endswith("size_limit")):
            ok = (str, int, float)
        if (isinstance(value, bool) and type_name != "bool") or not isinstance(value, ok):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    match = re.fullmatch(r"(?:list|List)\[(.+)\]", type_name)
    if match:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            _check(item, match.group(1), f"{path}[{i}]", field, errors)
        return
    match = re.fullmatch(r"(?:dict\(str, (.+)\)|Dict\[str, (.+)\])", type_name)
    if match:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping")
            return
        inner = match.group(1) or match.group(2)
        for key, item in value.items():
            _check(item, inner, f"{path}.{key}", field, errors)
        return
    cls = getattr(models, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: expected {type_name} (a mapping), got {value!r}")
        return
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        attr = by_json[key]
        _check(item, cls.openapi_types[attr], f"{path}.{key}", attr, errors)


def validate(obj: dict[str, Any]) -> list[str]:
    """Problems with a built-in object; raises LookupError for kinds the client lacks."""
    cls = model_for(obj)
    if cls is None:
        raise LookupError(f"{obj['apiVersion']} {obj['kind']} is not a built-in kind")
    name = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
    errors: list[str] = []
    _check(obj, cls.__name__, name, "", errors)
    # The client's models are pydantic: constructing one checks required fields and types.
    try:
        cls.from_dict(obj)
    except ValueError as error:
        errors.append(f"{name}: {error}")
    return errors
