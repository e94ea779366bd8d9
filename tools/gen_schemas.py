"""Generate the JSON Schemas of the work_dir files: ``python -m tools.gen_schemas [--check]``.

For every model in ``kernel.task_runtime.schemas.registered_schemas()`` it writes
``kernel/task_runtime/schemas/<name>.schema.json`` from ``generate_schema(model)``: keys sorted, 2-space
indent, UTF-8, a final newline, so the files are byte-stable and diff well. Schema files whose model is
no longer registered are removed. ``--check`` writes nothing and fails (exit 1, code
``schemas_out_of_date``) when any file would change; a test runs it.

The pipeline module is imported first so that domain packages register their persisted models too.
Prints one JSON document (see scripts/_common.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kernel.task_runtime.errors import YTTError
from kernel.task_runtime.schemas import SCHEMA_DIR, generate_schema, registered_schemas
from kernel.task_runtime.store import atomic_write_text
from scripts._common import run_json_command

SUFFIX = ".schema.json"


def render_schema(schema: dict[str, Any]) -> str:
    """The canonical file text of a schema (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name -> text, for every registered model."""
    import kernel.pipeline  # noqa: F401  (domain packages register their models on import)

    return {f"{name}{SUFFIX}": render_schema(generate_schema(model)) for name, model in registered_schemas().items()}


def sync_schemas(schema_dir: Path, *, check: bool) -> dict[str, Any]:
    """Write (or with ``check`` only compare) the schema files in ``schema_dir``.

    Raises:
        YTTError: code ``schemas_out_of_date`` in check mode when a file is missing, differs or is stale.
    """
    expected = expected_files()
    changed = sorted(
        name for name, text in expected.items()
        if not (schema_dir / name).is_file() or (schema_dir / name).read_text(encoding="utf-8") != text
    )
    stale = sorted(p.name for p in schema_dir.glob(f"*{SUFFIX}") if p.name not in expected) if schema_dir.is_dir() else []
    if check:
        if changed or stale:
            raise YTTError(
                f"JSON Schemas are out of date: {', '.join(changed + stale)}",
                code="schemas_out_of_date",
                hint="run `python -m tools.gen_schemas` and commit the result",
                details={"changed": changed, "stale": stale},
            )
        return {"checked": sorted(expected), "changed": [], "stale": []}
    for name in changed:
        atomic_write_text(schema_dir / name, expected[name])
    for name in stale:
        (schema_dir / name).unlink()
    return {"written": changed, "removed": stale, "unchanged": sorted(set(expected) - set(changed))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.gen_schemas", description="Generate the work_dir JSON Schemas from the models."
    )
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a file would change")
    args = parser.parse_args(argv)
    return run_json_command(lambda: sync_schemas(SCHEMA_DIR, check=args.check))


if __name__ == "__main__":
    sys.exit(main())
