"""yt-dlp behind one small interface: discover a URL, download its subtitles or its audio.

Invariants:
- yt-dlp only ever sees http(s) URLs that passed ``validate_source_url``, with the fixed option set built
  by ``_base_options``: quiet, no progress bars, no playlists, no user-supplied exec or postprocessor
  options. Every message yt-dlp produces goes to the ``logging`` module (``logtostderr`` as a backstop),
  never to stdout, which is the MCP channel.
- Downloads land in a temporary folder inside ``dest_dir`` and are renamed into place only when
  complete, so a crash never leaves a half file under a final name. A completed file is reused, not
  downloaded again; an interrupted audio download resumes from yt-dlp's ``.part`` file.
- yt-dlp failures become ``DownloadError`` with a stable ``code``, ``retryable`` and a ``hint`` naming
  what to do (cookies file, proxy, waiting). Only retryable failures (rate limits, network errors,
  server errors) are retried, a bounded number of times with exponential backoff or the server's
  ``Retry-After``; the sleep is injectable (``RetryPolicy``) so tests never wait.
- ``info_to_source`` is pure: yt-dlp info JSON in, ``SourceInfo`` and ``SourceTracks`` out.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yt_dlp
import yt_dlp.utils

from ..config import Settings
from ..task_runtime.errors import SourceError
from ..task_runtime.store import atomic_copy, atomic_write_bytes
from ..transcript import Chapter, SourceInfo, SourceTracks, SubtitleTrack
from .routing import language_key
from .urls import validate_source_url

_log = logging.getLogger(__name__)
T = TypeVar("T")

# Formats our subtitle parser reads, best first.
SUBTITLE_FORMATS = ("vtt", "srt", "json3")
NOT_FINISHED_LIVE_STATUSES = ("is_live", "is_upcoming", "post_live")
_NOT_SUBTITLES = {"live_chat", "rechat", "danmaku", "comments"}
_AUDIO_TEMP_DIR = ".ytdlp-audio.partial"
AUDIO_WAV_NAME = "audio.wav"
_UNFINISHED_SUFFIXES = (".part", ".ytdl", ".temp", ".tmp")


class DownloadError(SourceError):
    """yt-dlp could not discover or download the source. ``code`` says why, ``retryable`` whether trying
    again later can help; ``details`` holds ``retryable``, the ``url`` and yt-dlp's own message.

    Codes: ``sign_in_required``, ``rate_limited``, ``video_unavailable``, ``age_restricted``,
    ``geo_blocked``, ``live_not_finished``, ``unsupported_url``, ``no_media``, ``network_error``,
    ``forbidden``, ``download_failed``.
    """

    code = "download_failed"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None,
                 retryable: bool = False, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, hint=hint, details={**(details or {}), "retryable": retryable})
        self.retryable = retryable


# ---------------------------------------------------------------------------------------------------------
# Failure classification (pure)
# ---------------------------------------------------------------------------------------------------------

_HINTS = {
    "sign_in_required": "the site wants a signed-in session: export your browser's cookies for the site to a "
    "Netscape cookies.txt file and set YTT_COOKIES_FILE (network.cookies_file); a 'not a bot' check may also "
    "clear from another network (YTT_PROXY / network.proxy)",
    "rate_limited": "the site is rate-limiting requests from this address: wait (YouTube session limits last up "
    "to an hour) and resume the run, or use another session or address (YTT_COOKIES_FILE, YTT_PROXY)",
    "video_unavailable": "the video is private, removed or the URL is wrong: open the URL in a browser; for a "
    "private video you can see, set YTT_COOKIES_FILE to your signed-in cookies",
    "age_restricted": "the video is age-restricted: set YTT_COOKIES_FILE to the cookies of a signed-in account "
    "that has confirmed its age",
    "geo_blocked": "the video is not available from this country: set YTT_PROXY (network.proxy) to a proxy in "
    "a country where it is available",
    "live_not_finished": "this is a live stream or premiere that has not finished: wait until it has ended and "
    "its recording is available, then run again",
    "unsupported_url": "yt-dlp finds no single video at this URL: pass the URL of one video's page (not a "
    "channel, playlist or search page), or download the media and pass the file path",
    "no_media": "the page has no video or audio yt-dlp can find: pass the URL of the video's own page, or "
    "download the media and pass the file path",
    "network_error": "the site could not be reached: check the network connection and the proxy setting "
    "(YTT_PROXY), then resume the run",
    "forbidden": "the server refused access (HTTP 403): update yt-dlp, set YTT_COOKIES_FILE to a signed-in "
    "session, or try another network via YTT_PROXY",
    "server_error": "the site answered with a server error: resume the run later",
    "download_failed": "yt-dlp failed (its message is in details): if the site changed, update yt-dlp "
    "(pip install -U yt-dlp), then resume the run",
}

# (code, retryable, pattern): the first match wins, so the specific shapes come before the generic ones
# ("Private video. Sign in if you've been granted access" is unavailable, not a sign-in problem).
_RULES: list[tuple[str, bool, re.Pattern[str]]] = [
    ("live_not_finished", False, re.compile(
        r"live event will begin|premieres? in |premiere will begin|this live event has ended|"
        r"live stream recording is not available|is not currently live|waiting for (?:scheduled )?stream|"
        r"is an upcoming|live_status.{0,4}(?:is_live|is_upcoming|post_live)", re.I)),
    ("age_restricted", False, re.compile(
        r"confirm your age|age[- ]restricted|inappropriate for some users|age[_ ]verification", re.I)),
    ("geo_blocked", False, re.compile(
        r"not (?:made this video )?available in your (?:country|region)|geo[- ]?restrict|"
        r"blocked it in your country|not available from your location|available in your country", re.I)),
    ("video_unavailable", False, re.compile(
        r"private video|this video is private|video has been removed|has been terminated|"
        r"no longer available|video does not exist|this video is unavailable|http error 404|http error 410|"
        r"404: not found", re.I)),
    ("rate_limited", True, re.compile(
        r"http error 429|too many requests|rate[- ]limit|try again later", re.I)),
    ("sign_in_required", False, re.compile(
        r"sign in to confirm|not a bot|sign in|log ?in required|login required|members[- ]only|"
        r"join this channel|requires? authentication|only available for registered users|"
        r"use --cookies|account cookies|captcha", re.I)),
    ("forbidden", False, re.compile(r"http error 403|403: forbidden|\bforbidden\b", re.I)),
    ("video_unavailable", False, re.compile(r"video unavailable|content isn.t available|\bnot found\b", re.I)),
    ("unsupported_url", False, re.compile(r"unsupported url|is a playlist", re.I)),
    ("no_media", False, re.compile(
        r"no video formats found|no media found|requested format is not available|no video could be found|"
        r"there is no video|no audio", re.I)),
    ("download_failed", True, re.compile(r"http error 5\d\d|service unavailable|bad gateway", re.I)),
    ("network_error", True, re.compile(
        r"timed out|timeout|connection (?:refused|reset|aborted)|name or service not known|"
        r"name resolution|nodename nor servname|getaddrinfo|network is unreachable|no route to host|"
        r"remote end closed|incomplete ?read|content too short|did not get any data|eof occurred|"
        r"bytes read, \d+ more expected|giving up after \d+ retries|"
        r"unable to connect|failed to resolve|errno 10[134]|errno 111|ssl", re.I)),
]


def classify_ytdlp_error(message: str) -> tuple[str, bool, str]:
    """Classify a yt-dlp error message: ``(code, retryable, hint)``. Unknown shapes are ``download_failed``."""
    for code, retryable, pattern in _RULES:
        if pattern.search(message):
            hint = _HINTS["server_error"] if code == "download_failed" else _HINTS[code]
            return code, retryable, hint
    return "download_failed", False, _HINTS["download_failed"]


def _classify_by_status(status: int) -> tuple[str, bool, str] | None:
    mapping = {429: ("rate_limited", True), 403: ("forbidden", False), 404: ("video_unavailable", False),
               410: ("video_unavailable", False), 401: ("sign_in_required", False)}
    if status in mapping:
        code, retryable = mapping[status]
        return code, retryable, _HINTS[code]
    if 500 <= status < 600:
        return "download_failed", True, _HINTS["server_error"]
    return None


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        exc_info = getattr(current, "exc_info", None)
        nested = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        cause = getattr(current, "cause", None)
        pending += [nested if isinstance(nested, BaseException) else None,
                    cause if isinstance(cause, BaseException) else None, current.__cause__, current.__context__]


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delta seconds or an HTTP date. ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return None


@dataclass(frozen=True)
class _Failure:
    code: str
    retryable: bool
    hint: str
    message: str
    retry_after: float | None = None


def _diagnose(exc: BaseException) -> _Failure:
    message = _clean_message(str(exc))
    retry_after: float | None = None
    by_type: tuple[str, bool, str] | None = None
    for item in _exception_chain(exc):
        if isinstance(item, yt_dlp.utils.GeoRestrictedError):
            by_type = ("geo_blocked", False, _HINTS["geo_blocked"])
        status = getattr(item, "status", None)
        response = getattr(item, "response", None)
        if isinstance(status, int) and response is not None:
            by_type = by_type or _classify_by_status(status)
            headers = getattr(response, "headers", None)
            if headers is not None:
                retry_after = retry_after_seconds(headers.get("Retry-After"))
    code, retryable, hint = by_type or classify_ytdlp_error(message)
    return _Failure(code, retryable, hint, message, retry_after)


def _clean_message(message: str) -> str:
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)
    message = re.sub(r"^(?:ERROR|WARNING):\s*", "", message.strip())
    message = message.split("; please report this issue on", 1)[0]
    return message[:1000]


# ---------------------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for retryable failures: ``base_delay * 2**n`` seconds (capped at ``max_delay``), or
    the server's ``Retry-After`` when it is no longer than ``max_retry_after``."""

    max_attempts: int = 3
    base_delay: float = 2.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when no further attempt should be made."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def _with_retries(operation: Callable[[], T], policy: RetryPolicy) -> T:
    attempt = 1
    while True:
        try:
            return operation()
        except DownloadError as exc:
            if not exc.retryable:
                raise
            wait = policy.delay(attempt, exc.details.get("retry_after"))
            exc.details["attempts"] = attempt
            if wait is None:
                raise
            _log.info("retrying after %s (attempt %d of %d) in %.1fs", exc.code, attempt + 1, policy.max_attempts, wait)
            policy.sleep(wait)
            attempt += 1


