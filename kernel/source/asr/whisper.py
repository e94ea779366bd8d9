"""Speech recognition with faster-whisper, window by window, with per-window checkpoints.

Each window's samples are read from the WAV on disk when the window is recognized (memory does not grow
with the length of the audio). By default a window goes through the batched path (``whisper_batched.py``:
VAD clips decoded in batches, a stop point before every model call); ``whisper.batched = false`` uses
faster-whisper's sequential ``WhisperModel.transcribe`` instead (temperature fallback, timestamp tokens),
with a stop point between the segments it yields.

Batch size and CPU threads come from the machine unless set: threads = the CPU cores this process may
use; batch size = one clip per two of them (at least 1, at most 8). The decoder call is the longest step
between two stop points and its time grows with the batch and shrinks with the cores, so this keeps it
near a second (measured on 2 cores at beam 5: decoding one 30 s clip took 1.0-1.4 s, two clips 1.6-3.0 s;
the other steps, VAD of a window, encoding a clip and aligning its words, took less), so a pause or cancel
takes effect within about two seconds. Two clips per call were only about 6 % faster overall there.

Invariants:
- The model is loaded lazily, once per ``WhisperTranscriber`` (or injected, to share one across callers).
- Language: a forced language is used for every window. Otherwise the first window that contains speech
  decides it (detected by whisper) and it is forced for every later window, so one transcript never mixes
  languages by accident. Because the locked language is part of later windows' checkpoint keys, a resumed
  run computes exactly the keys (and results) of an uninterrupted one.
- Every window uses the same (capped) ``initial_prompt``; text never carries over between windows, so a
  window's result depends only on its audio and options (the batch size among them).
- Segment times are absolute and clamped to their window; empty segments are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
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
    WindowCallback,
    WindowCheckpoint,
    WindowResult,
    cap_initial_prompt,
    checkpoint_file,
    load_window_checkpoint,
    raise_if_stop_requested,
    save_window_checkpoint,
    window_checkpoint_key,
)
from .whisper_batched import BatchedDecoding, recognize_batched
from .whisper_model import model_display_name, resolve_whisper_model
from .windows import EXPECTED_SAMPLE_RATE, WavInfo, plan_windows, read_wav_window, wav_frame_energies

# Slices shorter than this hold no word; faster-whisper is not asked to look at them.
_MIN_WINDOW_SAMPLES = EXPECTED_SAMPLE_RATE // 10
# Changing what the batched path computes must change this, so old checkpoints are not reused.
_BATCHED_DECODER = "batched-vad-clips/1"
_MAX_AUTO_BATCH = 8  # BatchedInferencePipeline's default batch size


def usable_cpu_count() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def auto_batch_size(cores: int) -> int:
    """Clips per decoder call for ``cores`` cores: one per two cores, from 1 to 8 (see the module docstring)."""
    return max(1, min(_MAX_AUTO_BATCH, cores // 2))


class WhisperTranscriber:
    """The faster-whisper backend. ``model`` may be a preloaded ``faster_whisper.WhisperModel``."""

    name = "whisper"

    def __init__(self, settings: Settings, *, model: Any | None = None) -> None:
        self._settings = settings
        self._options = settings.whisper
        self._model: Any | None = model

    @property
    def model_name(self) -> str:
        return model_display_name(self._options.model)

    @property
    def cpu_threads(self) -> int:
        """``whisper.cpu_threads``, or the usable cores when it is 0."""
        return self._options.cpu_threads or usable_cpu_count()

    @property
    def batch_size(self) -> int:
        """``whisper.batch_size``, or ``auto_batch_size`` of the usable cores when it is 0."""
        return self._options.batch_size or auto_batch_size(usable_cpu_count())

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
                    cpu_threads=self.cpu_threads,
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
        on_window: WindowCallback | None = None,
    ) -> TranscriptSegments:
        """Transcribe a 16 kHz mono WAV; see ``Transcriber.transcribe``.

        Raises:
            TranscriberError: ``asr_bad_audio``, ``asr_model_unavailable`` or ``asr_failed``.
            StopRequested: ``should_stop()`` was true before a model call; finished windows are saved.
        """
        energies, info = wav_frame_energies(audio_path)
        duration = info.duration
        windows = plan_windows(energies, duration=duration, target_seconds=self._options.window_seconds,
                               first_target_seconds=min(self._options.first_window_seconds,
                                                        self._options.window_seconds))
        del energies
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
            reused = checkpoint is not None
            if checkpoint is None:
                stop = partial(raise_if_stop_requested, should_stop, done_windows=window.index, total_windows=len(windows))
                stop()
                checkpoint = self._recognize_window(
                    audio_path, info, window, key, locked_language, prompt, stop, _window_progress(progress, window, duration)
                )
                save_window_checkpoint(path, checkpoint)
            else:
                from_checkpoint += 1
            segments.extend(checkpoint.segments)
            detected_language = detected_language or checkpoint.language
            if locked_language is None and checkpoint.segments and checkpoint.language:
                locked_language = checkpoint.language
            if progress is not None:
                progress(window.end, duration)
            if on_window is not None:
                on_window(
                    WindowResult(
                        window=window,
                        windows_total=len(windows),
                        language=checkpoint.language,
                        segments=checkpoint.segments,
                        from_checkpoint=reused,
                    )
                )
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
                "decoder": "batched" if self._options.batched else "sequential",
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
            "word_timestamps": options.word_timestamps,
            "decoder": _BATCHED_DECODER if options.batched else "sequential",
            "batch_size": self.batch_size if options.batched else None,
            "vad": True if options.batched else options.vad,
            "language": language,
            "initial_prompt": prompt,
        }

    def _recognize_window(
        self,
        audio_path: Path,
        info: WavInfo,
        window: TimeWindow,
        key: str,
        language: str | None,
        prompt: str | None,
        stop: Callable[[], None],
        reached: Callable[[float], None],
    ) -> WindowCheckpoint:
        samples = read_wav_window(audio_path, window, info)
        if len(samples) < _MIN_WINDOW_SAMPLES:
            return WindowCheckpoint(
                key=key, backend="whisper", window=window, language=language, model=self.model_name, segments=[]
            )
        try:
            if self._options.batched:
                raw_segments, detected = self._batched_window(samples, language, prompt, stop, reached)
            else:
                raw_segments, detected = self._sequential_window(samples, language, prompt, stop, reached)
        except TranscriberError:
            raise
        except (RuntimeError, ValueError) as exc:
            raise TranscriberError(
                f"faster-whisper failed on {window.start:.1f}-{window.end:.1f} s: {exc}",
                code="asr_failed",
                hint="retry; if it fails again try whisper.compute_type=int8 or a smaller window_seconds",
                details={"window": window.index},
            ) from exc
        segments = [segment for raw in raw_segments if (segment := _to_segment(raw, window)) is not None]
        return WindowCheckpoint(
            key=key, backend="whisper", window=window, language=detected, model=self.model_name, segments=segments
        )

    def _batched_window(
        self,
        samples: np.ndarray,
        language: str | None,
        prompt: str | None,
        stop: Callable[[], None],
        reached: Callable[[float], None],
    ) -> tuple[list[Any], str | None]:
        options = self._options
        decoding = BatchedDecoding(
            beam_size=options.beam_size,
            batch_size=self.batch_size,
            word_timestamps=options.word_timestamps,
            initial_prompt=prompt,
        )
        speech = recognize_batched(
            self.load_model(), samples, decoding, language=language, check_stop=stop, batch_done=reached
        )
        return speech.segments, speech.language

    def _sequential_window(
        self,
        samples: np.ndarray,
        language: str | None,
        prompt: str | None,
        stop: Callable[[], None],
        reached: Callable[[float], None],
    ) -> tuple[list[Any], str | None]:
        options = self._options
        model = self.load_model()
        stop()
        raw_segments, info = model.transcribe(
            samples,
            language=language,
            beam_size=options.beam_size,
            word_timestamps=options.word_timestamps,
            initial_prompt=prompt,
            vad_filter=options.vad,
        )
        collected: list[Any] = []
        stop()
        for raw in raw_segments:  # each segment is decoded when asked for: a stop point between them
            collected.append(raw)
            reached(float(raw.end))
            stop()
        return collected, info.language


def _window_progress(progress: ProgressCallback | None, window: TimeWindow, total: float) -> Callable[[float], None]:
    def reached(seconds_into_window: float) -> None:
        if progress is not None:
            progress(min(window.start + max(0.0, seconds_into_window), window.end), total)

    return reached


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
