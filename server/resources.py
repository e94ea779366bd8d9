"""Run files as MCP resources (read-only).

- ``runs://all``: the runs this server knows (JSON list, newest last).
- ``run://{run_id}``: the files of one run's work_dir, each with the URI that reads it (JSON).
- ``run://{run_id}/{+path}``: one file of the work_dir, e.g. ``manifest.json``, ``.runtime_task.json``,
  ``telemetry.jsonl``, ``chunks/<plan_id>/<chunk_id>.json`` or an artifact.

Invariants:
- Reading never changes anything and never needs the lease.
- A path must stay inside the run's work_dir after resolving symlinks (the SDK also rejects ``..`` and
  absolute paths before this code runs).
- Text only, capped at ``MAX_RESOURCE_BYTES``: JSONL files (telemetry) give their last complete lines;
  other text files their beginning plus a truncation note; binary files (media) are refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.errors import RunNotFoundError, YTTError

MAX_RESOURCE_BYTES = 64 * 1024
MAX_LISTED_FILES = 200
MAX_LISTED_RUNS = 100
_TEXT_SUFFIXES = {".json", ".jsonl", ".md", ".txt", ".srt", ".vtt", ".csv", ".toml", ".yaml", ".yml", ".ass", ".ssa"}


def _work_dir(api: RuntimeApi, run_id: str) -> Path:
    try:
        return api.resolve(run_id).path.resolve()
    except RunNotFoundError as exc:
        raise ResourceNotFoundError(f"unknown run {run_id!r}: no run with that id") from exc
    except YTTError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}") from exc


def list_run_files(work_dir: Path, run_id: str) -> list[dict[str, Any]]:
    """Files under ``work_dir`` (temp files skipped), sorted, at most ``MAX_LISTED_FILES``."""
    rows: list[dict[str, Any]] = []
    for root, dirs, files in os.walk(work_dir):
        dirs[:] = sorted(d for d in dirs if d != "staging")
        for name in sorted(files):
            if name.endswith(".tmp"):
                continue
            path = Path(root) / name
            rel = path.relative_to(work_dir).as_posix()
            rows.append(
                {
                    "path": rel,
                    "uri": f"run://{run_id}/{rel}",
                    "size_bytes": path.stat().st_size,
                    "text": path.suffix.lower() in _TEXT_SUFFIXES,
                }
            )
            if len(rows) >= MAX_LISTED_FILES:
                return rows
    return rows


def read_run_file(work_dir: Path, rel_path: str) -> str:
    """The text of ``work_dir/rel_path`` within the size cap.

    Raises:
        ResourceNotFoundError: no such file.
        ResourceError: the path leaves the work_dir, or the file is binary.
    """
    target = (work_dir / rel_path).resolve()
    if not target.is_relative_to(work_dir):
        raise ResourceError(f"{rel_path} is outside the run's work_dir")
    if not target.is_file():
        raise ResourceNotFoundError(f"no file {rel_path} in the run's work_dir (read run://<run_id> for a list)")
    size = target.stat().st_size
    if target.suffix == ".jsonl":
        return _tail_lines(target, size)
    with target.open("rb") as handle:
        head = handle.read(MAX_RESOURCE_BYTES)
    if b"\0" in head:
        raise ResourceError(f"{rel_path} is a binary file ({size} bytes); only text files are readable")
    text = head.decode("utf-8", errors="replace")
    if size > MAX_RESOURCE_BYTES:
        text += f"\n…[truncated: the first {MAX_RESOURCE_BYTES} of {size} bytes]\n"
    return text


def _tail_lines(path: Path, size: int) -> str:
    with path.open("rb") as handle:
        handle.seek(max(0, size - MAX_RESOURCE_BYTES))
        tail = handle.read()
    if size > MAX_RESOURCE_BYTES:
        tail = tail.split(b"\n", 1)[1] if b"\n" in tail else b""  # drop the partial first line
    return tail.decode("utf-8", errors="replace")


def register_resources(server: MCPServer, api: RuntimeApi) -> None:
    """Add the run listing and the run-file templates to ``server``."""

    @server.resource(
        "runs://all",
        name="runs",
        title="All runs",
        description="Every run: run_id, state, created_at, source, work_dir (JSON, newest last).",
        mime_type="application/json",
    )
    def all_runs() -> str:
        return json.dumps(api.list_runs()[-MAX_LISTED_RUNS:], ensure_ascii=False, indent=1)

    @server.resource(
        "run://{run_id}",
        name="run-files",
        title="Files of a run",
        description="The files in a run's work_dir with their sizes and the run:// URI that reads each.",
        mime_type="application/json",
    )
    def run_files(run_id: str) -> str:
        work_dir = _work_dir(api, run_id)
        return json.dumps({"run_id": run_id, "files": list_run_files(work_dir, run_id)}, indent=1)

    @server.resource(
        "run://{run_id}/{+path}",
        name="run-file",
        title="A file of a run",
        description=(
            "One file of a run's work_dir: manifest.json (state, phases, artifacts), .runtime_task.json "
            "(intent), telemetry.jsonl (last lines), chunks/<plan_id>/<chunk_id>.json, artifacts/... "
            f"Text only, at most {MAX_RESOURCE_BYTES // 1024} KB."
        ),
        mime_type="text/plain",
    )
    def run_file(run_id: str, path: str) -> str:
        return read_run_file(_work_dir(api, run_id), path)
