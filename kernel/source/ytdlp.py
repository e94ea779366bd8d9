"""yt-dlp behind one small interface: discover a URL, download its subtitles or its audio.

Failure classification and retries live in ``ytdlp_errors``, the mapping of yt-dlp's info JSON in
``ytdlp_info``, the JavaScript runtime and yt-dlp's age in ``ytdlp_runtime``; this module runs yt-dlp.

Invariants:
- yt-dlp only ever sees http(s) URLs that passed ``validate_source_url``, with the fixed option set built
  by ``_base_options``: quiet, no progress bars, no playlists, no user-supplied exec or postprocessor
  options, the network settings (proxy, cookies file, cookies from a browser) and exactly one JavaScript
  runtime (``js_runtimes``; by default the bundled deno). Every message yt-dlp produces goes to the
  ``logging`` module (``logtostderr`` as a backstop), never to stdout, which is the MCP channel; its
  warnings are also kept per call, because they explain failures (a failed JavaScript challenge shows up
  only as a warning before "Requested format is not available").
- Every HTTP request yt-dlp sends (pages, APIs, subtitle files, media) first waits for its host's slot in the
  shared schedule (``politeness.HostLimiter``); a 429 slows every process going to that host, and a bot check
  or sign-in wall stops requests to it (``HostBlockedError``) while other hosts and local work go on.
- Downloads land in a temporary folder inside ``dest_dir`` and are renamed into place only when
  complete, so a crash never leaves a half file under a final name. A completed file is reused, not
  downloaded again; an interrupted audio download resumes from yt-dlp's ``.part`` file.
- Every yt-dlp failure leaves as a classified ``DownloadError``; retryable ones are retried per
  ``RetryPolicy`` (see ``ytdlp_errors``). A subtitle file the site refuses or sends empty while the page
  itself can be read is a subtitle block (``routing.SUBTITLE_BLOCK_CODES``): the route's way out is the audio.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yt_dlp
import yt_dlp.networking.exceptions
import yt_dlp.utils

from ..config import ConfigError, Settings
from ..task_runtime.store import atomic_copy, atomic_write_bytes
from ..transcript import SourceInfo, SourceTracks, SubtitleTrack
from .politeness import HOST_BLOCK_CODES, HostLimiter
from .urls import validate_source_url
from .ytdlp_errors import (
    _HINTS,
    DownloadError,
    RetryPolicy,
    _as_download_error,
    _with_retries,
    classify_ytdlp_warning,
    empty_subtitle_error,
    retry_after_seconds,
    subtitle_failure,
)
from .ytdlp_info import SUBTITLE_FORMATS, info_to_source
from .ytdlp_runtime import JsRuntimeStatus, choose_js_runtime, inspect_js_runtime, js_runtimes_option

_log = logging.getLogger(__name__)
T = TypeVar("T")

NOT_FINISHED_LIVE_STATUSES = ("is_live", "is_upcoming", "post_live")
_AUDIO_TEMP_DIR = ".ytdlp-audio.partial"
AUDIO_WAV_NAME = "audio.wav"
_UNFINISHED_SUFFIXES = (".part", ".ytdl", ".temp", ".tmp")


# ---------------------------------------------------------------------------------------------------------
# yt-dlp session
# ---------------------------------------------------------------------------------------------------------


class _LoggingBridge:
    """yt-dlp's ``logger`` parameter: everything goes to ``logging``, nothing to stdout; warnings are also
    kept in ``warnings`` (they explain failures)."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, message: str) -> None:
        if message.startswith("[debug] "):
            _log.debug(message[len("[debug] "):])
        else:
            _log.info(message)

    def info(self, message: str) -> None:
        _log.info(message)

    def warning(self, message: str) -> None:
        # Kept for classifying failures, logged below the terminal's level: yt-dlp warns about routine
        # things ("Falling back on generic information extractor") on every call of a run.
        self.warnings.append(message)
        _log.info(message)

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
    if settings.network.cookies_from_browser:
        options["cookiesfrombrowser"] = cookies_from_browser_option(settings.network.cookies_from_browser)
    choice = choose_js_runtime(settings)
    if choice.problem:
        _log.warning("%s; YouTube challenges may fail", choice.problem)
    options["js_runtimes"] = js_runtimes_option(choice)
    return options


_COOKIES_FROM_BROWSER = re.compile(r"""(?x)
    (?P<name>[^+:]+)
    (?:\s*\+\s*(?P<keyring>[^:]+))?
    (?:\s*:\s*(?!:)(?P<profile>.+?))?
    (?:\s*::\s*(?P<container>.+))?""")