# ---------------------------------------------------------------------------------------------------------
# yt-dlp session
# ---------------------------------------------------------------------------------------------------------


class _LoggingBridge:
    """yt-dlp's ``logger`` parameter: everything goes to ``logging``, nothing to stdout."""

    def debug(self, message: str) -> None:
        if message.startswith("[debug] "):
            _log.debug(message[len("[debug] "):])
        else:
            _log.info(message)

    def info(self, message: str) -> None:
        _log.info(message)

    def warning(self, message: str) -> None:
        _log.warning(message)

    def error(self, message: str) -> None:
        # The same failure is raised as an exception and classified; keep the log quieter than that.
        _log.info(message)


def _base_options(settings: Settings) -> dict[str, Any]:
    """The only yt-dlp options we ever use; callers add output paths and what to fetch, nothing else."""
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "extract_flat": "in_playlist",
        "logger": _LoggingBridge(),
        "logtostderr": True,
        "consoletitle": False,
        "socket_timeout": settings.network.socket_timeout,
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "restrictfilenames": True,
        "cachedir": str(settings.home / "cache" / "yt-dlp"),
        "postprocessors": [],
    }
    if settings.network.proxy:
        options["proxy"] = settings.network.proxy
    if settings.network.cookies_file:
        options["cookiefile"] = str(Path(settings.network.cookies_file).expanduser())
    return options


