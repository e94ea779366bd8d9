"""Builders of small NormalizedDocuments for the long_text tests (real models, no files)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from kernel.transcript import Chapter, NormalizedDocument, Sentence

SENTENCE_SECONDS = 2.0
DEFAULT_GAP = 0.3

_LATIN_TEXT = (
    "the model reads every line and then we check the numbers again because release notes matter "
    "people asked about pricing while servers kept running through the night so engineers wrote tests"
)
_LATIN_WORDS = _LATIN_TEXT.split(" ")
_CJK_CHARS = "我们今天讨论模型训练数据质量以及发布计划大家关心价格服务器稳定性工程师测试结果"


def make_doc(
    texts: Sequence[str],
    *,
    language: str | None = "en",
    pauses: dict[int, float] | None = None,
    speakers: Sequence[str | None] | None = None,
    chapters: Sequence[tuple[int, str]] = (),
) -> NormalizedDocument:
    """A document of ``texts``; ``pauses`` maps sentence index -> silence before it; ``chapters`` lists
    ``(first sentence index, title)`` in order."""
    pauses = pauses or {}
    sentences: list[Sentence] = []
    starts: list[float] = []
    clock = 0.0
    for index, text in enumerate(texts):
        gap = pauses.get(index, DEFAULT_GAP if index else 0.0)
        clock += gap
        starts.append(clock)
        sentences.append(
            Sentence(
                index=index,
                start=round(clock, 3),
                end=round(clock + SENTENCE_SECONDS, 3),
                text=text,
                speaker=speakers[index] if speakers else None,
                chapter_index=None,
                pause_before=round(gap, 3),
            )
        )
        clock += SENTENCE_SECONDS
    chapter_models: list[Chapter] = []
    if chapters:
        for number, (first, title) in enumerate(chapters):
            chapter_models.append(Chapter(title=title, start=0.0 if number == 0 else starts[first]))
        bounds = [first for first, _ in chapters]
        for sentence in sentences:
            sentence.chapter_index = max(i for i, first in enumerate(bounds) if first <= sentence.index or i == 0)
    return NormalizedDocument(
        language=language, origin="subtitles", sentences=sentences, subtitle_lines=[], chapters=chapter_models
    )


def random_sentence(rng: random.Random, *, cjk: bool = False) -> str:
    if cjk:
        length = rng.randint(4, 40)
        return "".join(rng.choice(_CJK_CHARS) for _ in range(length)) + "。"
    length = rng.randint(2, 30)
    words = [rng.choice(_LATIN_WORDS) for _ in range(length)]
    return " ".join(words).capitalize() + "."


def random_doc(rng: random.Random, *, cjk: bool = False, max_sentences: int = 120) -> NormalizedDocument:
    """A random document: random sentence lengths and pauses, chapters about half of the time."""
    count = rng.randint(1, max_sentences)
    texts = [random_sentence(rng, cjk=cjk) for _ in range(count)]
    pauses = {i: rng.choice([0.1, 0.5, 1.5, 3.0]) for i in range(1, count)}
    chapters: list[tuple[int, str]] = []
    if rng.random() < 0.5 and count > 1:
        firsts = sorted(rng.sample(range(1, count), k=min(count - 1, rng.randint(1, 6))))
        chapters = [(0, "Intro")] + [(first, f"Part {n}") for n, first in enumerate(firsts, start=1)]
    return make_doc(texts, language="zh" if cjk else "en", pauses=pauses, chapters=chapters)


def word_counter(text: str) -> int:
    """A stand-in token counter: one token per Latin word, one per CJK character (about 1.3 per char in
    real tokenizers, but the plan only needs a monotone, additive counter)."""
    tokens = 0
    for piece in text.split():
        cjk = sum(1 for char in piece if "\u4e00" <= char <= "\u9fff")
        tokens += cjk if cjk else 1
    return tokens
