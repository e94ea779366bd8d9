"""The ``expand`` phase: a batch's sources become its items.

A media file is one item; a folder gives one item per media file under it (its output folder mirrors the
file's subfolder, so equal titles in two subfolders never collide); a playlist, channel or feed URL gives one
item per listed video (flat extraction, filtered by ``limit``/``since``/``match``); any other URL is one item.
A source that cannot be expanded (a listing refused by a bot check, an empty folder) is noted with its error
and the other sources go on; the phase fails only when no source gave any item.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...source.listing import is_collection_url, list_collection
from ...source.local import media_in_folder
from ...source.urls import is_url
from ...task_runtime.contracts import ArtifactRef
from ...task_runtime.errors import YTTError
from ...task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from .intent import BatchParams
from .items import ItemList, ItemSpec, SourceNote
from .states import BatchState


class NoItemsError(YTTError):
    """No source of the batch gave any item (each source's note says why)."""

    code = "batch_empty"


class ExpandPhase(Phase):
    name = "expand"
    version = "1"
    state_on_start = BatchState.EXPANDING

    def provides(self, params: BatchParams) -> list[str]:
        return ["batch.items"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        params: BatchParams = ctx.params
        listing = expand_sources(params, ctx.settings, checkpoint=ctx.checkpoint)
        ctx.emit("batch_expanded", items=len(listing.items), sources=[n.model_dump(exclude_none=True)
                                                                       for n in listing.sources][:20])
        if not listing.items:
            errors = [note.error for note in listing.sources if note.error]
            first = errors[0] if errors else None
            raise NoItemsError(
                "the batch's sources gave no item" + (f": {first.get('message')}" if first else ""),
                hint=(first or {}).get("hint") or "check the sources: a folder needs media files in it, a playlist "
                "needs videos that pass the filters",
                details={"sources": [note.model_dump(exclude_none=True) for note in listing.sources][:20]},
            )
        return PhaseResult(outputs={"batch.items": PhaseOutput.json(listing, "items.json")},
                           summary={"items": len(listing.items), "sources": len(listing.sources)})


def expand_sources(params: BatchParams, settings: Any, *, checkpoint: Any = None) -> ItemList:
    """The items of ``params.sources``, in order, without repeats (see the module docstring)."""
    listing = ItemList()
    seen: set[str] = set()
    base_out = params.output_path(settings)

    def add(spec: dict[str, Any]) -> None:
        if spec["source"] in seen:
            return
        seen.add(spec["source"])
        listing.items.append(ItemSpec(item_id=f"{len(listing.items) + 1:04d}", **spec))

    for source in params.sources:
        if checkpoint is not None:
            checkpoint()
        before = len(listing.items)
        if is_url(source) and is_collection_url(source):
            note = SourceNote(source=source, kind="collection")
            try:
                found = list_collection(source, settings, limit=params.limit, since=params.since, match=params.match)
            except YTTError as exc:
                note.error = _error(exc)
            else:
                note.listed, note.undated = found.seen, found.undated
                for entry in found.entries:
                    add({"source": entry.url, "kind": "url", "origin": source, "title": entry.title,
                         "source_id": entry.id, "upload_date": entry.upload_date})
        elif is_url(source):
            note = SourceNote(source=source, kind="url")
            add({"source": source, "kind": "url", "origin": source})
        elif Path(source).is_dir():
            note = SourceNote(source=source, kind="folder")
            folder = Path(source)
            media = media_in_folder(folder)
            if not media:
                note.error = {"code": "folder_has_no_media", "message": f"{source} holds no media file",
                              "hint": "put video or audio files in the folder (subfolders are searched too)"}
            for path in media:
                relative = path.parent.relative_to(folder)
                output_dir = str(base_out / relative) if relative.parts else None
                add({"source": str(path), "kind": "file", "origin": source, "title": path.stem,
                     "output_dir": output_dir})
        else:
            note = SourceNote(source=source, kind="file")
            add({"source": source, "kind": "file", "origin": source, "title": Path(source).stem})
        note.items = len(listing.items) - before
        listing.sources.append(note)
    return listing


def _error(exc: YTTError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message[:500]}
    if exc.hint:
        error["hint"] = exc.hint
    if exc.permanent:
        error["permanent"] = True
    retryable = exc.details.get("retryable")
    if isinstance(retryable, bool):
        error["retryable"] = retryable
    return error
