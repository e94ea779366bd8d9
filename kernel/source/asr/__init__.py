"""Speech recognition: one ``Transcriber`` interface, faster-whisper and Deepgram backends.

``make_transcriber(backend, settings)`` is the entry point; see ``base.py`` for the contract (windows,
checkpoints, stop points, the per-window hook) and ``windows.py`` for how long audio is split. Backends are imported lazily so
importing this package stays cheap (faster-whisper and the Deepgram SDK load only when used).
"""

from __future__ import annotations

from typing import Literal

from kernel.config import Settings

from .base import TimeWindow, Transcriber, TranscriberError, WindowCallback, WindowCheckpoint, WindowResult

__all__ = [
    "TimeWindow",
    "Transcriber",
    "TranscriberError",
    "WindowCallback",
    "WindowCheckpoint",
    "WindowResult",
    "make_transcriber",
]


def make_transcriber(backend: Literal["whisper", "deepgram"], settings: Settings) -> Transcriber:
    """The backend named ``backend``, configured from ``settings`` (nothing is loaded or contacted yet).

    Raises:
        TranscriberError: code ``asr_failed`` for an unknown backend name.
    """
    if backend == "whisper":
        from .whisper import WhisperTranscriber

        return WhisperTranscriber(settings)
    if backend == "deepgram":
        from .deepgram import DeepgramTranscriber

        return DeepgramTranscriber(settings)
    raise TranscriberError(
        f"Unknown speech recognition backend {backend!r}",
        code="asr_failed",
        hint="use 'whisper' or 'deepgram'",
    )
