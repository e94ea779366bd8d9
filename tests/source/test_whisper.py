"""faster-whisper backend with the bundled whisper-base model on real espeak-ng speech.

One model is joined and loaded per module and shared; audio stays short (whisper-base int8 runs at a
fraction of real time here), so the whole file takes well under a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kernel.config import Settings, load_settings
from kernel.source.asr import make_transcriber
from kernel.source.asr.base import TranscriberError, WindowResult
from kernel.source.asr.whisper import WhisperTranscriber, auto_batch_size, usable_cpu_count
from kernel.source.asr.whisper_model import bundled_model_sources, ensure_bundled_model, resolve_whisper_model
from kernel.source.asr.windows import read_wav_info, read_wav_pcm16
from kernel.task_runtime.errors import StopRequested
from tests.conftest import FIXTURES, REPO_ROOT

SPEECH = FIXTURES / "speech"
WEATHER = SPEECH / "weather_en.wav"
BAKERY_ES = SPEECH / "bakery_es.wav"
_STOPWORDS = {"the", "in", "this", "to", "before", "and", "near", "a", "of", "el", "y", "los", "del", "su", "muy"}


@pytest.fixture(scope="module")
def bundled_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    models_dir = tmp_path_factory.mktemp("models")
    yield ensure_bundled_model(models_dir)
    shutil.rmtree(models_dir, ignore_errors=True)  # 145 MB: do not leave it in pytest's kept temp dirs


@pytest.fixture(scope="module")
def whisper_model(bundled_model_dir: Path) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(str(bundled_model_dir), device="cpu", compute_type="int8")


def _settings(home: Path, **whisper: Any) -> Settings:
    settings = load_settings({"YTT_HOME": str(home)})
    return settings.model_copy(update={"whisper": settings.whisper.model_copy(update=whisper)})


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[\wáéíóúñü']+", text.lower())
    return [w for w in words if w not in _STOPWORDS]


def _share_of_words_heard(spoken: str, heard: str) -> float:
    expected = _content_words(spoken)
    recognized = set(_content_words(heard))
    return sum(word in recognized for word in expected) / len(expected)


def test_english_speech_is_transcribed_with_its_words_and_language(
    whisper_model: Any, isolated_home: Path, tmp_path: Path
) -> None:
    progress: list[tuple[float, float]] = []
    transcriber = WhisperTranscriber(_settings(isolated_home), model=whisper_model)

    result = transcriber.transcribe(
        WEATHER,
        language=None,
        initial_prompt="Weather report",
        checkpoint_dir=tmp_path / "checkpoints",
        progress=lambda done, total: progress.append((done, total)),
    )

    heard = " ".join(segment.text for segment in result.segments)
    assert _share_of_words_heard((SPEECH / "weather_en.txt").read_text(encoding="utf-8"), heard) >= 0.8
    assert result.origin == "whisper"
    assert result.language == "en"
    starts = [segment.start for segment in result.segments]
    assert starts == sorted(starts)
    assert all(0 <= s.start <= s.end <= 15.71 for s in result.segments)
    assert all(s.words for s in result.segments)
    assert result.stats["windows_total"] == 1
    assert result.stats["audio_seconds"] == pytest.approx(15.707, abs=0.01)
    assert progress[-1] == (pytest.approx(15.707, abs=0.01), pytest.approx(15.707, abs=0.01))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_spanish_speech_is_detected_as_spanish(whisper_model: Any, isolated_home: Path, tmp_path: Path) -> None:
    transcriber = WhisperTranscriber(_settings(isolated_home), model=whisper_model)

    result = transcriber.transcribe(BAKERY_ES, language=None, initial_prompt=None, checkpoint_dir=tmp_path)

    assert result.language == "es"
    heard = " ".join(segment.text for segment in result.segments)
    assert _share_of_words_heard((SPEECH / "bakery_es.txt").read_text(encoding="utf-8"), heard) >= 0.5


@pytest.fixture(scope="module")
def four_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The weather fixture four times (~63 s): two 30 s windows of two VAD clips each."""
    samples = read_wav_pcm16(WEATHER)
    path = tmp_path_factory.mktemp("speech") / "four_reports.wav"
    _write_wav(path, np.concatenate([samples] * 4), rate=16000, channels=1)
    return path


