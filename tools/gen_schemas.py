"""Generate the JSON Schemas of the work_dir files: ``python -m tools.gen_schemas [--check]``.

For every persisted model (the runtime's own, ``kernel.task_runtime.schemas.runtime_models()``, and the
yt-transcript pipeline's ``persisted_models``) it writes ``<schema_file>.schema.json`` into the
``schemas/`` folder of the package that defines the model, from ``generate_schema(model)``: keys sorted,
2-space indent, UTF-8, a final newline, so the files are byte-stable and diff well. Schema files in those
folders whose model is gone are removed. ``--check`` writes nothing and fails (exit 1, code
``schemas_out_of_date``) when any file would change; a test runs it.

Prints one JSON document (see scripts/_common.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.schemas import SCHEMA_SUFFIX, generate_schema, runtime_models, schema_dir_of, schema_file_of
from kernel.task_runtime.store import atomic_write_text
from scripts._common import run_json_command

REPO_ROOT = Path(__file__).resolve().parent.parent


def render_schema(schema: dict[str, Any]) -> str:
    """The canonical file text of a schema (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def persisted_models() -> list[type[BaseModel]]:
    """Every model persisted as a work_dir file: the runtime's, the yt-transcript pipeline's and the batch's."""
    from kernel.pipeline import TranscriptPipeline
    from kernel.pipeline.batch.spec import BatchPipeline

    return [*runtime_models(), *TranscriptPipeline().persisted_models, *BatchPipeline().persisted_models]


def expected_files(models: list[type[BaseModel]], schema_dir: Path | None = None) -> dict[Path, str]:
    """Schema path -> text for ``models``: beside each model's package, or all in ``schema_dir``."""
    expected: dict[Path, str] = {}
    for model in models:
        name = schema_file_of(model)
        assert name is not None, f"{model.__name__} declares no schema_file"
        folder = schema_dir if schema_dir is not None else schema_dir_of(model)
        expected[folder / f"{name}{SCHEMA_SUFFIX}"] = render_schema(generate_schema(model))
    return expected


def sync_schemas(*, check: bool, models: list[type[BaseModel]] | None = None,
                 schema_dir: Path | None = None) -> dict[str, Any]:
    """Write (or with ``check`` only compare) the schema files of ``models`` (default: all persisted).

    Raises:
        YTTError: code ``schemas_out_of_date`` in check mode when a file is missing, differs or is stale.
    """
    expected = expected_files(models if models is not None else persisted_models(), schema_dir)
    changed = sorted(
        path for path, text in expected.items() if not path.is_file() or path.read_text(encoding="utf-8") != text
    )
    folders = {path.parent for path in expected}
    stale = sorted(p for folder in folders if folder.is_dir() for p in folder.glob(f"*{SCHEMA_SUFFIX}")
                   if p not in expected)

    def shown(paths: list[Path]) -> list[str]:
        return [_relative(path) for path in paths]

    if check:
        if changed or stale:
            raise YTTError(
                f"JSON Schemas are out of date: {', '.join(shown(changed + stale))}",
                code="schemas_out_of_date",
                hint="run `python -m tools.gen_schemas` and commit the result",
                details={"changed": shown(changed), "stale": shown(stale)},
            )
        return {"checked": shown(sorted(expected)), "changed": [], "stale": []}
    for path in changed:
        atomic_write_text(path, expected[path])
    for path in stale:
        path.unlink()
    return {"written": shown(changed), "removed": shown(stale), "unchanged": shown(sorted(set(expected) - set(changed)))}


def _relative(path: Path) -> str:
    """A repository-relative path for reports (a bare name for files outside the repository)."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.gen_schemas", description="Generate the work_dir JSON Schemas from the models."
    )
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a file would change")
    args = parser.parse_args(argv)
    return run_json_command(lambda: sync_schemas(check=args.check))


if __name__ == "__main__":
    sys.exit(main())
