"""Cue timing lines: the timestamp variants that are read, and lines that only look like timing lines.

A timestamp is ``[-][H:]MM:SS[(.|,|:)F]``: hours optional and of any width, one- or two-digit minutes
and seconds, a fraction of any number of digits (``.5``, ``,250``, ``.5000``) after a dot, a comma or a
colon (``HH:MM:SS:mmm``; a fourth colon group is always read as a decimal fraction, never as frames).
A timing line is ``START --> END`` followed by optional cue settings. A leading ``-`` is read so that the
parser can report and repair negative times instead of silently losing the cue.

A line that has an arrow (``-->``, ``->``, ``=>``, ``→``) and a clock-like number but is not a timing line
is *damaged*: ``read_damaged_timing`` salvages whatever timestamps it can find in it.
"""

from __future__ import annotations

import re

_TS = r"(-?)(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:([.,:])(\d+))?"
TIMING_LINE = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}(?:\s.*)?$")
_LOOSE_TS = re.compile(r"(-?)(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:([.,:])(\d+))?")
_ARROW = re.compile(r"-+>|=+>|[–—]+>|→")
_CLOCK = re.compile(r"\d\s*[:.,]\s*\d")
ARROW_CHARS = (">", "→")


def seconds_of(sign: str, hours: str | None, minutes: str, seconds: str, _sep: str | None, fraction: str | None) -> float:
    """Seconds for the six groups of one timestamp (negative when ``sign`` is ``-``)."""
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return -value if sign else value


def timing_of(match: re.Match[str]) -> tuple[float, float, bool]:
    """(start, end, uses a colon before the fraction) of a ``TIMING_LINE`` match."""
    # Unrolled ``seconds_of``: this runs once per cue of multi-hour files.
    sign, hours, minutes, seconds, sep, fraction, sign2, hours2, minutes2, seconds2, sep2, fraction2 = match.groups()
    start = (int(hours) * 3600 if hours else 0) + int(minutes) * 60 + int(seconds)
    if fraction:
        start += int(fraction) / 10 ** len(fraction)
    end = (int(hours2) * 3600 if hours2 else 0) + int(minutes2) * 60 + int(seconds2)
    if fraction2:
        end += int(fraction2) / 10 ** len(fraction2)
    return (-start if sign else start), (-end if sign2 else end), sep == ":" or sep2 == ":"


def looks_like_timing(line: str) -> bool:
    """True for a line meant as a timing line: an arrow and a clock-like number (``00:01``, ``1,5``)."""
    return _ARROW.search(line) is not None and _CLOCK.search(line) is not None


def read_damaged_timing(line: str) -> tuple[float | None, float | None]:
    """Salvage a damaged timing line: the word just left of its arrow and the word just right of it, each
    when it is a whole, readable timestamp (``None`` otherwise: a half-read ``00:00:0x,000`` is not a time).
    """
    arrow = _ARROW.search(line)
    if arrow is None:
        return None, None
    left, right = line[: arrow.start()].split(), line[arrow.end() :].split()
    return _timestamp(left[-1] if left else ""), _timestamp(right[0] if right else "")


def _timestamp(word: str) -> float | None:
    match = _LOOSE_TS.fullmatch(word)
    return seconds_of(*match.groups()) if match else None
