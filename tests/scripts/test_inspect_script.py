"""``python -m scripts.inspect``: one JSON document for a run, by run_id or work_dir, with JSON errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from tests.conftest import EXAMPLES


def inspect_script(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.inspect", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    document: dict[str, Any] = json.loads(proc.stdout)  # exactly one JSON document
    return proc.returncode, document


def create_sample_run(tmp_path: Path) -> tuple[str, str]:
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", tmp_path / "sample.mp4")
    api = build_runtime_api(load_settings(cwd=tmp_path))
    created = api.create_run({"source": str(tmp_path / "sample.mp4")})
    return created.run_id, created.work_dir


def test_inspect_prints_the_run_state_and_allowed_actions(tmp_path: Path) -> None:
    run_id, _ = create_sample_run(tmp_path)
    code, document = inspect_script(run_id, cwd=tmp_path)
    assert code == 0
    assert document["ok"] is True
    assert document["run_id"] == run_id and document["state"] == "created"
    assert "run_phase" in document["allowed_actions"]
    assert [row["status"] for row in document["phases"]] == ["pending"] * len(document["phases"])


def test_inspect_accepts_the_work_dir_and_pages_the_telemetry(tmp_path: Path) -> None:
    run_id, work_dir = create_sample_run(tmp_path)
    code, document = inspect_script(work_dir, "--detail", "telemetry", "--limit", "1", cwd=tmp_path)
    assert code == 0
    assert document["run_id"] == run_id
    assert [event.get("command") for event in document["data"]["events"]] == ["create-run"]
    assert document["data"]["next_cursor"] is None
    code, page = inspect_script(work_dir, "--detail", "telemetry", "--cursor", "1", cwd=tmp_path)
    assert code == 0 and page["data"]["events"] == []


def test_inspect_of_an_unknown_run_is_a_json_error(tmp_path: Path) -> None:
    code, document = inspect_script("r20990101-000000-nosuch", cwd=tmp_path)
    assert code == 1
    assert document["ok"] is False
    assert document["error"]["code"] == "unknown_run"
