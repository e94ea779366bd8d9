"""Sections of the article: the source's chapters, or topic sections found in the transcript itself.

Sections are what the article's ``## `` headings introduce. When the source has chapters, a section is a
chapter (``origin="chapter"``, ``index`` = the chapter index), exactly as before. Without chapters,
``topic_boundaries`` splits the sentences by topic, deterministically and without any network:

1. Lexical cohesion (TextTiling-style): at every gap between two sentences, the cosine similarity of the
   content terms (``keyphrases.lexical_terms``) spoken in the ``BLOCK_SECONDS`` before and after it; the
   *depth* of a gap is how far that similarity dips below the highest similarity within
   ``PEAK_SECONDS`` on either side (a deep valley is a topic change).
2. Greedy, left to right: from the current section start, the next boundary is the best gap between
   ``MIN_SECTION_SECONDS`` and ``MAX_SECTION_SECONDS`` later, scored by depth, the pause before it, a
   real sentence end before it (``deterministic.closes_sentence``, preferred whenever one exists, so a
   heading never interrupts a sentence), and closeness to ``TARGET_SECTION_SECONDS``. A gap that would
   leave less than ``MIN_SECTION_SECONDS`` to the end is not used; when at most
   ``MAX_SECTION_SECONDS`` remain, they are the last section.
3. A document that yields a single section has none (its title is the article's title).

Bounded look-ahead: the boundary after a section starting at time T depends only on the sentences that
start before ``T + MAX_SECTION_SECONDS + LOOKAHEAD_SECONDS`` (the farthest candidate gap plus its right
block and peak window, or the minimum tail, whichever is longer); nothing later can change it, and
sections before it never change again. So sections (and the chunk cores that respect them) computed on a
growing transcript agree with those computed on the whole one once the transcript has reached
``LOOKAHEAD_SECONDS`` beyond the section's latest possible end. Only the last section waits for the end.

Times are the sentences' start times; a transcript without usable times (every start equal) is measured
in words instead (``SECONDS_PER_WORD``). Every function is pure.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..text import measure_text
from ..transcript import NormalizedDocument, Sentence
from .deterministic import chapter_title, closes_sentence
from .keyphrases import cohesion, lexical_terms, section_titles

MIN_SECTION_SECONDS = 180.0
TARGET_SECTION_SECONDS = 300.0
MAX_SECTION_SECONDS = 480.0
BLOCK_SECONDS = 60.0
PEAK_SECONDS = 90.0
LOOKAHEAD_SECONDS = max(MIN_SECTION_SECONDS, BLOCK_SECONDS + PEAK_SECONDS)
SECONDS_PER_WORD = 0.4  # 150 words a minute, for transcripts without times

SectionOrigin = Literal["chapter", "topic"]


@dataclass(frozen=True, slots=True)
class Section:
    """One section: sentences ``first_sentence .. end_sentence - 1``; ``index`` is what
    ``ChunkSpec.chapter_index`` and ``Plan.chapter_titles`` refer to."""

    index: int
    first_sentence: int
    end_sentence: int
    start: float  # the first sentence's start time: the source time of the words the heading introduces
    title: str
    origin: SectionOrigin


def document_sections(doc: NormalizedDocument) -> list[Section]:
    """The document's sections: its chapters when it has any, else its topic sections (maybe none)."""
    sentences = doc.sentences
    if not sentences:
        return []
    if any(sentence.chapter_index is not None for sentence in sentences):
        return _chapter_sections(doc)
    firsts = topic_boundaries(sentences)
    if len(firsts) < 2:
        return []
    ends = [*firsts[1:], len(sentences)]
    texts = [" ".join(s.text for s in sentences[first:end]) for first, end in zip(firsts, ends, strict=True)]
    titles = section_titles(texts, doc.language)
    return [
        Section(index, first, end, sentences[first].start, title, "topic")
        for index, (first, end, title) in enumerate(zip(firsts, ends, titles, strict=True))
    ]


def _chapter_sections(doc: NormalizedDocument) -> list[Section]:
    runs: list[tuple[int, int]] = []  # (chapter index, first sentence)
    for position, sentence in enumerate(doc.sentences):
        index = sentence.chapter_index if sentence.chapter_index is not None else 0
        if not runs or runs[-1][0] != index:
            runs.append((index, position))
    ends = [first for _, first in runs[1:]] + [len(doc.sentences)]
    return [
        Section(index, first, end, doc.sentences[first].start, chapter_title(doc, None, index) or "", "chapter")
        for (index, first), end in zip(runs, ends, strict=True)
    ]


def final_section_count(doc: NormalizedDocument, sections: Sequence[Section]) -> int:
    """How many leading ``sections`` of ``doc``, a transcript still growing at its end, are final: more
    sentences cannot move their boundaries (see the module's bounded look-ahead). A chapter is final once a
    later chapter has begun; a topic section once the transcript reaches ``LOOKAHEAD_SECONDS`` past its
    latest possible end. The last section never is (it waits for the end)."""
    if len(sections) < 2:
        return 0
    if sections[0].origin == "chapter":
        return len(sections) - 1
    positions, _ = timeline(doc.sentences)
    reached = positions[-1]
    final = 0
    for section in sections[:-1]:
        if positions[section.first_sentence] + MAX_SECTION_SECONDS + LOOKAHEAD_SECONDS > reached:
            break
        final += 1
    return final


