"""Source URL checks: the gate in front of yt-dlp.

Invariants:
- Only ``http`` and ``https`` URLs with a plausible host pass ``validate_source_url``; everything else
  (``file:``, ``ftp:``, ``javascript:``, ``data:``, yt-dlp pseudo-URLs such as ``ytsearch:``) is refused
  before yt-dlp sees it, so no input can make yt-dlp read local files or run a search.
- URLs with embedded credentials are refused: the URL is recorded in the work_dir, which never holds
  secrets (use the cookies file setting instead).
- A bare ``www.`` address gets ``https://``; otherwise the returned URL is the input with its scheme and
  host lower-cased.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from ..task_runtime.errors import InvalidInputError

ALLOWED_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Schemes that carry no "//" but are still URLs (never local paths).
_OPAQUE_SCHEMES = {"javascript", "data", "mailto", "about", "blob", "vbscript", "ytsearch", "file"}
_MAX_URL_LENGTH = 8192


class InvalidURLError(InvalidInputError):
    """The source URL cannot be used. Codes: ``url_scheme_not_allowed``, ``url_malformed``,
    ``url_credentials_not_allowed``."""

    code = "url_malformed"


def is_url(text: str) -> bool:
    """True when ``text`` is meant as a URL rather than a local path.

    A Windows drive letter (``C:\\media``) is a path; ``www.example.com/x`` and anything with a scheme
    of two or more letters followed by ``//`` (or a known opaque scheme such as ``javascript:``) is a URL.
    """
    candidate = text.strip()
    if candidate.lower().startswith("www."):
        return True
    match = _SCHEME.match(candidate)
    if not match or len(match.group(1)) < 2:
        return False
    scheme = match.group(1).lower()
    return candidate[match.end():].startswith("//") or scheme in _OPAQUE_SCHEMES or scheme in ALLOWED_SCHEMES


def validate_source_url(url: str) -> str:
    """Return the normalized URL if yt-dlp may open it.

    Raises:
        InvalidURLError: ``url_scheme_not_allowed`` for any scheme but http(s); ``url_malformed`` for
            a missing or invalid host, whitespace or control characters, a bad port; and
            ``url_credentials_not_allowed`` for ``user:password@`` in the URL.
    """
    candidate = url.strip()
    shown = _shorten(candidate)
    if not candidate:
        raise InvalidURLError("the source URL is empty", hint="pass an http(s) URL of a video page")
    if len(candidate) > _MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in candidate):
        raise InvalidURLError(f"source URL {shown!r} contains spaces or control characters",
                              hint="quote the URL exactly as the browser shows it; encode spaces as %20")
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    match = _SCHEME.match(candidate)
    if not match:
        raise InvalidURLError(f"{shown!r} is not a URL (no scheme)",
                              hint="pass a full http(s) URL such as https://www.youtube.com/watch?v=...")
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURLError(
            f"URL scheme {scheme!r} is not allowed for sources (in {shown!r})",
            code="url_scheme_not_allowed",
            hint="only http and https URLs are opened; pass a local media file as a path, not a file:// URL",
        )
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise InvalidURLError(f"source URL {shown!r} is malformed: {exc}",
                              hint="check the host and port part of the URL") from exc
    if not candidate[match.end():].startswith("//"):
        raise InvalidURLError(f"source URL {shown!r} has no '//' after the scheme",
                              hint="write it as https://host/path")
    if parts.username is not None or parts.password is not None:
        raise InvalidURLError(
            "source URLs must not contain a user name or password",
            code="url_credentials_not_allowed",
            hint="remove the credentials; for sites that need a login, set the cookies file (YTT_COOKIES_FILE)",
        )
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise InvalidURLError(f"source URL {shown!r} has no valid host name",
                              hint="pass a full URL such as https://example.com/video")
    if port == 0:
        raise InvalidURLError(f"source URL {shown!r} has an invalid port", hint="remove or fix the port number")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def _valid_host(host: str) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