def cookies_from_browser_option(value: str) -> tuple[str, str | None, str | None, str | None]:
    """yt-dlp's ``cookiesfrombrowser`` option from its command-line form ``BROWSER[+KEYRING][:PROFILE][::CONTAINER]``
    (the grammar of yt-dlp's ``--cookies-from-browser``, checked against yt-dlp's own browser and keyring lists).

    Raises:
        ConfigError: the value does not parse, or names a browser or keyring yt-dlp does not support.
    """
    from yt_dlp.cookies import SUPPORTED_BROWSERS, SUPPORTED_KEYRINGS

    match = _COOKIES_FROM_BROWSER.fullmatch(value.strip())
    if match is None:
        raise ConfigError(f"network.cookies_from_browser {value!r} is not BROWSER[+KEYRING][:PROFILE][::CONTAINER]",
                          hint="set YTT_COOKIES_FROM_BROWSER to a browser name such as 'firefox' or 'chrome'")
    browser, keyring, profile, container = match.group("name", "keyring", "profile", "container")
    browser = browser.strip().lower()
    if browser not in SUPPORTED_BROWSERS:
        raise ConfigError(f"network.cookies_from_browser names an unsupported browser {browser!r}",
                          hint="use one of: " + ", ".join(sorted(SUPPORTED_BROWSERS)))
    if keyring is not None:
        keyring = keyring.strip().upper()
        if keyring not in SUPPORTED_KEYRINGS:
            raise ConfigError(f"network.cookies_from_browser names an unsupported keyring {keyring!r}",
                              hint="use one of: " + ", ".join(sorted(SUPPORTED_KEYRINGS)))
    return browser, profile, keyring, container


def js_runtime_status(settings: Settings) -> JsRuntimeStatus:
    """What yt-dlp, given this project's options, says about the JavaScript runtime (offline; see
    ``ytdlp_runtime.inspect_js_runtime``)."""
    return inspect_js_runtime(choose_js_runtime(settings), {**_base_options(settings), "logger": _LoggingBridge()})


class PoliteYoutubeDL(yt_dlp.YoutubeDL):
    """yt-dlp whose every request waits for its host's slot and reports a 429 to the shared schedule."""

    def __init__(self, params: dict[str, Any], limiter: HostLimiter) -> None:
        super().__init__(params)
        self.limiter = limiter

    def urlopen(self, req: Any) -> Any:
        url = req if isinstance(req, str) else str(getattr(req, "url", "") or getattr(req, "full_url", ""))
        self.limiter.acquire(url)
        try:
            return super().urlopen(req)
        except yt_dlp.networking.exceptions.HTTPError as exc:
            if exc.status == 429:
                self.limiter.back_off(url, retry_after_seconds(exc.response.headers.get("Retry-After")))
            raise


def _limiter(settings: Settings, policy: RetryPolicy | None = None) -> HostLimiter:
    """The host schedule for one operation and its retries; it waits for slots with the retry policy's sleep
    (a phase's ends on pause or cancel)."""
    limiter = HostLimiter.for_settings(settings)
    if policy is not None:
        limiter.sleep = policy.sleep
    return limiter


def _ydl(options: dict[str, Any], settings: Settings, limiter: HostLimiter | None = None) -> PoliteYoutubeDL:
    return PoliteYoutubeDL(options, limiter or HostLimiter.for_settings(settings))


def _run_ytdlp(url: str, options: dict[str, Any], settings: Settings, *, download: bool,
               scrub: list[str] | None = None, warnings: list[str] | None = None,
               limiter: HostLimiter | None = None) -> dict[str, Any]:
    """One ``extract_info`` call; yt-dlp failures become classified ``DownloadError``s. The call's yt-dlp
    warnings are added to ``warnings`` when it succeeds."""
    bridge = _LoggingBridge()
    try:
        with _ydl({**options, "logger": bridge}, settings, limiter) as ydl:  # a copy: yt-dlp mutates its params
            info = ydl.extract_info(url, download=download)
            if warnings is not None:
                warnings += bridge.warnings
            return dict(ydl.sanitize_info(info)) if isinstance(info, dict) else {}
    except yt_dlp.utils.YoutubeDLError as exc:
        error = _as_download_error(exc, url, settings, "download" if download else "open", scrub, bridge.warnings)
        _note_block(url, error, settings)
        raise error from exc


def _run_listing(url: str, options: dict[str, Any], settings: Settings, consume: Callable[[dict[str, Any]], T],
                 limiter: HostLimiter | None = None) -> T:
    """Read a collection without resolving its entries and hand the raw result to ``consume`` while yt-dlp is
    still open (a lazy listing fetches its further pages as ``consume`` reads them). A redirect to another
    listing (a channel's videos tab) is followed, at most three times."""
    bridge = _LoggingBridge()
    try:
        with _ydl({**options, "logger": bridge}, settings, limiter) as ydl:
            target = url
            for _ in range(4):
                info = ydl.extract_info(target, download=False, process=False)
                if not isinstance(info, dict):
                    info = {}
                if info.get("_type") in ("url", "url_transparent") and isinstance(info.get("url"), str) \
                        and info.get("entries") is None:
                    target = validate_source_url(info["url"])
                    continue
                return consume(info)
            return consume({})
    except yt_dlp.utils.YoutubeDLError as exc:
        error = _as_download_error(exc, url, settings, "list", None, bridge.warnings)
        _note_block(url, error, settings)
        raise error from exc


