"""Collections of videos: telling a playlist or channel URL from a single video, and listing its entries with
yt-dlp's flat extraction (one page request per listing page, no request per video).

Invariants:
- ``is_collection_url`` is offline and pure: a URL is a collection when the extractor yt-dlp would choose for it
  lists many videos (a YouTube tab or playlist, a Vimeo channel...) and it names no single video (``v=``), or
  when its path is a feed (``.rss``, ``.atom``, ``.xml``, ``.xspf``, ``/feed``) the generic extractor lists.
- ``list_collection`` sends its requests through the same polite yt-dlp as every other call (host schedule,
  shared back-off, host blocks); it stops reading the listing as soon as ``limit`` entries passed the filters.
- Filters: ``since`` keeps entries dated on or after it (entries the listing gives no date for are kept and
  counted in ``undated``: flat listings often carry no dates; for YouTube the approximate dates of the listing
  are asked for); ``match`` keeps entries whose title contains it, case-insensitively.
- A nested collection (a channel's playlists) is listed one level deep; deeper ones are skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..config import Settings
from .urls import InvalidURLError, validate_source_url
from .ytdlp_errors import RetryPolicy, _with_retries

_COLLECTION_IE = re.compile(r"(?:Tab|Playlist|Channel|User|Album|Series|Season|Show|Collection|Feed|Favorites)", re.I)
_FEED_PATH = re.compile(r"(?:\.(?:rss|atom|xml|xspf)|/feeds?/?)$", re.I)
MAX_LISTED_ENTRIES = 5000  # an upper bound on one listing, whatever the filters


@dataclass(frozen=True)
class Entry:
    """One video of a collection, as the listing describes it."""

    url: str
    id: str | None
    title: str | None
    upload_date: str | None  # yyyy-mm-dd, when the listing gives one
    extractor: str | None


@dataclass
class Listing:
    url: str
    title: str | None
    entries: list[Entry] = field(default_factory=list)
    seen: int = 0  # entries read from the listing (before filters)
    undated: int = 0  # entries kept although ``since`` was given, because the listing gave no date
    skipped_nested: int = 0


@cache
def _extractors() -> tuple[Any, ...]:
    from yt_dlp.extractor import gen_extractor_classes

    return tuple(gen_extractor_classes())


def is_collection_url(url: str) -> bool:
    """Whether ``url`` names a playlist, channel or feed rather than one video (offline; see the invariants)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if "v" in parse_qs(parts.query):
        return False
    if _FEED_PATH.search(parts.path or ""):
        return True
    for extractor in _extractors():
        if extractor.ie_key() == "Generic":
            continue
        if extractor.suitable(url):
            return bool(_COLLECTION_IE.search(extractor.ie_key()))
    return False


def normalize_date(value: str) -> str:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` -> ``YYYY-MM-DD``.

    Raises:
        ValueError: not one of those forms, or not a real date.
    """
    text = value.strip()
    for form in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date like 2024-05-01 or 20240501")


def list_collection(url: str, settings: Settings, *, limit: int | None = None, since: str | None = None,
                    match: str | None = None, retry: RetryPolicy | None = None) -> Listing:
    """The entries of a playlist, channel or feed, filtered and capped.

    Raises:
        InvalidURLError: the URL is not an allowed http(s) URL.
        DownloadError: yt-dlp could not read the listing (classified code, e.g. ``bot_check``, ``rate_limited``).
    """
    from .ytdlp import _base_options, _limiter, _run_listing

    url = validate_source_url(url)
    options = {**_base_options(settings), "noplaylist": False, "extract_flat": "in_playlist", "skip_download": True,
               "lazy_playlist": True}
    if since:
        options["extractor_args"] = {"youtubetab": {"approximate_date": [""]}}

    policy = retry or RetryPolicy()
    limiter = _limiter(settings, policy)

    def read() -> Listing:
        return _run_listing(url, options, settings, lambda info: _collect(url, info, limit, since, match), limiter)

    return _with_retries(read, policy)


def _collect(url: str, info: Mapping[str, Any], limit: int | None, since: str | None, match: str | None) -> Listing:
    listing = Listing(url=url, title=info.get("title"))
    wanted = match.casefold() if match else None
    for entry, nested_ok in _flatten(info, listing):
        listing.seen += 1
        if listing.seen > MAX_LISTED_ENTRIES:
            break
        if not nested_ok:
            continue
        if wanted is not None and wanted not in (entry.title or "").casefold():
            continue
        if since is not None:
            if entry.upload_date is None:
                listing.undated += 1
            elif entry.upload_date < since:
                continue
        listing.entries.append(entry)
        if limit is not None and len(listing.entries) >= limit:
            break
    return listing


def _flatten(info: Mapping[str, Any], listing: Listing, depth: int = 0) -> Iterator[tuple[Entry, bool]]:
    for raw in _entries(info):
        if not isinstance(raw, Mapping):
            continue
        if raw.get("_type") == "playlist" or (raw.get("ie_key") and _COLLECTION_IE.search(str(raw.get("ie_key")))
                                              and not raw.get("duration")):
            if depth == 0 and raw.get("entries") is not None:
                yield from _flatten(raw, listing, depth + 1)
            else:
                listing.skipped_nested += 1
            continue
        entry = _entry(raw)
        if entry is not None:
            yield entry, True


def _entries(info: Mapping[str, Any]) -> Iterable[Any]:
    entries = info.get("entries")
    return entries if entries is not None else ()


def _entry(raw: Mapping[str, Any]) -> Entry | None:
    from yt_dlp.utils import unsmuggle_url

    link = raw.get("url") or raw.get("webpage_url")
    if not isinstance(link, str):
        return None
    link, smuggled = unsmuggle_url(link, {})
    try:
        link = validate_source_url(link)
    except InvalidURLError:
        return None
    entry_id = raw.get("id") or (smuggled or {}).get("force_videoid")
    return Entry(url=link, id=str(entry_id) if entry_id else None, title=raw.get("title"),
                 upload_date=_entry_date(raw), extractor=raw.get("ie_key") or raw.get("extractor_key"))


def _entry_date(raw: Mapping[str, Any]) -> str | None:
    upload_date = raw.get("upload_date")
    if isinstance(upload_date, str):
        try:
            return normalize_date(upload_date)
        except ValueError:
            pass
    timestamp = raw.get("timestamp") or raw.get("release_timestamp")
    if isinstance(timestamp, int | float):
        return datetime.fromtimestamp(timestamp, UTC).date().isoformat()
    return None
