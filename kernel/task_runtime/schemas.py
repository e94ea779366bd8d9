"""JSON Schemas for every work_dir file, and validated reads.

The schemas in ``schemas/*.schema.json`` are generated from the pydantic models
(``python -m tools.gen_schemas``); a test fails when they drift. Reads validate against the shipped
schema first (so the error names the JSON pointer of the first violation, exactly as an external
validator would), then build the model.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import CorruptStateError
from .store import read_json

SCHEMA_DIR = Path(__file__).parent / "schemas"

M = TypeVar("M", bound=BaseModel)

_registry: dict[str, type[BaseModel]] = {}


def register_schema(name: str, model: type[BaseModel]) -> None:
    """Register a model whose instances are persisted as a work_dir file (``name`` is the schema file stem)."""
    _registry[name] = model


def registered_schemas() -> dict[str, type[BaseModel]]:
    return dict(_registry)


def schema_name_for(model: type[BaseModel]) -> str | None:
    for name, registered in _registry.items():
        if registered is model:
            return name
    return None


def generate_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@cache
def _shipped_schema(name: str) -> dict[str, Any] | None:
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _pointer(loc: tuple[int | str, ...]) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in loc)


def read_model(path: Path, model: type[M]) -> M:
    """Read ``path`` as ``model``.

    Raises:
        FileNotFoundError: no such file.
        CorruptStateError: not JSON, or not valid for the model; names the file and JSON pointer.
    """
    name = schema_name_for(model)
    schema = _shipped_schema(name) if name else None
    data = read_json(path, schema)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        pointer = _pointer(tuple(first["loc"]))
        raise CorruptStateError(
            f"{path} is not valid: {path.name} at JSON pointer '{pointer or '/'}': {first['msg']}",
            hint="restore the file from its last good content or undo the hand edit; nothing else was changed",
            details={"file": path.name, "path": str(path), "pointer": pointer, "problem": first["msg"]},
        ) from exc


def _register_runtime_schemas() -> None:
    from .contracts import ControlRequest, LeaseRecord, Manifest, TaskSpec

    register_schema("runtime_task", TaskSpec)
    register_schema("manifest", Manifest)
    register_schema("runtime_owner", LeaseRecord)
    register_schema("runtime_control", ControlRequest)


_register_runtime_schemas()
