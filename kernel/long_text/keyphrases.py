"""Deterministic section titles: the leading key phrase of a stretch of transcript, and lexical terms.

A title says what the section is about, taken from its own words (never "Part 3"). Latin-script text is
split into candidate phrases at stop words and punctuation (RAKE-style runs of one to three content
words); CJK text, which has no spaces, gives candidate character n-grams (two to five characters) that do
not start or end with a function character. A candidate is scored by how often it occurs in the section,
longer phrases and phrases met early in the section ("leading") scoring higher, and phrases that were
already frequent in the *earlier* sections scoring lower (a talk's overall subject is not a section's
title). The title is the best candidate; a lone word is joined with the next-best one ("Flour and
hydration").

Invariants:
- Pure and deterministic; a section's title depends only on its own text and the sections before it
  (never on later ones), so titles are stable while a transcript is still growing.
- Titles are distinct within a document (a repeat falls back to the next candidate, then to a numbered
  form of the phrase), one line, at most ``MAX_TITLE_WORDS`` words (``MAX_TITLE_CJK_CHARS`` for CJK).
- ``lexical_terms`` is the term list topic segmentation compares: content words (plural "s" folded)
  for Latin text, character bigrams for CJK text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import contains_cjk, is_cjk_char

MAX_TITLE_WORDS = 7
MAX_TITLE_CJK_CHARS = 14
LEADING_SHARE = 0.3  # candidates first met in this share of the section get the leading bonus
_LEADING_BONUS = 1.5
_MAX_PHRASE_WORDS = 3
_MAX_CJK_GRAM = 5

# English stop words, spoken fillers and vague words that never make a title on their own.
_STOP_WORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "almost", "along", "already", "also", "although", "always", "am", "among", "an", "and", "another", "any", "anybody", "anyone", "anything", "anyway", "anywhere", "are", "aren", "around", "as", "at", "back", "be", "became", "because", "become", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could", "couldn", "did", "didn", "do", "does", "doesn", "doing", "don", "done", "down", "during", "each", "either", "else", "enough", "even", "ever", "every", "everybody", "everyone", "everything", "exactly", "few", "first", "for", "from", "further", "get", "gets", "getting", "give", "given", "go", "goes", "going", "gone", "got", "gotta", "gonna", "had", "hadn", "has", "hasn", "have", "haven", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "kind", "kinda", "know", "knew", "known", "last", "least", "less", "let", "like", "likely", "little", "lot", "lots", "made", "make", "makes", "making", "many", "may", "maybe", "me", "mean", "means", "might", "mine", "more", "most", "mostly", "much", "must", "my", "myself", "need", "needs", "never", "new", "next", "no", "nobody", "none", "nor", "not", "nothing", "now", "of", "off", "often", "oh", "ok", "okay", "on", "once", "one", "ones", "only", "onto", "or", "other", "others", "otherwise", "our", "ours", "ourselves", "out", "over", "own", "part", "per", "perhaps", "pretty", "probably", "put", "quite", "rather", "really", "right", "said", "same", "say", "saying", "says", "see", "seem", "seems", "seen", "several", "shall", "she", "should", "shouldn", "show", "since", "so", "some", "somebody", "someone", "something", "sometimes", "somewhat", "sort", "still", "such", "sure", "take", "taken", "talk", "talking", "tell", "than", "thank", "thanks", "that", "thats", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "thing", "things", "think", "thinking", "this", "those", "though", "thought", "through", "thus", "to", "today", "together", "too", "took", "toward", "towards", "try", "trying", "two", "uh", "um", "under", "until", "up", "upon", "us", "use", "used", "using", "very", "via", "want", "wanted", "wants", "was", "wasn", "way", "ways", "we", "well", "went", "were", "weren", "what", "whatever", "when", "where", "whether", "which", "while", "who", "whole", "whom", "whose", "why", "will", "with", "within", "without", "won", "wonder", "would", "wouldn", "yeah", "yes", "yet", "you", "your", "yours", "yourself", "yourselves", "ll", "ve", "re", "let's", "it's", "that's", "there's", "i'm", "i've", "i'd", "i'll", "you're", "you've", "we're", "we've", "they're", "they've", "don't", "doesn't", "didn't", "isn't", "can't", "won't", "wasn't", "gonna", "wanna", "guys", "stuff", "bit", "actually", "basically", "literally", "obviously", "totally", "definitely", "honestly", "kinda", "sorta", "hey", "hello", "welcome", "everybody", "year", "years", "time", "times", "day", "days", "people", "person"]
)
# CJK function characters: a candidate n-gram never starts or ends with one.
_CJK_FUNCTION_CHARS = frozenset(
    "的了是在和与及就都也还又很把被让给对从到上下中个们这那我你他她它吗呢吧啊呀哦嗯么么着过地得而或但如果因为所以"
    "就是一不有没要会能可以说看去来做好多少些种样么什怎哪里为之其于以及等各每"
    "はがをにのでともへやかなよねだですますした"
)
_LATIN_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_CJK_RUN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»。，、；：！？（）「」『』—–…]")


def _fold(word: str) -> str:
    """Lower-case, with a plural ``s`` folded ("models" and "model" count together)."""
    lowered = word.lower().replace("’", "'")
    if len(lowered) > 4 and lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return lowered[:-1]
    return lowered


def _is_content_word(word: str) -> bool:
    lowered = word.lower().replace("’", "'")
    return len(lowered) >= 3 and lowered not in _STOP_WORDS


def lexical_terms(text: str) -> list[str]:
    """The content terms of ``text`` for cohesion scores (see the module invariants)."""
    terms = [_fold(word) for word in _LATIN_WORD.findall(text) if not contains_cjk(word) and _is_content_word(word)]
    for run in _CJK_RUN.findall(text):
        terms += [
            run[i : i + 2]
            for i in range(len(run) - 1)
            if not (run[i] in _CJK_FUNCTION_CHARS and run[i + 1] in _CJK_FUNCTION_CHARS)
        ]
    return terms


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: str
    surface: str
    words: int
    first_share: float  # where in the section it first occurs (0 = the start)


def _latin_candidates(text: str) -> list[_Candidate]:
    words: list[tuple[str, int]] = []  # (word, run id)
    run = 0
    for piece in _PHRASE_BREAK.split(text):
        run += 1
        for word in _LATIN_WORD.findall(piece):
            if contains_cjk(word):
                continue
            if _is_content_word(word):
                words.append((word, run))
            else:
                run += 1
    total = max(1, len(words))
    found: list[_Candidate] = []
    for index, (_, run_id) in enumerate(words):
        for length in range(1, _MAX_PHRASE_WORDS + 1):
            piece = words[index : index + length]
            if len(piece) < length or piece[-1][1] != run_id:
                break
            surface = " ".join(word for word, _ in piece)
            key = " ".join(_fold(word) for word, _ in piece)
            found.append(_Candidate(key, surface, length, index / total))
    return found


def _cjk_candidates(text: str) -> list[_Candidate]:
    """CJK n-grams that do not start or end with a function character and whose neighbours vary: a gram
    nearly always followed (or preceded) by the same letter is part of a longer word ("比特" of "比特币")."""
    runs = _CJK_RUN.findall(text)
    total = max(1, sum(len(run) for run in runs))
    found: list[_Candidate] = []
    neighbours: dict[str, tuple[Counter[str], Counter[str]]] = {}
    offset = 0
    for run in runs:
        for index in range(len(run)):
            for length in range(2, _MAX_CJK_GRAM + 1):
                gram = run[index : index + length]
                if len(gram) < length:
                    break
                if gram[0] in _CJK_FUNCTION_CHARS or gram[-1] in _CJK_FUNCTION_CHARS:
                    continue
                found.append(_Candidate(gram, gram, length, (offset + index) / total))
                before, after = neighbours.setdefault(gram, (Counter(), Counter()))
                before[run[index - 1] if index > 0 else ""] += 1
                after[run[index + length] if index + length < len(run) else ""] += 1
        offset += len(run)
    open_grams = {gram for gram, sides in neighbours.items() if any(_bound_to(side) for side in sides)}
    return [candidate for candidate in found if candidate.key not in open_grams]


def _bound_to(side: Counter[str]) -> bool:
    """Whether one letter (not a function character) follows or precedes nearly every occurrence."""
    total = sum(side.values())
    letter, count = side.most_common(1)[0]
    return total >= 2 and bool(letter) and letter not in _CJK_FUNCTION_CHARS and count >= 0.8 * total


def _candidates(text: str) -> list[_Candidate]:
    return _cjk_candidates(text) if _is_mostly_cjk(text) else _latin_candidates(text)


def _is_mostly_cjk(text: str) -> bool:
    cjk = sum(1 for char in text if is_cjk_char(char))
    latin = len(_LATIN_WORD.findall(text))
    return cjk > 2 * latin


@dataclass(frozen=True, slots=True)
class _Scored:
    score: float
    key: str
    surface: str
    words: int


def _ranked(text: str, earlier: Counter[str], earlier_sections: int) -> list[_Scored]:
    candidates = _candidates(text)
    counts = Counter(candidate.key for candidate in candidates)
    first: dict[str, _Candidate] = {}
    for candidate in candidates:
        first.setdefault(candidate.key, candidate)
    cjk = _is_mostly_cjk(text)
    # Drop a CJK n-gram that is a chance collocation of a much more frequent shorter one ("服务器花" of
    # "服务器花了"): the shorter gram is the key phrase.
    if cjk:
        for key in sorted(counts, key=len, reverse=True):
            shorter = [other for other in counts if len(other) < len(key) and other in key]
            if any(counts[other] >= 1.5 * counts[key] for other in shorter):
                del counts[key]
    ranked: list[_Scored] = []
    for key, count in counts.items():
        candidate = first[key]
        size = len(key) if cjk else candidate.words
        if count < 2 and size > 1 and not cjk:
            continue  # a phrase said once is no key phrase; a single word may still be
        if cjk and count < 2:
            continue
        length_bonus = 1.0 + 0.6 * (min(size, 4) - (2 if cjk else 1))
        lead = _LEADING_BONUS if candidate.first_share <= LEADING_SHARE else 1.0
        background = earlier[key] / earlier_sections if earlier_sections else 0.0
        score = count * length_bonus * lead / (1.0 + background)
        ranked.append(_Scored(round(score, 6), key, candidate.surface, candidate.words))
    ranked.sort(key=lambda item: (-item.score, item.key))
    return ranked


def _capitalized(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:] if phrase[:1].islower() else phrase


def _title_from(ranked: list[_Scored], used: set[str], cjk: bool, joiner: str) -> str | None:
    for position, best in enumerate(ranked):
        title = best.surface
        single = best.words == 1 if not cjk else len(best.key) <= 2
        if single:
            partner = next(
                (
                    other
                    for other in ranked[position + 1 :]
                    if other.key not in best.key and best.key not in other.key and other.score >= 0.3 * best.score
                ),
                None,
            )
            if partner is not None:
                title = f"{best.surface}{joiner}{partner.surface}"
        title = _bounded(_capitalized(title), cjk)
        if title.lower() not in used:
            return title
    return None


def _bounded(title: str, cjk: bool) -> str:
    if cjk:
        return title[:MAX_TITLE_CJK_CHARS]
    return " ".join(title.split()[:MAX_TITLE_WORDS])


def _opening_words(text: str, cjk: bool) -> str:
    if cjk:
        runs = "".join(_CJK_RUN.findall(text))
        return runs[:8] or text.strip()[:8]
    words = _LATIN_WORD.findall(text)
    return " ".join(words[:5]) or text.strip()[:40]


def section_titles(texts: Sequence[str], language: str | None = None) -> list[str]:
    """One distinct title per section text, in order (see the module docstring)."""
    titles: list[str] = []
    used: set[str] = set()
    earlier: Counter[str] = Counter()
    for number, text in enumerate(texts, start=1):
        cjk = _is_mostly_cjk(text)
        joiner = _joiner(language, cjk)
        ranked = _ranked(text, earlier, number - 1)
        title = _title_from(ranked, used, cjk, joiner)
        if title is None:
            base = _capitalized(_opening_words(text, cjk)) or f"{number}"
            title = base if base.lower() not in used else f"{base} ({number})"
        titles.append(title)
        used.add(title.lower())
        earlier.update(candidate.key for candidate in _candidates(text))
    return titles


def _joiner(language: str | None, cjk: bool) -> str:
    base = (language or "").split("-")[0].lower()
    if cjk:
        return "と" if base == "ja" else "与"
    return " and " if base in ("", "en") else ", "


def cohesion(left: Counter[str], right: Counter[str]) -> float:
    """Cosine similarity of two term-count vectors (0 when either is empty)."""
    if not left or not right:
        return 0.0
    small, large = (left, right) if len(left) <= len(right) else (right, left)
    dot = sum(count * large.get(term, 0) for term, count in small.items())
    if not dot:
        return 0.0
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm
