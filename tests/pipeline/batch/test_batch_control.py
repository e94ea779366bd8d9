"""Pause and cancel apply to the whole batch: the runs in flight stop at their next safe point, nothing is lost,
and resuming the batch resumes them."""

from __future__ import annotations

import time
from pathlib import Path

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.drive import drive
from tests.pipeline.batch.conftest import all_item_runs, completions, item_states, media_folder


def test_pausing_a_running_batch_pauses_its_items_and_resume_finishes_each_once(tmp_path: Path) -> None:
    media_folder(tmp_path / "media", 6)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    batch = api.create_run({"source": str(tmp_path / "media"), "output_dir": str(tmp_path / "out"),
                            "concurrency": 1})
    api.advance_run(batch.run_id, wait_seconds=0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        work_dir = Path(batch.work_dir)
        if (work_dir / "items").is_dir() and any(s["status"] == "finished" for s in item_states(work_dir).values()):
            break
        time.sleep(0.1)
    api.apply_control(batch.run_id, "pause", reason="test")
    while api.inspect_run(batch.run_id).state != "paused":
        assert time.monotonic() < deadline
        api.advance_run(batch.run_id, wait_seconds=2)
    states = item_states(Path(batch.work_dir))
    assert 1 <= sum(s["status"] == "finished" for s in states.values()) < 6
    for run_dir in all_item_runs(tmp_path / "ytt-home"):
        assert api.inspect_run(str(run_dir)).state in ("completed", "paused", "created")

    api.resume_run(batch.run_id)
    assert drive(api, batch.run_id, accept_degraded=True).state == "completed"
    assert [completions(run_dir) for run_dir in all_item_runs(tmp_path / "ytt-home")] == [1] * 6
