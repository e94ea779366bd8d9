"""yt-dlp failures: classify them into ``DownloadError`` and retry the ones worth retrying.

Invariants:
- yt-dlp failures become ``DownloadError`` with a stable ``code``, ``retryable`` and a ``hint`` naming
  what to do with options that exist (cookies from a browser or a cookies file, a proxy, a PO-token
  provider plugin, the JavaScript runtime settings, the exact command that updates yt-dlp, or transcribing
  the audio instead). Only retryable failures (rate limits, network errors, server errors) are retried, a
  bounded number of times with exponential backoff or the server's ``Retry-After``; the sleep is
  injectable (``RetryPolicy``) so tests never wait.
- A message that names the block precisely (a bot check, members only, a failed JavaScript challenge)
  beats the HTTP status, which beats a vague message; yt-dlp's warnings from the same call explain a vague
  failure ("Requested format is not available" after "n challenge solving failed").
- A failure of the subtitle file itself, while the page could be read, is a subtitle block
  (``subtitle_failure``); the same refusal of the page keeps its page code, because the audio would be
  refused as well.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import yt_dlp.utils

from ..config import Settings
from .errors import SourceError
from .ytdlp_runtime import YTDLP_UPDATE_COMMAND

_log = logging.getLogger(__name__)
T = TypeVar("T")


class DownloadError(SourceError):
    """yt-dlp could not discover or download the source. ``code`` says why, ``retryable`` whether trying
    again later can help; ``details`` holds ``retryable``, the ``url``, yt-dlp's own message and the yt-dlp
    warnings that explain it (``ytdlp_warnings``).

    Codes (see ``DOWNLOAD_ERROR_CODES``): what the site refused (``bot_check``, ``sign_in_required``,
    ``members_only``, ``age_restricted``, ``geo_blocked``, ``rate_limited``, ``po_token_required``,
    ``forbidden``), what yt-dlp could not do (``js_challenge_failed``, ``ytdlp_outdated``), what the URL is
    (``video_unavailable``, ``live_not_finished``, ``unsupported_url``, ``no_media``), transport
    (``network_error``, ``download_failed``), and a subtitle file that cannot be had while the rest of the
    video can (``subtitles_rate_limited``, ``subtitles_forbidden``, ``subtitles_po_token_required``,
    ``subtitles_empty``; see ``kernel.source.routing.SUBTITLE_BLOCK_CODES``).
    """

    code = "download_failed"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None,
                 retryable: bool = False, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, hint=hint, details={**(details or {}), "retryable": retryable})
        self.retryable = retryable


# ---------------------------------------------------------------------------------------------------------
# Failure classification (pure)
# ---------------------------------------------------------------------------------------------------------

_COOKIES = ("set YTT_COOKIES_FROM_BROWSER (network.cookies_from_browser, e.g. 'firefox' or 'chrome') to read a "
            "signed-in browser's cookies, or YTT_COOKIES_FILE (network.cookies_file) to an exported Netscape "
            "cookies.txt")
_POT_PLUGIN = ("a PO-token provider plugin such as bgutil-ytdlp-pot-provider (pip install "
               "bgutil-ytdlp-pot-provider in this environment, then start its token server as its README shows)")
_INSTEAD = "transcribe the audio instead (the run reroutes to speech recognition by itself when the video has " \
           "audio; route 'asr' asks for it directly)"

_HINTS = {
    "bot_check": "YouTube wants proof that this is not a bot (it flags addresses and sessions that look "
    f"automated): {_COOKIES}; or use another network with YTT_PROXY (network.proxy); {_POT_PLUGIN} may also "
    "help; then resume the run",
    "sign_in_required": f"the site wants a signed-in session: {_COOKIES}; then resume the run",
    "members_only": "the video is for the channel's members only: yt-dlp can fetch it only as an account that is "
    f"a member; {_COOKIES} from that account, then resume the run",
    "age_restricted": f"the video is age-restricted: {_COOKIES} from an account that has confirmed its age, "
    "then resume the run",
    "geo_blocked": "the video is not available from this country: set YTT_PROXY (network.proxy) to a proxy in a "
    "country where it is available, or download the media there and pass the file path",
    "rate_limited": "the site is rate-limiting requests from this address: wait (YouTube session limits last up "
    "to an hour) and resume the run, or use another session or address (YTT_COOKIES_FROM_BROWSER, "
    "YTT_COOKIES_FILE, YTT_PROXY)",
    "po_token_required": f"YouTube wants a proof-of-origin (PO) token for this video's media: install {_POT_PLUGIN}, "
    "or use a signed-in session (YTT_COOKIES_FROM_BROWSER, YTT_COOKIES_FILE); then resume the run",
    "js_challenge_failed": "yt-dlp could not solve YouTube's JavaScript challenge, so the video's formats are "
    "missing: the js_runtime line of the run's preflight report says which runtime yt-dlp uses; the "
    "default is the bundled deno (YTT_JS_RUNTIME=bundled), or set YTT_JS_RUNTIME (deno, node, bun, quickjs) and "
    "YTT_JS_RUNTIME_PATH to your own; if the runtime is accepted, update yt-dlp and its solver scripts: "
    f"{YTDLP_UPDATE_COMMAND}",
    "ytdlp_outdated": f"the site changed and this yt-dlp no longer understands it: update it ({YTDLP_UPDATE_COMMAND}), "
    "then resume the run",
    "video_unavailable": "the video is private, removed or the URL is wrong: open the URL in a browser; for a "
    "private video you can see, set YTT_COOKIES_FROM_BROWSER or YTT_COOKIES_FILE to your signed-in session",
    "live_not_finished": "this is a live stream or premiere that has not finished: wait until it has ended and "
    "its recording is available, then run again",
    "unsupported_url": "yt-dlp finds no single video at this URL: pass the URL of one video's page (not a "
    "channel, playlist or search page), or download the media and pass the file path",
    "no_media": "the page has no video or audio yt-dlp can find: pass the URL of the video's own page, or "
    "download the media and pass the file path",
    "network_error": "the site could not be reached: check the network connection and the proxy setting "
    "(YTT_PROXY), then resume the run",
    "forbidden": f"the server refused access (HTTP 403): update yt-dlp ({YTDLP_UPDATE_COMMAND}), use a signed-in "
    "session (YTT_COOKIES_FROM_BROWSER, YTT_COOKIES_FILE), or try another network via YTT_PROXY",
    "server_error": "the site answered with a server error: resume the run later",
    "download_failed": f"yt-dlp failed (its message is in details): if the site changed, update yt-dlp "
    f"({YTDLP_UPDATE_COMMAND}), then resume the run",
    "subtitles_rate_limited": "the site is rate-limiting subtitle downloads from this address (HTTP 429): "
    f"{_INSTEAD}; or wait and resume, or use another session or address (YTT_COOKIES_FROM_BROWSER, "
    "YTT_COOKIES_FILE, YTT_PROXY)",
    "subtitles_forbidden": "the site refused the subtitle download (HTTP 403; on YouTube usually a missing PO "
    f"token or a flagged address): {_INSTEAD}; or use a signed-in session (YTT_COOKIES_FROM_BROWSER, "
    f"YTT_COOKIES_FILE), another network (YTT_PROXY) or {_POT_PLUGIN}",
    "subtitles_po_token_required": "YouTube hands out this video's captions only with a proof-of-origin (PO) "
    f"token: {_INSTEAD}; to use the captions, install {_POT_PLUGIN}",
    "subtitles_empty": f"the site sent an empty subtitle file: {_INSTEAD}",
}

DOWNLOAD_ERROR_CODES: frozenset[str] = frozenset(code for code in _HINTS if code != "server_error")

_JS_CHALLENGE = (r"n challenge solving failed|signature solving failed|no supported javascript runtime|"
                 r"no usable challenge solver|challenge solver (?:lib|core) script")
_SUBTITLES_PO_TOKEN = r"subtitles require a po token|missing subtitles languages because a po token"
_PO_TOKEN = r"require a (?:gvs |player )?po token|po token (?:is )?required|po token which was not provided"
_OUTDATED = (r"unable to extract|precondition check failed|nsig extraction failed|signature extraction failed|"
             r"failed to extract any player response|unable to decode n-parameter")
_OUTDATED_WARNING = re.compile(r"precondition check failed|nsig extraction failed|signature extraction failed|"
                               r"unable to decode n-parameter", re.I)

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
    ("members_only", False, re.compile(
        r"members[- ]only|join this channel|available to this channel's members", re.I)),
    ("video_unavailable", False, re.compile(
        r"private video|this video is private|video has been removed|has been terminated|"
        r"no longer available|video does not exist|this video is unavailable|http error 404|http error 410|"
        r"404: not found", re.I)),
    ("js_challenge_failed", False, re.compile(_JS_CHALLENGE, re.I)),
    ("subtitles_po_token_required", False, re.compile(_SUBTITLES_PO_TOKEN, re.I)),
    ("po_token_required", False, re.compile(_PO_TOKEN, re.I)),
    ("bot_check", False, re.compile(
        r"not a bot|captcha|your ip is likely being blocked|unusual traffic", re.I)),
    ("rate_limited", True, re.compile(
        r"http error 429|too many requests|rate[- ]limit|try again later", re.I)),
    ("ytdlp_outdated", False, re.compile(_OUTDATED, re.I)),
    ("sign_in_required", False, re.compile(
        r"sign in|log ?in required|login required|login details are needed|requires? authentication|"
        r"only available for registered users|use --cookies|account cookies", re.I)),
    ("forbidden", False, re.compile(r"http error 403|403: forbidden|\bforbidden\b", re.I)),
    ("video_unavailable", False, re.compile(r"video unavailable|content isn.t available|\bnot found\b", re.I)),
    ("unsupported_url", False, re.compile(r"unsupported url|is a playlist", re.I)),
    ("no_media", False, re.compile(
        r"no video formats found|no media found|requested format is not available|no video could be found|"
        r"there is no video|no audio|only images are available", re.I)),
    ("download_failed", True, re.compile(r"http error 5\d\d|service unavailable|bad gateway", re.I)),
    ("network_error", True, re.compile(
        r"timed out|timeout|connection (?:refused|reset|aborted)|name or service not known|"
        r"name resolution|nodename nor servname|getaddrinfo|network is unreachable|no route to host|"
        r"remote end closed|incomplete ?read|content too short|did not get any data|eof occurred|"
        r"bytes read, \d+ more expected|giving up after \d+ retries|"
        r"unable to connect|failed to resolve|errno 10[134]|errno 111|ssl", re.I)),
]

# Codes a message names so precisely that they beat what the HTTP status alone would say.
_SPECIFIC_CODES = frozenset({"live_not_finished", "age_restricted", "geo_blocked", "members_only", "bot_check",
                             "js_challenge_failed", "po_token_required", "subtitles_po_token_required",
                             "ytdlp_outdated"})
# Generic outcomes that yt-dlp's warnings can explain ("Requested format is not available" after
# "n challenge solving failed"); the earlier entry wins when several warnings explain one failure.
_REFINABLE_CODES = frozenset({"no_media", "forbidden", "download_failed"})
_WARNING_CODES = ("js_challenge_failed", "po_token_required", "subtitles_po_token_required", "bot_check",
                  "ytdlp_outdated")


def classify_ytdlp_error(message: str) -> tuple[str, bool, str]:
    """Classify a yt-dlp error message: ``(code, retryable, hint)``. Unknown shapes are ``download_failed``."""
    for code, retryable, pattern in _RULES:
        if pattern.search(message):
            hint = _HINTS["server_error"] if code == "download_failed" else _HINTS[code]
            return code, retryable, hint
    return "download_failed", False, _HINTS["download_failed"]


def classify_ytdlp_warning(message: str) -> str | None:
    """The block a yt-dlp warning reveals (``js_challenge_failed``, ``po_token_required``,
    ``subtitles_po_token_required``, ``bot_check``, ``ytdlp_outdated``), or None for any other warning.

    Only YouTube's own signs of an outdated yt-dlp count in a warning: extractors warn "Unable to extract"
    about optional fields all the time.
    """
    cleaned = _clean_message(message)
    code, _, _ = classify_ytdlp_error(cleaned)
    if code == "ytdlp_outdated" and not _OUTDATED_WARNING.search(cleaned):
        return None
    return code if code in _WARNING_CODES else None


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
    warnings: tuple[str, ...] = ()


def classify_failure(message: str, warnings: Sequence[str] = (), *, status: int | None = None,
                     geo_restricted: bool = False) -> tuple[str, bool, str]:
    """Classify a failed yt-dlp call: ``(code, retryable, hint)``.

    A precise message beats the HTTP ``status`` (or yt-dlp's ``GeoRestrictedError``), which beats a vague
    message; yt-dlp's ``warnings`` from the same call then explain a vague outcome ("Requested format is not
    available" after "n challenge solving failed" is ``js_challenge_failed``).
    """
    by_message = classify_ytdlp_error(_clean_message(message))
    by_type = ("geo_blocked", False, _HINTS["geo_blocked"]) if geo_restricted else None
    if status is not None:
        by_type = by_type or _classify_by_status(status)
    code, retryable, hint = by_message if by_message[0] in _SPECIFIC_CODES else by_type or by_message
    found = {classify_ytdlp_warning(w) for w in warnings}
    if code in _REFINABLE_CODES and found - {None}:
        code = next(c for c in _WARNING_CODES if c in found)
        retryable, hint = False, _HINTS[code]
    return code, retryable, hint


def _diagnose(exc: BaseException, warnings: list[str]) -> _Failure:
    message = _clean_message(str(exc))
    retry_after: float | None = None
    status: int | None = None
    geo_restricted = False
    for item in _exception_chain(exc):
        geo_restricted = geo_restricted or isinstance(item, yt_dlp.utils.GeoRestrictedError)
        item_status = getattr(item, "status", None)
        response = getattr(item, "response", None)
        if isinstance(item_status, int) and response is not None:
            status = item_status if status is None else status
            headers = getattr(response, "headers", None)
            if headers is not None:
                retry_after = retry_after_seconds(headers.get("Retry-After"))
    code, retryable, hint = classify_failure(message, warnings, status=status, geo_restricted=geo_restricted)
    explaining = [w for w in dict.fromkeys(_clean_message(w) for w in warnings) if classify_ytdlp_warning(w)]
    return _Failure(code, retryable, hint, message, retry_after, tuple(explaining[:5]))


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
# yt-dlp exception -> DownloadError
# ---------------------------------------------------------------------------------------------------------


def _as_download_error(exc: BaseException, url: str, settings: Settings, action: str,
                       scrub: list[str] | None, warnings: list[str] | None = None) -> DownloadError:
    failure = _diagnose(exc, warnings or [])
    code = failure.code
    if code == "unsupported_url" and _only_generic_extractor(url):
        # The catch-all extractor fetched the page and found nothing to play.
        code = "no_media"
    hint = _HINTS["no_media"] if code == "no_media" else failure.hint
    if code == "ytdlp_outdated":
        hint = f"{hint} (installed: yt-dlp {_ytdlp_version()})"
    redact = _redactor(settings, scrub)
    message = redact(failure.message)
    details: dict[str, Any] = {"url": url, "ytdlp_message": message, "retry_after": failure.retry_after}
    if failure.warnings:
        details["ytdlp_warnings"] = [redact(w)[:500] for w in failure.warnings]
    return DownloadError(f"yt-dlp could not {action} {url}: {message}", code=code, hint=hint,
                         retryable=failure.retryable, details=details)


def _redactor(settings: Settings, scrub: list[str] | None) -> Callable[[str], str]:
    def redact(text: str) -> str:
        for secret in [settings.network.proxy, settings.network.cookies_file]:
            if secret:
                text = text.replace(secret, "<redacted>")
        for folder in scrub or []:
            text = text.replace(folder, Path(folder).name)  # no machine paths in errors
        return text

    return redact


def _ytdlp_version() -> str:
    from yt_dlp.version import __version__

    return str(__version__)


def _only_generic_extractor(url: str) -> bool:
    from yt_dlp.extractor import gen_extractor_classes

    return not any(ie.suitable(url) for ie in gen_extractor_classes() if ie.ie_key() != "Generic")


# ---------------------------------------------------------------------------------------------------------
# Subtitle files the site will not hand over
# ---------------------------------------------------------------------------------------------------------

_SUBTITLE_BY_CODE = {"rate_limited": "subtitles_rate_limited", "forbidden": "subtitles_forbidden",
                     "po_token_required": "subtitles_po_token_required",
                     "subtitles_po_token_required": "subtitles_po_token_required"}
_EMPTY_BODY = re.compile(r"did not get any data blocks", re.I)


def caption_needs_po_token(track_url: str | None) -> bool:
    """True for a caption URL without a PO token (``pot``) that YouTube answers with an empty body: one
    carrying the ``exp=xpe`` / ``exp=xpv`` experiment yt-dlp detects, or any YouTube ``/api/timedtext`` URL."""
    if not track_url:
        return False
    parts = urlsplit(track_url)
    query = parse_qs(parts.query)
    if "pot" in query:
        return False
    if {"xpe", "xpv"} & set(query.get("exp", [])):
        return True
    host = (parts.hostname or "").lower()
    youtube = host == "youtube.com" or host.endswith(".youtube.com")
    return youtube and parts.path == "/api/timedtext"


def subtitle_block(code: str, ytdlp_message: str, track_url: str | None, *,
                   fetched_directly: bool = False) -> str | None:
    """The subtitle block a failure of a subtitle download is (``routing.SUBTITLE_BLOCK_CODES``), or None when it
    does not concern the subtitle file itself (a bot check while re-reading the page, a network failure).

    The file is concerned when yt-dlp says "Unable to download video subtitles" or the track URL was
    fetched directly. An empty body is ``subtitles_po_token_required`` when the track URL needs a PO token
    (``caption_needs_po_token``), else ``subtitles_empty``.
    """
    if not (fetched_directly or "unable to download video subtitles" in ytdlp_message.lower()):
        return None
    if _EMPTY_BODY.search(ytdlp_message):
        return "subtitles_po_token_required" if caption_needs_po_token(track_url) else "subtitles_empty"
    return _SUBTITLE_BY_CODE.get(code)


def subtitle_failure(error: DownloadError, track_url: str | None, *, fetched_directly: bool = False) -> DownloadError:
    """``error`` re-coded as its subtitle block (see ``subtitle_block``), or unchanged. Only
    ``subtitles_rate_limited`` stays retryable."""
    code = subtitle_block(error.code, str(error.details.get("ytdlp_message") or ""), track_url,
                          fetched_directly=fetched_directly)
    if code is None:
        return error
    return DownloadError(error.message, code=code, hint=_HINTS[code], retryable=code == "subtitles_rate_limited",
                         details=error.details)


def empty_subtitle_error(page_url: str, track_url: str) -> DownloadError:
    """A subtitle track whose URL answered with an empty body (``subtitles_po_token_required`` or
    ``subtitles_empty``)."""
    code = "subtitles_po_token_required" if caption_needs_po_token(track_url) else "subtitles_empty"
    return DownloadError(f"the subtitle track of {page_url} came back empty", code=code, hint=_HINTS[code],
                         details={"url": page_url})
