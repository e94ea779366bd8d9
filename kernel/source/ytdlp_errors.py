"""yt-dlp failures: classify them into ``DownloadError`` and retry the ones worth retrying.

Invariants:
- yt-dlp failures become ``DownloadError`` with a stable ``code``, ``retryable`` and a ``hint`` naming
  what to do (cookies file, proxy, waiting). Only retryable failures (rate limits, network errors,
  server errors) are retried, a bounded number of times with exponential backoff or the server's
  ``Retry-After``; the sleep is injectable (``RetryPolicy``) so tests never wait.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yt_dlp.utils

from ..config import Settings
from .errors import SourceError

_log = logging.getLogger(__name__)
T = TypeVar("T")


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
# yt-dlp exception -> DownloadError
# ---------------------------------------------------------------------------------------------------------


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