def _run_ytdlp(url: str, options: dict[str, Any], settings: Settings, *, download: bool,
               scrub: list[str] | None = None) -> dict[str, Any]:
    """One ``extract_info`` call; yt-dlp failures become classified ``DownloadError``s."""
    try:
        with yt_dlp.YoutubeDL(dict(options)) as ydl:  # yt-dlp mutates its params
            info = ydl.extract_info(url, download=download)
            return dict(ydl.sanitize_info(info)) if isinstance(info, dict) else {}
    except yt_dlp.utils.YoutubeDLError as exc:
        raise _as_download_error(exc, url, settings, "download" if download else "open", scrub) from exc


def _fetch_bytes(url: str, settings: Settings) -> bytes:
    """GET ``url`` through yt-dlp's networking (same proxy, cookies and timeouts as extraction)."""
    try:
        with yt_dlp.YoutubeDL(_base_options(settings)) as ydl:
            response = ydl.urlopen(url)
            try:
                return bytes(response.read())
            finally:
                response.close()
    except yt_dlp.utils.YoutubeDLError as exc:
        raise _as_download_error(exc, url, settings, "download", None) from exc


def _as_download_error(exc: BaseException, url: str, settings: Settings, action: str,
                       scrub: list[str] | None) -> DownloadError:
    failure = _diagnose(exc)
    code = failure.code
    if code == "unsupported_url" and _only_generic_extractor(url):
        # The catch-all extractor fetched the page and found nothing to play.
        code = "no_media"
    message = failure.message
    for secret in [settings.network.proxy, settings.network.cookies_file]:
        if secret:
            message = message.replace(secret, "<redacted>")
    for folder in scrub or []:
        message = message.replace(folder, Path(folder).name)  # no machine paths in errors
    return DownloadError(
        f"yt-dlp could not {action} {url}: {message}",
        code=code, hint=_HINTS["no_media"] if code == "no_media" else failure.hint,
        retryable=failure.retryable,
        details={"url": url, "ytdlp_message": message, "retry_after": failure.retry_after},
    )


