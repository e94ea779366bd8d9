"""Discovery and subtitle acquisition for a local media file.

Invariants:
- ``SourceInfo.id`` is ``file-`` + the first 16 hex digits of a sha256 over the file size, its first MiB
  and its last MiB: stable across runs, renames and machines, and cheap for multi-GB files.
- Nothing returned names an absolute path: ``SourceInfo.source`` and a sidecar's ``SubtitleTrack.path``
  are bare file names (a sidecar always sits in the media's folder).
- A sidecar belongs to ``<stem>.mp4`` when it is named ``<stem>.vtt|srt`` or ``<stem>.<lang>.vtt|srt``
  (extension case-insensitive, ``<lang>`` a language tag such as ``en``, ``en-US``, ``zh-Hans``), unless
  another media file in the folder has exactly the sidecar's stem (then the sidecar is that file's).
- Only text subtitle streams are offered; image subtitles (PGS, DVB, VobSub) cannot become text.
- Title, artist and date come from the container's tags when present (``SourceInfo.date_source`` says
  ``tag``), else the title from the file name and the date from the file's modification time
  (``file_time``). The artist tag (``artist``, else ``album_artist``) is ``SourceInfo.artist``, never a
  channel.
- Three-letter ISO 639-2 language tags of common languages are reported as two-letter codes (``eng`` ->
  ``en``) so they compare equal to sidecar suffixes and user preferences; others are kept as found.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from kernel.source.audio import extract_subtitle_stream
from kernel.source.probe import MediaError, MediaProbe, probe_media
from kernel.task_runtime.store import atomic_copy
from kernel.transcript import AudioStream, DateSource, SourceInfo, SourceTracks, SubtitleTrack

SIDECAR_EXTENSIONS = frozenset({"vtt", "srt"})
# Media whose stem equals a subtitle file's full stem owns that subtitle file (not a shorter-named file).
# fmt: off
_MEDIA_EXTENSIONS = frozenset({
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "wmv", "flv", "ts", "mts", "m2ts", "mpg", "mpeg", "3gp",
    "m4a", "mp3", "wav", "flac", "ogg", "oga", "opus", "aac", "wma", "aiff", "aif", "mka",
})
# fmt: on
_ID_SAMPLE_BYTES = 1 << 20
_LANGUAGE_SUFFIX = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_ISO_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:$|[T\s])")
# fmt: off
_ISO_639_2_TO_1 = {
    "ara": "ar", "ben": "bn", "bul": "bg", "ces": "cs", "cze": "cs", "chi": "zh", "zho": "zh",
    "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el", "eng": "en", "spa": "es",
    "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr", "fre": "fr", "heb": "he", "hin": "hi",
    "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "msa": "ms", "may": "ms",
    "nld": "nl", "dut": "nl", "nor": "no", "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro",
    "rus": "ru", "slk": "sk", "slo": "sk", "swe": "sv", "tha": "th", "tur": "tr", "ukr": "uk",
    "urd": "ur", "vie": "vi", "cat": "ca", "hrv": "hr", "srp": "sr", "tam": "ta", "tel": "te",
}
# fmt: on


def is_media_file(path: Path) -> bool:
    """Whether ``path``'s extension is one of the media formats local discovery reads (by name only)."""
    return path.suffix.lower().lstrip(".") in _MEDIA_EXTENSIONS


def media_in_folder(folder: Path) -> list[Path]:
    """The media files under ``folder`` (recursively; hidden files and folders left out), in natural order of
    their relative paths (``clip2`` before ``clip10``). Their sidecar subtitles are found by discovery."""
    found = [path for path in folder.rglob("*")
             if path.is_file() and is_media_file(path)
             and not any(part.startswith(".") for part in path.relative_to(folder).parts)]
    return sorted(found, key=lambda path: _natural_key(path.relative_to(folder).as_posix()))


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part.casefold()) for part in re.split(r"(\d+)", text) if part]


