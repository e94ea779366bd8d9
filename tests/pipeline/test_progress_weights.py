"""The progress weights: every phase weighed, and the bar's share follows where a run spends its time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.config import Settings
from kernel.pipeline.intent import TranscriptParams
from kernel.pipeline.progress_weights import phase_weights
from kernel.pipeline.spec import TranscriptPipeline
from kernel.task_runtime.contracts import Manifest, PhaseRecord


def _manifest(**summaries: dict[str, Any]) -> Manifest:
    phases = {name: PhaseRecord(name=name, version="1", status="succeeded", summary=summary)
              for name, summary in summaries.items()}
    return Manifest(run_id="r1", state="processing", phases=phases)


def _share(weights: dict[str, float], phase: str) -> float:
    return weights[phase] / sum(weights.values())


def test_every_phase_of_the_pipeline_has_a_weight(tmp_path: Path) -> None:
    params = TranscriptParams(source="talk.m4a")
    names = [p.name for p in TranscriptPipeline().phases]
    assert sorted(phase_weights(params, Settings(home=tmp_path), _manifest())) == sorted(names)


def test_speech_recognition_takes_most_of_the_bar_of_an_hour_long_local_run_without_an_llm(tmp_path: Path) -> None:
    params = TranscriptParams(source="talk.m4a", llm="none")
    weights = phase_weights(params, Settings(home=tmp_path), _manifest(discover={"duration_s": 3600.0},
                                                          route={"route": "asr", "asr_backend": "whisper"}))
    assert _share(weights, "transcribe") >= 0.8


def test_chosen_subtitles_leave_the_bar_to_the_writer(tmp_path: Path) -> None:
    params = TranscriptParams(source="https://example.org/v", llm="agent")
    weights = phase_weights(params, Settings(home=tmp_path), _manifest(discover={"duration_s": 3600.0},
                                                          route={"route": "subtitles"}, plan={"chunks": 12}))
    assert _share(weights, "transcribe") < 0.01 and _share(weights, "transform") >= 0.8


def test_before_the_duration_is_known_a_ten_minute_source_is_assumed(tmp_path: Path) -> None:
    params = TranscriptParams(source="talk.m4a", llm="none")
    unknown = phase_weights(params, Settings(home=tmp_path), _manifest())
    known = phase_weights(params, Settings(home=tmp_path), _manifest(discover={"duration_s": 600.0}))
    assert unknown == known