def test_a_stop_inside_a_window_stops_before_the_end_and_resume_matches_an_uninterrupted_run(
    whisper_model: Any, isolated_home: Path, tmp_path: Path, four_reports: Path
) -> None:
    settings = _settings(isolated_home, window_seconds=30.0, batch_size=1)
    resumable = tmp_path / "resumable"
    reached: list[float] = []
    handed_out: dict[str, list[WindowResult]] = {"stopped": [], "resumed": [], "uninterrupted": []}

    def stop_once_the_second_window_has_begun() -> bool:
        # A pause requested while the second window's first clip is done and its second is not.
        return len(handed_out["stopped"]) == 1 and reached[-1] > handed_out["stopped"][0].window.end

    with pytest.raises(StopRequested) as excinfo:
        WhisperTranscriber(settings, model=whisper_model).transcribe(
            four_reports,
            language=None,
            initial_prompt=None,
            checkpoint_dir=resumable,
            progress=lambda done, _total: reached.append(done),
            should_stop=stop_once_the_second_window_has_begun,
            on_window=handed_out["stopped"].append,
        )
    assert excinfo.value.code == "stop_requested"
    assert excinfo.value.details["windows_done"] == 1
    duration = read_wav_info(four_reports).duration
    assert max(reached) < duration  # it stopped before recognizing the whole file
    assert len(list(resumable.glob("whisper-w0000-*.json"))) == 1
    assert not list(resumable.glob("whisper-w0001-*.json"))

    resumed = WhisperTranscriber(settings, model=whisper_model).transcribe(
        four_reports, language=None, initial_prompt=None, checkpoint_dir=resumable, on_window=handed_out["resumed"].append
    )
    uninterrupted = WhisperTranscriber(settings, model=whisper_model).transcribe(
        four_reports,
        language=None,
        initial_prompt=None,
        checkpoint_dir=tmp_path / "uninterrupted",
        on_window=handed_out["uninterrupted"].append,
    )

    assert resumed.stats["windows_total"] == 2
    assert resumed.stats["windows_from_checkpoint"] == 1
    assert uninterrupted.stats["windows_from_checkpoint"] == 0
    assert resumed.segments == uninterrupted.segments
    assert resumed.language == uninterrupted.language == "en"
    # The hook hands out the same windows, in order, whether or not the run was interrupted.
    assert [w.from_checkpoint for w in handed_out["resumed"]] == [True, False]
    assert [(w.window, w.segments) for w in handed_out["resumed"]] == [
        (w.window, w.segments) for w in handed_out["uninterrupted"]
    ]
    assert handed_out["stopped"][0].segments == handed_out["uninterrupted"][0].segments
    assert [s for w in handed_out["uninterrupted"] for s in w.segments] == uninterrupted.segments
    spoken = (SPEECH / "weather_en.txt").read_text(encoding="utf-8")
    for window in handed_out["uninterrupted"]:
        assert _share_of_words_heard(spoken, " ".join(s.text for s in window.segments)) >= 0.8


def test_the_sequential_decoder_also_stops_and_resumes_to_the_same_segments(
    whisper_model: Any, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, window_seconds=11.0, batched=False)  # the planner cuts 2 windows
    checkpoints = tmp_path / "checkpoints"
    handed_out: list[WindowResult] = []

    with pytest.raises(StopRequested):
        WhisperTranscriber(settings, model=whisper_model).transcribe(
            WEATHER,
            language=None,
            initial_prompt=None,
            checkpoint_dir=checkpoints,
            should_stop=lambda: bool(handed_out),
            on_window=handed_out.append,
        )
    resumed = WhisperTranscriber(settings, model=whisper_model).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=checkpoints
    )
    uninterrupted = WhisperTranscriber(settings, model=whisper_model).transcribe(
        WEATHER, language=None, initial_prompt=None, checkpoint_dir=tmp_path / "uninterrupted"
    )

    assert len(handed_out) == 1
    assert resumed.stats["windows_from_checkpoint"] == 1
    assert resumed.stats["decoder"] == "sequential"
    assert resumed.segments == uninterrupted.segments
    heard = " ".join(segment.text for segment in resumed.segments)
    assert _share_of_words_heard((SPEECH / "weather_en.txt").read_text(encoding="utf-8"), heard) >= 0.8


