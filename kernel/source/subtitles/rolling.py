"""Cues -> time-ordered ``Segment`` lists, with rolling auto-captions reduced to their new content.

Invariants:
- Output segments are sorted by start (cues arrive sorted), have ``start <= end`` and times rounded to
  milliseconds.
- Rolling auto-captions (each cue repeats the previous cue's last line(s) and adds one; 10 ms
  "transition" cues repeat only the old line) are reduced to the new content of each cue, so every
  spoken word appears exactly once. Only a cue starting within 1 s of the previous one can roll it up.
  Rolling mode is chosen per file: when cues carry inline word timings, or when at least 30% of the cues
  start with the previous cue's last line(s) and add to them (a cue that only repeats the previous one
  is no evidence). Other files keep every cue, also identical cues that touch in
  time ("No." then "No." are two utterances); ``repair`` drops only exact duplicates (same text and times).
- Work per cue is bounded (at most 8 lines are compared for an overlap): linear in the number of cues.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.transcript import Segment, SegmentKind, Word

from ...text import join_text_pieces, needs_space_between
from .cues import _Cue, _CueLine

_MAX_OVERLAP_LINES = 8
_ROLLING_SHARE = 0.3
_ROLLING_MAX_GAP = 1.0


@dataclass(slots=True)
class _Piece:
    start: float
    end: float
    text: str
    kind: SegmentKind
    speaker: str | None
    words: list[Word] | None


def _line_overlap(previous: list[str], current: list[str]) -> int:
    """The largest k such that the last k lines of ``previous`` equal the first k lines of ``current``."""
    for k in range(min(len(previous), len(current), _MAX_OVERLAP_LINES), 0, -1):
        if previous[-k:] == current[:k]:
            return k
    return 0


def _grows_from(previous_last: str, current_first: str) -> bool:
    """True when a line was extended in place ("hello" -> "hello everyone"), as live captions do."""
    if len(current_first) <= len(previous_last) or not current_first.startswith(previous_last):
        return False
    return not needs_space_between(previous_last[-1], current_first[len(previous_last)]) or (
        current_first[len(previous_last)] == " "
    )


def _looks_rolling(cues: list[_Cue]) -> bool:
    if any(line.words for cue in cues for line in cue.lines):
        return True
    if len(cues) < 3:
        return False
    overlapping = 0
    previous = [line.text for line in cues[0].lines]
    previous_end = cues[0].end
    for cue in cues[1:]:
        current = [line.text for line in cue.lines]
        # A cue that only repeats the previous one ("No." then "No.") is no evidence of rolling: rolling
        # cues repeat the previous last line(s) and add a line, or grow a line.
        overlap = _line_overlap(previous, current)
        if cue.start - previous_end <= _ROLLING_MAX_GAP and (
            0 < overlap < len(current) or _grows_from(previous[-1], current[0])
        ):
            overlapping += 1
        previous, previous_end = current, cue.end
    return overlapping >= 2 and overlapping >= _ROLLING_SHARE * (len(cues) - 1)


def _trim_grown_line(line: _CueLine, prefix: str) -> _CueLine | None:
    remainder = line.text[len(prefix) :].strip()
    if not remainder:
        return None
    words: list[Word] | None = None
    if line.words:
        length = 0
        last = ""
        for count, word in enumerate(line.words, 1):
            if last and needs_space_between(last, word.text[0]):
                length += 1
            length += len(word.text)
            last = word.text[-1]
            if length >= len(prefix):
                words = line.words[count:] if length == len(prefix) and count < len(line.words) else None
                break
    text = join_text_pieces(w.text for w in words) if words else remainder
    return _CueLine(text, line.kind, line.speaker, words)


def _new_content(previous: list[str], cue: _Cue) -> list[_CueLine]:
    current = [line.text for line in cue.lines]
    overlap = _line_overlap(previous, current)
    if overlap:
        return cue.lines[overlap:]
    if previous and _grows_from(previous[-1], current[0]):
        trimmed = _trim_grown_line(cue.lines[0], previous[-1])
        return ([trimmed] if trimmed else []) + cue.lines[1:]
    return cue.lines


def _segments_from_cues(cues: list[_Cue], *, rolling: bool) -> list[Segment]:
    pieces: list[_Piece] = []
    previous: list[str] = []
    previous_end = 0.0
    for cue in cues:
        lines = cue.lines
        if rolling:
            # Only a cue that follows right on is a roll-up; a line said again later is new speech.
            if cue.start - previous_end <= _ROLLING_MAX_GAP:
                lines = _new_content(previous, cue)
            previous, previous_end = [line.text for line in cue.lines], cue.end
            if not lines:  # a pure repeat (e.g. a 10 ms transition cue) keeps the last text on screen
                if pieces:
                    pieces[-1].end = max(pieces[-1].end, cue.end)
                continue
        pieces.extend(_cue_pieces(cue.start, cue.end, lines))
    return [
        Segment(
            start=round(p.start, 3),
            end=round(max(p.end, p.start), 3),
            text=p.text,
            kind=p.kind,
            speaker=p.speaker,
            words=p.words,
        )
        for p in pieces
    ]


def _cue_pieces(start: float, end: float, lines: list[_CueLine]) -> list[_Piece]:
    """One piece per run of lines with the same kind and speaker; the cue's time is shared by length."""
    groups: list[list[_CueLine]] = []
    for line in lines:
        if groups and groups[-1][0].kind == line.kind and groups[-1][0].speaker == line.speaker:
            groups[-1].append(line)
        else:
            groups.append([line])
    weights = [sum(len(line.text) for line in group) or 1 for group in groups]
    total = sum(weights)
    pieces: list[_Piece] = []
    offset = 0
    for group, weight in zip(groups, weights, strict=True):
        piece_start = start + (end - start) * offset / total
        offset += weight
        piece_end = start + (end - start) * offset / total
        words: list[Word] | None = None
        if group[0].kind == "speech" and all(line.words for line in group):
            words = [word for line in group for word in line.words or ()]
            if len(groups) > 1:
                piece_start, piece_end = words[0].start, words[-1].end
        text = join_text_pieces(line.text for line in group)
        pieces.append(_Piece(piece_start, piece_end, text, group[0].kind, group[0].speaker, words))
    return pieces
