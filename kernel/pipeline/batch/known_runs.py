"""Only new work: finding a finished run that already did what an item asks.

A run stands for an item when all three match:
- **settings**: its intent, without ``source``, equals the item's (both as ``parse_params`` left them, so the
  same options spelled differently compare equal);
- **source**: for a local file, the same absolute path and the same content id
  (``kernel.source.local.local_source_id``, compared with the run's ``source.info``: a changed file is new work,
  and a copy elsewhere is its own item); for a URL, the same URL, or the listing's video id on the same site;
- **outputs**: it finished, and every file it published is still in its output folder.

Any finished run qualifies, single or inside a batch (item runs are found through their ``.link`` files).
Reading is cheap and read-only: task files first, then manifests and ``source.info`` of candidates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...source.local import local_source_id
from ...source.politeness import host_of
from ...task_runtime.canonical import fingerprint_value
from ...task_runtime.clock import SystemClock
from ...task_runtime.contracts import FINISHED_STATES, TaskSpec
from ...task_runtime.errors import YTTError
from ...task_runtime.store import read_json
from ...task_runtime.workdir import RunDir
from ..spec import PIPELINE_NAME
from .items import ItemSpec


@dataclass(frozen=True)
class FoundRun:
    run_id: str
    work_dir: Path
    outputs: dict[str, str]  # output name -> full path


def settings_key(params: dict[str, Any]) -> str:
    return fingerprint_value({key: value for key, value in params.items() if key != "source"})


def _site(url: str) -> str:
    host = host_of(url)
    for prefix in ("www.", "m.", "music."):
        host = host.removeprefix(prefix)
    return "youtube.com" if host == "youtu.be" else host


class KnownRuns:
    def __init__(self, candidates: dict[str, list[tuple[RunDir, TaskSpec]]], default_output_dir: Path) -> None:
        self._candidates = candidates
        self._default_output_dir = default_output_dir

    @classmethod
    def scan(cls, runs_root: Path, default_output_dir: Path) -> KnownRuns:
        """Every yt-transcript run under ``runs_root`` (directly or through a ``.link``), by settings key."""
        candidates: dict[str, list[tuple[RunDir, TaskSpec]]] = {}
        if not runs_root.is_dir():
            return cls(candidates, default_output_dir)
        clock = SystemClock()
        for entry in sorted(runs_root.iterdir()):
            try:
                path = Path(entry.read_text(encoding="utf-8").strip()) if entry.name.endswith(".link") else entry
                run_dir = RunDir(path, clock)
                if not run_dir.exists():
                    continue
                task = run_dir.read_task()
            except (OSError, YTTError):
                continue
            if task.pipeline != PIPELINE_NAME:
                continue
            candidates.setdefault(settings_key(task.params), []).append((run_dir, task))
        return cls(candidates, default_output_dir)

    def find(self, item: ItemSpec, params: dict[str, Any]) -> FoundRun | None:
        """A finished run that stands for ``item`` run with ``params`` (its full validated intent), or None."""
        content_id: str | None = None
        for run_dir, task in self._candidates.get(settings_key(params), []):
            try:
                manifest = run_dir.read_manifest()
                if manifest.state not in FINISHED_STATES:
                    continue
                if item.kind == "file":
                    # The same file, unchanged since: its path and its content id (a copy elsewhere is its own item).
                    info = _source_info(run_dir, manifest.artifacts)
                    content_id = content_id or local_source_id(Path(item.source))
                    if task.params.get("source") != item.source or info is None or info.get("id") != content_id:
                        continue
                elif task.params.get("source") != item.source:
                    info = _source_info(run_dir, manifest.artifacts)
                    if info is None or not (item.source_id and info.get("id") == item.source_id
                                            and _site(str(info.get("webpage_url") or task.params.get("source") or ""))
                                            == _site(item.source)):
                        continue
                folder = Path(task.params.get("output_dir") or self._default_output_dir)
                outputs = {name: str(folder / filename) for name, filename in manifest.outputs.items()}
                if outputs and all(Path(path).is_file() for path in outputs.values()):
                    return FoundRun(task.run_id, run_dir.path, outputs)
            except (OSError, YTTError):
                continue
        return None


def _source_info(run_dir: RunDir, artifacts: dict[str, Any]) -> dict[str, Any] | None:
    ref = artifacts.get("source.info")
    if ref is None:
        return None
    data = read_json(run_dir.path / ref.path)
    return data if isinstance(data, dict) else None