def section_of_sentences(sections: Sequence[Section], total: int) -> list[int | None]:
    """For each sentence index ``0..total-1``: the index of the section it belongs to (None without any)."""
    owner: list[int | None] = [None] * total
    for section in sections:
        for position in range(section.first_sentence, min(section.end_sentence, total)):
            owner[position] = section.index
    return owner


def section_start_flags(sections: Sequence[Section], total: int) -> list[bool]:
    """For each sentence: does it start a section?"""
    flags = [False] * total
    for section in sections:
        if section.first_sentence < total:
            flags[section.first_sentence] = True
    return flags


def timeline(sentences: Sequence[Sentence]) -> tuple[list[float], float]:
    """Each sentence's position in seconds of speech, and the position of the end."""
    if len(sentences) > 1 and sentences[-1].end - sentences[0].start > 1.0:
        return [sentence.start for sentence in sentences], sentences[-1].end
    # No usable times: measure the position in spoken words instead.
    clock = 0.0
    positions = []
    for sentence in sentences:
        positions.append(clock)
        clock += measure_text(sentence.text).word_units * SECONDS_PER_WORD
    return positions, clock


def topic_boundaries(sentences: Sequence[Sentence]) -> list[int]:
    """The first sentence index of every topic section (``[0]`` for a short text, ``[]`` for none)."""
    if not sentences:
        return []
    times, end_time = timeline(sentences)
    terms = [Counter(lexical_terms(sentence.text)) for sentence in sentences]
    closes = [
        closes_sentence(sentence, sentences[i + 1] if i + 1 < len(sentences) else None)
        for i, sentence in enumerate(sentences)
    ]
    gaps = _GapScores(times, terms)
    firsts = [0]
    while True:
        start = times[firsts[-1]]
        if end_time - start <= MAX_SECTION_SECONDS:
            break
        chosen = _next_boundary(sentences, times, closes, gaps, firsts[-1], end_time)
        if chosen is None:
            break
        firsts.append(chosen)
    return firsts


class _GapScores:
    """Cohesion and depth at sentence gaps, computed on demand (only gaps near candidates are needed)."""

    def __init__(self, times: list[float], terms: list[Counter[str]]) -> None:
        self.times = times
        self.terms = terms
        self._cohesion: dict[int, float] = {}

    def cohesion_at(self, gap: int) -> float:
        """Similarity of the ``BLOCK_SECONDS`` before sentence ``gap`` and the ``BLOCK_SECONDS`` from it."""
        if gap not in self._cohesion:
            at = self.times[gap]
            left_first = bisect_left(self.times, at - BLOCK_SECONDS)
            right_stop = bisect_left(self.times, at + BLOCK_SECONDS)
            left: Counter[str] = Counter()
            for counts in self.terms[left_first:gap]:
                left.update(counts)
            right: Counter[str] = Counter()
            for counts in self.terms[gap : max(right_stop, gap + 1)]:
                right.update(counts)
            self._cohesion[gap] = cohesion(left, right)
        return self._cohesion[gap]

    def depth_at(self, gap: int) -> float:
        at = self.times[gap]
        low = max(1, bisect_left(self.times, at - PEAK_SECONDS))
        high = min(len(self.times) - 1, bisect_right(self.times, at + PEAK_SECONDS) - 1)
        value = self.cohesion_at(gap)
        left_peak = max((self.cohesion_at(g) for g in range(low, gap + 1)), default=value)
        right_peak = max((self.cohesion_at(g) for g in range(gap, high + 1)), default=value)
        return (left_peak - value) + (right_peak - value)


def _next_boundary(
    sentences: Sequence[Sentence],
    times: list[float],
    closes: list[bool],
    gaps: _GapScores,
    first: int,
    end_time: float,
) -> int | None:
    start = times[first]
    low = bisect_left(times, start + MIN_SECTION_SECONDS)
    high = bisect_right(times, start + MAX_SECTION_SECONDS)
    candidates = [
        gap for gap in range(max(low, first + 1), min(high, len(sentences))) if end_time - times[gap] >= MIN_SECTION_SECONDS
    ]
    if not candidates:
        later = [gap for gap in range(max(low, first + 1), len(sentences)) if end_time - times[gap] >= MIN_SECTION_SECONDS]
        return later[0] if later else None
    closed = [gap for gap in candidates if closes[gap - 1]]
    pool = closed or candidates
    best_gap, best_score = pool[0], float("-inf")
    for gap in pool:
        length = times[gap] - start
        score = gaps.depth_at(gap)
        score += 0.5 * min(sentences[gap].pause_before, 3.0) / 3.0
        if sentences[gap].speaker != sentences[gap - 1].speaker:
            score += 0.1
        score -= 0.2 * abs(length - TARGET_SECTION_SECONDS) / (MAX_SECTION_SECONDS - MIN_SECTION_SECONDS)
        if score > best_score:
            best_gap, best_score = gap, score
    return best_gap
