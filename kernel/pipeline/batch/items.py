"""A batch's items: the item list the expand phase publishes, and one state file per item.

Layout inside the batch's work_dir:
    artifacts/expand/items.json   ItemList: what the sources expanded to (the ``batch.items`` artifact)
    items/<item_id>.json          ItemState: the item's status, its run, its outputs (written by the lease holder)
    item_runs/<item_id>/          the item's run: an ordinary yt-transcript run (its own work_dir and lease)

Invariants:
- An item's run lives at a path fixed by its id, so creating it is idempotent: a crash between creating the run
  and recording it leaves a run that is found again, never a second one.
- Finishing an item rewrites only its own state file (O(1) bytes), never the manifest or the list.
- ``status`` is one of ``ITEM_STATUSES``; ``finished`` and ``skipped`` items have outputs; a ``skipped`` item
  names the earlier run that stands for it (``reused_from``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...task_runtime.lease import Lease
from ...task_runtime.schemas import read_model
from ...task_runtime.store import atomic_write_json

SCHEMA_VERSION = 1
ITEMS_DIR = "items"
ITEM_RUNS_DIR = "item_runs"

# pending: not started (or to be retried); submitted: its run is with the executor; finished / skipped: done;
# failed: its run failed; waiting: it cannot go on until something outside changes (a host's bot check, an
# agent's input); cancelled: its run was cancelled.
ItemStatus = Literal["pending", "submitted", "finished", "skipped", "failed", "waiting", "cancelled"]
ITEM_STATUSES: tuple[str, ...] = ("pending", "submitted", "finished", "skipped", "failed", "waiting", "cancelled")
DONE_STATUSES = frozenset({"finished", "skipped"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemSpec(_Model):
    """One item as the sources expanded to it."""

    item_id: str
    source: str  # a URL, or an absolute media path
    kind: Literal["url", "file"]
    origin: str  # the batch source it came from (a folder, a playlist URL, or the item's own source)
    title: str | None = None
    source_id: str | None = None  # the listing's video id, when it gave one
    upload_date: str | None = None
    output_dir: str | None = None  # set for folder items: the output folder mirrors the source folder


class SourceNote(_Model):
    """What one batch source expanded to, or why it could not be expanded."""

    source: str
    kind: Literal["url", "file", "folder", "collection"]
    items: int = 0
    listed: int = 0
    undated: int = 0
    error: dict[str, Any] | None = None


class ItemList(_Model):
    """``artifacts/expand/items.json``."""

    schema_file: ClassVar[str] = "batch_items"

    schema_version: int = SCHEMA_VERSION
    items: list[ItemSpec] = Field(default_factory=list)
    sources: list[SourceNote] = Field(default_factory=list)


class ItemState(_Model):
    """``items/<item_id>.json``."""

    schema_file: ClassVar[str] = "batch_item"

    schema_version: int = SCHEMA_VERSION
    item_id: str
    status: ItemStatus = "pending"
    run_id: str | None = None
    run_state: str | None = None
    reused_from: str | None = None
    submissions: int = 0
    error: dict[str, Any] | None = None  # code, message, hint, permanent
    outputs: dict[str, str] = Field(default_factory=dict)  # output name -> full path
    updated_at: str | None = None


def item_path(work_dir: Path, item_id: str) -> Path:
    return work_dir / ITEMS_DIR / f"{item_id}.json"


def item_run_dir(work_dir: Path, item_id: str) -> Path:
    return work_dir / ITEM_RUNS_DIR / item_id


def read_item(work_dir: Path, item_id: str) -> ItemState:
    path = item_path(work_dir, item_id)
    if not path.is_file():
        return ItemState(item_id=item_id)
    return read_model(path, ItemState)


def write_item(work_dir: Path, state: ItemState, lease: Lease) -> ItemState:
    lease.check()
    atomic_write_json(item_path(work_dir, state.item_id), state.model_dump(mode="json"))
    return state


def read_items(work_dir: Path, specs: list[ItemSpec]) -> dict[str, ItemState]:
    return {spec.item_id: read_item(work_dir, spec.item_id) for spec in specs}


def count_statuses(states: Any) -> dict[str, int]:
    counts = Counter(state.status for state in states)
    return {status: counts[status] for status in ITEM_STATUSES if counts[status]}
