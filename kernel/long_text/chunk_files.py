"""The chunk loop's files in a work_dir, and what can be read from them (and from telemetry).

Layout: ``chunks/<plan_id>/<chunk_id>.json`` holds one ``ChunkState`` each; the manifest's
``domain["current_plan_id"]`` names the plan whose chunks are current. These readers never write, except
``reset_running_chunks`` (crash recovery, under the lease).

Invariants:
- A damaged chunk state is never trusted: readers count it as ``unreadable`` and the loop redoes it.
- LLM request counts come from the ``llm_request`` telemetry events the LLM client emits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..task_runtime.errors import CorruptStateError, YTTError
from ..task_runtime.lease import Lease
from ..task_runtime.schemas import read_model
from ..task_runtime.store import atomic_write_json, read_json
from .contracts import ChunkState

CURRENT_PLAN_KEY = "current_plan_id"  # Manifest.domain key: the plan whose chunks are current
REPLAN_PATH_KEY = "current_plan"  # Manifest.domain key: work_dir-relative path of a replanned plan


def chunks_dir(run_path: Path, plan_id: str) -> Path:
    return run_path / "chunks" / plan_id


def chunk_state_path(run_path: Path, plan_id: str, chunk_id: str) -> Path:
    return chunks_dir(run_path, plan_id) / f"{chunk_id}.json"


def load_chunk_state(path: Path) -> ChunkState | None:
    """The chunk state at ``path``; None when it is missing or damaged (a damaged state is redone)."""
    if not path.exists():
        return None
    try:
        return read_model(path, ChunkState)
    except CorruptStateError:
        return None


def current_plan_id(domain: Mapping[str, Any]) -> str | None:
    value = domain.get(CURRENT_PLAN_KEY)
    return str(value) if value else None


def count_chunk_statuses(run_path: Path, plan_id: str) -> dict[str, int]:
    """Chunk states of ``plan_id`` by status (``unreadable`` for damaged files)."""
    counts: Counter[str] = Counter()
    directory = chunks_dir(run_path, plan_id)
    for path in directory.glob("*.json") if directory.is_dir() else []:
        try:
            state = read_json(path)
            status = str(state.get("status")) if isinstance(state, dict) else "unreadable"
        except YTTError:
            status = "unreadable"
        counts[status] += 1
    return dict(counts)


def chunk_rows(run_path: Path, plan_id: str | None, *, cursor: int, limit: int) -> dict[str, Any]:
    """One page of the current plan's chunk states: id, status, attempts, final violation codes."""
    if plan_id is None:
        return {"chunks": [], "next_cursor": None, "plan_id": None}
    directory = chunks_dir(run_path, plan_id)
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    rows: list[dict[str, Any]] = []
    for path in files[cursor : cursor + limit]:
        state = load_chunk_state(path)
        if state is None:
            rows.append({"chunk_id": path.stem, "status": "unreadable"})
            continue
        rows.append({"chunk_id": state.chunk_id, "status": state.status, "attempts": len(state.attempts),
                     "violations": [v.code for v in state.final_violations]})
    next_cursor = cursor + limit if cursor + limit < len(files) else None
    return {"chunks": rows, "next_cursor": next_cursor, "plan_id": plan_id}


def reset_running_chunks(run_path: Path, plan_id: str, lease: Lease) -> list[str]:
    """After a crash: chunks left ``running`` become ``pending``; damaged states are removed (redone)."""
    reset: list[str] = []
    directory = chunks_dir(run_path, plan_id)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            state = read_json(path)
        except YTTError:
            lease.check()
            path.unlink(missing_ok=True)
            reset.append(path.stem)
            continue
        if isinstance(state, dict) and state.get("status") == "running":
            lease.check()
            atomic_write_json(path, {**state, "status": "pending"})
            reset.append(path.stem)
    return reset


def llm_request_summary(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Requests per chunk and LLM usage totals, from the run's ``llm_request`` events."""
    per_chunk: Counter[str] = Counter()
    usage = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    for event in events:
        if event.get("event") != "llm_request":
            continue
        usage["requests"] += 1
        usage["prompt_tokens"] += int(event.get("prompt_tokens") or 0)
        usage["completion_tokens"] += int(event.get("completion_tokens") or 0)
        if event.get("chunk_id"):
            per_chunk[str(event["chunk_id"])] += 1
    return {"chunk_requests": dict(per_chunk), "llm_usage": usage}
