"""The live draft: the text speech recognition has produced so far, readable while it runs.

The transcribe phase hands every finished window (``WindowResult``, ``kernel.source.asr.base``) to a
``DraftWriter``, which appends it to ``draft.jsonl`` in the work_dir; ``draft_page`` is the inspect detail
``draft``, which reads it back a page at a time. On the subtitle route there is no recognition and no draft
file: the draft is the transcript's segments once ``transcript.segments`` exists.

Invariants:
- ``draft.jsonl`` holds one ``DraftWindow`` per line, in window order: the window's index, start and end,
  the number of windows, the language, the window's text and its segments (absolute times). Each line is
  one ``append_jsonl`` (a single write, flushed and fsynced); a reader skips a torn last line, so it never
  sees part of a window.
- The phase empties the file when recognition starts (``DraftWriter.start``). A resumed run hands out
  every window again, the finished ones from their checkpoints first, so the file regrows at once to where
  it was; it never holds a window twice, nor one of an earlier recognition.
- A cursor is an index into the transcript's segments. The segments of the file's lines, concatenated, are
  the ``transcript.segments`` the phase publishes (the ``Transcriber`` contract), and a resumed run's draft
  regrows with the same segments, so a cursor keeps its meaning across resumes and after transcription.
- A page holds whole segments, at least one, and at most ``DRAFT_PAGE_MAX_CHARS`` characters and
  ``DRAFT_PAGE_MAX_TOKENS`` tokens of text (unless one segment alone is longer). ``next_cursor`` is set
  when more is recognized already; ``poll_cursor`` is where a later call starts to get only the words
  recognized after this page. A cursor past what is recognized gives an empty page while recognition goes
  on (a resumed draft may still be regrowing) and is refused once recognition is complete.
- The file holds text, times and counts only: no path, no secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError

from ..long_text.deterministic import MAX_PARAGRAPH_WORDS, PARAGRAPH_PAUSE_SECONDS, speaker_label
from ..long_text.tokens import count_tokens
from ..source.asr.base import WindowResult
from ..task_runtime.contracts import Manifest, RunState
from ..task_runtime.errors import CorruptStateError, InvalidInputError
from ..task_runtime.schemas import read_model
from ..task_runtime.store import append_jsonl, atomic_write_bytes, iter_jsonl
from ..task_runtime.workdir import RunDir
from ..text import count_words, join_text_pieces
from ..transcript import SCHEMA_VERSION, DomainModel, RouteDecision, Segment, SourceInfo, TranscriptSegments
from .states import TranscriptState

DRAFT_FILE = "draft.jsonl"
DRAFT_PAGE_MAX_CHARS = 32_000
# A page travels twice in a tool result (a text block and the structured result); both stay well under
# the 25,000 tokens clients accept, with room for the rest of the result.
DRAFT_PAGE_MAX_TOKENS = 6_000
_SENTENCE_END = frozenset(".!?…。！？")

DraftOrigin = Literal["speech_recognition", "subtitles"]


class DraftWindow(DomainModel):
    """One line of ``draft.jsonl``: a finished recognition window."""

    schema_file: ClassVar[str] = "draft_window"

    schema_version: int = SCHEMA_VERSION
    window: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    windows_total: int = Field(ge=1)
    language: str | None = None
    text: str
    segments: list[Segment]


class DraftWriter:
    """Appends each finished window to the run's ``draft.jsonl``; ``on_window`` is a ``WindowCallback``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def start(cls, work_dir: Path) -> DraftWriter:
        """A writer for a fresh draft: the file is emptied, since recognition hands out every window again
        from the first (see the module invariants)."""
        path = work_dir / DRAFT_FILE
        atomic_write_bytes(path, b"")
        return cls(path)

    def on_window(self, result: WindowResult) -> None:
        line = DraftWindow(
            window=result.window.index, start=result.window.start, end=result.window.end,
            windows_total=result.windows_total, language=result.language,
            text=join_text_pieces(s.text for s in result.segments if s.kind == "speech"), segments=result.segments,
        )
        append_jsonl(self.path, line.model_dump(mode="json", exclude_none=True))


