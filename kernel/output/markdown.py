"""The Markdown article: YAML front matter, the ``# title`` heading and the merged body.

Invariants:
- Deterministic: the article depends only on its inputs (no "generated at" time, no machine paths), so a
  resumed run produces the same bytes as an uninterrupted one.
- Every front-matter string loads back (YAML 1.1 and 1.2 loaders alike) as exactly the same string: a
  value is written plain only when it cannot be read as anything else (a number, date, boolean, null,
  sexagesimal time, or YAML syntax); everything else is double-quoted with escapes.
- The article ends with exactly one newline and never has two blank lines in a row (outside fenced code
  blocks, which are kept verbatim).
- Front matter states only facts: ``url``, ``video_id`` and ``channel`` for URL sources; ``artist`` (a
  container tag) for local files; ``date`` with ``date_source`` (``upload_date``, ``tag`` or
  ``file_time``); and for every article ``words`` (of the body text, without markup, times and speaker
  labels, one word per two CJK characters), ``sections`` (its ``## `` headings), ``speakers`` and
  ``reading_minutes`` (``words / READING_WORDS_PER_MINUTE``, rounded up, at least 1).
- With at least three sections a table of contents follows the ``# title``; its links use GitHub's
  anchors (``toc.heading_slug``), so they resolve on GitHub and in most Markdown viewers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ..text import count_words
from ..transcript import SourceInfo
from .filenames import normalize_upload_date
from .toc import headings, table_of_contents

FrontMatterValue = str | int | float | bool | list[str] | None

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Plain only if it starts with a letter (not a digit, sign, dot or YAML indicator) and continues with
# letters, digits, spaces and a few harmless punctuation marks. ':' and '#' are excluded outright, so
# neither ": " (a mapping) nor " #" (a comment) can appear.
_PLAIN_SAFE = re.compile(r"^[^\W\d_][\w .,()/+'-]*$")
# YAML 1.1 reads these as booleans or null; YAML 1.2 a subset of them.
_RESERVED_WORDS = frozenset(
    word
    for base in ("y", "yes", "n", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
)
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
READING_WORDS_PER_MINUTE = 230
_TIME_MARK = re.compile(r"\[\d{1,2}:\d{2}(?::\d{2})?\](?:\([^)\s]+\))?")
_SPEAKER_MARK = re.compile(r"^\*\*[^*\n]{1,40}:\*\*\s*", re.MULTILINE)
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}\s.*$", re.MULTILINE)


def render_front_matter(fields: Mapping[str, FrontMatterValue]) -> str:
    """YAML front matter between ``---`` lines, keys in the given order, None values left out.

    Raises:
        ValueError: a key is not a simple identifier, or a float is NaN or infinite.
    """
    lines = ["---"]
    for key, value in fields.items():
        if not _KEY.match(key):
            raise ValueError(f"front matter key {key!r} is not a simple identifier")
        if value is None:
            continue
        if isinstance(value, list):
            if not value:
                lines.append(f"{key}: []")
                continue
            lines.append(f"{key}:")
            lines.extend(f"  - {yaml_scalar(item)}" for item in value)
        else:
            lines.append(f"{key}: {yaml_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def yaml_scalar(value: str | int | float | bool) -> str:
    """One YAML scalar that loads back as ``value`` with its type.

    Raises:
        ValueError: ``value`` is a NaN or infinite float (front matter has no portable form for them).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"front matter cannot hold the float {value!r}")
        text = repr(value)
        mantissa, exponent_mark, exponent = text.partition("e")
        # YAML 1.1 floats need a dot in the mantissa: "1e-05" would load as a string, "1.0e-05" does not.
        return text if not exponent_mark or "." in mantissa else f"{mantissa}.0e{exponent}"
    return _string_scalar(value)


def format_duration(seconds: float | None) -> str | None:
    """``H:MM:SS``, or ``M:SS`` under an hour, rounded to the nearest second; None when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def assemble_article(
    info: SourceInfo,
    body_markdown: str,
    *,
    language: str | None,
    transcript_source: str,
    generator: str,
    mode: str = "clean",
    target_language: str | None = None,
    quality_status: str | None = None,
    speakers: int = 0,
    with_contents: bool = True,
) -> str:
    """The complete article: front matter, ``# <title>``, a table of contents (three sections or more),
    then the body.

    ``transcript_source`` reads like ``subtitles (manual, en)``, ``whisper (base)`` or ``deepgram (nova-3)``;
    ``generator`` like ``yt-transcript 0.1.0``; ``speakers`` is the number of distinct speakers in the
    transcript. ``quality`` appears only when the gate did not pass. A body that already opens with the
    same ``# <title>`` does not get a second one.
    """
    title = " ".join(info.title.split()) or "Untitled"
    is_url = info.source_kind == "url"
    source = info.webpage_url if is_url and info.webpage_url else info.source
    body = normalize_blank_lines(_without_leading_title(body_markdown, title))
    words = body_words(body)
    date = normalize_upload_date(info.upload_date)
    fields: dict[str, FrontMatterValue] = {
        "title": title,
        "source": source,
        "url": source if is_url else None,
        "video_id": info.id if is_url else None,
        "channel": (info.channel or None) if is_url else None,
        "artist": (info.artist or None) if not is_url else None,
        "date": date,
        "date_source": (info.date_source or ("upload_date" if is_url else None)) if date else None,
        "duration": format_duration(info.duration),
        "language": language,
        "target_language": target_language if mode != "clean" else None,
        "mode": mode,
        "words": words,
        "sections": sum(1 for level, _ in headings(body) if level == 2),
        "speakers": speakers,
        "reading_minutes": max(1, math.ceil(words / READING_WORDS_PER_MINUTE)) if words else 0,
        "transcript_source": transcript_source,
        "generator": generator,
        "quality": quality_status if quality_status and quality_status != "pass" else None,
    }
    heading = f"# {title}\n"
    contents = table_of_contents([(1, title), *headings(body)]) if with_contents else ""
    parts = [render_front_matter(fields), heading]
    if contents:
        parts.append(contents + "\n")
    if body:
        parts.append(body)
    return "\n".join(parts)


def body_words(body: str) -> int:
    """Words a reader reads in the body: without headings, times, speaker labels or Markdown marks."""
    text = _HEADING_LINE.sub(" ", body)
    text = _SPEAKER_MARK.sub(" ", _TIME_MARK.sub(" ", text))
    return count_words(text.replace("*", " ").replace("`", " "))


def normalize_blank_lines(markdown: str) -> str:
    """Unix newlines, whitespace-only lines emptied, at most one blank line in a row (outside code fences),
    no leading or trailing blank lines, and exactly one final newline ("" stays "")."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and not line.strip():
            if kept and kept[-1] != "":
                kept.append("")
            continue
        kept.append(line)
    while kept and kept[-1] == "":
        kept.pop()
    return "\n".join(kept) + "\n" if kept else ""


def _without_leading_title(body: str, title: str) -> str:
    stripped = body.lstrip()
    first_line, _, rest = stripped.partition("\n")
    if first_line.startswith("# ") and " ".join(first_line[2:].split()) == title:
        return rest
    return body


def _string_scalar(text: str) -> str:
    if _PLAIN_SAFE.match(text) and text not in _RESERVED_WORDS and not text.endswith(" "):
        return text
    return '"' + "".join(_escape_char(char) for char in text) + '"'


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF or code in (0xFEFF, 0xFFFE, 0xFFFF):
        return f"\\u{code:04x}"
    return char
