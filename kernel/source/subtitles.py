"""Subtitle parsing: WebVTT, SRT and YouTube json3 text -> time-ordered ``Segment`` lists.

Invariants:
- Output segments are sorted by start, have ``start <= end`` and times rounded to milliseconds.
- Rolling auto-captions (each cue repeats the previous cue's last line(s) and adds one; 10 ms
  "transition" cues repeat only the old line) are reduced to the new content of each cue, so every
  spoken word appears exactly once. Only a cue starting within 1 s of the previous one can roll it up. Rolling mode is chosen per file: when cues carry inline word timings,
  or when at least 30% of the cues start with the previous cue's last line. Other files keep every cue;
  only identical consecutive cues that touch in time are merged (a display artefact, not a repetition).
- Non-speech cues (``[Music]``, ``(laughter)``, ``♪♪``, lyric lines wrapped in ``♪``) become
  ``kind="non_speech"`` segments and never reach speech text; bracketed annotations inside a speech line
  are removed from it.
- When inline word timings exist (``<00:00:01.520><c> word</c>``, json3 ``tOffsetMs``) they become
  ``Segment.words`` and then ``Segment.text == join_text_pieces(word texts)``. Captions give word starts
  only: a word ends at the next word's start, but no later than a length-based estimate, so that pauses
  stay visible as gaps between words.
- Parsing is linear in the input size: one pass over the lines, bounded work per cue.
"""

from __future__ import annotations

import codecs
import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from kernel.task_runtime.errors import InvalidInputError, SourceError
from kernel.transcript import Segment, SegmentKind, Word

from .text import TextSize, decode_entities, join_text_pieces, measure_text, needs_space_between

SubtitleFormat = Literal["vtt", "srt", "json3"]


class SubtitleError(SourceError):
    """A subtitle file or text cannot be used.

    Codes: ``subtitle_not_found`` (missing or unreadable file), ``subtitle_empty`` (nothing but
    whitespace, headers or empty cues), ``subtitle_garbled`` (text without any parsable cue),
    ``subtitle_not_utf8`` (not UTF-8 and no encoding given), ``subtitle_decode_failed`` (the given
    encoding does not decode the bytes).
    """

    code = "subtitle_error"


_EXPECTED_SHAPES = (
    "expected WebVTT ('WEBVTT' header, cues like '00:00:01.000 --> 00:00:02.500'), SRT (numbered cues "
    "like '00:00:01,000 --> 00:00:02,500') or YouTube json3 (a JSON object with an 'events' list)"
)

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

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_BLOCK_STARTS = ("WEBVTT", "NOTE", "STYLE", "REGION")
_MAX_OVERLAP_LINES = 8
_ROLLING_SHARE = 0.3
_ROLLING_MAX_GAP = 1.0
_TOUCHING_GAP = 0.05
# Caption words have start times only; their length is estimated as 250 ms + 70 ms a character, within:
_MIN_WORD_MS = 500
_MAX_WORD_MS = 1500

_MAX_NON_SPEECH_SHARE = 0.6
_MIN_WORDS_PER_MINUTE = 15.0
_MIN_SECONDS_FOR_RATE = 60.0


class SubtitleUsability(BaseModel):
    """Whether subtitles can stand in for speech recognition, and why not when they cannot."""

    usable: bool
    reasons: list[str] = Field(default_factory=list)
    speech_words: int
    non_speech_share: float
    words_per_minute: float | None = None


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


@dataclass(slots=True)
class _Piece:
    start: float
    end: float
    text: str
    kind: SegmentKind
    speaker: str | None
    words: list[Word] | None


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


# --- reading -----------------------------------------------------------------------------------------


