"""Glossary: the names and terms whose spelling must survive the transformation.

Sources, in this order of priority: the user's terms, then proper nouns and brand-like tokens from the
title, the description and the chapter titles, then terms that repeat in the transcript.

What counts as a term:
- brand-like tokens anywhere: CamelCase ("YouTube", "iPhone", "OpenAI"), acronyms ("NASA", "API";
  not taken from ALL-CAPS text, where every word looks like one), letter+digit names ("GPT-4", "M2");
- capitalized words and multi-word names that do not start a sentence, in sentence-case text (a
  Title-Case title capitalizes every word, so there a word only counts when the description or the
  transcript also capitalizes it mid-sentence);
- in the transcript: such proper nouns occurring at least twice, and for Chinese/Japanese text 2-4
  character n-grams occurring at least three times (the longest form of a repeated phrase wins).

Bounded look-ahead: the transcript terms come from the sentences of its first ``GLOSSARY_SECONDS`` (by the
timeline of ``sections.timeline``: start times, or spoken words without usable times). So the glossary of a
growing transcript is final once the transcript reaches that point (``glossary_is_final``), and a plan, its
chunk sizes and every chunk's prompt can be computed while speech recognition is still running, with the
same result as on the whole transcript. Terms first repeated later are not protected.

Invariants: deterministic order (priority, then first appearance or frequency), case-insensitive
deduplication, at most ``limit`` terms except that user terms are always all kept. Pure functions.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from ..text import contains_cjk
from ..transcript import NormalizedDocument, Sentence
from .contracts import GlossaryTerm
from .sections import timeline

__all__ = ["GlossaryTerm", "build_glossary", "extract_terms", "terms_in"]

TermSource = Literal["title", "description", "chapter", "repeated", "user"]

GLOSSARY_SECONDS = 600.0  # the transcript terms come from this much of the start of the transcript
MIN_REPEATS_LATIN = 2
MIN_REPEATS_CJK = 3
MAX_CJK_TERMS = 15

_STOP_CAPITALIZED = frozenset(
    " ".join(
        [
            "i i'm i've i'll i'd a an the and but or so if then this that these those it its we you he she",
            "they my our your his her their what when where why how who which there here yes no ok okay hi",
            "hello hey well now today also just in on at of for to from with by as is are was were be not do",
            "does did can will would should could let let's thanks thank please oh uh um mr mrs ms dr",
            "monday tuesday wednesday thursday friday saturday sunday",
        ]
    ).split()
)
_CJK_STOP_CHARS = frozenset(
    "的了是我你他她它们这那在就也都和有不一个吗呢吧啊呀嗯哦么什要会说到对还很没把被让给着过与及或而但所以因为如果"
)

_CAMEL = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,9}s?\b")
_ALNUM_NAME = re.compile(r"\b[A-Za-z]+-?\d+[A-Za-z]*\b")
_CAPITALIZED_RUN = re.compile(r"[A-Z][a-z\u00e0-\u00ff][\w'’\-]*(?:\s+[A-Z][a-z\u00e0-\u00ff][\w'’\-]*){0,3}")
_SENTENCE_OPENERS = frozenset('.!?:;\n"“([…')
_CLOSING_QUOTES = frozenset("'\"”’)")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u30a0-\u30ff\uf900-\ufaff]+")


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha() and c.isascii()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.6


def _is_title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", text) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.7


def brand_tokens(text: str) -> list[str]:
    """CamelCase words, acronyms (unless the text is ALL CAPS) and letter+digit names, in order."""
    spans: list[tuple[int, str]] = []
    patterns = [_CAMEL, _ALNUM_NAME] if _is_shouting(text) else [_CAMEL, _ACRONYM, _ALNUM_NAME]
    for pattern in patterns:
        spans += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    spans.sort()
    return [token for _, token in spans if token.lower() not in _STOP_CAPITALIZED and not token.isdigit()]


def _starts_sentence(text: str, start: int) -> bool:
    """Whether position ``start`` begins a sentence (looks back over spaces only, so it is O(1))."""
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0:
        return True
    char = text[i]
    if char in _SENTENCE_OPENERS:
        return True
    return char in _CLOSING_QUOTES and i > 0 and text[i - 1] in ".!?"


def mid_sentence_names(text: str) -> list[str]:
    """Capitalized words and runs of up to four capitalized words that are not just a sentence start."""
    names: list[str] = []
    for match in _CAPITALIZED_RUN.finditer(text):
        words = match.group(0).split()
        if _starts_sentence(text, match.start()):
            while words and words[0].lower() in _STOP_CAPITALIZED:
                words = words[1:]
            if len(words) < 2:
                continue  # a lone capitalized word at a sentence start proves nothing
        if len(words) == 1 and (words[0].lower() in _STOP_CAPITALIZED or _CAMEL.fullmatch(words[0])):
            continue  # CamelCase words are brand tokens already
        if words:
            names.append(" ".join(words))
    return names


def extract_terms(text: str, *, confirmed: Iterable[str] = (), headline: bool = False) -> list[str]:
    """Terms in one metadata text (title, description, chapter title).

    In a headline (a title: capitalization there is style), or in Title-Case or ALL-CAPS text, a
    capitalized name counts only when it is in ``confirmed`` (names seen capitalized mid-sentence
    elsewhere, compared case-insensitively); the longest confirmed run of words wins.
    """
    terms = brand_tokens(text)
    if not (headline or _is_title_case(text) or _is_shouting(text)):
        return terms + mid_sentence_names(text)
    confirmed_keys = {c.casefold() for c in confirmed}
    for match in _CAPITALIZED_RUN.finditer(text):
        terms += _confirmed_spans(match.group(0).split(), confirmed_keys)
    return terms


def _confirmed_spans(words: list[str], confirmed_keys: set[str]) -> list[str]:
    found: list[str] = []
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            candidate = " ".join(words[start:end])
            if candidate.casefold() in confirmed_keys:
                found.append(candidate)
                start = end
                break
        else:
            start += 1
    return found


def _repeated_latin_terms(text: str) -> list[tuple[str, int]]:
    """Terms occurring at least twice, most frequent first (ties: first appearance first)."""
    counts = Counter(brand_tokens(text) + mid_sentence_names(text))
    repeated = [(term, count) for term, count in counts.items() if count >= MIN_REPEATS_LATIN]
    return sorted(repeated, key=lambda item: -item[1])


def repeated_cjk_terms(
    text: str, *, min_count: int = MIN_REPEATS_CJK, limit: int = MAX_CJK_TERMS
) -> list[str]:
    """Repeated 2-4 character CJK n-grams: the longest, earliest form of each phrase, most frequent first."""
    counts: Counter[str] = Counter()
    first_position: dict[str, int] = {}
    for run_match in _CJK_RUN.finditer(text):
        run = run_match.group(0)
        for size in (2, 3, 4):
            for start in range(len(run) - size + 1):
                gram = run[start : start + size]
                if gram[0] in _CJK_STOP_CHARS or gram[-1] in _CJK_STOP_CHARS:
                    continue
                counts[gram] += 1
                first_position.setdefault(gram, run_match.start() + start)
    frequent = {gram: count for gram, count in counts.items() if count >= min_count}
    kept: list[str] = []
    seen: list[str] = []
    for gram in sorted(frequent, key=lambda g: (-len(g), -frequent[g], first_position[g])):
        # Without word segmentation, a phrase repeated N times yields many overlapping n-grams with about
        # N occurrences each; keep the first (longest, earliest) and drop its substrings and overlaps.
        same = any(_same_phrase(gram, other) and frequent[gram] <= frequent[other] * 1.25 for other in seen)
        seen.append(gram)
        if not same:
            kept.append(gram)
    kept.sort(key=lambda g: (-frequent[g] * len(g), first_position[g]))
    return kept[:limit]


def _same_phrase(gram: str, other: str) -> bool:
    if gram in other:
        return True
    overlap = min(len(gram), len(other)) - 1
    return any(other.endswith(gram[:n]) or gram.endswith(other[:n]) for n in range(2, overlap + 1))


def build_glossary(
    title: str,
    description: str | None,
    chapter_titles: list[str],
    doc: NormalizedDocument,
    user_terms: list[str],
    *,
    limit: int = 40,
) -> list[GlossaryTerm]:
    """The run's glossary: user terms first, then metadata terms, then terms repeated in the first
    ``GLOSSARY_SECONDS`` of the transcript."""
    transcript = "\n".join(s.text for s in doc.sentences[: glossary_span(doc.sentences)])
    description = description or ""
    confirmed = mid_sentence_names(description) + mid_sentence_names(transcript)

    candidates: list[tuple[str, TermSource]] = [(t, "user") for t in user_terms]
    candidates += [(t, "title") for t in extract_terms(title, confirmed=confirmed, headline=True)]
    if contains_cjk(title):
        candidates += [(t, "title") for t in _cjk_title_terms(title, transcript)]
    candidates += [(t, "description") for t in extract_terms(description, confirmed=confirmed)]
    for chapter in chapter_titles:
        candidates += [(t, "chapter") for t in extract_terms(chapter, confirmed=confirmed, headline=True)]
    candidates += [(t, "repeated") for t, _ in _repeated_latin_terms(transcript)]
    if contains_cjk(transcript):
        candidates += [(t, "repeated") for t in repeated_cjk_terms(transcript)]

    glossary: list[GlossaryTerm] = []
    seen: set[str] = set()
    for raw, source in candidates:
        term = " ".join(raw.split())
        if source != "user":
            term = term.strip(" ,.;:!?\"'“”()[]")
        key = term.casefold()
        if not term or key in seen:
            continue
        if source != "user" and len(glossary) >= limit:
            continue
        seen.add(key)
        glossary.append(GlossaryTerm(term=term, source=source))
    return glossary


def glossary_span(sentences: Sequence[Sentence]) -> int:
    """How many leading sentences the glossary reads: those starting within ``GLOSSARY_SECONDS``."""
    positions, _ = timeline(sentences)
    return bisect_left(positions, GLOSSARY_SECONDS + (positions[0] if positions else 0.0))


def glossary_is_final(sentences: Sequence[Sentence]) -> bool:
    """Whether more sentences after these could still change the glossary (False) or not (True)."""
    return glossary_span(sentences) < len(sentences)


def _cjk_title_terms(title: str, transcript: str) -> list[str]:
    """CJK n-grams of the title that the transcript repeats (at least twice)."""
    grams = [g for g in repeated_cjk_terms(title + "\n" + transcript, min_count=2, limit=200) if g in title]
    return [g for g in grams if transcript.count(g) >= 2]


def _term_pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term)
    if contains_cjk(term):
        return re.compile(escaped)
    # Short all-caps terms ("AI", "API") only match as written, or "ai" in other words' places would count.
    flags = 0 if (term.isupper() and len(term) <= 4) else re.IGNORECASE
    return re.compile(rf"(?<![\w]){escaped}(?![\w])", flags)


def term_occurs(term: str, text: str) -> bool:
    return _term_pattern(term).search(text) is not None


def terms_in(text: str, glossary: Sequence[GlossaryTerm]) -> list[GlossaryTerm]:
    """The glossary terms occurring in ``text`` (whole words for Latin terms), in glossary order."""
    return [entry for entry in glossary if term_occurs(entry.term, text)]


def is_brand_like(term: str) -> bool:
    """CamelCase, acronym or letter+digit: a term that stays verbatim even in translation."""
    return bool(
        _CAMEL.fullmatch(term)
        or _ACRONYM.fullmatch(term)
        or _ALNUM_NAME.fullmatch(term)
        or any(_CAMEL.fullmatch(w) or _ACRONYM.fullmatch(w) for w in term.split())
    )
