"""Append-only run history: ``telemetry.jsonl``, one event per command, decision, action, transition and
phase, plus whatever events a pipeline's phases emit. Everyone appends (no lease needed); the store repairs a torn last line.

Events never contain secrets or absolute paths: callers pass work_dir-relative paths and redacted
settings only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .clock import Clock
from .store import append_jsonl, iter_jsonl

TELEMETRY_FILE = "telemetry.jsonl"


class Telemetry:
    def __init__(self, work_dir: Path, run_id: str, clock: Clock) -> None:
        self.path = work_dir / TELEMETRY_FILE
        self.run_id = run_id
        self.clock = clock

    def emit(self, event: str, **fields: Any) -> None:
        record = {"ts": self.clock.now().isoformat(), "run_id": self.run_id, "event": event, **fields}
        # History, not state: written through to the kernel at once, but not fsynced per event.
        append_jsonl(self.path, record, durable=False)


def read_events(work_dir: Path, *, event: str | None = None) -> list[dict[str, Any]]:
    return [e for e in iter_jsonl(work_dir / TELEMETRY_FILE) if event is None or e.get("event") == event]


def page_events(work_dir: Path, *, cursor: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """Events ``cursor..cursor+limit`` and the next cursor (None at the end)."""
    events = list(iter_jsonl(work_dir / TELEMETRY_FILE))
    page = events[cursor : cursor + limit]
    next_cursor = cursor + limit if cursor + limit < len(events) else None
    return page, next_cursor


def iter_events(work_dir: Path) -> Iterator[dict[str, Any]]:
    """Every event of the run, oldest first (a torn last line is skipped)."""
    return iter_jsonl(work_dir / TELEMETRY_FILE)


def summarize(work_dir: Path) -> dict[str, Any]:
    """Counts by event type and phase run/skip counts (pipelines add their own counts to this)."""
    counts: Counter[str] = Counter()
    phase_runs: Counter[str] = Counter()
    phase_skips: Counter[str] = Counter()
    for record in iter_events(work_dir):
        name = str(record.get("event"))
        counts[name] += 1
        if name == "phase_started":
            phase_runs[str(record.get("phase"))] += 1
        elif name == "phase_skipped":
            phase_skips[str(record.get("phase"))] += 1
    return {"events": dict(counts), "phase_runs": dict(phase_runs), "phase_skips": dict(phase_skips)}
