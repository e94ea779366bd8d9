"""Source times as the article writes them: plain ``[mm:ss]`` labels or deep links back to the video.

Invariants:
- A time always comes from the source (a sentence's start), never from model output; this module only
  writes it. Times are floored to whole seconds, so a link lands just before the words.
- Labels are ``mm:ss`` under an hour and ``h:mm:ss`` from an hour on, in square brackets.
- Links: YouTube ``https://youtu.be/<id>?t=<seconds>``; Vimeo ``<page>#t=<seconds>s``; Twitch
  ``<page>?t=<h>h<m>m<s>s``; Bilibili ``<page>?t=<seconds>``; Dailymotion ``<page>?start=<seconds>``;
  a direct media file URL ``<url>#t=<seconds>`` (W3C media fragment). Any other site, and every local
  file, gets the plain label: no link is better than one that does not seek.
- Pure functions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..transcript import SourceInfo

TimestampMode = Literal["sections", "paragraphs", "none"]
LinkStyle = Literal["plain", "youtube", "fragment", "fragment_seconds", "query", "twitch"]

_YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_MEDIA_EXTENSIONS = (".mp4", ".m4v", ".webm", ".mov", ".mkv", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".wav",
                     ".flac", ".aac")  # fmt: skip
_LABEL = r"\d{1,2}:\d{2}(?::\d{2})?"
TIME_SUFFIX = re.compile(rf" \[({_LABEL})\](?:\(([^)\s]+)\))?$")
TIME_PREFIX = re.compile(rf"^\[({_LABEL})\](?:\(([^)\s]+)\))? ")


def clock_label(seconds: float) -> str:
    """``mm:ss`` under an hour, ``h:mm:ss`` from an hour on (floored to whole seconds)."""
    total = max(0, math.floor(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class TimeLinks:
    """How this source's times are written: ``render(seconds)`` gives ``[mm:ss]`` or ``[mm:ss](link)``."""

    style: LinkStyle = "plain"
    base: str = ""  # the page (or video id, for YouTube) the link is built on
    parameter: str = ""  # the query parameter that carries the seconds (``query`` style)

    def url(self, seconds: float) -> str | None:
        whole = max(0, math.floor(seconds))
        if self.style == "youtube":
            return f"https://youtu.be/{self.base}?t={whole}"
        if self.style == "fragment":
            return f"{self.base}#t={whole}"
        if self.style == "fragment_seconds":
            return f"{self.base}#t={whole}s"
        if self.style == "query":
            return _with_query(self.base, self.parameter, str(whole))
        if self.style == "twitch":
            hours, rest = divmod(whole, 3600)
            minutes, secs = divmod(rest, 60)
            return _with_query(self.base, "t", f"{hours}h{minutes}m{secs}s")
        return None

    def render(self, seconds: float) -> str:
        label = f"[{clock_label(seconds)}]"
        link = self.url(seconds)
        return f"{label}({link})" if link else label


def _with_query(page: str, name: str, value: str) -> str:
    parts = urlsplit(page)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.").removeprefix("m.").removeprefix("music.")


def _youtube_id(info: SourceInfo, page: str) -> str | None:
    if _YOUTUBE_ID.match(info.id):
        return info.id
    parts = urlsplit(page)
    candidates = [v for k, v in parse_qsl(parts.query) if k == "v"]
    candidates.append(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return next((c for c in candidates if _YOUTUBE_ID.match(c)), None)


def time_links(info: SourceInfo | None) -> TimeLinks:
    """The link style for this source (plain labels for local files and sites without time links)."""
    if info is None or info.source_kind != "url":
        return TimeLinks()
    page = info.webpage_url or info.source
    if not page.startswith(("http://", "https://")):
        return TimeLinks()
    host = _host(page)
    if host.endswith(_YOUTUBE_HOSTS):
        video_id = _youtube_id(info, page)
        return TimeLinks("youtube", video_id) if video_id else TimeLinks()
    clean_page = urlunsplit(urlsplit(page)._replace(fragment=""))
    if host.endswith("vimeo.com"):
        return TimeLinks("fragment_seconds", clean_page)
    if host.endswith("twitch.tv") and "/videos/" in page:
        return TimeLinks("twitch", clean_page)
    if host.endswith("bilibili.com") and "/video/" in page:
        return TimeLinks("query", clean_page, "t")
    if host.endswith("dailymotion.com") and "/video/" in page:
        return TimeLinks("query", clean_page, "start")
    if urlsplit(page).path.lower().endswith(_MEDIA_EXTENSIONS):
        return TimeLinks("fragment", clean_page)
    return TimeLinks()
