"""Domain data that crosses phase boundaries: source facts, timed segments, sentences.

These models are what the yt-transcript phases write into their JSON artifacts and read back. They
are the seam between the layers: `source` produces them, `long_text` and `output` consume them.

Invariants:
- Times are seconds from the start of the media, as floats, with ``start <= end``.
- ``Segment.kind == "non_speech"`` marks cues such as ``[music]``: they are kept for the subtitle
  exports but never mixed into sentences.
- ``NormalizedDocument.sentences`` are in time order and indexed ``0..n-1`` with no gaps; every later
  stage (plan cores, merge accounting) refers to sentences by that index.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

TranscriptOrigin = Literal["subtitles", "whisper", "deepgram"]
AsrBackend = Literal["whisper", "deepgram"]  # the speech recognition backends
SegmentKind = Literal["speech", "non_speech"]
# Where a source's date comes from: the site's upload date, a container tag, or the file's modification time.
DateSource = Literal["upload_date", "tag", "file_time"]
SubtitleIssueKind = Literal[
    "timing_unreadable",  # a timing line that cannot be read (or only in part): times taken from the neighbours
    "negative_time",  # a negative start or end: moved to 0 (a negative end is taken from the neighbours)
    "end_before_start",  # the end is before the start: the end is taken from the next cue
    "out_of_order",  # the cue starts before the cue above it: moved into time order
    "overlap",  # the cue starts before the previous one ends: kept as it is
    "duplicate_cue",  # the same text and times as the previous cue: dropped
    "empty_cue",  # a timing line without text: nothing to keep
    "timestamp_variant",  # timestamps such as HH:MM:SS:mmm, read as a decimal fraction of a second
    "rolling_captions",  # rolling auto-captions: repeated lines were merged so each word appears once
    "speaker_label",  # a [Name] or Name: label at the start of a line was read as the speaker
    "replacement_characters",  # U+FFFD characters: the text was damaged before it reached us
    "encoding_detected",  # not UTF-8: the encoding was detected
    "encoding_uncertain",  # not UTF-8, and detection was not sure: pass the encoding explicitly
    "mixed_encoding",  # UTF-8 with a few bytes in a legacy code page: those were read as cp1252
]
SubtitleIssueAction = Literal["dropped", "repaired", "reordered", "kept", "merged", "read"]


class DomainModel(BaseModel):
    """Base for domain models: unknown fields are refused so hand edits fail loudly."""

    model_config = ConfigDict(extra="forbid")


class Chapter(DomainModel):
    title: str
    start: float = Field(ge=0)
    end: float | None = None


class Word(DomainModel):
    start: float
    end: float
    text: str
    probability: float | None = None
    speaker: str | None = None


class Segment(DomainModel):
    """One timed piece of transcript (a subtitle cue or a recognized segment)."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    kind: SegmentKind = "speech"
    speaker: str | None = None
    words: list[Word] | None = None


class SourceInfo(DomainModel):
    """What we know about the source before acquiring it (the ``source.info`` artifact)."""

    schema_file: ClassVar[str] = "source_info"

    schema_version: int = SCHEMA_VERSION
    id: str
    title: str
    source: str  # the URL, or the local file name (never an absolute path)
    source_kind: Literal["url", "file"]
    webpage_url: str | None = None
    channel: str | None = None
    upload_date: str | None = None  # yyyy-mm-dd
    duration: float | None = None
    language: str | None = None
    description: str | None = None
    chapters: list[Chapter] = Field(default_factory=list)
    live_status: str | None = None
    artist: str | None = None  # local media: the container's artist tag
    date_source: DateSource | None = None  # where ``upload_date`` came from


class SubtitleTrack(DomainModel):
    """One available subtitle track, wherever it lives.

    ``origin`` says where: a sidecar file beside local media (``path``, work_dir-independent file name
    relative to the media's folder), a text stream embedded in local media (``stream_index``), or a
    remote track listed by yt-dlp (``url``).
    """

    language: str | None
    kind: Literal["manual", "automatic"] = "manual"
    origin: Literal["sidecar", "embedded", "remote"]
    ext: str
    name: str | None = None
    path: str | None = None
    stream_index: int | None = None
    url: str | None = None
    is_original_language: bool = False  # for automatic captions: the `-orig` / video-language track
    is_translation: bool = False  # machine-translated automatic captions: never a source text


class AudioStream(DomainModel):
    stream_index: int
    codec: str | None = None
    language: str | None = None
    channels: int | None = None
    sample_rate: int | None = None


class SourceTracks(DomainModel):
    """The ``source.tracks`` artifact: what can be acquired."""

    schema_file: ClassVar[str] = "source_tracks"

    schema_version: int = SCHEMA_VERSION
    subtitles: list[SubtitleTrack] = Field(default_factory=list)
    audio: list[AudioStream] = Field(default_factory=list)
    has_audio: bool = False
    # What the site withheld, as discovery learned from yt-dlp ("<code>: <warning>"), for the route's reasons.
    withheld: list[str] = Field(default_factory=list)


class RouteDecision(DomainModel):
    """The ``route.decision`` artifact: which path produces the transcript, and why."""

    schema_file: ClassVar[str] = "route_decision"

    schema_version: int = SCHEMA_VERSION
    route: Literal["subtitles", "asr"]
    track: SubtitleTrack | None = None
    asr_backend: AsrBackend | None = None
    language: str | None = None
    reasons: list[str] = Field(default_factory=list)


class SubtitleIssue(DomainModel):
    """One cue (or the whole file) that subtitle parsing repaired, dropped or read in a way worth knowing.

    ``severity`` is ``warning`` when the transcript's text or timing differs from what the file says, or the
    file is damaged in a way that may matter; ``info`` when it only records how the file was read. ``file``
    is the user's name for the subtitles (a sidecar's own file name, never a work_dir copy); ``line`` is the
    1-based line of the cue's timing line (``None`` for file-level issues and json3 events); ``start`` is the
    cue's start in seconds as used in the transcript. ``message`` is one sentence naming the file and line.
    """

    kind: SubtitleIssueKind
    severity: Literal["warning", "info"]
    action: SubtitleIssueAction
    file: str
    line: int | None = Field(default=None, ge=1)
    start: float | None = None
    message: str


class TranscriptSegments(DomainModel):
    """The ``transcript.segments`` artifact: timed segments from subtitles or speech recognition.

    ``issues`` lists what subtitle parsing repaired, dropped or noticed (empty for speech recognition).
    """

    schema_file: ClassVar[str] = "transcript_segments"

    schema_version: int = SCHEMA_VERSION
    origin: TranscriptOrigin
    language: str | None = None
    segments: list[Segment]
    stats: dict[str, float | int | str] = Field(default_factory=dict)
    issues: list[SubtitleIssue] = Field(default_factory=list)


class Sentence(DomainModel):
    index: int = Field(ge=0)
    start: float
    end: float
    text: str
    speaker: str | None = None
    chapter_index: int | None = None
    pause_before: float = 0.0  # silence between the previous sentence's end and this start


class NormalizedDocument(DomainModel):
    """The ``doc.normalized`` artifact: the transcript as ordered sentences plus export-ready lines."""

    schema_file: ClassVar[str] = "normalized_document"

    schema_version: int = SCHEMA_VERSION
    language: str | None = None
    origin: TranscriptOrigin
    sentences: list[Sentence]
    subtitle_lines: list[Segment]  # shaped lines for SRT/VTT exports (non-speech cues included)
    chapters: list[Chapter] = Field(default_factory=list)
    stats: dict[str, float | int | str] = Field(default_factory=dict)
