"""Subtitle text -> cues: format detection, the line scan, markup cleaning, speakers, non-speech detection.

A cue is a time range with cleaned lines, each line speech or non-speech; ``repair`` then fixes and
reports cue times, and ``rolling`` turns cues into segments.

Invariants:
- Every cue the file has is either returned or reported: a cue whose timing line cannot be read (or
  only in part) is kept with times marked unknown (NaN) for ``repair`` to take from its neighbours; a
  negative start becomes 0; a negative end or an end before the start is marked unknown; a timing line
  without text is reported as an empty cue. Cues are returned in file order; ``Cue.line`` is the 1-based
  line of the cue's timing line (``None`` for json3 events).
- Non-speech cues (``[Music]``, ``(laughter)``, ``♪♪``, lyric lines wrapped in ``♪``) become
  ``kind="non_speech"`` lines and never reach speech text; bracketed annotations inside a speech line
  are removed from it.
- Speakers come from voice spans and labels as ``speakers`` describes; a label is removed from the text.
- When inline word timings exist (``<00:00:01.520><c> word</c>``, json3 ``tOffsetMs``) they become the
  line's words and then its text ``== join_text_pieces(word texts)``. Captions give word starts
  only: a word ends at the next word's start, but no later than a length-based estimate, so that pauses
  stay visible as gaps between words.
- Parsing is linear in the input size: one pass over the lines, bounded work per cue.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kernel.transcript import SegmentKind, Word

from ...text import decode_entities, join_text_pieces
from .errors import SubtitleError, _empty, _garbled
from .issues import IssueLog, clock
from .speakers import SpeakerLabel, find_label, may_have_label, starts_with_dash, voice_speakers
from .timing import ARROW_CHARS, TIMING_LINE, looks_like_timing, read_damaged_timing, timing_of

SubtitleFormat = Literal["vtt", "srt", "json3"]

UNKNOWN = math.nan  # a cue time to be taken from the neighbouring cues (``repair``)

_INLINE_TS = re.compile(r"<(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})>")
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
_QUOTED_CHARS = 60


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
    line: int | None = None


@dataclass(slots=True)
class TimingRepair:
    """A cue whose times the scan could not take as written; ``repair`` fills and reports it."""

    cue_index: int  # in file order
    kind: Literal["timing_unreadable", "negative_time", "end_before_start"]
    timing_text: str
    written_end: float | None = None


@dataclass(slots=True)
class ScanResult:
    """Cues in file order, and the cues whose times ``repair`` must fill and report."""

    cues: list[_Cue]
    repairs: list[TimingRepair] = field(default_factory=list)


def detect_subtitle_format(text: str) -> SubtitleFormat | None:
    """Guess the format from the content: a WEBVTT header, a JSON object, or SRT/VTT-style timing lines."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("{"):
        return "json3"
    for line in head.splitlines():
        if "-->" in line and TIMING_LINE.match(line):
            return "srt" if "," in line.split("-->", 1)[0] else "vtt"
    return None


def _is_header_only(text: str) -> bool:
    """True when every block is a WEBVTT header, NOTE, STYLE or REGION block (a VTT file with no cues)."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    return blocks[0].startswith("WEBVTT") and all(b.lstrip().startswith(_HEADER_BLOCK_STARTS) for b in blocks)


def no_cues_error(text: str, display_name: str) -> SubtitleError:
    """``subtitle_garbled`` for text without a readable timing line, naming a line that looks like one."""
    for number, line in enumerate(text.splitlines(), 1):
        if any(char in line for char in ARROW_CHARS) and looks_like_timing(line):
            return _garbled(display_name, f"no cue timing line can be read (line {number} looks like one but is "
                                          f"not: {quoted(line.strip())})")
    return _garbled(display_name, "no cue timing line was found")


def quoted(text: str) -> str:
    """``'text'`` cut to a readable length, for messages."""
    text = " ".join(text.split())
    return repr(text if len(text) <= _QUOTED_CHARS else text[: _QUOTED_CHARS - 1] + "…")


class _Speakers:
    """Speaker labels of one file: ``title`` labels wait for a second cue with the same name."""

    __slots__ = ("first_line", "pending", "uses")

    def __init__(self) -> None:
        self.pending: list[tuple[list[_CueLine], _CueLine, SpeakerLabel, int | None]] = []
        self.uses: dict[str, int] = {}
        self.first_line: dict[str, int | None] = {}

    def used(self, name: str, line: int | None) -> None:
        self.uses[name] = self.uses.get(name, 0) + 1
        self.first_line.setdefault(name, line)

    def confirm(self, log: IssueLog) -> None:
        """Apply the title-case labels whose name labels lines in two or more cues, then report labels."""
        cues_per_name: dict[str, set[int]] = {}
        for lines, _, label, _ in self.pending:
            cues_per_name.setdefault(label.name, set()).add(id(lines))
        for lines, line, label, cue_line in self.pending:
            if len(cues_per_name[label.name]) < 2:
                continue
            index = next((i for i, candidate in enumerate(lines) if candidate is line), None)
            if index is None:
                continue
            following: list[_CueLine] = []
            for later in lines[index + 1 :]:
                if later.speaker is not None or later.kind != "speech" or starts_with_dash(later.text):
                    break
                following.append(later)
            if not label.remainder and not following:
                continue  # a lone "Name:" with nothing after it stays text
            self.used(label.name, cue_line)
            for later in following:
                later.speaker = label.name
            if label.remainder:
                lines[index] = _line_from_text(label.remainder, label.name)
            else:
                del lines[index]
        for name, count in self.uses.items():
            cues = "1 line" if count == 1 else f"{count} lines"
            log.add("speaker_label", "info", "read", f"the label {name!r} was read as a speaker ({cues})",
                    line=self.first_line[name])


def _cue_lines(raw_lines: list[str], start: float, end: float, speakers: _Speakers, cue_line: int | None) -> list[_CueLine]:
    """Clean a cue's raw lines; voice spans and labels give the lines their speakers."""
    lines: list[_CueLine] = []
    voice: str | None = None
    carried: str | None = None  # a label's speaker, for the cue's following lines
    lone_labels: list[tuple[_CueLine, str]] = []  # a label alone on its line: dropped once a line takes it
    for raw in raw_lines:
        speaker = voice
        if "<" in raw:
            if "<v" in raw or "</v" in raw:
                speaker, voice = voice_speakers(raw, voice)
            if _INLINE_TS.search(raw):
                timed_line = _timed_line(raw, start, end, speaker)
                if timed_line is not None:
                    lines.append(timed_line)
                continue
        text = _clean_markup(raw)
        if not text:
            continue
        label = find_label(text) if speaker is None and may_have_label(text) else None
        if label is not None and label.confirmed:
            carried = label.name
            if not label.remainder:
                placeholder = _line_from_text(text, None)
                lines.append(placeholder)
                lone_labels.append((placeholder, label.name))
                continue
            speaker, text = label.name, label.remainder
            speakers.used(label.name, cue_line)
        elif label is not None:
            carried = None
            line = _line_from_text(text, None)
            lines.append(line)
            speakers.pending.append((lines, line, label, cue_line))
            continue
        elif speaker is None and carried is not None and not starts_with_dash(text):
            speaker = carried
        elif speaker is None:
            carried = None
        lines.append(_line_from_text(text, speaker))
    if lone_labels:
        taken = {id(placeholder) for placeholder, name in lone_labels
                 if any(line.speaker == name for line in lines if line is not placeholder)}
        if taken:
            lines[:] = [line for line in lines if id(line) not in taken]  # in place: ``pending`` holds this list
            for placeholder, name in lone_labels:
                if id(placeholder) in taken:
                    speakers.used(name, cue_line)
    return lines


def scan_text_cues(text: str, log: IssueLog) -> ScanResult:
    """Scan lines: a timing line opens a cue; text lines follow until an empty line.

    Lines outside cues (headers, identifiers, NOTE/STYLE/REGION blocks, SRT indexes) are ignored. A
    whitespace-only line does not end a cue: YouTube puts a lone space line inside its cues.

    Raises:
        SubtitleError: ``subtitle_empty`` (only headers), ``subtitle_garbled`` (no timing line at all).
    """
    result = ScanResult(cues=[])
    cues = result.cues
    speakers = _Speakers()
    start = end = 0.0
    cue_line = 0
    timing_text = ""
    repair_kind: Literal["timing_unreadable", "negative_time", "end_before_start"] | None = None
    written_end: float | None = None
    raw_lines: list[str] = []
    in_cue = False
    found_timing = False
    colon_fraction_line: int | None = None
    block_position = 0

    def close() -> None:
        lines = _cue_lines(raw_lines, start, end, speakers, cue_line)
        if not lines:
            what = "the timing line has no text after it" if repair_kind is None else (
                f"the timing line {quoted(timing_text)} cannot be read and has no text after it")
            log.add("empty_cue", "info", "dropped", what, line=cue_line, start=None if math.isnan(start) else start)
            return
        cues.append(_Cue(start, end, lines, cue_line))
        if repair_kind is not None:
            result.repairs.append(TimingRepair(len(cues) - 1, repair_kind, timing_text, written_end))

    for number, line in enumerate(text.splitlines(), 1):
        match = TIMING_LINE.match(line) if "-->" in line else None
        damaged = match is None and (
            ("-->" in line or (not in_cue and block_position < 2 and any(c in line for c in ARROW_CHARS)))
            and looks_like_timing(line)
        )
        if match is not None or damaged:
            if in_cue:
                # No blank line before this timing line: a trailing number is the next SRT cue's index.
                if raw_lines and raw_lines[-1].strip().isdigit():
                    raw_lines.pop()
                close()
            repair_kind, written_end = None, None
            if match is not None:
                found_timing = True
                start, end, colon = timing_of(match)
                if colon and colon_fraction_line is None:
                    colon_fraction_line = number
                if start < 0 or end < 0:
                    repair_kind = "negative_time"
                    start, end = max(start, 0.0), (UNKNOWN if end < 0 else end)
                elif end < start:
                    repair_kind, written_end, end = "end_before_start", end, UNKNOWN
            else:
                salvaged_start, salvaged_end = read_damaged_timing(line)
                start = UNKNOWN if salvaged_start is None else max(salvaged_start, 0.0)
                end = UNKNOWN if salvaged_end is None or salvaged_end < 0 else salvaged_end
                if end < start:  # False when either is NaN
                    end = UNKNOWN
                repair_kind = "timing_unreadable"
            timing_text = line.strip()
            cue_line = number
            raw_lines = []
            in_cue = True
        elif in_cue:
            if line:
                raw_lines.append(line)
            else:
                close()
                in_cue = False
                block_position = 0
        elif line.strip():
            block_position += 1
        else:
            block_position = 0
    if in_cue:
        close()
    if not found_timing:
        if _is_header_only(text):
            raise _empty(log.file, "have a header but no cues")
        raise no_cues_error(text, log.file)
    if colon_fraction_line is not None:
        log.add("timestamp_variant", "info", "read", "timestamps written HH:MM:SS:mmm (a colon before the "
                "fraction) were read as fractions of a second", line=colon_fraction_line)
    speakers.confirm(log)
    return result


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


def _timed_line(raw: str, cue_start: float, cue_end: float, speaker: str | None) -> _CueLine | None:
    if cue_start != cue_start or cue_end != cue_end:  # NaN: math.isnan, without the call on the hot path
        # The cue's times are still unknown, so its word times cannot be placed: keep the words as text.
        text = _clean_markup(_INLINE_TS.sub(" ", raw))
        return _line_from_text(text, speaker) if text else None
    # Drop the styling tags once for the whole line; timestamps (<00:...>) do not match _TAG.
    # split() yields: text, hours, minutes, seconds, fraction, text, hours, ...
    parts = _INLINE_TS.split(_TAG.sub("", _RUBY_TEXT.sub("", raw)))
    timed = [(round(cue_start * 1000), parts[0])]
    for i in range(1, len(parts), 5):
        hours, minutes, seconds, fraction = parts[i : i + 4]
        millis = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))
        timed.append((millis, parts[i + 4]))
    return _line_from_timed_pieces(timed, cue_start, cue_end, speaker)


