"""Subtitle cues grouped for translation: groups that read as sentences, and the ``cues.translated`` result.

A cue is one line of ``NormalizedDocument.subtitle_lines`` (the source exports' cues); cue number ``n`` is
the n-th cue of the source SRT (1-based). Speech cues are translated a group at a time; non-speech cues
(``[music]``) are kept as they are.

The grouping rule (``group_cues``), in order:
1. a group holds consecutive speech cues of one speaker: a non-speech cue, a speaker change or a pause of
   at least ``GROUP_PAUSE_SECONDS`` always ends a group;
2. a group ends after a cue that ends a sentence once it holds at least ``MIN_GROUP_WEIGHT`` weighted
   characters (short sentences are grouped, so the model sees whole thoughts); in a transcript without
   punctuation a pause of at least ``UNPUNCTUATED_PAUSE_SECONDS`` counts as a sentence end;
3. a group never exceeds ``MAX_GROUP_CUES`` cues or ``MAX_GROUP_WEIGHT`` weighted characters: before it
   would, it is cut at the best boundary inside it (sentence end, then clause punctuation or a pause,
   the latest on ties), so the next group starts at a sentence or clause where one exists.
``split_group`` halves a group at the best boundary nearest its middle (the remedy for a group that keeps
failing verification), down to single cues.

Invariants: groups are in cue order, never overlap, and together hold every speech cue exactly once;
a group id (``g00012-00019``) names its first and last cue number, so the ids of the halves of a split
never collide with any other group's. Pure and deterministic.
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar, Literal

from pydantic import Field

from ..text import ends_clause, ends_sentence
from ..transcript import Segment, SubtitleTrack
from .contracts import ContractModel
from .languages import weighted_length

GROUP_PAUSE_SECONDS = 1.5
UNPUNCTUATED_PAUSE_SECONDS = 0.8
MIN_GROUP_WEIGHT = 160.0
MAX_GROUP_WEIGHT = 700.0
MAX_GROUP_CUES = 10
# Fewer sentence ends than one per this many cues: the transcript is treated as unpunctuated.
_PUNCTUATED_MIN_SHARE = 1 / 8
_SENTENCE, _CLAUSE, _PLAIN = 3.0, 2.0, 1.0


class CueGroup(ContractModel):
    """Cues ``first .. stop-1`` (0-based indices into the subtitle lines), all speech."""

    group_id: str
    first: int = Field(ge=0)
    stop: int = Field(ge=1)

    @property
    def size(self) -> int:
        return self.stop - self.first

    @classmethod
    def of(cls, first: int, stop: int) -> CueGroup:
        return cls(group_id=f"g{first + 1:05d}-{stop:05d}", first=first, stop=stop)


CueOrigin = Literal["llm", "reused_track", "source_track"]


class CueTranslation(ContractModel):
    """The ``cues.translated`` artifact: the target-language cues for the translated and bilingual exports.

    ``origin``: ``llm`` (translated group by group: one cue per source cue, with the source timings),
    ``reused_track`` (a manual subtitle track in the target language, with its own timings) or
    ``source_track`` (the transcript itself is already in the target language); None when no translated
    subtitle file was asked for. ``fallback_cues`` are the cue numbers that kept their source line.
    """

    schema_file: ClassVar[str] = "cue_translation"

    schema_version: int = 1
    requested: bool
    origin: CueOrigin | None = None
    target_language: str | None = None
    writer: Literal["endpoint", "agent"] | None = None
    set_id: str | None = None
    cues: list[Segment] = Field(default_factory=list)
    fallback_cues: list[int] = Field(default_factory=list)
    group_states: dict[str, str] = Field(default_factory=dict)  # leaf group id -> work_dir-relative state file
    counts: dict[str, int] = Field(default_factory=dict)
    usage: dict[str, int] = Field(default_factory=dict)
    track: SubtitleTrack | None = None
    stats: dict[str, float | int] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)


def cue_text(line: Segment) -> str:
    """A cue's text on one line (a cue is one numbered line in a prompt)."""
    return " ".join(line.text.split())


