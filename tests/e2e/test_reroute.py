"""Subtitles that are not a transcript (only [Music]) reroute to speech recognition via reroute_to_asr."""

from __future__ import annotations

import shutil
from pathlib import Path

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.contracts import RunState
from tests.conftest import EXAMPLES


def test_music_only_subtitles_are_rejected_and_the_run_reroutes_to_speech_recognition(tmp_path: Path) -> None:
    media = tmp_path / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", media)
    cues = "\n".join(f"00:00:{s:02d}.000 --> 00:00:{s + 4:02d}.000\n[Music]\n" for s in range(0, 48, 5))
    (tmp_path / "talk.en.vtt").write_text("WEBVTT\n\n" + cues, encoding="utf-8")
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))
    run_id = api.create_run({"source": str(media)}).run_id

    first = api.advance_run(run_id, wait_seconds=50)
    assert first.state == RunState.FAILED
    assert first.result is not None and first.result.data["error"]["details"]["cause"]["code"] == "subtitles_unusable"
    assert "reroute_to_asr" in first.allowed_actions

    rerouted = api.advance_run(run_id, wait_seconds=50)  # the policy's own choice
    assert rerouted.decision is not None and rerouted.decision.chosen == "reroute_to_asr"
    while rerouted.result is not None and rerouted.result.status == "running":
        rerouted = api.advance_run(run_id, wait_seconds=50)
    assert rerouted.result is not None and rerouted.result.status == "completed"

    route = api.inspect_run(run_id).data["domain"]["route"]
    assert route["route"] == "asr"
    assert any("reject" in reason.lower() for reason in route["reasons"]), route["reasons"]
    final = api.finalize_run(run_id, wait_seconds=50)
    assert final.state == RunState.COMPLETED
    article = Path(final.outputs["markdown"]).read_text(encoding="utf-8")  # type: ignore[index]
    assert "transcript_source: whisper" in article
    assert "Maria" in article and "build" in article