def _only_generic_extractor(url: str) -> bool:
    from yt_dlp.extractor import gen_extractor_classes

    return not any(ie.suitable(url) for ie in gen_extractor_classes() if ie.ie_key() != "Generic")


# ---------------------------------------------------------------------------------------------------------
# Info JSON -> SourceInfo, SourceTracks (pure)
# ---------------------------------------------------------------------------------------------------------


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
        title=str(info.get("title") or info.get("fulltitle") or info.get("id") or "untitled"),
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


# ---------------------------------------------------------------------------------------------------------
# Public operations
# ---------------------------------------------------------------------------------------------------------


def discover_url(url: str, settings: Settings, *, retry: RetryPolicy | None = None) -> tuple[SourceInfo, SourceTracks]:
    """Read a URL's metadata and subtitle inventory without downloading media.

    Raises:
        InvalidURLError: the URL is not an allowed http(s) URL.
        DownloadError: yt-dlp failed (classified code), the URL is a playlist (``unsupported_url``), or the
            video is live or upcoming (``live_not_finished``).
    """
    url = validate_source_url(url)
    options = {**_base_options(settings), "skip_download": True, "format": "bestaudio/best"}
    info = _with_retries(lambda: _run_ytdlp(url, options, settings, download=False), retry or RetryPolicy())
    if info.get("_type") in ("playlist", "multi_video") or info.get("entries") is not None:
        count = len(info.get("entries") or [])
        raise DownloadError(f"{url} is a playlist of {count} entries, not a single video", code="unsupported_url",
                            hint=_HINTS["unsupported_url"], details={"url": url})
    source_info, tracks = info_to_source(info, source_url=url)
    ensure_finished(source_info)
    return source_info, tracks


def ensure_finished(info: SourceInfo) -> None:
    """Refuse a live stream, an upcoming premiere or a recording still being processed.

    Raises:
        DownloadError: ``live_not_finished``.
    """
    if info.live_status in NOT_FINISHED_LIVE_STATUSES:
        raise DownloadError(f"{info.source} is a live stream or premiere that has not finished ({info.live_status})",
                            code="live_not_finished", hint=_HINTS["live_not_finished"],
                            details={"url": info.source, "live_status": info.live_status})


def _subtitle_keys(track: SubtitleTrack) -> list[str]:
    language = track.language or "null"
    if track.kind == "automatic" and track.is_original_language:
        return [f"{language}-orig", language]
    return [language]


def _file_tag(track: SubtitleTrack) -> str:
    raw = f"{track.kind}.{track.language or 'und'}"
    return re.sub(r"[^A-Za-z0-9.-]+", "_", raw)


def _complete_file(directory: Path, pattern: str) -> Path | None:
    matches = sorted(p for p in directory.glob(pattern) if p.is_file() and not p.name.startswith("."))
    return matches[0] if matches else None