def read_draft(path: Path) -> list[DraftWindow]:
    """The complete lines of a draft file, in order (a torn last line is skipped; no file: none).

    Raises:
        CorruptStateError: a complete line is not a ``DraftWindow`` (names the file, line and JSON pointer).
    """
    windows: list[DraftWindow] = []
    for number, record in enumerate(iter_jsonl(path), start=1):
        try:
            windows.append(DraftWindow.model_validate(record))
        except ValidationError as exc:
            first = exc.errors()[0]
            pointer = "".join(f"/{part}" for part in first["loc"])
            raise CorruptStateError(
                f"{DRAFT_FILE} line {number} is not valid: at JSON pointer '{pointer}': {first['msg']}",
                hint="the draft is written again from the start when speech recognition runs again; the "
                     "transcript itself is not affected",
                details={"file": DRAFT_FILE, "line": number, "pointer": pointer},
            ) from exc
    return windows


@dataclass(frozen=True)
class Draft:
    """What is recognized so far, wherever it is read from."""

    segments: list[Segment]
    origin: DraftOrigin | None
    complete: bool
    seconds_done: float | None = None
    seconds_total: float | None = None
    windows_done: int | None = None
    windows_total: int | None = None


def load_draft(run_dir: RunDir, manifest: Manifest) -> Draft:
    """The run's draft: its draft file, else (the subtitle route) its transcript, else nothing yet."""
    duration = _source_duration(run_dir, manifest)
    path = run_dir.path / DRAFT_FILE
    if path.is_file():
        windows = read_draft(path)
        if not windows:
            return Draft([], "speech_recognition", False, 0.0, duration, 0, None)
        total = windows[-1].windows_total
        complete = len(windows) >= total
        return Draft([s for w in windows for s in w.segments], "speech_recognition", complete,
                     windows[-1].end, windows[-1].end if complete else duration, len(windows), total)
    ref = manifest.artifacts.get("transcript.segments")
    if ref is not None and (run_dir.path / ref.path).is_file():
        transcript = read_model(run_dir.path / ref.path, TranscriptSegments)
        end = max((s.end for s in transcript.segments), default=0.0)
        origin: DraftOrigin = "subtitles" if transcript.origin == "subtitles" else "speech_recognition"
        return Draft(transcript.segments, origin, True, end, duration or end)
    return Draft([], _route_origin(run_dir, manifest), False, None, duration)


def draft_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int,
               name: str | None = None) -> dict[str, Any]:
    """inspect detail ``draft``: the text recognized so far from segment ``cursor`` on, one page as plain
    paragraphs, with how far recognition is. Pages are bounded by size, so ``limit`` is not used.

    Raises:
        InvalidInputError: a name (``invalid_option``: this detail shows one thing), or, once recognition is
            complete, a cursor past its end (``invalid_cursor``).
    """
    if name is not None:
        raise InvalidInputError(f"detail 'draft' takes no name (got {name!r})", code="invalid_option",
                                hint="leave name out for this detail", details={"field": "name"})
    draft = load_draft(run_dir, manifest)
    total = len(draft.segments)
    if cursor > total and draft.complete:
        raise InvalidInputError(f"cursor {cursor} is past the end of the draft ({total} segments)",
                                code="invalid_cursor", hint="pass 0, or the next_cursor or poll_cursor of the "
                                "page before", details={"field": "cursor"})
    shown = page_segments(draft.segments[cursor:])
    end = cursor + len(shown)
    next_cursor = end if end < total else None
    text = draft_text(shown)
    page = {
        "text": text, "cursor": cursor, "next_cursor": next_cursor, "poll_cursor": end,
        "segments": len(shown), "segments_total": total, "words": count_words(text),
        "start": shown[0].start if shown else None, "end": shown[-1].end if shown else None,
        "complete": draft.complete, "origin": draft.origin,
        "seconds_done": draft.seconds_done, "seconds_total": draft.seconds_total,
        "windows_done": draft.windows_done, "windows_total": draft.windows_total,
        "status": draft_status(draft, manifest),
    }
    return {"draft": page, "next_cursor": next_cursor}