def _ends_sentence(text: str, following: str | None) -> bool:
    words = text.split()
    next_words = following.split() if following else []
    return bool(words) and ends_sentence(words[-1], next_words[0] if next_words else None)


def _ends_clause(text: str) -> bool:
    words = text.split()
    return bool(words) and ends_clause(words[-1])


def _boundary_scores(lines: list[Segment], punctuated: bool) -> list[float]:
    """Score of ending a group after cue i (for every cue but the last)."""
    scores: list[float] = []
    for index in range(len(lines) - 1):
        line, following = lines[index], lines[index + 1]
        pause = following.start - line.end
        if _ends_sentence(line.text, following.text) or (not punctuated and pause >= UNPUNCTUATED_PAUSE_SECONDS):
            scores.append(_SENTENCE)
        elif _ends_clause(line.text) or pause >= UNPUNCTUATED_PAUSE_SECONDS:
            scores.append(_CLAUSE)
        else:
            scores.append(_PLAIN)
    return scores


def _hard_break(lines: list[Segment], index: int) -> bool:
    """Whether a group must end after speech cue ``index`` (rule 1)."""
    if index + 1 >= len(lines):
        return True
    line, following = lines[index], lines[index + 1]
    return (following.kind != "speech" or following.speaker != line.speaker
            or following.start - line.end >= GROUP_PAUSE_SECONDS)


def group_cues(lines: list[Segment]) -> list[CueGroup]:
    """The translation groups of ``lines`` (see the module docstring)."""
    speech = [line for line in lines if line.kind == "speech"]
    sentence_ends = sum(_ends_sentence(a.text, b.text) for a, b in pairwise(speech))
    punctuated = sentence_ends >= max(1.0, len(speech) * _PUNCTUATED_MIN_SHARE)
    scores = _boundary_scores(lines, punctuated)
    weights = [weighted_length(line.text) for line in lines]
    groups: list[CueGroup] = []
    first: int | None = None
    index = 0
    while index < len(lines):
        if lines[index].kind != "speech":
            index += 1
            continue
        if first is None:
            first = index
        size = index + 1 - first
        weight = sum(weights[first:index + 1])
        if size > 1 and (size > MAX_GROUP_CUES or weight > MAX_GROUP_WEIGHT):
            cut = _best_cut(scores, first, index)  # end the group before this cue would overflow it
            groups.append(CueGroup.of(first, cut))
            first = cut
            continue
        if _hard_break(lines, index) or (scores[index] == _SENTENCE and weight >= MIN_GROUP_WEIGHT):
            groups.append(CueGroup.of(first, index + 1))
            first = None
        index += 1
    return groups


def _best_cut(scores: list[float], first: int, overflow: int) -> int:
    """Where to end a group ``first .. cut-1`` for ``first < cut <= overflow``: best score, latest on ties."""
    best_cut, best_score = overflow, -1.0
    for cut in range(first + 1, overflow + 1):
        if scores[cut - 1] >= best_score:
            best_cut, best_score = cut, scores[cut - 1]
    return best_cut


def split_group(group: CueGroup, lines: list[Segment]) -> tuple[CueGroup, CueGroup]:
    """Two halves of a group of at least two cues, cut at the best boundary nearest its middle.

    Raises:
        ValueError: the group has a single cue.
    """
    if group.size < 2:
        raise ValueError(f"group {group.group_id} has one cue and cannot be split")
    scores = _boundary_scores(lines, punctuated=True)
    middle = group.first + group.size / 2
    cut = max(range(group.first + 1, group.stop),
              key=lambda c: (scores[c - 1] if c - 1 < len(scores) else _PLAIN, -abs(c - middle), -c))
    return CueGroup.of(group.first, cut), CueGroup.of(cut, group.stop)