def _line_from_text(text: str, speaker: str | None) -> _CueLine:
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


def scan_json3_cues(text: str, log: IssueLog) -> list[_Cue]:
    """YouTube json3 events -> cues in time order (events out of order are reported and sorted).

    Raises:
        SubtitleError: ``subtitle_garbled`` for invalid JSON or no ``events`` list.
    """
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise _garbled(log.file, f"invalid JSON ({exc})") from exc
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise _garbled(log.file, "the JSON has no 'events' list")
    raw_events: list[tuple[int, int, list[list[tuple[int, str]]], bool]] = []
    latest = 0
    for number, event in enumerate(events, 1):
        segs = event.get("segs") if isinstance(event, dict) else None
        if not isinstance(segs, list):
            continue
        start = _milliseconds(event.get("tStartMs"))
        if start is None:
            if not _json3_text(segs).strip():
                continue
            start = latest
            log.add("timing_unreadable", "warning", "repaired", f"event {number} has no usable start time "
                    f"(tStartMs {event.get('tStartMs')!r}); its text {quoted(_json3_text(segs))} was placed at "
                    f"{clock(start / 1000)}, where the event above it starts", start=start / 1000)
        end = start + (_milliseconds(event.get("dDurationMs")) or 0)
        if start < latest:
            log.add("out_of_order", "warning", "reordered", f"event {number} starts at {clock(start / 1000)}, "
                    "before the event above it; it was moved into time order", start=start / 1000)
        latest = max(latest, start)
        lines: list[list[tuple[int, str]]] = [[]]
        texts = [seg for seg in segs if isinstance(seg, dict) and isinstance(seg.get("utf8"), str)]
        timed = any("tOffsetMs" in seg for seg in texts) or sum(1 for s in texts if s["utf8"].strip()) > 1
        for seg in texts:
            stamp = start + (_milliseconds(seg.get("tOffsetMs")) or 0)
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
                line = _json3_text_line(joined) if joined else None
            if line is not None:
                cue_lines.append(line)
        if cue_lines:
            cues.append(_Cue(start / 1000, max(start, end) / 1000, cue_lines))
    return cues


def _json3_text_line(text: str) -> _CueLine:
    """An untimed json3 line; a confirmed label (``[Name]``, ``NAME:``) at its start names the speaker."""
    label = find_label(text) if may_have_label(text) else None
    if label is not None and label.confirmed and label.remainder:
        return _line_from_text(label.remainder, label.name)
    return _line_from_text(text, None)


def _json3_text(segs: list[Any]) -> str:
    return "".join(seg["utf8"] for seg in segs if isinstance(seg, dict) and isinstance(seg.get("utf8"), str))


def _milliseconds(value: object) -> int | None:
    """A json3 time in ms; ``None`` when it is missing, not a number, or negative."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        return None
    return round(value)
