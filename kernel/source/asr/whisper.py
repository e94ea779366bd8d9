"""Speech recognition with faster-whisper, window by window, with per-window checkpoints.

The WAV is read once (as int16) and each window is handed to faster-whisper as a float32 numpy slice, so
the cost over calling faster-whisper directly is one file read, one energy scan and one small JSON write
per window.

Invariants:
- The model is loaded lazily, once per ``WhisperTranscriber`` (or injected, to share one across callers).
- Language: a forced language is used for every window. Otherwise the first window that contains speech
  decides it (faster-whisper's detection) and it is forced for every later window, so one transcript
  never mixes languages by accident. Because the locked language is part of later windows' checkpoint
  keys, a resumed run computes exactly the keys (and results) of an uninterrupted one.
- Every window uses the same (capped) ``initial_prompt``; text never carries over between windows, so a
  window's result depends only on its audio and options.
- Segment times are absolute and clamped to their window; empty segments are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kernel.config import Settings
from kernel.task_runtime.canonical import fingerprint_file
from kernel.transcript import Segment, TranscriptSegments, Word

from .base import (
    ProgressCallback,
    StopCheck,
    TimeWindow,
    TranscriberError,
    WindowCheckpoint,
    cap_initial_prompt,
    checkpoint_file,
    load_window_checkpoint,
    raise_if_stop_requested,
    save_window_checkpoint,
    window_checkpoint_key,
)
from .whisper_model import model_display_name, resolve_whisper_model
from .windows import (
    EXPECTED_SAMPLE_RATE,
    frame_energies,
    pcm16_to_float32,
    plan_windows,
    read_wav_pcm16,
    window_sample_range,
)

# Slices shorter than this hold no word; faster-whisper is not asked to look at them.
_MIN_WINDOW_SAMPLES = EXPECTED_SAMPLE_RATE // 10


class WhisperTranscriber:
    """The faster-whisper backend. ``model`` may be a preloaded ``faster_whisper.WhisperModel``."""

    name = "whisper"

    def __init__(self, settings: Settings, *, model: Any | None = None) -> None:
        self._settings = settings
        self._options = settings.whisper
        self._model: Any | None = model
        self._pipeline: Any | None = None

    @property
    def model_name(self) -> str:
        return model_display_name(self._options.model)

    def load_model(self) -> Any:
        """The faster-whisper model, loaded on first use.

        Raises:
            TranscriberError: code ``asr_model_unavailable`` if the model cannot be found or loaded.
        """
        if self._model is None:
            model_dir = resolve_whisper_model(self._options.model, self._settings.models_dir)
            from faster_whisper import WhisperModel

            try:
                self._model = WhisperModel(
                    model_dir,
                    device="cpu",
                    compute_type=self._options.compute_type,
                    cpu_threads=self._options.cpu_threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranscriberError(
                    f"Cannot load the whisper model {self.model_name}: {exc}",
                    code="asr_model_unavailable",
                    hint="check whisper.model and whisper.compute_type (int8 works on every CPU)",
                ) from exc
        return self._model

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None,
        initial_prompt: str | None,
        checkpoint_dir: Path,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> TranscriptSegments:
        """Transcribe a 16 kHz mono WAV; see ``Transcriber.transcribe``.

        Raises:
            TranscriberError: ``asr_bad_audio``, ``asr_model_unavailable`` or ``asr_failed``.
            StopRequested: ``should_stop()`` was true between windows.
        """
        samples = read_wav_pcm16(audio_path)
        duration = len(samples) / EXPECTED_SAMPLE_RATE
        windows = plan_windows(frame_energies(samples), duration=duration, target_seconds=self._options.window_seconds)
        audio_fingerprint = fingerprint_file(audio_path)
        prompt = cap_initial_prompt(initial_prompt)
        locked_language = language
        detected_language: str | None = None
        segments: list[Segment] = []
        from_checkpoint = 0
        for window in windows:
            options = self._result_options(locked_language, prompt)
            key = window_checkpoint_key(audio_fingerprint=audio_fingerprint, window=window, options=options)
            path = checkpoint_file(checkpoint_dir, "whisper", window, key)
            checkpoint = load_window_checkpoint(path, key)
            if checkpoint is None:
                raise_if_stop_requested(should_stop, done_windows=window.index, total_windows=len(windows))
                checkpoint = self._recognize_window(samples, window, key, locked_language, prompt, duration, progress)
                save_window_checkpoint(path, checkpoint)
            else:
                from_checkpoint += 1
            segments.extend(checkpoint.segments)
            detected_language = detected_language or checkpoint.language
            if locked_language is None and checkpoint.segments and checkpoint.language:
                locked_language = checkpoint.language
            if progress is not None:
                progress(window.end, duration)
        return TranscriptSegments(
            origin="whisper",
            language=locked_language or detected_language,
            segments=segments,
            stats={
                "windows_total": len(windows),
                "windows_from_checkpoint": from_checkpoint,
                "audio_seconds": round(duration, 3),
                "model": self.model_name,
                "segments": len(segments),
            },
        )

    def _result_options(self, language: str | None, prompt: str | None) -> dict[str, Any]:
        """Everything that changes a window's recognized text (the checkpoint key's options)."""
        options = self._options
        return {
            "backend": "whisper",
            "model": options.model.strip(),
            "compute_type": options.compute_type,
            "beam_size": options.beam_size,
            "vad": options.vad or options.batched,
            "word_timestamps": options.word_timestamps,
            "batched": options.batched,
            "batch_size": options.batch_size if options.batched else None,
            "language": language,
            "initial_prompt": prompt,
        }

    def _recognize_window(
        self,
        samples: np.ndarray,
        window: TimeWindow,
        key: str,
        language: str | None,
        prompt: str | None,
        total_seconds: float,
        progress: ProgressCallback | None,
    ) -> WindowCheckpoint:
        first, last = window_sample_range(window)
        if last - first < _MIN_WINDOW_SAMPLES:
            return WindowCheckpoint(key=key, backend="whisper", window=window, model=self.model_name, segments=[])
        audio = pcm16_to_float32(samples[first:last])
        options = self._options
        common: dict[str, Any] = {
            "language": language,
            "beam_size": options.beam_size,
            "word_timestamps": options.word_timestamps,
            "initial_prompt": prompt,
        }
        try:
            if options.batched:
                # The batched pipeline needs VAD to find its clips, so it is always on there.
                raw_segments, info = self._batched().transcribe(
                    audio, batch_size=options.batch_size, vad_filter=True, **common
                )
            else:
                raw_segments, info = self.load_model().transcribe(audio, vad_filter=options.vad, **common)
            segments: list[Segment] = []
            for raw in raw_segments:
                segment = _to_segment(raw, window)
                if segment is not None:
                    segments.append(segment)
                    if progress is not None:
                        progress(segment.end, total_seconds)
        except TranscriberError:
            raise
        except (RuntimeError, ValueError) as exc:
            raise TranscriberError(
                f"faster-whisper failed on {window.start:.1f}-{window.end:.1f} s: {exc}",
                code="asr_failed",
                hint="retry; if it fails again try whisper.compute_type=int8 or a smaller window_seconds",
                details={"window": window.index},
            ) from exc
        return WindowCheckpoint(
            key=key,
            backend="whisper",
            window=window,
            language=info.language,
            model=self.model_name,
            segments=segments,
        )

    def _batched(self) -> Any:
        if self._pipeline is None:
            from faster_whisper import BatchedInferencePipeline

            self._pipeline = BatchedInferencePipeline(self.load_model())
        return self._pipeline


def _to_segment(raw: Any, window: TimeWindow) -> Segment | None:
    text = raw.text.strip()
    if not text:
        return None
    start = _absolute(raw.start, window)
    end = max(start, _absolute(raw.end, window))
    words: list[Word] | None = None
    if raw.words:
        words = []
        for word in raw.words:
            word_start = _absolute(word.start, window)
            words.append(
                Word(
                    start=word_start,
                    end=max(word_start, _absolute(word.end, window)),
                    text=word.word.strip(),
                    probability=round(float(word.probability), 4),
                )
            )
    return Segment(start=start, end=end, text=text, words=words)


def _absolute(seconds: float, window: TimeWindow) -> float:
    return round(min(window.start + max(0.0, float(seconds)), window.end), 3)