def discover_local(path: Path) -> tuple[SourceInfo, SourceTracks]:
    """Describe a local media file and list the subtitle tracks and audio streams it offers.

    Raises:
        MediaError: the codes of ``probe_media`` (``media_not_found``, ``media_is_directory``,
            ``media_unreadable``), or ``media_no_usable_streams`` when the file has neither an audio
            stream nor any text subtitle track (sidecar or embedded).
    """
    return describe_local(path, probe_media(path))


def describe_local(path: Path, probe: MediaProbe) -> tuple[SourceInfo, SourceTracks]:
    """``discover_local`` for a file already probed (reads only the file's head, tail, mtime and folder).

    Raises:
        MediaError: ``media_no_usable_streams`` when there is neither audio nor a text subtitle track.
    """
    tracks = SourceTracks(
        subtitles=[*find_sidecar_subtitles(path), *_embedded_subtitles(probe)],
        audio=_audio_streams(probe),
    )
    tracks.has_audio = bool(tracks.audio)
    if not tracks.has_audio and not tracks.subtitles:
        kinds: list[str] = sorted({stream.type for stream in probe.streams}) or ["none"]
        raise MediaError(
            f"{path.name} has no audio stream and no text subtitles (streams: {', '.join(kinds)})",
            code="media_no_usable_streams",
            hint="Use a file with an audio track, or put a subtitle file beside it named like the media "
            f"(e.g. {path.stem}.en.vtt).",
        )
    upload_date, date_source = _upload_date(probe, path)
    info = SourceInfo(
        id=local_source_id(path),
        title=probe.tags.get("title") or readable_stem(path.stem),
        source=path.name,
        source_kind="file",
        upload_date=upload_date,
        date_source=date_source,
        duration=probe.duration,
        language=_source_language(tracks),
        description=probe.tags.get("description") or probe.tags.get("synopsis") or None,
        artist=probe.tags.get("artist") or probe.tags.get("album_artist") or None,
        chapters=probe.chapters,
    )
    return info, tracks


def acquire_local_subtitles(media_path: Path, track: SubtitleTrack, dest_dir: Path) -> Path:
    """Put the chosen local subtitle track into ``dest_dir`` and return the written file.

    A sidecar is copied (atomically) under its own name with a lower-case extension; an embedded stream
    is converted to ``<media stem>.stream<index>.vtt``.

    Raises:
        MediaError: ``subtitle_track_not_local`` for a remote track or one missing its path/stream,
            ``subtitle_not_found`` when the sidecar file is gone.
        FFmpegError: ``subtitle_extract_failed`` when the embedded stream cannot be converted.
    """
    if track.origin == "sidecar" and track.path:
        sidecar_name = Path(track.path).name
        if sidecar_name != track.path:
            raise _not_local(track, "its path must be a bare file name beside the media")
        sidecar = media_path.parent / sidecar_name
        if not sidecar.is_file():
            raise MediaError(
                f"Subtitle file not found: {sidecar_name} (beside {media_path.name})",
                code="subtitle_not_found",
                hint="Restore the subtitle file, or discover the source again to list what is available.",
            )
        target = dest_dir / f"{sidecar.stem}{sidecar.suffix.lower()}"
        atomic_copy(sidecar, target)
        return target
    if track.origin == "embedded" and track.stream_index is not None:
        target = dest_dir / f"{media_path.stem}.stream{track.stream_index}.vtt"
        return extract_subtitle_stream(media_path, track.stream_index, target)
    raise _not_local(track, "it is neither a sidecar file nor an embedded stream")


def find_sidecar_subtitles(media_path: Path) -> list[SubtitleTrack]:
    """Subtitle files beside ``media_path`` that belong to it, sorted by file name."""
    siblings = sorted(entry for entry in media_path.parent.iterdir() if entry.is_file())
    media_stems = {entry.stem for entry in siblings if entry.suffix.lower().lstrip(".") in _MEDIA_EXTENSIONS}
    tracks: list[SubtitleTrack] = []
    for entry in siblings:
        ext = entry.suffix.lower().lstrip(".")
        if ext not in SIDECAR_EXTENSIONS or entry == media_path:
            continue
        matched, language = match_sidecar_name(media_path.stem, entry.stem)
        if not matched or (entry.stem != media_path.stem and entry.stem in media_stems):
            continue
        tracks.append(SubtitleTrack(language=language, origin="sidecar", ext=ext, path=entry.name))
    return tracks


