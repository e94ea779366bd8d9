"""yt-dlp info JSON -> ``SourceInfo`` and ``SourceTracks``.

Invariants:
- ``info_to_source`` is pure: yt-dlp info JSON in, ``SourceInfo`` and ``SourceTracks`` out.
- Only subtitle tracks in a format our parser reads (``SUBTITLE_FORMATS``) are listed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..transcript import Chapter, SourceInfo, SourceTracks, SubtitleTrack
from .routing import language_key

# Formats our subtitle parser reads, best first.
SUBTITLE_FORMATS = ("vtt", "srt", "json3")
_NOT_SUBTITLES = {"live_chat", "rechat", "danmaku", "comments"}


def info_to_source(info: dict[str, Any], *, source_url: str | None = None) -> tuple[SourceInfo, SourceTracks]:
    """Map a yt-dlp info dict to ``SourceInfo`` and ``SourceTracks``.

    Automatic captions: only the original-language track (``xx-orig``, or the video's own language when no
    ``-orig`` key exists) transcribes the speech; every other automatic track is a machine translation.
    The plain ``xx`` duplicate YouTube lists beside ``xx-orig`` is dropped. Tracks without a format our
    parser reads (vtt, srt, json3) are left out.
    """
    automatic: dict[str, Any] = info.get("automatic_captions") or {}
    original = _original_caption_language(automatic) or info.get("language")
    video_language = info.get("language") or original
    webpage_url = info.get("webpage_url") or info.get("original_url")
    source_info = SourceInfo(
        id=str(info.get("id") or info.get("display_id") or "unknown"),
        title=_title(info),
        source=source_url or str(info.get("original_url") or webpage_url or ""),
        source_kind="url",
        webpage_url=webpage_url,
        channel=info.get("channel") or info.get("uploader") or info.get("creator"),
        upload_date=_iso_date(info.get("upload_date") or info.get("release_date")),
        duration=float(info["duration"]) if isinstance(info.get("duration"), int | float) else None,
        language=video_language,
        description=info.get("description") or None,
        chapters=_chapters(info.get("chapters"), info.get("duration")),
        live_status=info.get("live_status"),
    )
    subtitles: list[SubtitleTrack] = []
    for key, entries in (info.get("subtitles") or {}).items():
        track = _track(key, entries, kind="manual", video_language=video_language)
        if track is not None:
            subtitles.append(track)
    orig_keys = {k[: -len("-orig")] for k in automatic if k.endswith("-orig")}
    for key, entries in automatic.items():
        if key in orig_keys:
            continue  # the same captions as "<key>-orig", listed again for compatibility
        track = _track(key, entries, kind="automatic", video_language=original)
        if track is not None:
            subtitles.append(track)
    return source_info, SourceTracks(subtitles=subtitles, has_audio=_has_audio(info))


def _title(info: dict[str, Any]) -> str:
    """The video's title; for a page's single HTML5 ``<video>``, the page title without yt-dlp's " (1)".

    yt-dlp's HTML5 media extractor numbers every entry (id ``<page>-<n>``, title ``<page title> (<n>)``),
    even when the page holds one; several entries make a playlist, which discover refuses anyway.
    """
    title = str(info.get("title") or info.get("fulltitle") or info.get("id") or "untitled")
    if info.get("extractor_key") == "HTML5MediaEmbed":
        number = re.search(r"-(\d+)$", str(info.get("id") or ""))
        if number and title.endswith(f" ({number.group(1)})"):
            return title[: -len(f" ({number.group(1)})")]
    return title


def _original_caption_language(automatic: dict[str, Any]) -> str | None:
    for key in automatic:
        if key.endswith("-orig"):
            return key[: -len("-orig")]
    return None


def _track(key: str | None, entries: Any, *, kind: str, video_language: str | None) -> SubtitleTrack | None:
    if key in _NOT_SUBTITLES or not isinstance(entries, list):
        return None
    chosen = _preferred_entry(entries)
    if chosen is None:
        return None
    language = None if key in (None, "null") else str(key).removesuffix("-orig")
    is_original = (key is not None and str(key).endswith("-orig")) or (
        language_key(language) is not None and language_key(language) == language_key(video_language))
    return SubtitleTrack(
        language=language,
        kind="automatic" if kind == "automatic" else "manual",
        origin="remote",
        ext=chosen["ext"],
        name=chosen.get("name"),
        url=chosen.get("url"),
        is_original_language=is_original,
        is_translation=kind == "automatic" and not is_original,
    )


def _preferred_entry(entries: list[Any]) -> dict[str, Any] | None:
    usable: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not (entry.get("url") or entry.get("data")):
            continue
        ext = str(entry.get("ext") or _ext_from_url(entry.get("url")) or "").lower()
        if ext in SUBTITLE_FORMATS:
            usable.append({**entry, "ext": ext})
    usable.sort(key=lambda e: SUBTITLE_FORMATS.index(e["ext"]))
    return usable[0] if usable else None


def _ext_from_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    suffix = Path(urlsplit(url).path).suffix
    return suffix[1:] if suffix else None


def _has_audio(info: dict[str, Any]) -> bool:
    formats = info.get("formats")
    if formats is None:
        formats = [info] if info.get("url") else []
    # An unknown codec (generic pages) may carry audio; only an explicit "none" rules it out.
    return any(isinstance(f, dict) and f.get("acodec") != "none" and (f.get("url") or f.get("manifest_url"))
               and f.get("format_note") != "storyboard" for f in formats)


def _iso_date(value: Any) -> str | None:
    text = str(value or "")
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None


def _chapters(raw: Any, duration: Any) -> list[Chapter]:
    chapters: list[Chapter] = []
    for item in raw or []:
        if not isinstance(item, dict) or not isinstance(item.get("start_time"), int | float):
            continue
        end = item.get("end_time")
        chapters.append(Chapter(title=str(item.get("title") or f"Chapter {len(chapters) + 1}"),
                                start=max(0.0, float(item["start_time"])),
                                end=float(end) if isinstance(end, int | float) else None))
    return chapters

