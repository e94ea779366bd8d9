"""Subtitle and data exports: SRT, WebVTT and a JSON document of the transcript.

Invariants:
- Cue times are whole milliseconds, each start and end rounded independently from the float seconds
  (so no rounding error accumulates over a long file), never negative, and never overlapping: a cue
  that starts before the previous one ends shortens the previous one (or, if that would leave it
  empty, starts when the previous one ends). Cues come out in time order.
- A cue's text never contains a blank line (it would end the cue early in both formats); cues with no
  text are dropped. Non-speech cues (``[music]``) are kept, without a speaker label.
- Speaker labels: SRT prefixes ``[Speaker 1] `` only when more than one speaker talks; WebVTT uses
  ``<v Speaker 1>`` voice tags whenever speakers are known. Machine ids (``0``, ``SPEAKER_01``) become
  ``Speaker N`` (0-based ids, as Deepgram numbers them, are shown 1-based); readable names are kept.
- The JSON export uses the same cue timings as the subtitle files.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ..transcript import Chapter, NormalizedDocument, Segment, SegmentKind, SourceInfo, TranscriptOrigin

JSON_EXPORT_SCHEMA_VERSION = 1

_MACHINE_SPEAKER = re.compile(r"^(?:speaker_)?(\d+)$", re.IGNORECASE)  # not "Speaker 1": already a label
_BLANK_LINES = re.compile(r"\n\s*\n+")


class TimedCue(BaseModel):
    """One export cue with integer millisecond times."""

    model_config = ConfigDict(frozen=True)

    start_ms: int
    end_ms: int
    text: str
    kind: SegmentKind
    speaker: str | None


class ExportSource(BaseModel):
    id: str
    title: str
    source: str
    source_kind: str
    webpage_url: str | None
    channel: str | None
    upload_date: str | None
    duration: float | None


class ExportSegment(BaseModel):
    start: float
    end: float
    text: str
    kind: SegmentKind
    speaker: str | None


class ExportSentence(BaseModel):
    index: int
    start: float
    end: float
    text: str
    speaker: str | None
    chapter_index: int | None


class JsonExport(BaseModel):
    """The ``output.json`` document."""

    schema_file: ClassVar[str] = "transcript_export"

    schema_version: int = JSON_EXPORT_SCHEMA_VERSION
    source: ExportSource
    language: str | None
    origin: TranscriptOrigin
    segments: list[ExportSegment]
    sentences: list[ExportSentence]
    chapters: list[Chapter]


def speaker_label(speaker: str) -> str:
    """``Speaker N`` for machine ids (``0`` -> ``Speaker 1``, ``SPEAKER_01`` -> ``Speaker 2``), else the name
    itself."""
    match = _MACHINE_SPEAKER.match(speaker.strip())
    if match:
        return f"Speaker {int(match.group(1)) + 1}"
    return " ".join(speaker.split())


def timed_cues(lines: list[Segment]) -> list[TimedCue]:
    """Export-ready cues: ordered, millisecond times, non-overlapping, no empty or multi-paragraph text."""
    cues: list[TimedCue] = []
    for line in sorted(lines, key=lambda segment: segment.start):
        text = _cue_text(line.text)
        if not text:
            continue
        start_ms = max(0, round(line.start * 1000))
        end_ms = max(start_ms, round(line.end * 1000))
        speaker = line.speaker if line.kind == "speech" and line.speaker and line.speaker.strip() else None
        if cues and start_ms < cues[-1].end_ms:
            previous = cues[-1]
            if start_ms > previous.start_ms:
                cues[-1] = previous.model_copy(update={"end_ms": start_ms})
            else:
                start_ms = previous.end_ms
                end_ms = max(end_ms, start_ms)
        cues.append(TimedCue(start_ms=start_ms, end_ms=end_ms, text=text, kind=line.kind, speaker=speaker))
    return cues


def to_srt(lines: list[Segment]) -> str:
    """SubRip text: numbered cues from 1, ``HH:MM:SS,mmm`` times, blank line between cues."""
    cues = timed_cues(lines)
    label_speakers = len({cue.speaker for cue in cues if cue.speaker}) > 1
    blocks = []
    for number, cue in enumerate(cues, start=1):
        text = cue.text.replace("-->", "->")  # an arrow in the text would read as a timing line
        if label_speakers and cue.speaker:
            text = f"[{speaker_label(cue.speaker)}] {text}"
        timing = f"{_timestamp(cue.start_ms, ',')} --> {_timestamp(cue.end_ms, ',')}"
        blocks.append(f"{number}\n{timing}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(lines: list[Segment]) -> str:
    """WebVTT text: ``WEBVTT`` header, ``HH:MM:SS.mmm`` times, ``<v Speaker N>`` voice tags, escaped text."""
    blocks = ["WEBVTT\n"]
    for cue in timed_cues(lines):
        text = _vtt_escape(cue.text)
        if cue.speaker:
            text = f"<v {_vtt_escape(speaker_label(cue.speaker))}>{text}"
        blocks.append(f"{_timestamp(cue.start_ms, '.')} --> {_timestamp(cue.end_ms, '.')}\n{text}\n")
    return "\n".join(blocks)


def to_json_export(info: SourceInfo, doc: NormalizedDocument) -> dict[str, Any]:
    """The JSON export: source facts, language, origin, cue segments, sentences and chapters."""
    export = JsonExport(
        source=ExportSource(
            id=info.id,
            title=info.title,
            source=info.source,
            source_kind=info.source_kind,
            webpage_url=info.webpage_url,
            channel=info.channel,
            upload_date=info.upload_date,
            duration=info.duration,
        ),
        language=doc.language,
        origin=doc.origin,
        segments=[
            ExportSegment(
                start=cue.start_ms / 1000,
                end=cue.end_ms / 1000,
                text=cue.text,
                kind=cue.kind,
                speaker=cue.speaker,
            )
            for cue in timed_cues(doc.subtitle_lines)
        ],
        sentences=[
            ExportSentence(
                index=s.index,
                start=_seconds(s.start),
                end=_seconds(s.end),
                text=s.text,
                speaker=s.speaker,
                chapter_index=s.chapter_index,
            )
            for s in doc.sentences
        ],
        chapters=doc.chapters or info.chapters,
    )
    return export.model_dump(mode="json")


def _cue_text(text: str) -> str:
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    normalized = _BLANK_LINES.sub("\n", normalized)
    return "\n".join(" ".join(line.split()) for line in normalized.split("\n"))


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_timestamp(seconds: float, decimal_mark: str = ".") -> str:
    """``HH:MM:SS.mmm`` (VTT) or, with ``decimal_mark=","``, ``HH:MM:SS,mmm`` (SRT), rounded to milliseconds."""
    return _timestamp(round(seconds * 1000), decimal_mark)


def _timestamp(milliseconds: int, decimal_mark: str) -> str:
    seconds, millis = divmod(milliseconds, 1000)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}{decimal_mark}{millis:03d}"


def _seconds(value: float) -> float:
    return max(0, round(value * 1000)) / 1000
