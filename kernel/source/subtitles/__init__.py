"""Subtitle parsing: WebVTT, SRT and YouTube json3 files -> time-ordered ``Segment`` lists, with a report.

``read_subtitle_file`` and ``parse_subtitle_text`` are the entry points; both return a ``SubtitleParse``
(segments, the issues found, the format and, for files, how the bytes were decoded). One module a step:
- ``decode``: file bytes -> text (the given encoding, a byte-order mark, UTF-8, else detection).
- ``timing``: timestamp variants, and lines that only look like timing lines.
- ``cues``: format detection; text -> cues of cleaned speech / non-speech lines with speakers and words.
- ``speakers``: voice spans and ``[Name]`` / ``NAME:`` / ``Name:`` labels.
- ``repair``: unreadable or impossible cue times, cue order, overlaps and duplicates.
- ``rolling``: cues -> segments; rolling auto-captions are reduced to the new content of each cue.
- ``usability``: statistics, and whether subtitles can stand in for speech recognition.
- ``issues``, ``errors``: the issue log and its summaries; ``SubtitleError`` and its codes.

Invariants (each module's docstring states its own in full):
- Nothing is dropped or changed silently: every repaired, reordered or dropped cue is a ``SubtitleIssue``
  naming the display name (the user's file, never a work_dir copy) and the cue's line.
- Output segments are sorted by start, have ``start <= end`` and times rounded to milliseconds.
- Every spoken word appears exactly once, also in rolling auto-captions (``rolling``).
- Non-speech cues become ``kind="non_speech"`` segments and never reach speech text (``cues``).
- Inline word timings become ``Segment.words`` and then ``Segment.text == join_text_pieces(word texts)``.
- Parsing is linear in the input size: one pass over the lines, bounded work per cue.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kernel.transcript import Segment, SubtitleIssue, SubtitleTrack

from .cues import SubtitleFormat, detect_subtitle_format, no_cues_error, scan_json3_cues, scan_text_cues
from .decode import (
    DecodedSubtitles,
    SubtitleDecoding,
    decode_subtitle_bytes,
    normalize_encoding_name,
    read_subtitle_text,
)
from .errors import ENCODING_OPTION, SubtitleError, _empty, _garbled
from .issues import IssueLog, summarize_subtitle_issues
from .repair import check_overlaps, fill_times, order_cues
from .rolling import _looks_rolling, _segments_from_cues
from .usability import SubtitleUsability, assess_subtitle_usability, subtitle_stats

__all__ = [
    "ENCODING_OPTION",
    "DecodedSubtitles",
    "SubtitleDecoding",
    "SubtitleError",
    "SubtitleFormat",
    "SubtitleParse",
    "SubtitleUsability",
    "assess_subtitle_usability",
    "cyclic_gc_paused",
    "decode_subtitle_bytes",
    "detect_subtitle_format",
    "normalize_encoding_name",
    "parse_subtitle_text",
    "read_subtitle_file",
    "read_subtitle_text",
    "subtitle_display_name",
    "subtitle_stats",
    "summarize_subtitle_issues",
]


@dataclass(frozen=True, slots=True)
class SubtitleParse:
    """The result of parsing subtitles.

    ``segments``: time-ordered speech and non-speech segments. ``issues``: what was repaired, dropped or
    noticed, decoding first, then in file order per kind of check. ``format``: the format parsed.
    ``decoding``: how the file's bytes were decoded (``None`` when text was passed in).
    """

    segments: list[Segment]
    issues: list[SubtitleIssue]
    format: SubtitleFormat
    decoding: SubtitleDecoding | None = None

    @property
    def warnings(self) -> list[SubtitleIssue]:
        return [issue for issue in self.issues if issue.severity == "warning"]


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while building large, cycle-free results.

    Parsing or normalizing hours of captions allocates hundreds of thousands of small objects that
    all stay alive; every collection would re-traverse the growing result, which made 10 h inputs
    cost 3x a 5 h one. Nothing built here forms reference cycles, so reference counting frees all
    garbage meanwhile. Reentrant and thread-safe: the collector is re-enabled (if it was enabled)
    when the last concurrent user leaves.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def subtitle_display_name(track: SubtitleTrack | None, source_label: str) -> str:
    """How messages name a subtitle track: a sidecar's own file name (``talk.en.srt``), an embedded
    stream (``subtitle stream #2 of talk.mkv``) or a remote track (``the en automatic captions of <video>``).

    ``source_label`` names the media: its file name or the video's title.
    """
    if track is None:
        return f"the subtitles of {source_label}"
    if track.origin == "sidecar" and track.path:
        return Path(track.path).name
    if track.origin == "embedded":
        return f"subtitle stream #{track.stream_index} of {source_label}"
    what = "automatic captions" if track.kind == "automatic" else "subtitles"
    language = track.language or "unknown-language"
    return f"the {language} {what} of {source_label}"


def read_subtitle_file(
    path: Path,
    *,
    encoding: str | None = None,
    display_name: str | None = None,
    language: str | None = None,
    fmt: SubtitleFormat | None = None,
) -> SubtitleParse:
    """Read, decode and parse a subtitle file; the format is detected from the content unless given.

    ``display_name`` names the file in messages and issues (default: its own name); pass the user's file
    name when ``path`` is a copy. ``encoding`` skips detection; ``language`` (the track's) helps it.

    Raises:
        SubtitleError: any of its codes (see the class).
        InvalidInputError: ``invalid_encoding``.
    """
    name = display_name or path.name
    decoded = read_subtitle_text(path, encoding=encoding, display_name=name, language=language)
    try:
        parsed = parse_subtitle_text(decoded.text, fmt, display_name=name)
    except SubtitleError as exc:
        # Text that is garbage after a guessed or given encoding may simply be in another encoding.
        guessed = decoded.decoding.source == "caller" or not decoded.decoding.confident
        if exc.code != "subtitle_garbled" or not guessed:
            raise
        raise _garbled(name, str(exc.details.get("reason")), decoded_as=decoded.decoding.encoding) from exc
    return SubtitleParse(parsed.segments, [*decoded.issues, *parsed.issues], parsed.format, decoded.decoding)


def parse_subtitle_text(
    text: str, fmt: SubtitleFormat | None = None, *, display_name: str = "subtitle text"
) -> SubtitleParse:
    """Parse WebVTT, SRT or YouTube json3 text into time-ordered segments (format detected when None).

    Raises:
        SubtitleError: ``subtitle_empty`` or ``subtitle_garbled``; messages name ``display_name``.
    """
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _empty(display_name, "are empty")
    chosen = fmt or detect_subtitle_format(text)
    if chosen is None:
        raise no_cues_error(text, display_name)
    log = IssueLog(display_name)
    _report_replacement_characters(text, log)
    with cyclic_gc_paused():
        if chosen == "json3":
            cues = scan_json3_cues(text, log)
            rolling = False
        else:
            scan = scan_text_cues(text, log)
            fill_times(scan, log)
            cues = scan.cues
            order_cues(cues, log)
            rolling = _looks_rolling(cues)
            if rolling:
                log.add("rolling_captions", "info", "merged", "rolling auto-captions: the lines each cue repeats "
                        "from the one before were merged, so every word appears once")
            else:
                cues = check_overlaps(cues, log)
        segments = _segments_from_cues(cues, rolling=rolling)
    if not segments:
        raise _empty(display_name, "have cues but none of them contains text")
    return SubtitleParse(segments, log.issues, chosen)


def _report_replacement_characters(text: str, log: IssueLog) -> None:
    first = text.find("\ufffd")
    if first < 0:
        return
    newline = "\n" if "\n" in text else "\r"
    line = text.count(newline, 0, first) + 1
    count = text.count("\ufffd")
    log.add("replacement_characters", "warning", "kept", f"the text has {count} replacement character(s) (�), "
            "the mark of text damaged by an earlier wrong conversion; they were kept as they are", line=line)