def read_subtitle_text(path: Path, encoding: str | None = None) -> str:
    """Read and decode a subtitle file (see ``decode_subtitle_bytes``).

    Raises:
        SubtitleError: ``subtitle_not_found``, ``subtitle_not_utf8`` or ``subtitle_decode_failed``.
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SubtitleError(
            f"subtitle file {path.name} does not exist",
            code="subtitle_not_found",
            hint="check the path; it must name an existing .vtt, .srt or .json3 file",
            details={"file": path.name},
        ) from exc
    except OSError as exc:
        raise SubtitleError(
            f"subtitle file {path.name} cannot be read ({exc.strerror or exc})",
            code="subtitle_not_found",
            hint="pass a readable regular file, not a directory or a file without read permission",
            details={"file": path.name},
        ) from exc
    return decode_subtitle_bytes(data, encoding=encoding, source_name=path.name)


def decode_subtitle_bytes(data: bytes, *, encoding: str | None = None, source_name: str = "subtitle text") -> str:
    """Decode subtitle bytes: the given encoding, else a byte-order mark (UTF-8/16/32), else strict UTF-8.

    Raises:
        SubtitleError: ``subtitle_not_utf8`` (no encoding given and not UTF-8), ``subtitle_decode_failed``.
        InvalidInputError: ``invalid_encoding`` for an unknown encoding name.
    """
    codec = encoding
    if codec is None:
        codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if codec is not None:
        try:
            codecs.lookup(codec)
        except LookupError as exc:
            raise InvalidInputError(
                f"unknown text encoding {codec!r} for {source_name}",
                code="invalid_encoding",
                hint="use a Python codec name such as utf-8, utf-16, cp1252 or latin-1",
            ) from exc
        try:
            return data.decode(codec).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            raise SubtitleError(
                f"{source_name} cannot be decoded as {codec} (invalid bytes at offset {exc.start})",
                code="subtitle_decode_failed",
                hint="pass the file's real encoding, or re-save it as UTF-8",
                details={"file": source_name, "encoding": codec, "offset": exc.start},
            ) from exc
    hint = "re-save the file as UTF-8, or pass its encoding explicitly (for example --encoding cp1252)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubtitleError(
            f"{source_name} is not UTF-8 text (invalid byte at offset {exc.start})",
            code="subtitle_not_utf8",
            hint=hint,
            details={"file": source_name, "offset": exc.start},
        ) from exc
    if "\x00" in text:
        raise SubtitleError(
            f"{source_name} contains NUL characters: it looks like UTF-16 text without a byte-order mark",
            code="subtitle_not_utf8",
            hint="re-save the file as UTF-8, or pass its encoding explicitly (for example --encoding utf-16-le)",
            details={"file": source_name},
        )
    return text


def read_subtitle_file(path: Path, encoding: str | None = None) -> list[Segment]:
    """Read, decode and parse a subtitle file; the format is detected from the content.

    Raises:
        SubtitleError: any of its codes (see the class).
        InvalidInputError: ``invalid_encoding``.
    """
    return parse_subtitle_text(read_subtitle_text(path, encoding), source_name=path.name)


# --- parsing -----------------------------------------------------------------------------------------


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


def _empty(source_name: str, what: str) -> SubtitleError:
    return SubtitleError(
        f"subtitles {source_name} {what}",
        code="subtitle_empty",
        hint="choose another subtitle track, or transcribe the audio with speech recognition",
        details={"file": source_name},
    )


def _garbled(source_name: str, what: str) -> SubtitleError:
    return SubtitleError(
        f"subtitles {source_name} cannot be parsed: {what}; {_EXPECTED_SHAPES}",
        code="subtitle_garbled",
        hint="check that the file really is a subtitle file (pass --format if detection guessed wrong)",
        details={"file": source_name},
    )


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


# --- rolling duplicates and segments -----------------------------------------------------------------


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
        if cue.start - previous_end <= _ROLLING_MAX_GAP and (
            _line_overlap(previous, current) or _grows_from(previous[-1], current[0])
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
        for piece in _cue_pieces(cue.start, cue.end, lines):
            last = pieces[-1] if pieces else None
            if (
                not rolling
                and last is not None
                and last.text == piece.text
                and last.kind == piece.kind
                and last.speaker == piece.speaker
                and piece.start <= last.end + _TOUCHING_GAP
            ):
                last.end = max(last.end, piece.end)
                continue
            pieces.append(piece)
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


# --- statistics and usability ------------------------------------------------------------------------


def _speech_size(segments: list[Segment]) -> TextSize:
    size = TextSize()
    for segment in segments:
        if segment.kind == "speech":
            size = size + measure_text(segment.text)
    return size


def _covered_seconds(segments: list[Segment]) -> float:
    """Length of the union of the segments' time ranges."""
    covered = 0.0
    current_start = current_end = -1.0
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.start > current_end:
            covered += max(0.0, current_end - current_start)
            current_start, current_end = segment.start, segment.end
        else:
            current_end = max(current_end, segment.end)
    covered += max(0.0, current_end - current_start)
    return round(covered, 3)


def subtitle_stats(segments: list[Segment]) -> dict[str, int | float]:
    """Counts for reports: cues, speech_cues, non_speech_cues, words, duration_covered (seconds)."""
    speech = sum(1 for segment in segments if segment.kind == "speech")
    return {
        "cues": len(segments),
        "speech_cues": speech,
        "non_speech_cues": len(segments) - speech,
        "words": _speech_size(segments).words,
        "duration_covered": _covered_seconds(segments),
    }


def assess_subtitle_usability(segments: list[Segment], duration: float | None) -> SubtitleUsability:
    """Decide whether subtitles carry the speech well enough to skip speech recognition.

    Unusable when there are no cues or no speech, when more than 60% of the cues or of their covered
    time are non-speech, or when there are fewer than 15 words per minute over at least a minute (the
    media ``duration`` when known, else the span the cues cover). CJK text counts two characters a word.
    """
    reasons: list[str] = []
    speech_words = _speech_size(segments).words
    speech_cues = [s for s in segments if s.kind == "speech"]
    non_speech_cues = len(segments) - len(speech_cues)
    non_speech_seconds = sum(s.end - s.start for s in segments if s.kind == "non_speech")
    all_seconds = sum(s.end - s.start for s in segments)
    cue_share = non_speech_cues / len(segments) if segments else 0.0
    time_share = non_speech_seconds / all_seconds if all_seconds > 0 else cue_share
    non_speech_share = round(max(cue_share, time_share), 3)

    span = (max(s.end for s in segments) - min(s.start for s in segments)) if segments else 0.0
    effective = duration if duration and duration > 0 else span
    words_per_minute = round(speech_words / (effective / 60), 1) if effective > 0 else None

    if not segments:
        reasons.append("The subtitles contain no cues.")
    elif not speech_words:
        reasons.append("The subtitles contain no speech, only non-speech cues such as [Music].")
    else:
        if non_speech_share > _MAX_NON_SPEECH_SHARE:
            reasons.append(
                f"{non_speech_share:.0%} of the subtitle cues (or of the time they cover) are non-speech "
                "cues such as [Music], so the speech is probably not transcribed."
            )
        if (
            words_per_minute is not None
            and effective >= _MIN_SECONDS_FOR_RATE
            and words_per_minute < _MIN_WORDS_PER_MINUTE
        ):
            reasons.append(
                f"The subtitles have only {words_per_minute:g} words per minute over {effective / 60:.1f} "
                "minutes (speech usually has 100 to 180), so most of the speech is missing."
            )
    return SubtitleUsability(
        usable=not reasons,
        reasons=reasons,
        speech_words=speech_words,
        non_speech_share=non_speech_share,
        words_per_minute=words_per_minute,
    )