def _note_block(url: str, error: DownloadError, settings: Settings) -> None:
    if error.code in HOST_BLOCK_CODES:
        HostLimiter.for_settings(settings).block(url, error.code, error.message, error.hint)


def _fetch_bytes(url: str, settings: Settings, limiter: HostLimiter | None = None) -> bytes:
    """GET ``url`` through yt-dlp's networking (same proxy, cookies and timeouts as extraction)."""
    bridge = _LoggingBridge()
    try:
        with _ydl({**_base_options(settings), "logger": bridge}, settings, limiter) as ydl:
            response = ydl.urlopen(url)
            try:
                return bytes(response.read())
            finally:
                response.close()
    except yt_dlp.utils.YoutubeDLError as exc:
        error = _as_download_error(exc, url, settings, "download", None, bridge.warnings)
        _note_block(url, error, settings)
        raise error from exc



# ---------------------------------------------------------------------------------------------------------
# Public operations
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Discovery:
    """What discovery found, and what yt-dlp said it left out: ``withheld`` holds one line per block its
    warnings revealed (``"subtitles_po_token_required: ..."`` when YouTube's captions need a PO token and
    yt-dlp dropped them), for the route's reasons."""

    info: SourceInfo
    tracks: SourceTracks
    withheld: tuple[str, ...] = ()


def discover(url: str, settings: Settings, *, retry: RetryPolicy | None = None) -> Discovery:
    """Read a URL's metadata and subtitle inventory without downloading media.

    Raises:
        InvalidURLError: the URL is not an allowed http(s) URL.
        DownloadError: yt-dlp failed (classified code), the URL is a playlist (``unsupported_url``), or the
            video is live or upcoming (``live_not_finished``).
    """
    url = validate_source_url(url)
    options = {**_base_options(settings), "skip_download": True, "format": "bestaudio/best"}
    warnings: list[str] = []
    policy = retry or RetryPolicy()
    limiter = _limiter(settings, policy)
    info = _with_retries(lambda: _run_ytdlp(url, options, settings, download=False, warnings=warnings,
                                            limiter=limiter), policy)
    if info.get("_type") in ("playlist", "multi_video") or info.get("entries") is not None:
        count = len(info.get("entries") or [])
        raise DownloadError(f"{url} is a playlist of {count} entries, not a single video", code="unsupported_url",
                            hint=_HINTS["unsupported_url"], details={"url": url})
    source_info, tracks = info_to_source(info, source_url=url)
    ensure_finished(source_info)
    return Discovery(source_info, tracks, tuple(withheld_notes(warnings)))


def discover_url(url: str, settings: Settings, *, retry: RetryPolicy | None = None) -> tuple[SourceInfo, SourceTracks]:
    """``discover`` without the withheld notes.

    Raises:
        InvalidURLError, DownloadError: as ``discover``.
    """
    found = discover(url, settings, retry=retry)
    return found.info, found.tracks


def withheld_notes(warnings: list[str]) -> list[str]:
    """One line per block yt-dlp's ``warnings`` reveal, ``"<code>: <warning>"``, in order, without repeats."""
    notes: dict[str, None] = {}
    for warning in warnings:
        code = classify_ytdlp_warning(warning)
        if code is not None:
            notes[f"{code}: {' '.join(warning.split())[:300]}"] = None
    return list(notes)


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
        DownloadError: yt-dlp failed (classified code); the subtitle file itself was refused or empty
            (``subtitles_rate_limited``, ``subtitles_forbidden``, ``subtitles_po_token_required``,
            ``subtitles_empty``); or the track is no longer listed (``no_subtitles``).
    """
    url = validate_source_url(url)
    policy = retry or RetryPolicy()
    limiter = _limiter(settings, policy)
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
        def attempt() -> dict[str, Any]:
            try:
                return _run_ytdlp(url, options, settings, download=True, scrub=[str(dest_dir)], limiter=limiter)
            except DownloadError as exc:
                blocked = subtitle_failure(exc, track.url)
                if blocked is exc:
                    raise
                raise blocked from exc

        info = _with_retries(attempt, policy)
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
    policy = retry or RetryPolicy()
    limiter = _limiter(settings, policy)

    def attempt() -> bytes:
        try:
            return _fetch_bytes(track_url, settings, limiter)
        except DownloadError as exc:
            blocked = subtitle_failure(exc, track_url, fetched_directly=True)
            if blocked is exc:
                raise
            raise blocked from exc

    data = _with_retries(attempt, policy)
    if not data.strip():
        raise empty_subtitle_error(page_url, track_url)
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
        policy = retry or RetryPolicy()
        limiter = _limiter(settings, policy)
        _with_retries(lambda: _run_ytdlp(url, options, settings, download=True, scrub=[str(dest_dir)],
                                         limiter=limiter), policy)
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
