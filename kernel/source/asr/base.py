"""The speech-recognition contract shared by every backend, and its window checkpoints.

A ``Transcriber`` turns a 16 kHz mono WAV into ``TranscriptSegments``. Work is split into time windows
(see ``windows.py``); each finished window is saved as its own JSON checkpoint so a crash, pause or cancel
never loses or redoes finished work.

Invariants:
- A checkpoint's ``key`` is the fingerprint of everything that determines its content: the audio file's
  fingerprint, the window range and the backend options that change the result. A changed option or file
  therefore never reuses a stale checkpoint; the key is both in the file name and inside the file, and a
  file whose stored key differs (or that fails to parse) is ignored and recomputed, never trusted.
- Checkpoints hold segments with absolute times (seconds from the start of the audio).
- ``should_stop`` is consulted before every unit of work that is not yet saved (for whisper: every model
  call inside a window, so at most about a batch's decoding passes between two checks; for Deepgram: every
  part's upload). ``StopRequested`` leaves every finished window's checkpoint on disk; a stopped window is
  recomputed from its start on resume, and finished windows are never redone.
- ``on_window`` receives each window's ``WindowResult`` as soon as that window is finished (computed or read
  from its checkpoint), once per window and in window order, from the thread that called ``transcribe``.
  The sequence is a pure function of the audio and the options, never of timing: an interrupted and resumed
  run hands out the same windows with the same segments as an uninterrupted one (the resumed call starts
  again from the first window, reading finished ones from their checkpoints), and the segments handed out,
  concatenated, are exactly the returned transcript's segments.
- Checkpoints never contain secrets or absolute paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.source.errors import SourceError
from kernel.task_runtime.canonical import fingerprint_value
from kernel.task_runtime.errors import CorruptStateError, StopRequested
from kernel.task_runtime.faults import crash_point
from kernel.task_runtime.store import atomic_write_json, read_json
from kernel.transcript import AsrBackend, Segment, TranscriptSegments

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float], None]
StopCheck = Callable[[], bool]

CHECKPOINT_SCHEMA_VERSION = 1
# Whisper treats roughly the last 223 prompt tokens; capping by characters ourselves keeps the *start*
# of the caller's prompt (the title) instead of letting the model keep only its tail.
MAX_INITIAL_PROMPT_CHARS = 600
_windows_saved = 0  # window checkpoints written by this process, for the crash point in save_window_checkpoint


class TranscriberError(SourceError):
    """Speech recognition could not produce a transcript.

    Codes: ``asr_failed`` (default), ``asr_bad_audio``, ``asr_model_unavailable``, ``deepgram_auth``,
    ``deepgram_unavailable``, ``deepgram_key_missing``.
    """

    code = "asr_failed"


class WindowResult(BaseModel):
    """One finished window, as handed to ``on_window``: its segments (absolute times) and where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: TimeWindow
    windows_total: int = Field(ge=1)
    language: str | None = None
    segments: list[Segment]
    from_checkpoint: bool


WindowCallback = Callable[[WindowResult], None]


class Transcriber(Protocol):
    """One speech-recognition backend. Implementations: ``WhisperTranscriber``, ``DeepgramTranscriber``."""

    name: str

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
        """Transcribe ``audio_path`` (16 kHz mono 16-bit WAV), resuming from ``checkpoint_dir``.

        ``progress(done_seconds, total_seconds)`` moves in proportion to the audio done; ``on_window`` gets
        each finished window in order (see the module invariants).

        Raises:
            TranscriberError: the audio, model or service cannot be used (see the codes above).
            StopRequested: ``should_stop()`` returned true; finished windows are saved.
        """
        ...


class TimeWindow(BaseModel):
    """A half-open range ``[start, end)`` of the audio, in seconds (rounded to milliseconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)

    @property
    def duration(self) -> float:
        return self.end - self.start


class WindowCheckpoint(BaseModel):
    """One finished window of recognized speech, as stored in ``checkpoint_dir``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = CHECKPOINT_SCHEMA_VERSION
    key: str
    backend: AsrBackend
    window: TimeWindow
    language: str | None = None
    model: str
    segments: list[Segment]


def window_checkpoint_key(*, audio_fingerprint: str, window: TimeWindow, options: Mapping[str, Any]) -> str:
    """The fingerprint that names a window's checkpoint (``sha256:<hex>``)."""
    return fingerprint_value(
        {
            "checkpoint_schema": CHECKPOINT_SCHEMA_VERSION,
            "audio": audio_fingerprint,
            "window": [window.start, window.end],
            "options": dict(options),
        }
    )


def checkpoint_file(checkpoint_dir: Path, backend: AsrBackend, window: TimeWindow, key: str) -> Path:
    digest = key.split(":", 1)[-1][:16]
    return checkpoint_dir / f"{backend}-w{window.index:04d}-{digest}.json"


def load_window_checkpoint(path: Path, key: str) -> WindowCheckpoint | None:
    """The checkpoint at ``path`` if it exists, parses and carries ``key``; otherwise None (recompute)."""
    if not path.is_file():
        return None
    try:
        checkpoint = WindowCheckpoint.model_validate(read_json(path))
    except (CorruptStateError, ValidationError) as exc:
        logger.warning("ignoring unreadable ASR checkpoint %s: %s", path.name, exc)
        return None
    if checkpoint.key != key:
        logger.warning("ignoring ASR checkpoint %s: it was made for other audio or options", path.name)
        return None
    return checkpoint


def save_window_checkpoint(path: Path, checkpoint: WindowCheckpoint) -> None:
    """Write ``checkpoint`` atomically; crash point ``asr:window:<n>:saved`` after the n-th save of this process."""
    global _windows_saved
    atomic_write_json(path, checkpoint.model_dump(mode="json"))
    _windows_saved += 1
    crash_point(f"asr:window:{_windows_saved}:saved")


def cap_initial_prompt(prompt: str | None, max_chars: int = MAX_INITIAL_PROMPT_CHARS) -> str | None:
    """Whitespace-normalized prompt cut at a word boundary to ``max_chars``; None when empty."""
    if prompt is None:
        return None
    text = " ".join(prompt.split())
    if len(text) > max_chars:
        cut = text[: max_chars + 1].rsplit(" ", 1)[0]
        text = cut if cut else text[:max_chars]
    return text or None


def raise_if_stop_requested(should_stop: StopCheck | None, *, done_windows: int, total_windows: int) -> None:
    """Raise ``StopRequested`` when the caller asked to stop (``done_windows`` are finished and saved)."""
    if should_stop is not None and should_stop():
        raise StopRequested(
            f"Speech recognition stopped after {done_windows} of {total_windows} windows",
            hint="resume the run: finished windows are saved and will not be redone",
            details={"windows_done": done_windows, "windows_total": total_windows},
        )