def match_sidecar_name(media_stem: str, sidecar_stem: str) -> tuple[bool, str | None]:
    """Whether a subtitle file stem belongs to a media stem, and the language its suffix names."""
    if sidecar_stem == media_stem:
        return True, None
    prefix = media_stem + "."
    if not sidecar_stem.startswith(prefix):
        return False, None
    suffix = sidecar_stem[len(prefix) :]
    if not _LANGUAGE_SUFFIX.match(suffix):
        return False, None
    return True, normalize_language(suffix.replace("_", "-"))


def normalize_language(tag: str | None) -> str | None:
    """``eng`` -> ``en``, ``und``/empty -> None; anything else unchanged."""
    if not tag or tag.strip().lower() in {"und", "unknown", "none"}:
        return None
    tag = tag.strip()
    primary, _, rest = tag.partition("-")
    short = _ISO_639_2_TO_1.get(primary.lower())
    if short is None:
        return tag
    return f"{short}-{rest}" if rest else short


def local_source_id(path: Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode("ascii"))
    with path.open("rb") as handle:
        digest.update(handle.read(_ID_SAMPLE_BYTES))
        handle.seek(max(0, size - _ID_SAMPLE_BYTES))
        digest.update(handle.read(_ID_SAMPLE_BYTES))
    return "file-" + digest.hexdigest()[:16]


def readable_stem(stem: str) -> str:
    """``my_talk.final`` -> ``my talk final``: a file stem as a fallback title."""
    return " ".join(re.sub(r"[_.]+", " ", stem).split()) or stem


def parse_tag_date(value: str | None) -> str | None:
    """A ``yyyy-mm-dd`` date from a tag like ``2024-07-01``, ``20240701`` or ``2024-07-01T10:00:00Z``."""
    match = _ISO_DATE.match(value.strip()) if value else None
    if match is None:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3])).strftime("%Y-%m-%d")
    except ValueError:
        return None


def _upload_date(probe: MediaProbe, path: Path) -> tuple[str, DateSource]:
    """The media's date and where it came from: a date tag (``creation_time`` included), else the file time."""
    for key in ("date", "date_released", "date_recorded", "creation_time"):
        parsed = parse_tag_date(probe.tags.get(key))
        if parsed:
            return parsed, "tag"
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).strftime("%Y-%m-%d"), "file_time"


def _embedded_subtitles(probe: MediaProbe) -> list[SubtitleTrack]:
    return [
        SubtitleTrack(
            language=normalize_language(stream.language),
            origin="embedded",
            ext="vtt",  # what acquisition converts it to
            name=stream.title,
            stream_index=stream.index,
        )
        for stream in probe.streams_of("subtitle")
        if stream.is_text_subtitle
    ]


def _audio_streams(probe: MediaProbe) -> list[AudioStream]:
    return [
        AudioStream(
            stream_index=stream.index,
            codec=stream.codec,
            language=normalize_language(stream.language),
            channels=stream.channels,
            sample_rate=stream.sample_rate,
        )
        for stream in probe.streams_of("audio")
    ]


def _source_language(tracks: SourceTracks) -> str | None:
    for audio in tracks.audio:
        if audio.language:
            return audio.language
    for track in sorted(tracks.subtitles, key=lambda t: t.origin != "embedded"):
        if track.language:
            return track.language
    return None


def _not_local(track: SubtitleTrack, why: str) -> MediaError:
    return MediaError(
        f"Subtitle track ({track.origin}, language {track.language or 'unknown'}) is not a local track: {why}",
        code="subtitle_track_not_local",
        hint="Pick a track from the source.tracks artifact of this local file.",
    )
