"""The ``index`` phase (the batch's quality gate) and publishing the outputs index.

The index lists every item: its source and title, its status, its run (or the earlier run that stands for it)
and the full paths of its outputs. The gate passes when every item is finished or skipped, and is degraded
when some failed for good or were cancelled (they are listed; finalizing accepts that, as a single run's
degraded gate is accepted). At finalize the index is published beside the articles as
``batch-<run_id>.json`` and ``batch-<run_id>.md`` (a list of links to the articles).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...task_runtime.contracts import ArtifactRef, Manifest
from ...task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ...task_runtime.store import atomic_write_json, atomic_write_text, read_json
from .intent import BatchParams
from .items import DONE_STATUSES, ItemList, count_statuses, read_items
from .states import BatchState

INDEX_LIST_LIMIT = 20  # items shown inline in the gate's summary (the files have them all)


class IndexEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    source: str
    title: str | None = None
    status: str
    run_id: str | None = None
    reused_from: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    error: dict[str, Any] | None = None


class BatchIndex(BaseModel):
    """``artifacts/index/index.json``: the outputs index and the gate's verdict."""

    model_config = ConfigDict(extra="forbid")
    schema_file: ClassVar[str] = "batch_index"

    schema_version: int = 1
    status: str  # pass | degraded
    counts: dict[str, int]
    items: list[IndexEntry]


class IndexPhase(Phase):
    name = "index"
    version = "1"
    state_on_start = BatchState.INDEXING

    def requires(self, params: BatchParams) -> list[str]:
        return ["batch.items", "batch.results"]

    def provides(self, params: BatchParams) -> list[str]:
        return ["batch.index"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        specs = ctx.load_model(inputs["batch.items"], ItemList).items
        states = read_items(ctx.run_dir.path, specs)
        entries = [IndexEntry(item_id=spec.item_id, source=spec.source, title=spec.title,
                              status=states[spec.item_id].status, run_id=states[spec.item_id].run_id,
                              reused_from=states[spec.item_id].reused_from, outputs=states[spec.item_id].outputs,
                              error=states[spec.item_id].error) for spec in specs]
        counts = count_statuses(states.values())
        status = "pass" if all(entry.status in DONE_STATUSES for entry in entries) else "degraded"
        index = BatchIndex(status=status, counts=counts, items=entries)
        ctx.emit("quality_gate", status=status, counts=counts)
        return PhaseResult(outputs={"batch.index": PhaseOutput.json(index, "index.json")},
                           summary={"status": status, "counts": counts})


def read_index(run_path: Path, manifest: Manifest) -> dict[str, Any] | None:
    ref = manifest.artifacts.get("batch.index")
    if ref is None or not (run_path / ref.path).is_file():
        return None
    data = read_json(run_path / ref.path)
    return data if isinstance(data, dict) else None


def quality_summary(index: Mapping[str, Any]) -> dict[str, Any]:
    """The gate's summary for callers: counts, the items that are not done, and the first articles."""
    items = list(index.get("items") or [])
    not_done = [{"item_id": i["item_id"], "run_id": i.get("run_id"), "status": i["status"],
                 "code": (i.get("error") or {}).get("code")} for i in items if i["status"] not in DONE_STATUSES]
    articles = [{"item_id": i["item_id"], "markdown": (i.get("outputs") or {}).get("markdown")}
                for i in items if (i.get("outputs") or {}).get("markdown")]
    return {"counts": index.get("counts") or {}, "not_done": not_done[:INDEX_LIST_LIMIT],
            "articles": articles[:INDEX_LIST_LIMIT], "items_total": len(items)}


def index_names(run_id: str) -> dict[str, str]:
    return {"index": f"batch-{run_id}.json", "index_markdown": f"batch-{run_id}.md"}


def publish_index(run_path: Path, manifest: Manifest, output_dir: Path) -> dict[str, str]:
    """Write the outputs index (JSON and a Markdown list of links) into ``output_dir``."""
    index = read_index(run_path, manifest) or {"items": [], "counts": {}, "status": "degraded"}
    names = index_names(manifest.run_id)
    atomic_write_json(output_dir / names["index"], {**index, "batch_run_id": manifest.run_id})
    lines = [f"# Batch {manifest.run_id}", ""]
    for item in index.get("items") or []:
        title = item.get("title") or item.get("source")
        article = (item.get("outputs") or {}).get("markdown")
        if article:
            link = Path(os.path.relpath(article, output_dir)).as_posix().replace(" ", "%20")
            lines.append(f"- [{title}]({link})")
        else:
            code = (item.get("error") or {}).get("code")
            lines.append(f"- {title}: {item.get('status')}" + (f" ({code})" if code else ""))
    atomic_write_text(output_dir / names["index_markdown"], "\n".join(lines) + "\n")
    return names
