"""Silence-aware splitting of long audio into recognition windows, plus the WAV reading it needs.

Long audio is recognized window by window so that each finished window can be checkpointed. Cutting in
the middle of a word hurts recognition on both sides of the cut, so every cut is moved from its nominal
position to the quietest nearby stretch of audio.

Invariants:
- Windows are ordered, contiguous and cover the audio exactly: the first starts at 0, each ends where the
  next starts, the last ends at the audio's duration. Times are rounded to milliseconds.
- A cut is placed where the energy, averaged over ``SMOOTHING_SECONDS``, is lowest inside a search zone of
  ``+-search_seconds`` around the nominal boundary (clamped to a third of the target length, so short
  windows stay sane); among near-equal quiet points the one closest to the nominal boundary wins.
- No window is longer than ``max_seconds`` (default: target plus the search zone), and the last one is
  never shorter than the search zone unless the whole audio is. The first window may have a target of its
  own (``first_target_seconds``, shorter: the first recognized words are ready sooner).
- ``plan_windows`` is a pure function of the energies and the parameters: the same audio and settings
  always give the same windows, which the checkpoint keys depend on.
- Audio is read as 16-bit PCM; ``wav_frame_energies`` streams the file and ``read_wav_window`` reads one
  window, so neither planning nor recognition ever holds a long recording in memory.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from .base import TimeWindow, TranscriberError

EXPECTED_SAMPLE_RATE = 16000
FRAME_SECONDS = 0.02
SMOOTHING_SECONDS = 0.5
DEFAULT_SEARCH_SECONDS = 15.0
_READ_BLOCK_FRAMES = 16000 * 60
# Quiet points within this factor of the zone's minimum energy count as equally good cut points.
_QUIET_TOLERANCE = 1.5
_DIGITAL_SILENCE = 1e-9


class WavInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate: int
    channels: int
    sample_width: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def read_wav_info(path: Path) -> WavInfo:
    """Header facts of a 16 kHz mono 16-bit PCM WAV.

    Raises:
        TranscriberError: code ``asr_bad_audio`` if the file is missing, not a PCM WAV, or not 16 kHz mono
            16-bit.
    """
    try:
        with wave.open(str(path), "rb") as reader:
            info = WavInfo(
                sample_rate=reader.getframerate(),
                channels=reader.getnchannels(),
                sample_width=reader.getsampwidth(),
                frames=reader.getnframes(),
            )
    except (OSError, EOFError, wave.Error) as exc:
        raise TranscriberError(
            f"Cannot read {path.name} as a WAV file: {exc}",
            code="asr_bad_audio",
            hint="Convert the media with kernel.source.audio.extract_audio_wav (16 kHz mono WAV) first.",
        ) from exc
    if (info.sample_rate, info.channels, info.sample_width) != (EXPECTED_SAMPLE_RATE, 1, 2):
        raise TranscriberError(
            f"{path.name} is {info.sample_rate} Hz, {info.channels} channel(s), {8 * info.sample_width}-bit; "
            "speech recognition needs 16 kHz mono 16-bit PCM",
            code="asr_bad_audio",
            hint="Convert it with kernel.source.audio.extract_audio_wav(src, dest, sample_rate=16000).",
            details=info.model_dump(),
        )
    return info


def read_wav_pcm16(path: Path) -> np.ndarray:
    """All samples of a WAV checked by ``read_wav_info``, as int16. For tools and tests: recognition reads
    one window at a time with ``read_wav_window``."""
    info = read_wav_info(path)
    with wave.open(str(path), "rb") as reader:
        raw = reader.readframes(info.frames)
    return np.frombuffer(raw, dtype="<i2")


def pcm16_to_float32(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0


def frame_energies(samples: np.ndarray, sample_rate: int = EXPECTED_SAMPLE_RATE) -> np.ndarray:
    """Mean square amplitude (full scale = 1.0) of each ``FRAME_SECONDS`` frame; a partial tail frame counts."""
    frame = round(sample_rate * FRAME_SECONDS)
    count = -(-len(samples) // frame)
    energies = np.empty(count, dtype=np.float64)
    block = frame * 3000
    for offset in range(0, len(samples), block):
        part = samples[offset : offset + block]
        values = part.astype(np.float64)
        if samples.dtype == np.int16:
            values /= 32768.0
        full = len(values) // frame
        first = offset // frame
        if full:
            energies[first : first + full] = np.mean(values[: full * frame].reshape(full, frame) ** 2, axis=1)
        if len(values) > full * frame:
            energies[first + full] = float(np.mean(values[full * frame :] ** 2))
    return energies


def wav_frame_energies(path: Path) -> tuple[np.ndarray, WavInfo]:
    """``frame_energies`` of a WAV file, read in blocks; also returns its header facts."""
    info = read_wav_info(path)
    chunks: list[np.ndarray] = []
    with wave.open(str(path), "rb") as reader:
        # Blocks are whole frames long, so per-block energies concatenate exactly.
        while raw := reader.readframes(_READ_BLOCK_FRAMES):
            chunks.append(frame_energies(np.frombuffer(raw, dtype="<i2"), info.sample_rate))
    energies = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.float64)
    return energies, info


def plan_windows(
    energies: np.ndarray,
    *,
    duration: float,
    target_seconds: float,
    max_seconds: float | None = None,
    search_seconds: float = DEFAULT_SEARCH_SECONDS,
    frame_seconds: float = FRAME_SECONDS,
    first_target_seconds: float | None = None,
) -> list[TimeWindow]:
    """Split ``[0, duration]`` into windows of about ``target_seconds``, cut at quiet points; the first one of
    about ``first_target_seconds`` when given (a short first window: the first words are ready sooner).

    Raises:
        ValueError: a target is not positive or ``max_seconds`` is below ``target_seconds``.
    """
    if target_seconds <= 0 or (first_target_seconds is not None and first_target_seconds <= 0):
        raise ValueError("target_seconds must be positive")
    if max_seconds is not None and max_seconds < target_seconds:
        raise ValueError("max_seconds must be at least target_seconds")

    def bounds_for(target: float) -> tuple[float, float]:  # the search zone and the longest window
        zone = min(search_seconds, target / 3)
        return zone, (target + zone if max_seconds is None else max(max_seconds, target))

    smoothed = _smooth(energies, max(1, round(SMOOTHING_SECONDS / frame_seconds)))
    duration = round(duration, 3)
    cuts: list[float] = []
    start = 0.0
    target = first_target_seconds or target_seconds
    zone, limit = bounds_for(target)
    while duration - start > limit:
        nominal = start + target
        low = nominal - zone
        high = min(nominal + zone, start + limit, duration - zone)
        cut = round(_quietest_time(smoothed, low, high, nominal, frame_seconds), 3)
        if cut <= start:  # cannot happen with a sane zone; guards against rounding at tiny targets
            cut = round(start + target, 3)
        cuts.append(cut)
        start = cut
        target = target_seconds
        zone, limit = bounds_for(target)
    bounds = [0.0, *cuts, duration]
    return [TimeWindow(index=i, start=bounds[i], end=bounds[i + 1]) for i in range(len(bounds) - 1)]


def _smooth(energies: np.ndarray, width: int) -> np.ndarray:
    if len(energies) == 0:
        return energies
    padded = np.concatenate([np.zeros(1), np.cumsum(energies, dtype=np.float64)])
    half = width // 2
    index = np.arange(len(energies))
    low = np.clip(index - half, 0, len(energies))
    high = np.clip(index + half + 1, 0, len(energies))
    result: np.ndarray = (padded[high] - padded[low]) / (high - low)
    return result


def _quietest_time(smoothed: np.ndarray, low: float, high: float, nominal: float, frame_seconds: float) -> float:
    first = max(0, int(np.ceil(low / frame_seconds)))
    last = min(len(smoothed), int(np.floor(high / frame_seconds)))
    if last <= first:
        return nominal
    zone = smoothed[first:last]
    threshold = float(zone.min()) * _QUIET_TOLERANCE + _DIGITAL_SILENCE
    candidates = np.flatnonzero(zone <= threshold) + first
    times = candidates * frame_seconds
    best = times[int(np.argmin(np.abs(times - nominal)))]
    return float(min(max(best, low), high))


def window_sample_range(window: TimeWindow, sample_rate: int = EXPECTED_SAMPLE_RATE) -> tuple[int, int]:
    return round(window.start * sample_rate), round(window.end * sample_rate)


def read_wav_window(path: Path, window: TimeWindow, info: WavInfo | None = None) -> np.ndarray:
    """The samples of ``window`` as float32 in [-1, 1), read from disk (only this window is in memory).

    Raises:
        TranscriberError: code ``asr_bad_audio`` (see ``read_wav_info``).
    """
    info = info or read_wav_info(path)
    first, last = window_sample_range(window, info.sample_rate)
    first, last = min(first, info.frames), min(last, info.frames)
    with wave.open(str(path), "rb") as reader:
        reader.setpos(first)
        raw = reader.readframes(max(0, last - first))
    return pcm16_to_float32(np.frombuffer(raw, dtype="<i2"))


def wav_part_bytes(path: Path, window: TimeWindow) -> bytes:
    """A standalone WAV file (same format) holding ``window`` of the WAV at ``path``."""
    info = read_wav_info(path)
    first, last = window_sample_range(window, info.sample_rate)
    last = min(last, info.frames)
    with wave.open(str(path), "rb") as reader:
        reader.setpos(min(first, info.frames))
        pcm = reader.readframes(max(0, last - first))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(info.channels)
        writer.setsampwidth(info.sample_width)
        writer.setframerate(info.sample_rate)
        writer.writeframes(pcm)
    return buffer.getvalue()
