"""ffmpeg helpers: the only module that shells out to ffmpeg (the binary bundled with imageio-ffmpeg).

Invariants:
- ffmpeg runs with an argument list (never a shell), ``-nostdin`` and ``-loglevel error``; its stdout and
  stderr are captured, so nothing it prints can reach our stdout (the MCP channel).
- Outputs are atomic: ffmpeg writes a temp file in the destination's folder, which is fsynced and then
  ``os.replace``-d over the target. A crash or an ffmpeg failure never leaves a half-written target.
- Error details never carry absolute paths: ffmpeg's messages are rewritten to name files only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg

from kernel.source.errors import SourceError
from kernel.task_runtime.store import fsync_path

_STDERR_TAIL_LINES = 12


class FFmpegError(SourceError):
    """ffmpeg could not produce the requested file. ``details['ffmpeg_stderr']`` holds its last lines."""

    code = "ffmpeg_failed"


def ffmpeg_exe() -> str:
    """The path of the bundled ffmpeg binary.

    Raises:
        FFmpegError: code ``ffmpeg_unavailable`` when imageio-ffmpeg has no usable binary.
    """
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise FFmpegError(
            f"No ffmpeg binary is available: {exc}",
            code="ffmpeg_unavailable",
            hint="Reinstall the project's dependencies (imageio-ffmpeg ships ffmpeg) or set IMAGEIO_FFMPEG_EXE.",
        ) from exc


def extract_audio_wav(src: Path, dest: Path, *, sample_rate: int = 16000, stream_index: int | None = None) -> Path:
    """Convert any audio or video file to mono 16-bit PCM WAV at ``sample_rate`` Hz, atomically.

    ``stream_index`` picks an absolute stream index (as in ``SourceTracks.audio``); by default the first
    audio stream is used. Returns ``dest``.

    Raises:
        FFmpegError: code ``media_not_found`` if ``src`` is not a file, ``audio_extract_failed`` if ffmpeg
            fails (no audio stream, unreadable media), ``ffmpeg_unavailable`` if ffmpeg cannot be run.
    """
    _require_file(src)
    audio_map = f"0:{stream_index}" if stream_index is not None else "0:a:0"
    args = ["-map", audio_map, "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(sample_rate)]
    args += ["-c:a", "pcm_s16le", "-f", "wav"]
    _run_ffmpeg_to(
        src,
        dest,
        args,
        failure_code="audio_extract_failed",
        what="extract audio",
        hint="Check that the file plays and has an audio stream.",
    )
    return dest


def extract_subtitle_stream(src: Path, stream_index: int, dest: Path) -> Path:
    """Convert the embedded text subtitle stream ``stream_index`` (subrip, mov_text, webvtt, ass) to WebVTT.

    Returns ``dest``, written atomically.

    Raises:
        FFmpegError: code ``media_not_found`` if ``src`` is not a file, ``subtitle_extract_failed`` if the
            stream is missing or not a text subtitle, ``ffmpeg_unavailable`` if ffmpeg cannot be run.
    """
    _require_file(src)
    _run_ffmpeg_to(
        src,
        dest,
        ["-map", f"0:{stream_index}", "-c:s", "webvtt", "-f", "webvtt"],
        failure_code="subtitle_extract_failed",
        what=f"extract subtitle stream {stream_index}",
        hint="Pick one of the file's text subtitle streams (the run's source.tracks artifact lists them).",
    )
    return dest


def _require_file(src: Path) -> None:
    if not src.is_file():
        raise FFmpegError(
            f"Media file not found: {src.name}",
            code="media_not_found",
            hint="Check the path; it must name an existing audio or video file.",
        )


def _run_ffmpeg_to(
    src: Path, dest: Path, output_args: Sequence[str], *, failure_code: str, what: str, hint: str
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp_name)
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    command += [*output_args, str(tmp_path)]
    try:
        try:
            completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        except OSError as exc:
            raise FFmpegError(
                f"Could not run ffmpeg to {what} from {src.name}: {exc.strerror or exc}",
                code="ffmpeg_unavailable",
                hint="Reinstall the project's dependencies (imageio-ffmpeg ships ffmpeg).",
            ) from exc
        if completed.returncode != 0 or tmp_path.stat().st_size == 0:
            tail = _stderr_tail(completed.stderr, {str(src): src.name, str(tmp_path): dest.name})
            raise FFmpegError(
                f"ffmpeg could not {what} from {src.name} (exit code {completed.returncode})",
                code=failure_code,
                hint=hint,
                details={"ffmpeg_stderr": tail},
            )
        fsync_path(tmp_path)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    fsync_path(dest.parent)


def _stderr_tail(stderr: bytes, path_names: dict[str, str]) -> list[str]:
    text = stderr.decode("utf-8", errors="replace")
    for full_path, name in path_names.items():
        text = text.replace(full_path, name)
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return lines[-_STDERR_TAIL_LINES:]


