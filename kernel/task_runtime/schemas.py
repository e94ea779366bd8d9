"""JSON Schemas for work_dir files, and validated reads.

A model persisted as a work_dir file declares ``schema_file`` (a ``ClassVar[str]``, the schema's file
stem). Its JSON Schema ships in the ``schemas/`` folder of the package that defines the model (the
runtime's own in ``kernel/task_runtime/schemas/``, a domain package's beside its code). The files are
generated from the models (``python -m tools.gen_schemas``); a test fails when they drift. Reads validate
against the shipped schema first (so the error names the JSON pointer of the first violation, exactly as
an external validator would), then build the model. Nothing is registered at import time.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import CorruptStateError
from .store import read_json

SCHEMA_SUFFIX = ".schema.json"

M = TypeVar("M", bound=BaseModel)


def schema_file_of(model: type[BaseModel]) -> str | None:
    """The schema file stem a persisted model declares (None for models that are not work_dir files)."""
    name = getattr(model, "schema_file", None)
    return name if isinstance(name, str) else None


def schema_dir_of(model: type[BaseModel]) -> Path:
    """The ``schemas/`` folder of the package that defines ``model``."""
    module = importlib.import_module(model.__module__)
    assert module.__file__ is not None
    return Path(module.__file__).parent / "schemas"


def schema_path_of(model: type[BaseModel]) -> Path | None:
    name = schema_file_of(model)
    return None if name is None else schema_dir_of(model) / f"{name}{SCHEMA_SUFFIX}"


def generate_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@cache
def _shipped_schema(path: Path) -> dict[str, Any] | None:
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
    schema_path = schema_path_of(model)
    schema = _shipped_schema(schema_path) if schema_path is not None else None
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


def runtime_models() -> list[type[BaseModel]]:
    """The runtime's own work_dir file models."""
    from .contracts import ControlRequest, LeaseRecord, Manifest, TaskSpec

    return [TaskSpec, Manifest, LeaseRecord, ControlRequest]
