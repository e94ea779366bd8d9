"""Chunk-level runtime actions on a finished transform: ``retry_chunk`` and ``replan_remaining``.

Both act on chunks that fell back to deterministic text (for example because the LLM endpoint was down
or a model kept failing verification). They only rewrite chunk state files (and, for a replan, write a
new plan and point the manifest at it); the caller invalidates the ``transform`` phase so the next
``run_phase`` re-sends exactly those chunks. Finished LLM chunks are never touched.
"""

from __future__ import annotations

from typing import Any

from ..task_runtime.contracts import Manifest
from ..task_runtime.errors import InvalidInputError
from ..task_runtime.lease import Lease
from ..task_runtime.schemas import read_model
from ..task_runtime.store import atomic_write_json, read_json
from ..task_runtime.workdir import RunDir
from ..transcript import NormalizedDocument
from .contracts import ChunkState, Plan


def transform_result(run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
    ref = manifest.artifacts.get("transform.result")
    if ref is None or not (run_dir.path / ref.path).is_file():
        return None
    data = read_json(run_dir.path / ref.path)
    return data if isinstance(data, dict) else None


def fallback_chunk_ids(run_dir: RunDir, manifest: Manifest) -> list[str]:
    """Chunks of the last transform that hold deterministic fallback text."""
    result = transform_result(run_dir, manifest)
    if result is None:
        return []
    ids = []
    for chunk_id, path in result["chunk_states"].items():
        state = read_json(run_dir.path / path)
        if isinstance(state, dict) and state.get("status") == "fallback":
            ids.append(chunk_id)
    return ids


def retry_fallback_chunks(run_dir: RunDir, manifest: Manifest, lease: Lease, chunk_id: str | None) -> list[str]:
    """Mark fallback chunks (all, or ``chunk_id``) pending again; returns the chunk ids reset.

    Raises:
        InvalidInputError: ``chunk_id`` is not a fallback chunk of this run.
    """
    result = transform_result(run_dir, manifest)
    candidates = fallback_chunk_ids(run_dir, manifest)
    if chunk_id is not None:
        if chunk_id not in candidates:
            raise InvalidInputError(f"chunk {chunk_id} is not a fallback chunk of run {manifest.run_id}",
                                    code="unknown_chunk", hint=f"fallback chunks: {', '.join(candidates) or 'none'}")
        candidates = [chunk_id]
    assert result is not None or not candidates
    # Chunks inherited from an earlier plan keep their state there; re-planning is the way to redo them.
    own_prefix = f"chunks/{result['plan_id']}/" if result else ""
    candidates = [cid for cid in candidates if result and result["chunk_states"][cid].startswith(own_prefix)]
    if not candidates:
        raise InvalidInputError("no fallback chunk of the current plan can be retried",
                                code="nothing_to_retry", hint="{action:replan_remaining} redoes inherited fallback chunks")
    for cid in candidates:
        path = run_dir.path / result["chunk_states"][cid]  # type: ignore[index]
        state = read_model(path, ChunkState)
        lease.check()
        atomic_write_json(path, state.model_copy(update={"status": "pending", "output": None,
                                                         "output_origin": None}).model_dump(mode="json"))
    return candidates


def replan_fallback_chunks(run_dir: RunDir, manifest: Manifest, lease: Lease) -> tuple[str, str]:
    """Re-plan the fallback chunks with smaller chunks; returns (new plan id, work_dir-relative plan path)."""
    from .plan import replan_remaining
    from .process import REPLAN_SHRINK
    from .tokens import count_tokens

    result = transform_result(run_dir, manifest)
    if result is None:
        raise InvalidInputError("the run has no transform result to re-plan", code="nothing_to_replan")
    plan = read_model(run_dir.path / result["plan_path"], Plan)
    doc = read_model(run_dir.path / manifest.artifacts["doc.normalized"].path, NormalizedDocument)
    fallbacks = set(fallback_chunk_ids(run_dir, manifest))
    finished = {c.chunk_id for c in plan.chunks if c.chunk_id not in fallbacks}
    number = len(list((run_dir.path / "plans").glob("p*.json"))) + 2
    new_plan = replan_remaining(plan, doc, finished, new_plan_id=f"p{number}", shrink=REPLAN_SHRINK,
                                count_tokens=count_tokens)
    plan_path = f"plans/{new_plan.plan_id}.json"
    lease.check()
    atomic_write_json(run_dir.path / plan_path, new_plan.model_dump(mode="json"))
    return new_plan.plan_id, plan_path
