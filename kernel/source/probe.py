"""Probe local media with PyAV: container facts, streams, tags and chapters.

Invariants:
- ``MediaProbe.file_name`` is the file's name only; no absolute path ever leaves this module.
- A probe that succeeds means the file opens *and* its first audio frames (or first video frame, for
  media without audio) decode, and, for containers that declare their duration in a header (MP4/MOV,
  Matroska), packets exist near the declared end. So garbage, text files renamed to ``.mp4`` and
  truncated downloads fail here with ``media_unreadable`` instead of deep inside speech recognition.
- Language tags are reported as found, except ``und`` (undetermined), which becomes ``None``.
- Tags keep a fixed set of descriptive keys (lower-cased); technical muxer tags are dropped.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.stream
from pydantic import BaseModel, Field

from kernel.source.errors import SourceError
from kernel.transcript import Chapter

StreamType = Literal["audio", "video", "subtitle", "data", "attachment", "unknown"]

_STREAM_TYPES = frozenset({"audio", "video", "subtitle", "data", "attachment"})
# fmt: off
_KEPT_TAGS = frozenset({
    "title", "date", "creation_time", "language", "artist", "album_artist", "album", "comment",
    "description", "synopsis", "genre", "composer", "publisher", "copyright", "show", "episode_id",
    "date_released", "date_recorded", "purl",
})
# fmt: on
_MAX_TAG_LENGTH = 4000
_TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "mov_text", "webvtt", "ass", "ssa", "text"})
# Demuxers for plain subtitle or text files: such a file is not media, even when it opens.
# fmt: off
_TEXT_FILE_FORMATS = frozenset({
    "srt", "webvtt", "ass", "tty", "microdvd", "subviewer", "subviewer1", "sami", "lrc", "jacosub",
    "mpl2", "pjs", "realtext", "stl", "vplayer", "aqtitle", "mpsub", "scc",
})
# fmt: on
# Containers whose header declares the duration, so a cut-off file still claims its full length.
_HEADER_DURATION_FORMATS = ("mov", "mp4", "matroska", "webm")
_FIRST_PACKETS_TO_DECODE = 64
_TAIL_PACKETS_TO_SCAN = 5000
_TAIL_POSITION = 0.9  # fraction of the declared duration where packets must still exist
_TAIL_TOLERANCE_SECONDS = 1.0


class MediaError(SourceError):
    """A local media file cannot be used: missing, a directory, unreadable or without usable streams."""

    code = "media_error"


class StreamInfo(BaseModel):
    index: int
    type: StreamType
    codec: str | None = None
    language: str | None = None
    title: str | None = None
    is_text_subtitle: bool = False
    channels: int | None = None
    sample_rate: int | None = None


class MediaProbe(BaseModel):
    file_name: str
    format_name: str
    duration: float | None = None
    size_bytes: int
    streams: list[StreamInfo] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    chapters: list[Chapter] = Field(default_factory=list)

    def streams_of(self, stream_type: StreamType) -> list[StreamInfo]:
        return [stream for stream in self.streams if stream.type == stream_type]


def probe_media(path: Path) -> MediaProbe:
    """Open ``path`` with PyAV, check that it decodes, and describe it.

    Raises:
        MediaError: code ``media_not_found`` (no such file), ``media_is_directory`` (a folder was given)
            or ``media_unreadable`` (not media, damaged, truncated, or not readable by this user).
    """
    _require_regular_file(path)
    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, f"it cannot be opened as media ({_reason(exc)})") from exc
    try:
        probe = _describe(path, container)
        if probe.format_name in _TEXT_FILE_FORMATS or not probe.streams:
            raise _unreadable(
                path,
                f"it is a {probe.format_name} text or subtitle file, not audio or video",
                hint="Pass the audio or video file; put subtitle files beside it named like the media "
                "(e.g. talk.en.vtt beside talk.mp4).",
            )
        _check_decodes(path, container, probe)
        return probe
    finally:
        container.close()


def _require_regular_file(path: Path) -> None:
    if path.is_dir():
        raise MediaError(
            f"{path.name} is a directory, not a media file",
            code="media_is_directory",
            hint="Pass the path of one audio or video file inside that folder.",
        )
    if not path.exists():
        raise MediaError(
            f"Media file not found: {path.name}",
            code="media_not_found",
            hint="Check the path and file name; it must name an existing audio or video file.",
        )
    if not path.is_file():
        raise _unreadable(path, "it is not a regular file")


def _unreadable(path: Path, why: str, *, hint: str | None = None) -> MediaError:
    return MediaError(
        f"Cannot read media file {path.name}: {why}",
        code="media_unreadable",
        hint=hint
        or "Check that the file plays in a media player and was fully downloaded or copied; "
        "re-download or re-export it if it is damaged.",
    )


def _reason(exc: BaseException) -> str:
    # PyAV's messages end with the file path; keep only the description so no absolute path leaks.
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _describe(path: Path, container: av.container.InputContainer) -> MediaProbe:
    duration = container.duration / av.time_base if container.duration is not None else None
    if duration is None:
        stream_durations = [
            float(stream.duration * stream.time_base)
            for stream in container.streams
            if stream.duration is not None and stream.time_base is not None
        ]
        duration = max(stream_durations, default=None)
    return MediaProbe(
        file_name=path.name,
        format_name=container.format.name,
        duration=round(duration, 3) if duration is not None else None,
        size_bytes=path.stat().st_size,
        streams=[_stream_info(stream) for stream in container.streams],
        tags=_kept_tags(container.metadata),
        chapters=_chapters(container),
    )


def _stream_info(stream: av.stream.Stream) -> StreamInfo:
    stream_type: StreamType = stream.type if stream.type in _STREAM_TYPES else "unknown"
    context = stream.codec_context
    codec = context.codec if context is not None else None
    codec_name = codec.canonical_name if codec is not None else None
    metadata = {key.lower(): value for key, value in stream.metadata.items()}
    language = metadata.get("language")
    is_text = stream_type == "subtitle" and (
        (codec is not None and codec.text_sub) or (codec_name or "") in _TEXT_SUBTITLE_CODECS
    )
    channels = getattr(context, "channels", None) if stream_type == "audio" else None
    sample_rate = getattr(context, "sample_rate", None) if stream_type == "audio" else None
    return StreamInfo(
        index=stream.index,
        type=stream_type,
        codec=codec_name,
        language=None if not language or language.lower() == "und" else language,
        title=metadata.get("title") or None,
        is_text_subtitle=is_text,
        channels=channels or None,
        sample_rate=sample_rate or None,
    )


def _kept_tags(metadata: dict[str, str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, value in metadata.items():
        name = key.lower()
        if name in _KEPT_TAGS and value and value.strip():
            tags.setdefault(name, value.strip()[:_MAX_TAG_LENGTH])
    return tags


def _chapters(container: av.container.InputContainer) -> list[Chapter]:
    chapters: list[Chapter] = []
    for number, raw in enumerate(container.chapters(), start=1):
        time_base = raw["time_base"] or Fraction(1, av.time_base)
        start = max(0.0, float(raw["start"] * time_base))
        end = float(raw["end"] * time_base)
        title = (raw["metadata"].get("title") or "").strip() or f"Chapter {number}"
        chapters.append(Chapter(title=title, start=round(start, 3), end=round(end, 3) if end > start else None))
    return chapters


def _check_decodes(path: Path, container: av.container.InputContainer, probe: MediaProbe) -> None:
    primary: av.stream.Stream | None = container.streams.audio[0] if container.streams.audio else None
    if primary is None and container.streams.video:
        primary = container.streams.video[0]
    if primary is None:
        return  # e.g. subtitles only: nothing to decode, discovery decides if that is usable
    try:
        if not _first_frames_decode(container, primary):
            raise _unreadable(path, f"its first {primary.type} packets hold no decodable data")
        if _declares_duration_in_header(probe) and not _has_packets_near_end(container, probe):
            raise _unreadable(path, "it ends before its declared duration (truncated)")
    except av.FFmpegError as exc:
        raise _unreadable(path, f"decoding failed ({_reason(exc)})") from exc


def _first_frames_decode(container: av.container.InputContainer, stream: av.stream.Stream) -> bool:
    for count, packet in enumerate(container.demux(stream), start=1):
        if packet.decode():
            return True
        if count >= _FIRST_PACKETS_TO_DECODE:
            break
    return False


def _declares_duration_in_header(probe: MediaProbe) -> bool:
    return probe.duration is not None and any(name in probe.format_name for name in _HEADER_DURATION_FORMATS)


def _has_packets_near_end(container: av.container.InputContainer, probe: MediaProbe) -> bool:
    assert probe.duration is not None
    target = probe.duration * _TAIL_POSITION - _TAIL_TOLERANCE_SECONDS
    if target <= 0:
        return True
    media_streams = [*container.streams.audio, *container.streams.video]
    container.seek(int(target * av.time_base), backward=True)
    for count, packet in enumerate(container.demux(media_streams), start=1):
        if packet.pts is not None and packet.time_base is not None and packet.pts * packet.time_base >= target:
            return True
        if count >= _TAIL_PACKETS_TO_SCAN:
            break
    return False
