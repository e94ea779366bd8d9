"""Segment shaping: timed segments -> stable subtitle lines for the SRT/VTT exports.

Invariants:
- Every speech token of the input appears in exactly one output line, in order: nothing is lost or
  repeated (lines are re-split and merged, never rewritten).
- Output lines are sorted by start, do not overlap (``line.end <= next.start``) and have ``start <= end``.
- A line stays within ``max_duration`` and ``max_chars`` unless a single word alone exceeds them.
- Non-speech segments stay lines of their own; a speaker change always starts a new line.
- Splits prefer sentence ends, then clause punctuation or pauses, then word (or CJK character)
  boundaries, and avoid leaving a tiny first piece. Word timings are used when present; otherwise times
  are interpolated in proportion to characters.
- Deterministic and linear: each token is scanned a bounded number of times.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from kernel.task_runtime.errors import InvalidInputError
from kernel.transcript import Segment, SegmentKind, Word

from ..text import ends_clause, ends_sentence, join_text_pieces, needs_space_between, split_text_tokens

_PAUSE_BREAK_SECONDS = 0.8
_MAX_MERGE_GAP_SECONDS = 1.0
_SMALL_PIECE_SHARE = 0.3

_WORD_BOUNDARY = 1.0
_CLAUSE_BOUNDARY = 2.0
_SENTENCE_BOUNDARY = 3.0
_SMALL_PIECE_SCORE = 0.5


@dataclass(slots=True)
class TimedToken:
    """One word (or CJK character or clause) with its time; ``word`` is the source Word when there was one."""

    text: str
    start: float
    end: float
    speaker: str | None
    word: Word | None
    first_in_segment: bool = False


@dataclass(slots=True)
class _Line:
    start: float
    end: float
    text: str
    kind: SegmentKind
    speaker: str | None
    words: list[Word] | None


def segment_tokens(segment: Segment, *, split_cjk_chars: bool) -> list[TimedToken]:
    """The segment as timed tokens: its words when present, else its text with interpolated times.

    Without words, CJK text splits into clauses, or into single characters with ``split_cjk_chars``.
    """
    tokens: list[TimedToken] = []
    if segment.words:
        for word in segment.words:
            text = word.text.strip()
            if text:
                start = word.start if word.start > 0 else 0.0
                end = word.end if word.end > start else start
                tokens.append(TimedToken(text, start, end, word.speaker or segment.speaker, word))
    else:
        pieces = split_text_tokens(segment.text, cjk_chars=split_cjk_chars)
        total = sum(len(piece) for piece in pieces) or 1
        span = max(segment.end - segment.start, 0.0)
        done = 0
        for piece in pieces:
            start = segment.start + span * done / total
            done += len(piece)
            tokens.append(TimedToken(piece, start, segment.start + span * done / total, segment.speaker, None))
    if tokens:
        tokens[0].first_in_segment = True
    return tokens


def shape_subtitle_lines(
    segments: list[Segment],
    *,
    max_duration: float = 7.0,
    max_chars: int = 84,
    min_duration: float = 1.0,
) -> list[Segment]:
    """Re-split long segments and merge tiny ones into readable, non-overlapping subtitle lines.

    Raises:
        InvalidInputError: ``invalid_shaping_limits`` when a limit is not positive.
    """
    if max_duration <= 0 or max_chars <= 0 or min_duration < 0:
        raise InvalidInputError(
            f"subtitle line limits must be positive (max_duration={max_duration}, max_chars={max_chars}, "
            f"min_duration={min_duration})",
            code="invalid_shaping_limits",
            hint="pass max_duration > 0, max_chars > 0 and min_duration >= 0",
        )
    lines: list[_Line] = []
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.kind == "non_speech":
            if segment.text.strip():
                lines.append(_Line(segment.start, segment.end, segment.text.strip(), "non_speech", None, None))
            continue
        text = segment.text.strip()
        fits = segment.end - segment.start <= max_duration and len(text) <= max_chars
        if text and fits and _single_speaker(segment):
            speaker = segment.words[0].speaker if segment.words else None
            lines.append(_Line(segment.start, segment.end, text, "speech", speaker or segment.speaker, segment.words))
        else:
            lines.extend(_split_segment(segment, max_duration, max_chars))
    lines = _merge_short_lines(lines, max_duration, max_chars, min_duration)
    return _finalize(lines, min_duration)


def _single_speaker(segment: Segment) -> bool:
    if not segment.words:
        return True
    first = segment.words[0].speaker
    return all(word.speaker == first for word in segment.words)


def _boundary_scores(tokens: list[TimedToken]) -> list[float]:
    """Score of breaking after token i (sentence end > clause end or pause > plain word boundary)."""
    scores: list[float] = []
    for index in range(len(tokens) - 1):
        token, following = tokens[index], tokens[index + 1]
        if ends_sentence(token.text, following.text):
            scores.append(_SENTENCE_BOUNDARY)
        elif ends_clause(token.text) or following.start - token.end >= _PAUSE_BREAK_SECONDS:
            scores.append(_CLAUSE_BOUNDARY)
        else:
            scores.append(_WORD_BOUNDARY)
    return scores


def _joined_length(tokens: list[TimedToken], start: int, stop: int) -> tuple[int, str]:
    length = 0
    last = ""
    for token in tokens[start:stop]:
        if last and needs_space_between(last, token.text[0]):
            length += 1
        length += len(token.text)
        last = token.text[-1]
    return length, last


def _split_segment(segment: Segment, max_duration: float, max_chars: int) -> list[_Line]:
    tokens = segment_tokens(segment, split_cjk_chars=True)
    if not tokens:
        return []
    scores = _boundary_scores(tokens)
    count = len(tokens)
    cuts: list[int] = []
    first = 0
    length = 0
    last_char = ""
    index = 0
    while index < count:
        token = tokens[index]
        if index == first:
            length, last_char = len(token.text), token.text[-1]
            index += 1
            continue
        if token.speaker != tokens[index - 1].speaker:
            cuts.append(index)
            first = index
            continue
        added = len(token.text) + (1 if needs_space_between(last_char, token.text[0]) else 0)
        piece_start = segment.start if first == 0 else tokens[first].start
        if length + added > max_chars or token.end - piece_start > max_duration:
            cut = _best_cut(tokens, scores, first, index, piece_start, max_duration, max_chars)
            cuts.append(cut)
            first = cut
            length, last_char = _joined_length(tokens, first, index)
            continue
        length += added
        last_char = token.text[-1]
        index += 1
    lines: list[_Line] = []
    bounds = [0, *cuts, count]
    for start_index, stop_index in pairwise(bounds):
        piece = tokens[start_index:stop_index]
        start = segment.start if start_index == 0 else piece[0].start
        end = max(segment.end, piece[-1].end) if stop_index == count else piece[-1].end
        words = [token.word for token in piece if token.word is not None] if segment.words else None
        text = join_text_pieces(token.text for token in piece)
        lines.append(_Line(start, max(end, start), text, "speech", piece[0].speaker, words))
    return lines


def _best_cut(
    tokens: list[TimedToken],
    scores: list[float],
    first: int,
    overflow: int,
    piece_start: float,
    max_duration: float,
    max_chars: int,
) -> int:
    """Pick where to end the piece ``tokens[first:cut]``, for ``first < cut <= overflow``.

    The best-scoring boundary wins, the latest on ties; a boundary that would leave a piece under 30% of
    both limits scores below a plain word boundary, so "Yes. And then..." does not strand "Yes.".
    """
    best_cut = overflow
    best_score = -1.0
    length = 0
    last = ""
    for cut in range(first + 1, overflow + 1):
        token = tokens[cut - 1]
        if last and needs_space_between(last, token.text[0]):
            length += 1
        length += len(token.text)
        last = token.text[-1]
        score = scores[cut - 1]
        small = length < _SMALL_PIECE_SHARE * max_chars and (
            token.end - piece_start < _SMALL_PIECE_SHARE * max_duration
        )
        if small:
            score = min(score, _SMALL_PIECE_SCORE)
        if score >= best_score:
            best_cut, best_score = cut, score
    return best_cut


def _can_merge(left: _Line, right: _Line, max_duration: float, max_chars: int) -> bool:
    return (
        left.kind == "speech"
        and right.kind == "speech"
        and left.speaker == right.speaker
        and right.start - left.end <= _MAX_MERGE_GAP_SECONDS
        and right.end - left.start <= max_duration
        and len(left.text) + 1 + len(right.text) <= max_chars
    )


def _merge_short_lines(lines: list[_Line], max_duration: float, max_chars: int, min_duration: float) -> list[_Line]:
    merged: list[_Line] = []
    for line in lines:
        previous = merged[-1] if merged else None
        short = line.end - line.start < min_duration
        if (
            previous is not None
            and (short or previous.end - previous.start < min_duration)
            and _can_merge(previous, line, max_duration, max_chars)
        ):
            words = previous.words + line.words if previous.words and line.words else None
            merged[-1] = _Line(
                previous.start,
                max(previous.end, line.end),
                join_text_pieces((previous.text, line.text)),
                "speech",
                previous.speaker,
                words,
            )
        else:
            merged.append(line)
    return merged


def _finalize(lines: list[_Line], min_duration: float) -> list[Segment]:
    lines.sort(key=lambda line: line.start)
    for index in range(len(lines) - 1):
        current, following = lines[index], lines[index + 1]
        if current.end > following.start:
            if following.start > current.start:
                current.end = following.start
            else:  # same start (overlapping cues): share the common time
                boundary = (current.start + min(current.end, following.end)) / 2
                current.end = boundary
                following.start = max(following.start, boundary)
    for index, line in enumerate(lines):
        if line.end - line.start < min_duration:
            wanted = line.start + min_duration
            if index + 1 < len(lines):
                wanted = min(wanted, lines[index + 1].start)
            line.end = max(line.end, wanted)
    return [_to_segment(line) for line in lines]


def _to_segment(line: _Line) -> Segment:
    start, end = round(line.start, 3), round(line.end, 3)
    words = line.words
    if words and any(word.start < start or word.end > end for word in words):
        words = [
            word.model_copy(update={"start": min(max(word.start, start), end), "end": min(max(word.end, start), end)})
            for word in words
        ]
    return Segment(start=start, end=end, text=line.text, kind=line.kind, speaker=line.speaker, words=words)
