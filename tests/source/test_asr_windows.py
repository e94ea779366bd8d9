"""Silence-aware windows: cuts land in silences, windows tile the audio, limits hold, WAV helpers agree."""

from __future__ import annotations

import io
import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from kernel.source.asr.base import TimeWindow, TranscriberError, cap_initial_prompt
from kernel.source.asr.windows import (
    FRAME_SECONDS,
    frame_energies,
    plan_windows,
    read_wav_info,
    read_wav_pcm16,
    read_wav_window,
    wav_frame_energies,
    wav_part_bytes,
)
from tests.conftest import FIXTURES

WEATHER = FIXTURES / "speech" / "weather_en.wav"
# Silences espeak-ng left between the fixture's three sentences (see tests/fixtures/speech/README.md).
WEATHER_SILENCES = [(4.0, 5.5), (8.8, 10.3)]


def _energies_with_silences(duration: float, silences: list[tuple[float, float]]) -> np.ndarray:
    frames = int(duration / FRAME_SECONDS)
    rng = np.random.default_rng(7)
    energies = 0.01 + 0.005 * rng.random(frames)
    for start, end in silences:
        energies[int(start / FRAME_SECONDS) : int(end / FRAME_SECONDS)] = 1e-6
    return energies


def _assert_tiles(windows: list[TimeWindow], duration: float) -> None:
    assert windows[0].start == 0.0
    assert windows[-1].end == round(duration, 3)
    for previous, following in itertools.pairwise(windows):
        assert previous.end == following.start
        assert previous.start < previous.end
    assert [w.index for w in windows] == list(range(len(windows)))


def test_cuts_move_from_the_nominal_boundary_into_the_nearby_silence() -> None:
    energies = _energies_with_silences(1000.0, [(290.0, 293.0), (598.0, 600.0)])
    windows = plan_windows(energies, duration=1000.0, target_seconds=300.0)
    _assert_tiles(windows, 1000.0)
    assert 290.0 < windows[0].end < 293.0
    assert 598.0 < windows[1].end < 600.0


def test_windows_tile_the_audio_and_respect_the_maximum_length() -> None:
    energies = _energies_with_silences(3600.0, [])
    windows = plan_windows(energies, duration=3600.0, target_seconds=585.0, max_seconds=600.0)
    _assert_tiles(windows, 3600.0)
    assert all(w.duration <= 600.0 for w in windows)
    assert len(windows) == 7


def test_short_audio_is_a_single_window() -> None:
    energies = _energies_with_silences(200.0, [(100.0, 101.0)])
    assert plan_windows(energies, duration=200.0, target_seconds=300.0) == [TimeWindow(index=0, start=0.0, end=200.0)]


def test_the_last_window_absorbs_a_short_remainder() -> None:
    # 610 s with 300 s windows: a third window of ~10 s would be wasteful, so the second one takes it all.
    energies = _energies_with_silences(610.0, [])
    windows = plan_windows(energies, duration=610.0, target_seconds=300.0)
    assert len(windows) == 2
    assert windows[-1].duration > 300.0


def test_no_window_after_a_cut_is_shorter_than_the_search_zone() -> None:
    # The pause at 612 s is inside the second cut's search zone, but cutting there would leave ~7 s.
    energies = _energies_with_silences(620.0, [(612.0, 614.0)])
    windows = plan_windows(energies, duration=620.0, target_seconds=300.0)
    _assert_tiles(windows, 620.0)
    assert len(windows) == 3
    assert min(w.duration for w in windows) >= 15.0


def test_planning_is_deterministic() -> None:
    energies = _energies_with_silences(1000.0, [(295.0, 296.0), (700.0, 703.0)])
    first = plan_windows(energies, duration=1000.0, target_seconds=300.0)
    assert plan_windows(energies.copy(), duration=1000.0, target_seconds=300.0) == first


def test_fixture_windows_are_cut_inside_its_pauses() -> None:
    energies, info = wav_frame_energies(WEATHER)
    windows = plan_windows(energies, duration=info.duration, target_seconds=5.0)
    assert len(windows) == 3
    for window, (quiet_start, quiet_end) in zip(windows, WEATHER_SILENCES, strict=False):
        assert quiet_start < window.end < quiet_end


def test_streamed_energies_match_in_memory_energies() -> None:
    energies, info = wav_frame_energies(WEATHER)
    samples = read_wav_pcm16(WEATHER)
    assert len(samples) == info.frames
    assert np.allclose(energies, frame_energies(samples))


def test_a_part_is_a_standalone_wav_with_exactly_the_window_samples() -> None:
    window = TimeWindow(index=1, start=4.5, end=9.25)
    data = wav_part_bytes(WEATHER, window)
    with wave.open(io.BytesIO(data), "rb") as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (16000, 1, 2)
        part = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    assert np.array_equal(part, read_wav_pcm16(WEATHER)[72000:148000])


def test_a_window_is_read_from_disk_as_exactly_its_samples_in_float() -> None:
    everything = read_wav_pcm16(WEATHER)
    middle = read_wav_window(WEATHER, TimeWindow(index=1, start=4.5, end=9.25))
    assert middle.dtype == np.float32
    assert np.array_equal(middle, everything[72000:148000].astype(np.float32) / 32768.0)
    tail = read_wav_window(WEATHER, TimeWindow(index=2, start=15.0, end=20.0))
    assert np.array_equal(tail, everything[240000:].astype(np.float32) / 32768.0)  # clipped at the end


def test_audio_that_is_not_16khz_mono_is_refused(tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes(b"\0" * 4000)
    with pytest.raises(TranscriberError) as excinfo:
        read_wav_info(stereo)
    assert excinfo.value.code == "asr_bad_audio"


def test_a_file_that_is_not_a_wav_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio", encoding="utf-8")
    with pytest.raises(TranscriberError) as excinfo:
        read_wav_info(text)
    assert excinfo.value.code == "asr_bad_audio"


def test_a_long_initial_prompt_is_cut_at_a_word_boundary_keeping_its_start() -> None:
    prompt = "Weather report. " + " ".join(f"term{i}" for i in range(400))
    capped = cap_initial_prompt(prompt, max_chars=100)
    assert capped is not None
    assert capped.startswith("Weather report.")
    assert len(capped) <= 100
    assert capped.split()[-1].startswith("term")
    assert cap_initial_prompt("   ") is None


def test_a_first_window_of_its_own_size_comes_first_and_the_rest_keep_theirs() -> None:
    energies = _energies_with_silences(1000.0, [])
    windows = plan_windows(energies, duration=1000.0, target_seconds=300.0, first_target_seconds=30.0)
    _assert_tiles(windows, 1000.0)
    assert 20.0 <= windows[0].duration <= 40.0  # the first words are ready after about 30 s of audio
    assert all(255.0 <= w.duration <= 315.0 for w in windows[1:-1])
    assert windows == plan_windows(energies, duration=1000.0, target_seconds=300.0, first_target_seconds=30.0)
