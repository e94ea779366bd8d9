"""Aligning output paragraphs back to source sentences: merges, splits and translations."""

from __future__ import annotations

import random

from kernel.long_text.alignment import paragraph_source_starts
from tests.fakes.openai_server import translate_text
from tests.long_text.long_talks import generate_talk

SOURCES = [s.text for s in generate_talk(minutes=10, seed=3).sentences[:80]]


def test_paragraphs_that_regroup_the_sentences_map_to_the_sentence_they_start_with() -> None:
    rng = random.Random(5)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(SOURCES)), 12))
        firsts = [0, *cuts]
        paragraphs = [" ".join(SOURCES[a:b]) for a, b in zip(firsts, [*cuts, len(SOURCES)], strict=True)]
        assert paragraph_source_starts(paragraphs, SOURCES) == firsts


def test_a_translation_in_another_script_maps_within_one_sentence() -> None:
    firsts = list(range(0, len(SOURCES), 5))
    paragraphs = [" ".join(SOURCES[a : a + 5]) for a in firsts]
    translated = translate_text("\n\n".join(paragraphs), "zh").split("\n\n")

    starts = paragraph_source_starts(translated, SOURCES)
    assert all(abs(found - expected) <= 1 for found, expected in zip(starts, firsts, strict=True))


def test_starts_are_monotone_valid_indexes_whatever_the_output() -> None:
    rng = random.Random(9)
    for _ in range(30):
        paragraphs = [" ".join(rng.sample(SOURCES, rng.randint(1, 3))) for _ in range(rng.randint(1, 15))]
        starts = paragraph_source_starts(paragraphs, SOURCES)
        assert starts[0] == 0 and starts == sorted(starts) and all(0 <= s < len(SOURCES) for s in starts)
