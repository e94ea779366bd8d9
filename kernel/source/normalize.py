"""Normalization: timed transcript segments -> ordered sentences plus export-ready subtitle lines.

Invariants:
- Sentences are indexed ``0..n-1`` in time order with no gaps; every speech token (word, or CJK clause)
  belongs to exactly one sentence, in order. Non-speech segments never reach sentences.
- CJK text from subtitles (no word timings) keeps its clause boundaries: where two cues, or two
  space-separated pieces of one cue, meet without punctuation between CJK letters, a clause comma is
  put (``，``; ``、`` for Japanese), so "很多人都听说过比特币" + "它是一种数字货币" reads
  "很多人都听说过比特币，它是一种数字货币". Recognized words are joined as they are.
- A sentence ends at sentence-final punctuation (Latin or CJK; not after "Dr.", "e.g." or inside
  "3.5"), at a speaker change, and, in a transcript without punctuation (typical auto-captions), at a
  pause of at least 0.8 s. In a punctuated transcript only a pause of 3 s or more ends a sentence.
- No sentence grows beyond about 40 words (80 CJK characters) or 25 s: a longer one is cut at the best
  available boundary (longest pause, clause punctuation, segment boundary), avoiding its first third
  whenever any later boundary exists.
- ``chapter_index`` is the last chapter starting at or before the sentence start (with 0.3 s tolerance
  for rounded chapter times); content before the first chapter belongs to chapter 0.
- Deterministic: the same input always gives the same output.
"""

from __future__ import annotations

from bisect import bisect_right

from kernel.transcript import Chapter, NormalizedDocument, Sentence, TranscriptSegments

from ..text import TextSize, cjk_clause_mark, ends_clause, ends_sentence, join_cjk_clauses, measure_text
from .shaping import TimedToken, segment_tokens, shape_subtitle_lines
from .subtitles import cyclic_gc_paused

PAUSE_SPLIT_SECONDS = 0.8
PUNCTUATED_PAUSE_SPLIT_SECONDS = 3.0
MAX_SENTENCE_WORDS = 40.0
MAX_SENTENCE_SECONDS = 25.0
# A transcript with fewer sentence ends than one per 60 words is treated as unpunctuated.
_PUNCTUATED_MIN_RATE = 1 / 60
_CHAPTER_TOLERANCE_SECONDS = 0.3
_MIN_CUT_SHARE = 1 / 3


def normalize_transcript(transcript: TranscriptSegments, chapters: list[Chapter]) -> NormalizedDocument:
    """Turn the transcript's speech into sentences and all of its segments into subtitle lines."""
    with cyclic_gc_paused():
        return _normalize(transcript, chapters)


def _normalize(transcript: TranscriptSegments, chapters: list[Chapter]) -> NormalizedDocument:
    speech = sorted((s for s in transcript.segments if s.kind == "speech"), key=lambda s: s.start)
    tokens = [token for segment in speech for token in segment_tokens(segment, split_cjk_chars=False)]
    sizes = [measure_text(token.text) for token in tokens]
    units = [size.word_units for size in sizes]
    sentence_ends = [
        ends_sentence(token.text, tokens[i + 1].text if i + 1 < len(tokens) else None) for i, token in enumerate(tokens)
    ]
    punctuated = _is_punctuated(sentence_ends, units)
    pause = PUNCTUATED_PAUSE_SPLIT_SECONDS if punctuated else PAUSE_SPLIT_SECONDS
    ranges = _sentence_ranges(tokens, units, sentence_ends, pause)

    clause_mark = cjk_clause_mark(transcript.language, "".join(token.text for token in tokens[:200]))
    ordered_chapters = sorted(chapters, key=lambda c: c.start)
    chapter_starts = [chapter.start for chapter in ordered_chapters]
    sentences: list[Sentence] = []
    previous_end: float | None = None
    for first, stop in ranges:
        piece = tokens[first:stop]
        start, end = round(piece[0].start, 3), round(max(piece[-1].end, piece[0].start), 3)
        sentences.append(
            Sentence(
                index=len(sentences),
                start=start,
                end=end,
                text=join_cjk_clauses(
                    [token.text for token in piece], _separated_pieces(piece), clause_mark
                ),
                speaker=piece[0].speaker,
                chapter_index=_chapter_index(chapter_starts, start),
                pause_before=round(max(0.0, start - previous_end), 3) if previous_end is not None else 0.0,
            )
        )
        previous_end = end

    total = TextSize()
    for size in sizes:
        total = total + size
    speakers = {sentence.speaker for sentence in sentences if sentence.speaker is not None}
    duration = max((segment.end for segment in transcript.segments), default=0.0)
    stats: dict[str, float | int | str] = {
        "sentences": len(sentences),
        "words": total.words,
        "characters": sum(len(sentence.text) for sentence in sentences),
        "duration": round(duration, 3),
        "non_speech_cues": len(transcript.segments) - len(speech),
        "speakers": len(speakers),
        "sentence_split": "punctuation" if punctuated else "pauses",
    }
    return NormalizedDocument(
        language=transcript.language,
        origin=transcript.origin,
        sentences=sentences,
        subtitle_lines=shape_subtitle_lines(transcript.segments),
        chapters=ordered_chapters,
        stats=stats,
    )


