"""Topic sections: found near real topic changes, bounded in length, stable while a transcript grows."""

from __future__ import annotations

import itertools
import re

import pytest

from kernel.long_text.keyphrases import section_titles
from kernel.long_text.sections import (
    LOOKAHEAD_SECONDS,
    MAX_SECTION_SECONDS,
    MIN_SECTION_SECONDS,
    document_sections,
    topic_boundaries,
)
from kernel.source.normalize import normalize_transcript
from kernel.source.subtitles import parse_subtitle_text
from kernel.transcript import NormalizedDocument, TranscriptSegments
from tests.long_text.long_talks import GeneratedTalk, generate_talk, manual_vtt
from tests.long_text.sentence_docs import make_doc


def normalized(talk: GeneratedTalk) -> NormalizedDocument:
    segments = parse_subtitle_text(manual_vtt(talk)).segments
    return normalize_transcript(TranscriptSegments(origin="subtitles", language=talk.language, segments=segments), [])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_topic_sections_start_near_the_real_topic_changes_and_stay_within_bounds(language: str) -> None:
    talk = generate_talk(language=language, minutes=60, seed=1)
    doc = normalized(talk)
    sections = document_sections(doc)

    changes = [start for start in talk.topic_starts[1:] if talk.duration - start >= MIN_SECTION_SECONDS]
    near = [any(abs(s.start - change) <= 75 for s in sections) for change in changes]
    assert sum(near) >= 0.8 * len(changes)
    ends = [s.start for s in sections[1:]] + [doc.sentences[-1].end]
    for section, end in zip(sections, ends, strict=True):
        assert MIN_SECTION_SECONDS - 10 <= end - section.start <= MAX_SECTION_SECONDS + 10
    assert next(s.first_sentence for s in sections) == 0
    assert all(a.end_sentence == b.first_sentence for a, b in itertools.pairwise(sections))


def test_titles_are_distinct_key_phrases_from_the_section_not_numbers() -> None:
    talk = generate_talk(minutes=60, seed=1)
    doc = normalized(talk)
    sections = document_sections(doc)
    titles = [s.title for s in sections]

    assert len({t.lower() for t in titles}) == len(titles)
    assert not any(re.fullmatch(r"(Part|Section|Chapter) \d+", t) for t in titles)
    for section in sections:
        text = " ".join(s.text.lower() for s in doc.sentences[section.first_sentence : section.end_sentence])
        assert all(word.lower() in text for word in section.title.replace(" and ", " ").split())


def test_sections_of_a_growing_transcript_never_change_once_the_look_ahead_has_passed() -> None:
    doc = normalized(generate_talk(minutes=45, seed=7))
    full = topic_boundaries(doc.sentences)
    for cut_time in (900.0, 1500.0, 2100.0):
        prefix = [s for s in doc.sentences if s.start < cut_time]
        partial = topic_boundaries(prefix)
        starts = [doc.sentences[i].start for i in full]
        settled = [i for i, first in zip(full[1:], starts, strict=False) if first + MAX_SECTION_SECONDS + LOOKAHEAD_SECONDS <= cut_time]
        assert settled and partial[1 : len(settled) + 1] == settled


def test_a_short_talk_has_no_sections_and_chapters_are_the_sections_when_present() -> None:
    short = make_doc([f"Sentence number {n} about ovens." for n in range(40)])
    chaptered = make_doc(["One.", "Two.", "Three."], chapters=[(0, "Intro"), (2, "Main part")])

    assert document_sections(short) == []
    sections = document_sections(chaptered)
    assert [(s.index, s.first_sentence, s.title, s.origin) for s in sections] == [
        (0, 0, "Intro", "chapter"), (1, 2, "Main part", "chapter")]


def test_a_transcript_without_times_is_measured_in_words() -> None:
    talk = generate_talk(minutes=30, seed=2)
    doc = normalized(talk)
    for sentence in doc.sentences:
        sentence.start = sentence.end = sentence.pause_before = 0.0
    assert len(document_sections(doc)) >= 3


def test_chinese_titles_are_whole_words() -> None:
    texts = ["比特币是一种数字货币。比特币的矿工很多。我们聊比特币和区块链，区块链很重要。",
             "咖啡豆要新鲜。咖啡豆的烘焙很重要，烘焙决定味道。"]
    titles = section_titles(texts, "zh")
    assert titles[0].startswith("比特币") and "比特币"[:2] + "币" in titles[0]
    assert titles[1].startswith(("咖啡豆", "烘焙"))
