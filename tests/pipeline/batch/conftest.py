"""Helpers for batch tests: small media folders (a 1 s tone with an English sidecar each: no speech recognition),
the real CLI in a subprocess, and readers for a batch's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES

TONE = FIXTURES / "media" / "tone.m4a"
SIDECAR = FIXTURES / "subtitles" / "manual.en.vtt"


def media_folder(folder: Path, count: int, *, prefix: str = "clip") -> list[Path]:
    """``count`` small media files ``clip01.m4a``... each with its ``.en.vtt`` sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(1, count + 1):
        media = folder / f"{prefix}{n:02d}.m4a"
        shutil.copyfile(TONE, media)
        shutil.copyfile(SIDECAR, folder / f"{prefix}{n:02d}.en.vtt")
        made.append(media)
    return made


def telemetry(work_dir: Path) -> list[dict[str, Any]]:
    path = work_dir / "telemetry.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def item_states(batch_dir: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((batch_dir / "items").glob("*.json"))}


def completions(run_dir: Path) -> int:
    """How often the run finished (transitions into completed or completed_degraded)."""
    return sum(1 for e in telemetry(run_dir) if e.get("event") == "transition"
               and e.get("to_state") in ("completed", "completed_degraded"))


def all_item_runs(home: Path) -> list[Path]:
    return sorted(home.glob("runs/*/item_runs/*"))
