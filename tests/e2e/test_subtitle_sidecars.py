"""Sidecar subtitles through the real pipeline: damaged cues are repaired and recorded in the
``transcript.segments`` artifact, and a sidecar that cannot be used fails with its own code, a message
naming the user's file (never the work_dir copy) and ``reroute_to_asr`` on offer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import RunState
from tests.conftest import EXAMPLES, FIXTURES

SUBTITLES = FIXTURES / "subtitles"


def talk_with_sidecar(tmp_path: Path, name: str, content: bytes) -> tuple[RuntimeApi, str]:
    media = tmp_path / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", media)
    (tmp_path / name).write_bytes(content)
    api = build_runtime_api(load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path))
    return api, api.create_run({"source": str(media), "llm": "none"}).run_id


def transcript_artifact(api: RuntimeApi, run_id: str) -> dict[str, Any]:
    run_dir = api.resolve(run_id)
    ref = run_dir.read_manifest().artifacts["transcript.segments"]
    return dict(json.loads((run_dir.path / ref.path).read_text(encoding="utf-8")))


def test_a_damaged_sidecar_is_transcribed_and_every_repair_is_recorded_with_the_users_file_name(
    tmp_path: Path,
) -> None:
    api, run_id = talk_with_sidecar(tmp_path, "talk.en.srt", (SUBTITLES / "damaged.en.srt").read_bytes())

    result = api.advance_run(run_id, wait_seconds=50)
    while result.result is not None and result.result.status == "running":
        result = api.advance_run(run_id, wait_seconds=50)

    assert result.state != RunState.FAILED, result.result
    transcript = transcript_artifact(api, run_id)
    assert transcript["origin"] == "subtitles"
    assert "This cue has a damaged timing line." in [s["text"] for s in transcript["segments"]]
    assert sorted((i["kind"], i["line"]) for i in transcript["issues"]) == [
        ("end_before_start", 26), ("out_of_order", 22), ("timing_unreadable", 6),
    ]
    assert {i["file"] for i in transcript["issues"]} == {"talk.en.srt"}
    assert transcript["stats"]["encoding"] == "utf-8"
    # Every command shows the repairs, and the quality report lists them, file and line each.
    warnings = api.inspect_run(run_id).warnings
    for line in (6, 22, 26):
        assert any(w.startswith(f"talk.en.srt line {line}:") for w in warnings), warnings
    run_dir = api.resolve(run_id)
    quality = json.loads((run_dir.path / run_dir.read_manifest().artifacts["quality.report"].path).read_text())
    assert quality["source_issues"] == warnings


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "subtitle_empty"),
        (b"WEBVTT\n\nNOTE nothing but a note\n", "subtitle_empty"),
        (b"this is not a subtitle file, only prose\n", "subtitle_garbled"),
        ((SUBTITLES / "encodings" / "picture.en.srt").read_bytes(), "subtitle_not_text"),
        ((SUBTITLES / "encodings" / "talk_le.de.srt").read_bytes()[:-1], "subtitle_undecodable"),
    ],
    ids=["empty", "header-only", "garbled", "binary", "cut-off-utf16"],
)
def test_an_unusable_sidecar_fails_naming_the_users_file_and_offers_speech_recognition(
    tmp_path: Path, content: bytes, code: str
) -> None:
    api, run_id = talk_with_sidecar(tmp_path, "talk.en.srt", content)

    first = api.advance_run(run_id, wait_seconds=50)

    assert first.state == RunState.FAILED
    assert first.result is not None
    cause = first.result.data["error"]["details"]["cause"]
    assert cause["code"] == code
    assert "talk.en.srt" in cause["message"] and "subtitles.srt" not in cause["message"]
    assert cause["details"]["file"] == "talk.en.srt"
    assert "reroute_to_asr" in first.allowed_actions
