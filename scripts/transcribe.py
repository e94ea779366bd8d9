"""``python -m scripts.transcribe FILE [--backend whisper|deepgram] [--language L] [--prompt TEXT]``

Speech recognition of any local audio or video file, outside a run. Prints one JSON document:
``{"ok": true, "transcript": <TranscriptSegments>, "source": <file name>}`` or ``{"ok": false, "error": ...}``.

The media is converted once to a 16 kHz mono WAV in ``$YTT_HOME/cache/transcribe/<key>/`` (a WAV that is
already in that format is used as is), and window checkpoints live beside it, so an interrupted call
resumes where it stopped when run again. The cache key is derived from the file's location, size and
modification time, so an edited file gets a fresh cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from kernel.config import ConfigError, Settings, is_within_allowed_roots, load_settings
from kernel.source.asr import make_transcriber
from kernel.source.asr.windows import read_wav_info
from kernel.source.audio import extract_audio_wav
from kernel.task_runtime.canonical import fingerprint_value
from kernel.task_runtime.errors import InvalidInputError, PathNotAllowedError, YTTError
from kernel.transcript import TranscriptSegments
from scripts._common import JsonArgumentParser, run_json_command

Backend = Literal["whisper", "deepgram"]


def transcribe_media(
    media: Path,
    *,
    backend: Backend,
    language: str | None,
    initial_prompt: str | None,
    settings: Settings,
) -> TranscriptSegments:
    """Convert ``media`` to a cached 16 kHz WAV if needed and transcribe it with resumable checkpoints.

    Raises:
        InvalidInputError: the file does not exist (``media_not_found``).
        PathNotAllowedError: the file is outside the allowed roots.
        TranscriberError, FFmpegError: conversion or recognition failed (see their codes).
    """
    if not media.is_file():
        raise InvalidInputError(
            f"Media file not found: {media.name}",
            code="media_not_found",
            hint="give the path of an existing audio or video file",
        )
    if not is_within_allowed_roots(media, settings):
        raise PathNotAllowedError(
            f"{media.name} is outside the allowed roots",
            hint="run from the file's folder or add it to YTT_ALLOWED_ROOTS",
        )
    resolved = media.resolve()
    status = resolved.stat()
    key = fingerprint_value({"path": str(resolved), "size": status.st_size, "mtime_ns": status.st_mtime_ns})
    cache_dir = settings.home / "cache" / "transcribe" / key.split(":", 1)[1][:16]
    audio = resolved if _is_recognizer_wav(resolved) else _cached_wav(resolved, cache_dir / "audio.wav")
    transcriber = make_transcriber(backend, settings)
    return transcriber.transcribe(
        audio,
        language=language,
        initial_prompt=initial_prompt,
        checkpoint_dir=cache_dir / "checkpoints",
    )


def _is_recognizer_wav(path: Path) -> bool:
    if path.suffix.lower() != ".wav":
        return False
    try:
        read_wav_info(path)
    except YTTError:
        return False
    return True


def _cached_wav(media: Path, wav: Path) -> Path:
    if wav.is_file() and _is_recognizer_wav(wav):
        return wav
    return extract_audio_wav(media, wav, sample_rate=16000)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = JsonArgumentParser(
        prog="python -m scripts.transcribe", description="Transcribe a local audio or video file (JSON on stdout)."
    )
    parser.add_argument("file", type=Path, help="audio or video file")
    parser.add_argument("--backend", choices=["whisper", "deepgram"], default="whisper")
    parser.add_argument("--language", default=None, help="force a language code (default: detect)")
    parser.add_argument("--prompt", default=None, help="context for whisper: title, names, terms")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    def body() -> dict[str, Any]:
        args = _parse(argv)
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise InvalidInputError(str(exc), code="invalid_config", hint="fix the config file or environment") from exc
        transcript = transcribe_media(
            args.file,
            backend=args.backend,
            language=args.language,
            initial_prompt=args.prompt,
            settings=settings,
        )
        return {"source": args.file.name, "transcript": transcript.model_dump(mode="json")}

    return run_json_command(body)


if __name__ == "__main__":
    sys.exit(main())