def test_batch_size_and_threads_follow_the_usable_cores_unless_set(isolated_home: Path) -> None:
    cores = usable_cpu_count()
    automatic = WhisperTranscriber(_settings(isolated_home))
    assert automatic.cpu_threads == cores
    assert automatic.batch_size == auto_batch_size(cores)
    assert [auto_batch_size(n) for n in (1, 2, 3, 4, 8, 16, 64)] == [1, 1, 1, 2, 4, 8, 8]
    chosen = WhisperTranscriber(_settings(isolated_home, batch_size=3, cpu_threads=1))
    assert (chosen.batch_size, chosen.cpu_threads) == (3, 1)


def test_finished_checkpoints_are_reused_but_a_changed_option_or_file_recomputes(
    whisper_model: Any, isolated_home: Path, tmp_path: Path
) -> None:
    settings = _settings(isolated_home, window_seconds=11.0)
    checkpoints = tmp_path / "checkpoints"
    first = WhisperTranscriber(settings, model=whisper_model).transcribe(
        WEATHER, language="en", initial_prompt=None, checkpoint_dir=checkpoints
    )

    def always_stop() -> bool:
        return True

    # Everything is checkpointed: nothing needs computing, so a pending stop does not interrupt.
    again = WhisperTranscriber(settings, model=whisper_model).transcribe(
        WEATHER, language="en", initial_prompt=None, checkpoint_dir=checkpoints, should_stop=always_stop
    )
    assert again.stats["windows_from_checkpoint"] == 2
    assert again.segments == first.segments

    # Any change that alters the result finds no usable checkpoint (it would have to compute: it stops).
    changed = [
        (_settings(isolated_home, window_seconds=11.0, beam_size=2), WEATHER, None),
        (settings, WEATHER, "Flood warning"),
    ]
    edited = tmp_path / "edited.wav"
    samples = read_wav_pcm16(WEATHER).copy()
    samples[-1600:] = 0
    _write_wav(edited, samples, rate=16000, channels=1)
    changed.append((settings, edited, None))
    for changed_settings, audio, prompt in changed:
        with pytest.raises(StopRequested):
            WhisperTranscriber(changed_settings, model=whisper_model).transcribe(
                audio, language="en", initial_prompt=prompt, checkpoint_dir=checkpoints, should_stop=always_stop
            )


def test_a_corrupt_checkpoint_is_recomputed_not_trusted(
    whisper_model: Any, isolated_home: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    transcriber = WhisperTranscriber(_settings(isolated_home), model=whisper_model)
    transcriber.transcribe(BAKERY_ES, language="es", initial_prompt=None, checkpoint_dir=checkpoints)
    (checkpoint,) = checkpoints.glob("whisper-w0000-*.json")
    checkpoint.write_text('{"schema_version": 1, "segments": [', encoding="utf-8")

    # The window has to be computed again, which is where a pending stop takes effect.
    with pytest.raises(StopRequested):
        transcriber.transcribe(
            BAKERY_ES, language="es", initial_prompt=None, checkpoint_dir=checkpoints, should_stop=lambda: True
        )


def test_the_bundled_model_is_joined_once_and_reused(bundled_model_dir: Path) -> None:
    parts, _ = bundled_model_sources()
    model_bin = bundled_model_dir / "model.bin"
    assert model_bin.stat().st_size == sum(part.stat().st_size for part in parts)
    inode = model_bin.stat().st_ino

    assert ensure_bundled_model(bundled_model_dir.parent) == bundled_model_dir
    assert (bundled_model_dir / "model.bin").stat().st_ino == inode
    assert resolve_whisper_model("bundled:base", bundled_model_dir.parent) == str(bundled_model_dir)


def test_concurrent_joins_and_a_damaged_copy_end_with_one_complete_model(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    damaged = models_dir / "whisper-base"
    damaged.mkdir(parents=True)
    (damaged / "model.bin").write_bytes(b"truncated")
    parts, side_files = bundled_model_sources()
    results: list[Path] = []
    errors: list[BaseException] = []

    def join() -> None:
        try:
            results.append(ensure_bundled_model(models_dir))
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=join) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors
        assert results == [damaged, damaged]
        assert (damaged / "model.bin").stat().st_size == sum(part.stat().st_size for part in parts)
        assert sorted(p.name for p in damaged.iterdir()) == sorted(["model.bin", *side_files])
        assert [p.name for p in models_dir.iterdir()] == ["whisper-base"]  # no temp or broken leftovers
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)


