"""Subtitle parsing: WebVTT, SRT and YouTube json3 text -> time-ordered ``Segment`` lists.

``parse_subtitle_text`` and ``read_subtitle_file`` are the entry points; one module a step:
- ``decode``: file bytes -> text (the given encoding, a byte-order mark, else strict UTF-8).
- ``cues``: format detection; text -> cues of cleaned speech / non-speech lines with word timings.
- ``rolling``: cues -> segments; rolling auto-captions are reduced to the new content of each cue.
- ``usability``: statistics, and whether subtitles can stand in for speech recognition.
- ``errors``: ``SubtitleError`` and its codes.

Invariants (each module's docstring states its own in full):
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
from pathlib import Path

from kernel.transcript import Segment

from .cues import SubtitleFormat, _json3_cues, _text_cues, detect_subtitle_format
from .decode import decode_subtitle_bytes, read_subtitle_text
from .errors import SubtitleError, _empty, _garbled
from .rolling import _looks_rolling, _segments_from_cues
from .usability import SubtitleUsability, assess_subtitle_usability, subtitle_stats

__all__ = [
    "SubtitleError",
    "SubtitleFormat",
    "SubtitleUsability",
    "assess_subtitle_usability",
    "cyclic_gc_paused",
    "decode_subtitle_bytes",
    "detect_subtitle_format",
    "parse_subtitle_text",
    "read_subtitle_file",
    "read_subtitle_text",
    "subtitle_stats",
]

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


def read_subtitle_file(path: Path, encoding: str | None = None) -> list[Segment]:
    """Read, decode and parse a subtitle file; the format is detected from the content.

    Raises:
        SubtitleError: any of its codes (see the class).
        InvalidInputError: ``invalid_encoding``.
    """
    return parse_subtitle_text(read_subtitle_text(path, encoding), source_name=path.name)


def parse_subtitle_text(
    text: str, fmt: SubtitleFormat | None = None, *, source_name: str = "subtitle text"
) -> list[Segment]:
    """Parse WebVTT, SRT or YouTube json3 text into time-ordered segments (format detected when None).

    Raises:
        SubtitleError: ``subtitle_empty`` or ``subtitle_garbled``; ``source_name`` names the file.
    """
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _empty(source_name, "is empty")
    chosen = fmt or detect_subtitle_format(text)
    if chosen is None:
        raise _garbled(source_name, "no subtitle cue could be found")
    with cyclic_gc_paused():
        if chosen == "json3":
            cues = _json3_cues(text, source_name)
            rolling = False
        else:
            cues = _text_cues(text, source_name)
            rolling = _looks_rolling(cues)
        segments = _segments_from_cues(cues, rolling=rolling)
    if not segments:
        raise _empty(source_name, "has cues but none of them contains text")
    return segments