def page_segments(segments: Sequence[Segment], *, max_chars: int = DRAFT_PAGE_MAX_CHARS,
                  max_tokens: int = DRAFT_PAGE_MAX_TOKENS) -> list[Segment]:
    """The leading segments that fit one page (at least one, when there is any)."""
    chars = tokens = 0
    kept: list[Segment] = []
    for segment in segments:
        chars += len(segment.text) + 2
        tokens += count_tokens(segment.text) + 1
        if kept and (chars > max_chars or tokens > max_tokens):
            break
        kept.append(segment)
    return kept


def draft_text(segments: Sequence[Segment]) -> str:
    """Speech segments as plain paragraphs: a new one after a pause of ``PARAGRAPH_PAUSE_SECONDS``, at a
    speaker change (labelled), or after a sentence once a paragraph has ``MAX_PARAGRAPH_WORDS`` words."""
    paragraphs: list[list[str]] = []
    words = 0.0
    previous: Segment | None = None
    for segment in segments:
        if segment.kind != "speech" or not segment.text.strip():
            continue
        if _starts_paragraph(segment, previous, words):
            paragraphs.append([f"{speaker_label(segment.speaker)}:"] if segment.speaker else [])
            words = 0.0
        paragraphs[-1].append(segment.text)
        words += count_words(segment.text)
        previous = segment
    return "\n\n".join(join_text_pieces(pieces) for pieces in paragraphs)


def _starts_paragraph(segment: Segment, previous: Segment | None, words: float) -> bool:
    if previous is None or segment.speaker != previous.speaker:
        return True
    if segment.start - previous.end >= PARAGRAPH_PAUSE_SECONDS or words >= 2 * MAX_PARAGRAPH_WORDS:
        return True
    return words >= MAX_PARAGRAPH_WORDS and previous.text.rstrip()[-1:] in _SENTENCE_END


def draft_status(draft: Draft, manifest: Manifest) -> str:
    """One line: how far recognition is, or what the run is doing while nothing is recognized yet."""
    state = manifest.state
    if draft.origin == "subtitles" and draft.complete:
        return f"the transcript comes from subtitles ({_seconds(draft.seconds_total)})"
    if draft.complete:
        windows = f", {_windows(draft.windows_total)}" if draft.windows_total else ""
        speech = any(s.kind == "speech" and s.text.strip() for s in draft.segments)
        return f"recognition finished: all {_seconds(draft.seconds_done)}{windows}" + ("" if speech else ", no speech")
    if draft.windows_done:
        done = f"recognized {_seconds(draft.seconds_done)}"
        done += f" of {_seconds(draft.seconds_total)}" if draft.seconds_total else " so far"
        done += f" ({draft.windows_done} of {draft.windows_total} windows)"
        return done if state == TranscriptState.TRANSCRIBING else f"{done}; the run is {state}"
    if state in (RunState.FAILED, RunState.CANCELLED):
        return f"nothing was recognized: the run is {state}"
    running = next((name for name, record in manifest.phases.items() if record.status == "running"), None)
    doing = f"the run is {state}" + (f" ({running})" if running and running != state else "")
    if draft.origin == "subtitles":
        return f"no text yet: the transcript will come from subtitles once they are read; {doing}"
    return f"nothing recognized yet: {doing}"


def _seconds(value: float | None) -> str:
    return f"{round(value or 0.0)} s"


def _windows(count: int) -> str:
    return f"{count} window" if count == 1 else f"{count} windows"


def _source_duration(run_dir: RunDir, manifest: Manifest) -> float | None:
    ref = manifest.artifacts.get("source.info")
    if ref is None or not (run_dir.path / ref.path).is_file():
        return None
    return read_model(run_dir.path / ref.path, SourceInfo).duration


def _route_origin(run_dir: RunDir, manifest: Manifest) -> DraftOrigin | None:
    ref = manifest.artifacts.get("route.decision")
    if ref is None or not (run_dir.path / ref.path).is_file():
        return None
    route = read_model(run_dir.path / ref.path, RouteDecision).route
    return "subtitles" if route == "subtitles" else "speech_recognition"