def download_subtitles(url: str, track: SubtitleTrack, dest_dir: Path, settings: Settings, *,
                       retry: RetryPolicy | None = None) -> Path:
    """Download one remote subtitle track into ``dest_dir`` as ``subtitles.<kind>.<language>.<ext>``.

    The track is fetched through yt-dlp again (remote subtitle URLs expire). An existing complete file is
    returned as is.

    Raises:
        InvalidURLError: the URL is not an allowed http(s) URL.
        DownloadError: yt-dlp failed (classified code), or the track is no longer listed (``no_subtitles``).
    """
    url = validate_source_url(url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    tag = _file_tag(track)
    existing = _complete_file(dest_dir, f"subtitles.{tag}.*")
    if existing is not None:
        return existing
    if track.language is None:
        return _download_unnamed_track(url, track, dest_dir / f"subtitles.{tag}.{track.ext}", settings, retry)
    keys = _subtitle_keys(track)
    preferred_formats = "/".join(dict.fromkeys([track.ext, *SUBTITLE_FORMATS]))
    with _temp_dir(dest_dir, ".ytdlp-subtitles-") as work:
        options = {
            **_base_options(settings),
            "skip_download": True,
            "format": "bestaudio/best",
            "writesubtitles": track.kind == "manual",
            "writeautomaticsub": track.kind == "automatic",
            "subtitleslangs": [re.escape(k) for k in keys],
            "subtitlesformat": preferred_formats,
            "outtmpl": {"default": str(work / "subtitles.%(ext)s")},
        }
        info = _with_retries(lambda: _run_ytdlp(url, options, settings, download=True, scrub=[str(dest_dir)]),
                             retry or RetryPolicy())
        requested = info.get("requested_subtitles") or {}
        for key in keys:
            entry = requested.get(key)
            if not isinstance(entry, dict) or not entry.get("filepath") or not Path(entry["filepath"]).is_file():
                continue
            target = dest_dir / f"subtitles.{tag}.{entry.get('ext') or track.ext}"
            atomic_copy(Path(entry["filepath"]), target)  # fsynced, and complete before it has its name
            return target
    raise DownloadError(
        f"{url} no longer lists {track.kind} subtitles in {track.language or 'an unknown language'}",
        code="no_subtitles", hint="run discovery again, or choose speech recognition (route 'asr')",
        details={"url": url, "languages": keys},
    )


def _download_unnamed_track(page_url: str, track: SubtitleTrack, target: Path, settings: Settings,
                            retry: RetryPolicy | None) -> Path:
    # yt-dlp cannot select a subtitle language it lists as None (an HTML5 <track> without srclang), so
    # the track's own URL is fetched; it is checked like any source URL.
    if not track.url:
        raise DownloadError(f"the subtitle track of {page_url} has no URL", code="no_subtitles",
                            hint="run discovery again, or choose speech recognition (route 'asr')",
                            details={"url": page_url})
    track_url = validate_source_url(track.url)
    data = _with_retries(lambda: _fetch_bytes(track_url, settings), retry or RetryPolicy())
    atomic_write_bytes(target, data)
    return target


def download_audio(url: str, dest_dir: Path, settings: Settings, *, progress: Callable[[float], None] | None = None,
                   retry: RetryPolicy | None = None) -> Path:
    """Download the best audio of ``url`` and convert it to 16 kHz mono WAV: ``dest_dir/audio.wav``.

    The media downloads into ``dest_dir/.ytdlp-audio.partial`` (resumable after a crash) and is removed
    once the WAV is complete. An existing ``audio.wav`` is returned as is. ``progress`` receives the
    download fraction (0..1) when the size is known.

    Raises:
        InvalidURLError: the URL is not an allowed http(s) URL.
        DownloadError: yt-dlp failed (classified code) or produced no file.
        FFmpegError: the downloaded media could not be converted.
    """
    from .audio import extract_audio_wav

    url = validate_source_url(url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    wav = dest_dir / AUDIO_WAV_NAME
    if wav.is_file():
        return wav
    work = dest_dir / _AUDIO_TEMP_DIR
    work.mkdir(exist_ok=True)
    options = {
        **_base_options(settings),
        "format": "bestaudio/best",
        "outtmpl": {"default": str(work / "media.%(ext)s")},
        "continuedl": True,
        "progress_hooks": [_progress_hook(progress)] if progress else [],
    }
    media = _finished_media(work)
    if media is None:
        _with_retries(lambda: _run_ytdlp(url, options, settings, download=True, scrub=[str(dest_dir)]),
                      retry or RetryPolicy())
        media = _finished_media(work)
    if media is None:
        raise DownloadError(f"yt-dlp reported success for {url} but produced no media file",
                            code="no_media", hint=_HINTS["no_media"], details={"url": url})
    extract_audio_wav(media, wav, sample_rate=16000)
    shutil.rmtree(work, ignore_errors=True)
    return wav


def _finished_media(work: Path) -> Path | None:
    """The media file yt-dlp completed in ``work`` (it renames ``.part`` files only when done)."""
    finished = [p for p in sorted(work.glob("media.*")) if p.is_file() and p.suffix not in _UNFINISHED_SUFFIXES]
    return finished[0] if finished else None


def _progress_hook(progress: Callable[[float], None]) -> Callable[[dict[str, Any]], None]:
    def hook(status: dict[str, Any]) -> None:
        if status.get("status") == "finished":
            progress(1.0)
        elif status.get("status") == "downloading":
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            done = status.get("downloaded_bytes")
            if total and done is not None:
                progress(max(0.0, min(1.0, float(done) / float(total))))

    return hook


@contextlib.contextmanager
def _temp_dir(parent: Path, prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
