"""Subtitle text -> cues: format detection, timing lines, markup cleaning, non-speech detection.

A cue is a time range with cleaned lines, each line speech or non-speech; ``rolling`` turns cues into
segments.

Invariants:
- Cues are sorted by start and have ``start <= end``.
- Non-speech cues (``[Music]``, ``(laughter)``, ``♪♪``, lyric lines wrapped in ``♪``) become
  ``kind="non_speech"`` lines and never reach speech text; bracketed annotations inside a speech line
  are removed from it.
- When inline word timings exist (``<00:00:01.520><c> word</c>``, json3 ``tOffsetMs``) they become the
  line's words and then its text ``== join_text_pieces(word texts)``. Captions give word starts
  only: a word ends at the next word's start, but no later than a length-based estimate, so that pauses
  stay visible as gaps between words.
- Parsing is linear in the input size: one pass over the lines, bounded work per cue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from kernel.transcript import SegmentKind, Word

from ...text import decode_entities, join_text_pieces
from .errors import _empty, _garbled

SubtitleFormat = Literal["vtt", "srt", "json3"]

_TS = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING_LINE = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}(?:\s.*)?$")
_INLINE_TS = re.compile(r"<(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})>")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_RUBY_TEXT = re.compile(r"<rt>.*?</rt>", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_CHEVRONS = re.compile(r"(?:^|\s)>>+(?=\s|$)")

_MUSIC = "♪♫♬♩🎵🎶"
_BRACKET_GROUP = r"\[[^\[\]]*\]|【[^【】]*】|［[^［］]*］"
_PAREN_GROUP = r"\([^()]*\)|（[^（）]*）"
_NON_SPEECH_LINE = re.compile(rf"(?:\s*(?:{_BRACKET_GROUP}|{_PAREN_GROUP}|[{_MUSIC}]+|[-–—:.,]))+\s*")
_LYRICS_LINE = re.compile(rf"\s*[{_MUSIC}].*|.*[{_MUSIC}]\s*", re.DOTALL)
_SOUND_WORDS = (
    "laugh|applause|music|cheer|sigh|cough|inaudible|crosstalk|silence|chuckl|clap|groan|gasp|sniff"
    "|whisper|mumbl|indistinct|background|noise|static|beep|bell|ring|sound|sing|speaking|foreign"
)
_INLINE_NON_SPEECH = re.compile(
    rf"{_BRACKET_GROUP}|[{_MUSIC}]+|\((?i:\s*(?:{_SOUND_WORDS}))[^()]*\)|\([A-Z][A-Z '\-]+\)"
)

_MARKUP_HINT = re.compile("[<&{>\u200b\u200c\u200d\u2060\ufeff]")
_NON_SPEECH_HINT = re.compile(f"[\\[(【［{_MUSIC}]")

_HEADER_BLOCK_STARTS = ("WEBVTT", "NOTE", "STYLE", "REGION")
# Caption words have start times only; their length is estimated as 250 ms + 70 ms a character, within:
_MIN_WORD_MS = 500
_MAX_WORD_MS = 1500


@dataclass(slots=True)
class _CueLine:
    text: str
    kind: SegmentKind
    speaker: str | None
    words: list[Word] | None


@dataclass(slots=True)
class _Cue:
    start: float
    end: float
    lines: list[_CueLine]


def detect_subtitle_format(text: str) -> SubtitleFormat | None:
    """Guess the format from the content: a WEBVTT header, a JSON object, or SRT/VTT-style timing lines."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("{"):
        return "json3"
    for line in head.splitlines():
        if "-->" in line and _TIMING_LINE.match(line):
            return "srt" if "," in line.split("-->", 1)[0] else "vtt"
    return None


def _is_header_only(text: str) -> bool:
    """True when every block is a WEBVTT header, NOTE, STYLE or REGION block (a VTT file with no cues)."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    return blocks[0].startswith("WEBVTT") and all(b.lstrip().startswith(_HEADER_BLOCK_STARTS) for b in blocks)


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return value + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def _text_cues(text: str, source_name: str) -> list[_Cue]:
    """Scan lines: a timing line opens a cue; text lines follow until an empty line.

    Lines outside cues (headers, identifiers, NOTE/STYLE/REGION blocks, SRT indexes) are ignored. A
    whitespace-only line does not end a cue: YouTube puts a lone space line inside its cues.
    """
    cues: list[_Cue] = []
    start = end = 0.0
    raw_lines: list[str] = []
    in_cue = False
    found_timing = False

    def close() -> None:
        lines = [line for raw in raw_lines if (line := _clean_line(raw, start, end)) is not None]
        if lines:
            cues.append(_Cue(start, max(start, end), lines))

    for line in text.splitlines():
        match = _TIMING_LINE.match(line) if "-->" in line else None
        if match is not None:
            if in_cue:
                # No blank line before this timing line: a trailing number is the next SRT cue's index.
                if raw_lines and raw_lines[-1].strip().isdigit():
                    raw_lines.pop()
                close()
            groups = match.groups()
            start, end = _seconds(*groups[:4]), _seconds(*groups[4:])
            raw_lines = []
            in_cue = found_timing = True
        elif in_cue:
            if line:
                raw_lines.append(line)
            else:
                close()
                in_cue = False
    if in_cue:
        close()
    if not found_timing:
        if _is_header_only(text):
            raise _empty(source_name, "has a header but no cues")
        raise _garbled(source_name, "no cue timing line was found")
    cues.sort(key=lambda cue: cue.start)
    return cues


def _clean_markup(raw: str) -> str:
    if _MARKUP_HINT.search(raw) is None:
        return " ".join(raw.split())  # plain text: only whitespace to normalize
    if "<" in raw:
        raw = _TAG.sub("", _RUBY_TEXT.sub("", raw))
    if "{\\" in raw:
        raw = _ASS_OVERRIDE.sub("", raw)
    text = decode_entities(raw)
    if ">>" in text:
        text = " ".join(_CHEVRONS.sub(" ", text).split())
    return text


def _is_non_speech_text(text: str) -> bool:
    if _LYRICS_LINE.fullmatch(text):
        return True
    # Punctuation alone ("...") is not an annotation: at least one bracketed group is required.
    return bool(_NON_SPEECH_LINE.fullmatch(text)) and any(mark in text for mark in "[(（【［")


def _strip_inline_non_speech(text: str) -> str:
    if _NON_SPEECH_HINT.search(text) is None:
        return text
    return " ".join(_INLINE_NON_SPEECH.sub(" ", text).split())


def _clean_line(raw: str, cue_start: float, cue_end: float) -> _CueLine | None:
    voice = _VOICE.search(raw) if "<v" in raw else None
    speaker = (decode_entities(voice.group(1)) or None) if voice else None
    if "<" in raw and _INLINE_TS.search(raw):
        # Drop the styling tags once for the whole line; timestamps (<00:...>) do not match _TAG.
        # split() yields: text, hours, minutes, seconds, fraction, text, hours, ...
        parts = _INLINE_TS.split(_TAG.sub("", _RUBY_TEXT.sub("", raw)))
        timed = [(round(cue_start * 1000), parts[0])]
        for i in range(1, len(parts), 5):
            hours, minutes, seconds, fraction = parts[i : i + 4]
            millis = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))
            timed.append((millis, parts[i + 4]))
        return _line_from_timed_pieces(timed, cue_start, cue_end, speaker)
    text = _clean_markup(raw)
    return _line_from_text(text, speaker) if text else None


def _line_from_text(text: str, speaker: str | None) -> _CueLine | None:
    if _is_non_speech_text(text):
        return _CueLine(text, "non_speech", None, None)
    speech = _strip_inline_non_speech(text)
    if not speech:
        return _CueLine(text, "non_speech", None, None)
    return _CueLine(speech, "speech", speaker, None)


def _line_from_timed_pieces(
    pieces: list[tuple[int, str]], cue_start: float, cue_end: float, speaker: str | None
) -> _CueLine | None:
    """Build a line from (start in ms, raw text) pieces; each word starts at its own time.

    Times are handled as integer milliseconds here: this is the per-word hot path of long files.
    """
    start_ms = round(cue_start * 1000)
    end_ms = max(round(cue_end * 1000), start_ms)
    starts: list[int] = []
    texts: list[str] = []
    previous = start_ms
    has_markup = any(_MARKUP_HINT.search(raw) for _, raw in pieces)
    for stamp, raw in pieces:
        piece = _clean_markup(raw) if has_markup else raw.strip()
        if piece:
            previous = min(max(stamp, previous), end_ms)
            starts.append(previous)
            texts.append(piece)
    if not texts:
        return None
    full_text = join_text_pieces(texts)
    if _is_non_speech_text(full_text):
        return _CueLine(full_text, "non_speech", None, None)
    starts.append(end_ms)
    words: list[Word] = []
    changed = False
    may_annotate = _NON_SPEECH_HINT.search(full_text) is not None
    for index, text in enumerate(texts):
        kept = _strip_inline_non_speech(text) if may_annotate else text
        if kept is not text:
            changed = True
        if kept:
            word_start = starts[index]
            estimate = min(_MAX_WORD_MS, max(_MIN_WORD_MS, 250 + 70 * len(kept)))
            word_end = min(starts[index + 1], word_start + estimate)
            words.append(Word(start=word_start / 1000, end=word_end / 1000, text=kept))
    if not words:
        return _CueLine(full_text, "non_speech", None, None)
    if changed:
        full_text = join_text_pieces(word.text for word in words)
    return _CueLine(full_text, "speech", speaker, words)


def _json3_cues(text: str, source_name: str) -> list[_Cue]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise _garbled(source_name, f"invalid JSON ({exc})") from exc
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise _garbled(source_name, "the JSON has no 'events' list")
    raw_events: list[tuple[int, int, list[list[tuple[int, str]]], bool]] = []
    for event in events:
        segs = event.get("segs") if isinstance(event, dict) else None
        if not isinstance(segs, list):
            continue
        start = _milliseconds(event.get("tStartMs"))
        end = start + _milliseconds(event.get("dDurationMs"))
        lines: list[list[tuple[int, str]]] = [[]]
        texts = [seg for seg in segs if isinstance(seg, dict) and isinstance(seg.get("utf8"), str)]
        timed = any("tOffsetMs" in seg for seg in texts) or sum(1 for s in texts if s["utf8"].strip()) > 1
        for seg in texts:
            stamp = start + _milliseconds(seg.get("tOffsetMs"))
            for index, part in enumerate(seg["utf8"].split("\n")):
                if index:
                    lines.append([])
                if part.strip():
                    lines[-1].append((stamp, part))
        if any(lines):
            raw_events.append((start, end, lines, timed))
    raw_events.sort(key=lambda item: item[0])
    cues: list[_Cue] = []
    for index, (start, end, lines, timed) in enumerate(raw_events):
        # Auto-caption windows stay on screen while later events append to them: clip to the next event.
        if index + 1 < len(raw_events) and raw_events[index + 1][0] > start:
            end = min(end, raw_events[index + 1][0])
        cue_lines: list[_CueLine] = []
        for pieces in lines:
            if not pieces:
                continue
            if timed:
                line = _line_from_timed_pieces(pieces, start / 1000, end / 1000, None)
            else:
                joined = _clean_markup("".join(part for _, part in pieces))
                line = _line_from_text(joined, None) if joined else None
            if line is not None:
                cue_lines.append(line)
        if cue_lines:
            cues.append(_Cue(start / 1000, max(start, end) / 1000, cue_lines))
    return cues


def _milliseconds(value: object) -> int:
    return round(value) if isinstance(value, int | float) and value >= 0 else 0
