"""The batch pipeline: many sources in, one ordinary yt-transcript run per item, an outputs index out.

expand -> process -> index | (finalize publishes the index). A batch is a run like any other: the six
operations, resume, pause/cancel and the lease work on it unchanged; its work_dir holds the item list, one
state file per item and the items' own runs (see ``items``). Its intent model for front ends is
``BatchOptions``: a batch request is the yt-transcript intent plus those options (``intent.is_batch_request``
tells the two apart, ``intent.parse_batch_params`` validates); ``BatchParams`` is what its TaskSpec keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ...config import Settings
from ...source.politeness import HostLimiter
from ...task_runtime.actions import ActionTable
from ...task_runtime.canonical import fingerprint_file
from ...task_runtime.contracts import Manifest
from ...task_runtime.errors import InvalidInputError
from ...task_runtime.lease import Lease
from ...task_runtime.phases import Phase
from ...task_runtime.pipeline_spec import DetailPage, Published, QualityVerdict
from ...task_runtime.schemas import read_model
from ...task_runtime.workdir import RunDir
from .expand import ExpandPhase
from .index import BatchIndex, IndexPhase, index_names, publish_index, quality_summary, read_index
from .intent import BatchOptions, BatchParams, parse_batch_params
from .items import ItemList, ItemState, count_statuses, read_items
from .process import ProcessPhase, unblock_hosts
from .states import STATES
from .watch import WatchedFile

BATCH_PIPELINE_NAME = "yt-transcript-batch"
ACTIONS = ActionTable()


def item_list(run_dir: RunDir, manifest: Manifest) -> ItemList | None:
    ref = manifest.artifacts.get("batch.items")
    if ref is None or not (run_dir.path / ref.path).is_file():
        return None
    return read_model(run_dir.path / ref.path, ItemList)


def items_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int,
               name: str | None = None) -> dict[str, Any]:
    """inspect detail ``items``: one page of items with their status, run id (the six tools accept it) and
    article. It shows one thing only, so ``name`` is refused."""
    if name is not None:
        raise InvalidInputError("the items detail takes no name", code="invalid_option", details={"field": "name"})
    listing = item_list(run_dir, manifest)
    specs = listing.items if listing is not None else []
    page = specs[cursor: cursor + limit]
    states = read_items(run_dir.path, page)
    rows = []
    for spec in page:
        state = states[spec.item_id]
        row: dict[str, Any] = {"item_id": spec.item_id, "source": spec.source, "title": spec.title,
                               "status": state.status, "run_id": state.run_id, "run_state": state.run_state}
        if state.reused_from:
            row["reused_from"] = state.reused_from
        if state.outputs.get("markdown"):
            row["markdown"] = state.outputs["markdown"]
        if state.error:
            row["error"] = {key: state.error.get(key) for key in ("code", "message", "hint") if state.error.get(key)}
        rows.append(row)
    next_cursor = cursor + limit if cursor + limit < len(specs) else None
    notes = [note.model_dump(exclude_none=True) for note in listing.sources] if listing is not None and cursor == 0 \
        else []
    return {"items": rows, "next_cursor": next_cursor, "items_total": len(specs), "sources": notes[:20]}


class BatchPipeline:
    name = BATCH_PIPELINE_NAME

    def __init__(self) -> None:
        self._phases: list[Phase] = [ExpandPhase(), ProcessPhase(), IndexPhase()]
        self._details: dict[str, DetailPage] = {"items": items_page}

    @property
    def phases(self) -> Sequence[Phase]:
        return self._phases

    @property
    def gate_phase(self) -> str:
        return "index"

    @property
    def states(self) -> Sequence[str]:
        return STATES

    @property
    def actions(self) -> ActionTable:
        return ACTIONS

    @property
    def intent_model(self) -> type[BaseModel]:
        return BatchOptions

    @property
    def details(self) -> Mapping[str, DetailPage]:
        return self._details

    @property
    def persisted_models(self) -> Sequence[type[BaseModel]]:
        return (ItemList, ItemState, BatchIndex, WatchedFile)  # WatchedFile: the watch folder's state files

    def parse_params(self, raw: Mapping[str, Any], settings: Settings) -> BatchParams:
        return parse_batch_params(raw, settings)

    def load_params(self, raw: Mapping[str, Any]) -> BatchParams:
        return BatchParams.model_validate(dict(raw))

    def quality(self, run_dir: RunDir, manifest: Manifest) -> QualityVerdict | None:
        index = read_index(run_dir.path, manifest)
        if index is None or index.get("status") not in ("pass", "degraded", "fail"):
            return None
        return QualityVerdict(status=index["status"], summary=quality_summary(index))

    def _states(self, run_dir: RunDir, manifest: Manifest) -> dict[str, ItemState] | None:
        listing = item_list(run_dir, manifest)
        return None if listing is None else read_items(run_dir.path, listing.items)

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        states = self._states(run_dir, manifest)
        if states is None:
            return {}
        return {"items": count_statuses(states.values()), "items_total": len(states)}

    def notices(self, manifest: Manifest) -> list[str]:
        return []

    def progress_counts(self, facts: Mapping[str, Any]) -> dict[str, int]:
        items = facts.get("items")
        return {f"items_{status}": int(n) for status, n in items.items()} if isinstance(items, dict) else {}

    def phase_weights(self, params: Any, settings: Any, manifest: Manifest) -> Mapping[str, float]:
        # The items are the work; listing them and writing the index take moments.
        return {"expand": 1.0, "process": 100.0, "index": 1.0}

    def awaiting_input(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
        return None

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease, settings: Any) -> dict[str, Any]:
        states = self._states(run_dir, manifest)
        if not states:
            return {}
        unblocked = unblock_hosts(states, HostLimiter.for_settings(settings))
        return {"hosts_unblocked": unblocked} if unblocked else {}

    def summarize_telemetry(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        settled: dict[str, int] = {}
        for event in events:
            if event.get("event") == "batch_item_settled":
                status = str(event.get("status"))
                settled[status] = settled.get(status, 0) + 1
        return {"items_settled": settled}

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> Published:
        base = params.output_path(settings)
        names = publish_index(run_dir.path, manifest, base)
        return Published(files=names, fingerprints={name: fingerprint_file(base / name) for name in names.values()})

    def restore_outputs(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> list[str]:
        """A finished batch whose index files are gone: write them again (the index is the batch's output)."""
        base = params.output_path(settings)
        missing = [name for name in manifest.outputs.values() if not (base / name).is_file()]
        if not missing:
            return []
        publish_index(run_dir.path, manifest, base)
        return [f"published again: {name}" for name in missing]

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        base = params.output_path(settings)
        return {name: str(base / filename) for name, filename in manifest.outputs.items()}


def select_pipeline(raw: Mapping[str, Any]) -> str:
    """The pipeline a create request belongs to: the batch pipeline for a batch request, else yt-transcript."""
    from ..spec import PIPELINE_NAME
    from .intent import is_batch_request

    return BATCH_PIPELINE_NAME if is_batch_request(raw) else PIPELINE_NAME


__all__ = ["BATCH_PIPELINE_NAME", "BatchPipeline", "index_names", "select_pipeline"]