@pytest.mark.parametrize(
    "spec",
    ["bundled:large-v3", "./no-such-model-dir", "no-such-org/no-such-whisper-model", "tiny-unknown-size"],
)
def test_a_model_that_is_not_available_offline_is_reported_without_downloading(spec: str, tmp_path: Path) -> None:
    with pytest.raises(TranscriberError) as excinfo:
        resolve_whisper_model(spec, tmp_path / "models")
    assert excinfo.value.code == "asr_model_unavailable"
    assert not (tmp_path / "models").exists()


def test_a_model_directory_is_used_as_is(bundled_model_dir: Path, tmp_path: Path) -> None:
    assert resolve_whisper_model(str(bundled_model_dir), tmp_path / "models") == str(bundled_model_dir)
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(TranscriberError) as excinfo:
        resolve_whisper_model(str(empty), tmp_path / "models")
    assert excinfo.value.code == "asr_model_unavailable"


def test_the_factory_builds_a_whisper_transcriber_without_loading_anything(isolated_home: Path) -> None:
    transcriber = make_transcriber("whisper", _settings(isolated_home))
    assert transcriber.name == "whisper"
    assert not (isolated_home / "models").exists()


def test_the_transcribe_script_converts_media_prints_json_and_resumes(
    bundled_model_dir: Path, isolated_home: Path, tmp_path: Path
) -> None:
    # A 32 kHz stereo WAV is not the recognizer's format, so the script must convert it first.
    samples = read_wav_pcm16(BAKERY_ES)
    media = tmp_path / "interview.wav"
    _write_wav(media, np.repeat(samples, 4), rate=32000, channels=2)
    env = {**os.environ, "YTT_WHISPER_MODEL": str(bundled_model_dir), "YTT_ALLOWED_ROOTS": str(tmp_path)}

    def run() -> dict[str, Any]:
        completed = subprocess.run(
            [sys.executable, "-m", "scripts.transcribe", str(media), "--language", "es"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr.decode()[-2000:]
        document: dict[str, Any] = json.loads(completed.stdout)
        return document

    first = run()
    assert first["ok"] is True
    transcript = first["transcript"]
    assert transcript["origin"] == "whisper"
    assert transcript["language"] == "es"
    heard = " ".join(segment["text"] for segment in transcript["segments"])
    assert _share_of_words_heard((SPEECH / "bakery_es.txt").read_text(encoding="utf-8"), heard) >= 0.5
    assert list((isolated_home / "cache" / "transcribe").glob("*/checkpoints/whisper-w0000-*.json"))

    second = run()
    assert second["transcript"]["stats"]["windows_from_checkpoint"] == 1
    assert second["transcript"]["segments"] == transcript["segments"]


def test_the_transcribe_script_reports_a_missing_file_as_json(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.transcribe", str(tmp_path / "missing.mp4")],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert json.loads(completed.stdout)["error"]["code"] == "media_not_found"


def _write_wav(path: Path, samples: np.ndarray, *, rate: int, channels: int) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
