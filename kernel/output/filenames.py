"""Output file names: ``<yyyy-mm-dd>. <title>.<ext>`` (or ``undated. <title>.<ext>``), safe on every OS.

Invariants:
- The result never contains a path separator, a character Windows refuses (``: * ? " < > |``), a
  control or bidirectional-override character, a run of whitespace, or a trailing dot or space.
- Unicode letters are kept (a CJK title stays readable), in NFC form so the same title always gives the
  same bytes (macOS would otherwise hand back NFD names).
- The whole name is at most ``MAX_FILENAME_BYTES`` UTF-8 bytes; the title is shortened at a character
  boundary, never mid-character. The title part is never empty (``untitled``).
- The article and its exports share one stem (``output_stem``), computed once with room for the longest
  suffix, so a long title is shortened the same way for every file and they sort together in a folder.
"""

from __future__ import annotations

import re
import unicodedata

MAX_FILENAME_BYTES = 180
MAX_SUFFIX_BYTES = 32  # the longest suffix a run's files get: a distinguishing tag plus ".zh-Hant.bi.vtt"
FALLBACK_TITLE = "untitled"
UNDATED = "undated"

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in "123456789¹²³"} | {f"LPT{n}" for n in "123456789¹²³"}
)
# Bidi overrides/isolates can make a name display differently from what it is (``exe.txt`` spoofing).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_COLON_BEFORE_SPACE = re.compile(r"\s*:\s+")
_SEPARATOR_RUN = re.compile(r"\s*[/\\|]+\s*")
_SPACED_SEPARATOR = re.compile(r"\s[/\\|]+\s")
_DATE_DASHED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ZWJ = "\u200d"
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,10}$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,18}[A-Za-z0-9])?$")


def normalize_upload_date(upload_date: str | None) -> str | None:
    """``yyyy-mm-dd`` from ``yyyy-mm-dd`` or yt-dlp's ``yyyymmdd``; None when absent or implausible."""
    if not upload_date:
        return None
    text = upload_date.strip()
    match = _DATE_DASHED.match(text) or _DATE_COMPACT.match(text)
    if match is None:
        return None
    year, month, day = (int(group) for group in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and year >= 1800):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def sanitize_title(title: str, *, max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """A title usable as (part of) a file name on Windows, macOS and Linux; never empty."""
    text = unicodedata.normalize("NFC", title)
    text = "".join(" " if _is_control(char) else char for char in text if char not in _BIDI_CONTROLS)
    text = _COLON_BEFORE_SPACE.sub(" - ", text)  # "Part 1: Intro" -> "Part 1 - Intro"
    text = _SPACED_SEPARATOR.sub(" - ", text)  # "A / B" -> "A - B"
    text = _SEPARATOR_RUN.sub("-", text)  # "AC/DC" -> "AC-DC", "12:30" below -> "12-30"
    text = text.replace(":", "-").replace('"', "'")
    text = re.sub(r"[*?<>]", "", text)
    text = " ".join(text.split())
    text = _truncate_utf8(text, max_bytes)
    text = text.rstrip(" .").lstrip(" ")
    if not text or set(text) <= {".", "-", " "}:
        text = FALLBACK_TITLE
    base, dot, rest = text.partition(".")
    if base.rstrip(" ").upper() in _WINDOWS_RESERVED:  # Windows reserves "AUX" and "AUX.anything"
        text = f"{base.rstrip(' ')}_{dot}{rest}"
    return text


def output_stem(upload_date: str | None, title: str, *, tag: str | None = None) -> str:
    """``2024-05-01. How CPUs Work`` (or with ``tag``: ``2024-05-01. How CPUs Work [dQw4w9WgXcQ]``): the
    name every file of a run shares before its suffix; it leaves room for ``MAX_SUFFIX_BYTES``."""
    prefix = f"{normalize_upload_date(upload_date) or UNDATED}. "
    tag_text = f" [{sanitize_title(tag, max_bytes=40)}]" if tag else ""
    budget = MAX_FILENAME_BYTES - MAX_SUFFIX_BYTES - len(prefix.encode("utf-8")) - len(tag_text.encode("utf-8"))
    return f"{prefix}{sanitize_title(title, max_bytes=budget)}{tag_text}"


def article_filename(upload_date: str | None, title: str, *, extension: str = "md") -> str:
    """``2024-05-01. How CPUs Work.md``; ``undated. <title>.md`` without a date.

    Raises:
        ValueError: ``extension`` is not 1-10 ASCII letters or digits.
    """
    return f"{output_stem(upload_date, title)}.{_checked_extension(extension)}"


def export_filename(upload_date: str | None, title: str, extension: str) -> str:
    """The SRT/VTT/JSON file name: the article's stem with another extension."""
    return article_filename(upload_date, title, extension=extension)


def cue_export_filename(upload_date: str | None, title: str, label: str, extension: str) -> str:
    """A translated or bilingual subtitle file: ``<stem>.<label>.<ext>`` with ``label`` a language code
    (``de``, ``zh-Hans``) or ``bi``; the stem is the article's, shortened so the whole name fits.

    Raises:
        ValueError: ``label`` is not 1-20 ASCII letters, digits or hyphens, or ``extension`` is invalid.
    """
    if not _LABEL.match(label):
        raise ValueError(f"invalid subtitle file label {label!r}: use a language code such as 'de' or 'zh-Hans'")
    # The shared stem keeps room for MAX_SUFFIX_BYTES: the longest label (20) plus ".bi.vtt" fits.
    return f"{output_stem(upload_date, title)}.{label}.{_checked_extension(extension)}"


def _checked_extension(extension: str) -> str:
    extension = extension.removeprefix(".")
    if not _EXTENSION.match(extension):
        raise ValueError(f"invalid file extension {extension!r}: use 1-10 ASCII letters or digits")
    return extension


def _is_control(char: str) -> bool:
    # Cc: C0/C1 controls (newlines, tabs, NUL...); Zl/Zp: Unicode line and paragraph separators.
    return unicodedata.category(char) in {"Cc", "Zl", "Zp"}


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # errors="ignore" drops the partial trailing character left by a byte cut.
    end = len(encoded[: max(max_bytes, 0)].decode("utf-8", errors="ignore"))
    # Back off to a grapheme boundary: never keep a base character without its combining marks,
    # variation selector or zero-width-joined partner (an accent or emoji cut in half).
    while 0 < end < len(text) and (_continues_grapheme(text[end]) or text[end - 1] == _ZWJ):
        end -= 1
    return text[:end].rstrip()


def _continues_grapheme(char: str) -> bool:
    return char == _ZWJ or unicodedata.category(char) in {"Mn", "Mc", "Me"}
