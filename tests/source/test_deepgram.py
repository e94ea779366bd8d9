"""Deepgram backend end to end through the real SDK against the local fake Deepgram server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.config import Settings, load_settings
from kernel.source.asr import make_transcriber
from kernel.source.asr.base import TranscriberError, WindowResult
from kernel.source.asr.deepgram import DeepgramTranscriber, segments_from_response
from kernel.task_runtime.errors import StopRequested
from tests.conftest import FIXTURES, REPO_ROOT
from tests.fakes.deepgram_server import DEFAULT_API_KEY, FakeDeepgramServer, build_response

WEATHER = FIXTURES / "speech" / "weather_en.wav"  # 15.7 s with pauses near 4.0-5.5 s and 8.8-10.3 s
DIALOGUE = [("Good morning, everyone.", 0), ("Morning! Shall we start?", 1), ("Yes, let's begin.", 0)]


@pytest.fixture
def server() -> Iterator[FakeDeepgramServer]:
    with FakeDeepgramServer(utterances=DIALOGUE) as fake:
        yield fake


def _settings(
    home: Path, server: FakeDeepgramServer, *, key: str | None = DEFAULT_API_KEY, **deepgram: Any
) -> Settings:
    env = {"YTT_HOME": str(home), "YTT_DEEPGRAM_BASE_URL": server.base_url}
    if key is not None:
        env["DEEPGRAM_API_KEY"] = key
    settings = load_settings(env)
    return settings.model_copy(update={"deepgram": settings.deepgram.model_copy(update=deepgram)})


def _transcriber(settings: Settings, sleeps: list[float] | None = None) -> DeepgramTranscriber:
    record = sleeps if sleeps is not None else []
    return DeepgramTranscriber(settings, sleep=record.append)


def test_utterances_become_segments_with_speakers_words_and_detected_language(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    result = _transcriber(_settings(isolated_home, server)).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
    )

    assert result.origin == "deepgram"
    assert result.language == "en"
    assert [(s.text, s.speaker) for s in result.segments] == [
        ("Good morning, everyone.", "Speaker 1"),
        ("Morning! Shall we start?", "Speaker 2"),
        ("Yes, let's begin.", "Speaker 1"),
    ]
    first = result.segments[0]
    assert first.words is not None
    assert [w.text for w in first.words] == ["Good", "morning,", "everyone."]
    assert {w.speaker for w in first.words} == {"Speaker 1"}
    assert all(0 <= s.start <= s.end <= 15.71 for s in result.segments)
    assert result.stats["speakers"] == 2
    (request,) = server.listen_requests()
    for option in ("smart_format", "diarize", "utterances", "paragraphs", "punctuate", "detect_language"):
        assert request.query[option] == ["true"]
    assert request.query["model"] == ["nova-3"]


def test_long_audio_is_uploaded_in_parts_cut_at_pauses_with_times_shifted_back(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, server, max_part_seconds=11.0)
    handed_out: list[WindowResult] = []

    result = _transcriber(settings).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path, on_window=handed_out.append
    )

    requests = server.listen_requests()
    assert len(requests) == 2
    part_seconds = [r.audio_seconds or 0.0 for r in requests]
    assert all(seconds <= 11.0 for seconds in part_seconds)
    assert sum(part_seconds) == pytest.approx(15.707, abs=0.01)
    assert 8.8 < part_seconds[0] < 10.3  # the cut fell in the pause between sentences 2 and 3
    assert result.stats["windows_total"] == 2
    assert len(result.segments) == 2 * len(DIALOGUE)
    second_part = result.segments[len(DIALOGUE) :]
    assert all(s.start >= part_seconds[0] for s in second_part)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    # Each part is handed out as one window, in order, as soon as its answer is in.
    assert [(w.window.index, w.windows_total, w.from_checkpoint) for w in handed_out] == [(0, 2, False), (1, 2, False)]
    assert [s for w in handed_out for s in w.segments] == result.segments
    assert handed_out[0].window.end == handed_out[1].window.start


def test_cached_parts_are_not_uploaded_again_even_without_a_key(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    first = _transcriber(_settings(isolated_home, server, max_part_seconds=11.0)).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
    )
    assert len(server.listen_requests()) == 2

    handed_out: list[WindowResult] = []
    again = _transcriber(_settings(isolated_home, server, key=None, max_part_seconds=11.0)).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path, on_window=handed_out.append
    )

    assert len(server.requests) == 2
    assert again.stats["windows_from_checkpoint"] == 2
    assert again.segments == first.segments
    assert [w.from_checkpoint for w in handed_out] == [True, True]
    assert [s for w in handed_out for s in w.segments] == first.segments


def test_a_stop_between_parts_keeps_the_finished_part_and_resumes_with_the_rest(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, server, max_part_seconds=11.0)

    def stop_after_first_part() -> bool:  # asked before each part and while one uploads: stop once part 0 is saved
        return any(tmp_path.glob("deepgram-p0000-*.json"))

    with pytest.raises(StopRequested):
        _transcriber(settings).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path, should_stop=stop_after_first_part
        )
    assert len(server.listen_requests()) == 1

    resumed = _transcriber(settings).transcribe(WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path)

    assert len(server.listen_requests()) == 2
    assert resumed.stats["windows_from_checkpoint"] == 1
    assert len(resumed.segments) == 2 * len(DIALOGUE)


def test_a_stop_during_an_upload_does_not_wait_for_the_answer_and_resume_uploads_that_part_again(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, server, max_part_seconds=11.0)
    server.hold_answers()

    with pytest.raises(StopRequested) as excinfo:
        _transcriber(settings).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path, should_stop=server.state.held.is_set
        )

    assert excinfo.value.details["windows_done"] == 0
    assert server.listen_requests() == []  # stopped while the first answer was still outstanding
    assert not list(tmp_path.glob("deepgram-p*.json"))
    server.release_answers()
    resumed = _transcriber(settings).transcribe(WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path)
    assert resumed.stats["windows_from_checkpoint"] == 0
    assert len(resumed.segments) == 2 * len(DIALOGUE)


def test_a_changed_option_is_a_new_request_not_a_cache_hit(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, server)
    _transcriber(settings).transcribe(WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path)

    forced = _transcriber(settings).transcribe(WEATHER, language="es", initial_prompt=None, checkpoint_dir=tmp_path)

    requests = server.listen_requests()
    assert len(requests) == 2
    assert requests[1].query["language"] == ["es"]
    assert "detect_language" not in requests[1].query
    assert forced.language == "es"
    assert forced.stats["windows_from_checkpoint"] == 0


def test_a_rejected_key_is_deepgram_auth_and_the_key_is_never_echoed(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    wrong_key = "wrong-key-5f2c91d7e0"
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(TranscriberError) as excinfo:
        _transcriber(_settings(isolated_home, server, key=wrong_key)).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=checkpoints
        )

    assert excinfo.value.code == "deepgram_auth"
    assert wrong_key not in json.dumps(excinfo.value.to_dict())
    assert wrong_key not in str(excinfo.value)
    assert not checkpoints.exists() or not list(checkpoints.iterdir())  # nothing cached from a refusal
    assert len(server.requests) == 1  # an auth failure is not retried


def test_a_missing_key_is_reported_before_anything_is_uploaded(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    transcriber = _transcriber(_settings(isolated_home, server, key=None))
    with pytest.raises(TranscriberError) as preflight:
        transcriber.ensure_configured()
    with pytest.raises(TranscriberError) as excinfo:
        transcriber.transcribe(WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path)

    assert preflight.value.code == excinfo.value.code == "deepgram_key_missing"
    assert transcriber.requests_sent == 0
    assert excinfo.value.hint is not None and "DEEPGRAM_API_KEY" in excinfo.value.hint
    assert server.requests == []


def test_a_server_error_once_is_retried_after_a_backoff(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    server.fail_next(500, times=1)
    sleeps: list[float] = []

    result = _transcriber(_settings(isolated_home, server), sleeps).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
    )

    assert [r.status for r in server.requests] == [500, 200]
    assert len(sleeps) == 1
    assert len(result.segments) == len(DIALOGUE)


def test_a_server_that_keeps_failing_is_deepgram_unavailable_after_bounded_attempts(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    server.fail_next(503, times=10)
    sleeps: list[float] = []

    with pytest.raises(TranscriberError) as excinfo:
        _transcriber(_settings(isolated_home, server), sleeps).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
        )

    assert excinfo.value.code == "deepgram_unavailable"
    assert len(server.requests) == 3
    assert sleeps == sorted(sleeps) and len(sleeps) == 2  # growing back-off between the 3 attempts


def test_an_unreachable_service_is_deepgram_unavailable(isolated_home: Path, tmp_path: Path) -> None:
    closed = FakeDeepgramServer()  # bound, then closed without serving: its port refuses connections
    closed.start()
    closed.stop()

    with pytest.raises(TranscriberError) as excinfo:
        _transcriber(_settings(isolated_home, closed)).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
        )

    assert excinfo.value.code == "deepgram_unavailable"


def test_the_factory_builds_a_deepgram_transcriber(server: FakeDeepgramServer, isolated_home: Path) -> None:
    assert make_transcriber("deepgram", _settings(isolated_home, server)).name == "deepgram"


def test_paragraph_sentences_are_used_when_utterances_are_missing() -> None:
    response = build_response(DIALOGUE, duration=9.0, body=b"", language=None, model="nova-3")
    del response["results"]["utterances"]

    segments, language = segments_from_response(response, offset=100.0)

    assert [(s.text, s.speaker) for s in segments] == [(text, f"Speaker {n + 1}") for text, n in DIALOGUE]
    assert all(100.0 <= s.start <= s.end <= 109.0 for s in segments)
    assert language is None


def test_the_transcribe_script_uses_deepgram_when_asked(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "DEEPGRAM_API_KEY": DEFAULT_API_KEY, "YTT_DEEPGRAM_BASE_URL": server.base_url}
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.transcribe", str(WEATHER), "--backend", "deepgram"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    document = json.loads(completed.stdout)
    assert document["ok"] is True
    assert document["transcript"]["origin"] == "deepgram"
    assert [s["speaker"] for s in document["transcript"]["segments"]] == ["Speaker 1", "Speaker 2", "Speaker 1"]
    assert DEFAULT_API_KEY not in completed.stdout.decode() + completed.stderr.decode()
    cached = list((isolated_home / "cache" / "transcribe").glob("*/checkpoints/deepgram-p0000-*.json"))
    assert len(cached) == 1
    assert DEFAULT_API_KEY not in cached[0].read_text(encoding="utf-8")


def test_a_rejected_request_is_asr_failed_without_retrying(
    server: FakeDeepgramServer, isolated_home: Path, tmp_path: Path
) -> None:
    server.fail_next(400, times=1)
    sleeps: list[float] = []

    with pytest.raises(TranscriberError) as excinfo:
        _transcriber(_settings(isolated_home, server), sleeps).transcribe(
            WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path
        )

    assert excinfo.value.code == "asr_failed"
    assert len(server.requests) == 1
    assert sleeps == []