def _separated_pieces(piece: list[TimedToken]) -> list[bool]:
    """For each token: was it set apart from the one before (cue boundary or space), with no word timings?

    Recognized words (``token.word``) are never marked: ASR splits Chinese into words, not clauses.
    """
    return [
        index > 0 and token.word is None and piece[index - 1].word is None for index, token in enumerate(piece)
    ]


def _is_punctuated(sentence_ends: list[bool], units: list[float]) -> bool:
    words = sum(units)
    return words > 0 and sum(sentence_ends) >= max(1.0, words * _PUNCTUATED_MIN_RATE)


def _chapter_index(chapter_starts: list[float], start: float) -> int | None:
    if not chapter_starts:
        return None
    return max(0, bisect_right(chapter_starts, start + _CHAPTER_TOLERANCE_SECONDS) - 1)


def _sentence_ranges(
    tokens: list[TimedToken], units: list[float], sentence_ends: list[bool], pause: float
) -> list[tuple[int, int]]:
    """Token index ranges ``[first, stop)`` of the sentences."""
    ranges: list[tuple[int, int]] = []
    first = 0
    size = 0.0
    for index, token in enumerate(tokens):
        if index > first:
            previous = tokens[index - 1]
            if token.speaker != previous.speaker or token.start - previous.end >= pause:
                ranges.append((first, index))
                first, size = index, 0.0
        while index > first and (
            size + units[index] > MAX_SENTENCE_WORDS or token.end - tokens[first].start > MAX_SENTENCE_SECONDS
        ):
            cut = _best_cut(tokens, units, first, index)
            ranges.append((first, cut))
            first = cut
            size = sum(units[first:index])
        size += units[index]
        if sentence_ends[index]:
            ranges.append((first, index + 1))
            first, size = index + 1, 0.0
    if first < len(tokens):
        ranges.append((first, len(tokens)))
    return ranges


def _best_cut(tokens: list[TimedToken], units: list[float], first: int, overflow: int) -> int:
    """Where to end an over-long sentence ``tokens[first:cut]``, for ``first < cut <= overflow``.

    Scores a boundary by the pause there (capped at 2 s), clause punctuation and segment starts; a
    boundary inside the first third of the limits is used only when no other exists. Latest wins ties.
    """
    best_cut = overflow
    best_score = -1.0
    best_is_early = True
    size = 0.0
    for cut in range(first + 1, overflow + 1):
        before, after = tokens[cut - 1], tokens[cut]
        size += units[cut - 1]
        early = size < MAX_SENTENCE_WORDS * _MIN_CUT_SHARE and (
            before.end - tokens[first].start < MAX_SENTENCE_SECONDS * _MIN_CUT_SHARE
        )
        score = min(max(after.start - before.end, 0.0), 2.0)
        if ends_clause(before.text):
            score += 1.0
        if after.first_in_segment:
            score += 0.5
        if (best_is_early and not early) or (early == best_is_early and score >= best_score):
            best_cut, best_score, best_is_early = cut, score, early
    return best_cut
