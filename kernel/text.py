"""Pure text helpers shared by subtitle parsing, segment shaping and normalization.

Invariants:
- Chinese and Japanese (Han ideographs, kana, CJK and full-width punctuation) are written without spaces:
  ``join_text_pieces`` never puts a space between two such characters. Latin text gets single spaces.
  Korean Hangul is spaced like Latin text, because Korean separates words with spaces.
- A "word" is a Latin-script (or Hangul) token, or two CJK characters: ``TextSize.words`` uses that
  estimate so that word counts and rates are comparable across languages.
- Every function here is pure and linear in the length of its input.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Han ideographs and kana: the characters that count as CJK "letters".
_CJK_LETTER_CLASS = (
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0002fa1f"  # CJK extensions B..F and compatibility supplement
)
# Characters written without spaces around them: CJK letters plus CJK and full-width punctuation.
_NO_SPACE_CLASS = _CJK_LETTER_CLASS + "\u3000-\u303f\uff00-\uff65\u30fb"

_FIRST_NO_SPACE_CHAR = "\u3000"  # every character in _NO_SPACE_CLASS is at or above this
_CJK_LETTER = re.compile(f"[{_CJK_LETTER_CLASS}]")
_NO_SPACE_CHAR = re.compile(f"[{_NO_SPACE_CLASS}]")
_LATIN_WORD = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")

# Latin punctuation that attaches to the previous piece, and openers that attach to the next one.
_ATTACH_LEFT = frozenset(",.;:!?)]}%")
_ATTACH_RIGHT = frozenset("([{“‘«¿¡")

_CLOSERS = "\"'”’)]}」』）】》〉»"
_CJK_SENTENCE_END = frozenset("。！？．｡")
_LATIN_STRONG_END = frozenset("!?‼⁇⁈⁉")
_CLAUSE_END = frozenset(",;:，、；：—–")

# Abbreviations that end with a period but do not end a sentence (compared lower-case, without the dot).
_ABBREVIATIONS = frozenset(
    {
        "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "mt", "vs", "cf", "approx", "dept", "fig",
        "e.g", "i.e", "eg", "ie", "a.m", "p.m", "u.s", "u.k", "vol", "ca", "inc", "ltd", "co",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")

# Splits a token into single CJK letters (keeping trailing punctuation with its letter) and non-CJK runs.
_CJK_CHAR_PIECES = re.compile(f"[{_CJK_LETTER_CLASS}][^{_CJK_LETTER_CLASS}\\w\\s]*|[^{_CJK_LETTER_CLASS}]+")
# Splits a CJK-containing token after clause and sentence punctuation.
_CLAUSE_PUNCT_CLASS = "。！？，、；：．｡!?,;:"
_CJK_CLAUSE_PIECES = re.compile(
    f"[^{_CLAUSE_PUNCT_CLASS}]*[{_CLAUSE_PUNCT_CLASS}]+[{re.escape(_CLOSERS)}]*|[^{_CLAUSE_PUNCT_CLASS}]+"
)


@dataclass(frozen=True, slots=True)
class TextSize:
    """How much text there is: Latin-script words and CJK letters, counted separately."""

    latin_words: int = 0
    cjk_chars: int = 0

    @property
    def words(self) -> int:
        """Word estimate: Latin words plus one word per two CJK characters (rounded up)."""
        return self.latin_words + (self.cjk_chars + 1) // 2

    @property
    def word_units(self) -> float:
        """Like ``words`` but without rounding, so sizes of pieces add up exactly."""
        return self.latin_words + self.cjk_chars / 2

    def __add__(self, other: TextSize) -> TextSize:
        return TextSize(self.latin_words + other.latin_words, self.cjk_chars + other.cjk_chars)


def is_cjk_char(char: str) -> bool:
    """True for a Han ideograph or a kana character."""
    return bool(_CJK_LETTER.match(char))


def is_no_space_char(char: str) -> bool:
    """True for characters written without spaces around them (CJK letters and CJK punctuation)."""
    return bool(_NO_SPACE_CHAR.match(char))


def contains_cjk(text: str) -> bool:
    return _CJK_LETTER.search(text) is not None


@lru_cache(maxsize=8192)  # word tokens repeat a lot (Zipf); long transcripts measure every token
def measure_text(text: str) -> TextSize:
    cjk_chars = len(_CJK_LETTER.findall(text))
    latin_source = _CJK_LETTER.sub(" ", text) if cjk_chars else text
    return TextSize(len(_LATIN_WORD.findall(latin_source)), cjk_chars)


def count_words(text: str) -> int:
    """Latin words plus one word per two CJK characters."""
    return measure_text(text).words


_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


def cjk_clause_mark(language: str | None, text: str = "") -> str:
    """The comma a reader expects between two clauses of CJK text: ``、`` for Japanese, else ``，``.

    Japanese is told by the language code, or, without one, by kana in ``text``.
    """
    base = (language or "").replace("_", "-").split("-")[0].lower()
    if base == "ja" or (not base and _KANA.search(text)):
        return "、"
    return "，"


def join_cjk_clauses(pieces: Sequence[str], separated: Sequence[bool], mark: str) -> str:
    """Join pieces like ``join_text_pieces``, putting ``mark`` between a piece ending in a CJK letter and
    one starting with a CJK letter wherever ``separated[i]`` says piece ``i`` was set apart from the one
    before it (a cue boundary, or a space, which CJK subtitles use as a comma)."""
    marked: list[str] = []
    for index, raw in enumerate(pieces):
        piece = raw.strip()
        if not piece:
            continue
        if marked and separated[index] and is_cjk_char(marked[-1][-1]) and is_cjk_char(piece[0]):
            marked[-1] += mark
        marked.append(piece)
    return join_text_pieces(marked)


def needs_space_between(left: str, right: str) -> bool:
    """Whether a space separates a piece ending in ``left`` from one starting with ``right``."""
    if right in _ATTACH_LEFT or left in _ATTACH_RIGHT:
        return False
    if left < _FIRST_NO_SPACE_CHAR and right < _FIRST_NO_SPACE_CHAR:
        return True  # fast path: neither side can be CJK
    left_no_space = is_no_space_char(left)
    right_no_space = is_no_space_char(right)
    if left_no_space and right_no_space:
        return False
    # CJK punctuation hugs whatever is next to it; a CJK letter next to Latin text keeps one space.
    if left_no_space and not is_cjk_char(left):
        return False
    return not (right_no_space and not is_cjk_char(right))


def join_text_pieces(pieces: Iterable[str]) -> str:
    """Join text pieces with single spaces, except where the script is written without spaces."""
    parts: list[str] = []
    last_char = ""
    for raw in pieces:
        piece = raw.strip()
        if not piece:
            continue
        if last_char and needs_space_between(last_char, piece[0]):
            parts.append(" ")
        parts.append(piece)
        last_char = piece[-1]
    return "".join(parts)


def normalize_whitespace(text: str) -> str:
    """Collapse all whitespace (including no-break spaces) to single spaces and drop invisible marks."""
    return " ".join(_INVISIBLE.sub("", text).split())


def decode_entities(text: str) -> str:
    """Decode HTML entities (``&amp;``, ``&nbsp;``, ``&#39;`` ...) and normalize the whitespace."""
    if "&" in text:
        text = html.unescape(text)
    return normalize_whitespace(text)


def _strip_closers(token: str) -> str:
    return token.rstrip(_CLOSERS)


def ends_sentence(token: str, next_token: str | None = None) -> bool:
    """Whether ``token`` ends a sentence.

    Sentence ends are ``. ! ?`` and their CJK forms. A period does not end a sentence after a known
    abbreviation ("Dr.", "e.g."), a single capital initial ("J."), or when the next token starts with a
    lower-case letter. An ellipsis does not end a sentence (speakers trail off mid-thought).
    """
    core = _strip_closers(token.strip())
    if not core:
        return False
    last = core[-1]
    if last in _CJK_SENTENCE_END or last in _LATIN_STRONG_END:
        return True
    if last != "." or core.endswith(".."):
        return False
    stem = core.rstrip(".")
    if not stem:
        return False
    lowered = stem.lower()
    if lowered in _ABBREVIATIONS:
        return False
    if len(stem) == 1 and stem.isalpha() and stem.isupper():
        return False
    return not (next_token and next_token.strip()[:1].islower())


def ends_clause(token: str) -> bool:
    """Whether ``token`` ends with clause punctuation (comma, semicolon, colon, dash; Latin or CJK)."""
    core = _strip_closers(token.strip())
    return bool(core) and core[-1] in _CLAUSE_END


def split_text_tokens(text: str, *, cjk_chars: bool = False) -> list[str]:
    """Split text into tokens that can be re-joined with ``join_text_pieces``.

    Latin text splits at whitespace. CJK runs, which have no spaces, split after clause punctuation, or
    into single characters (punctuation stays with the character before it) when ``cjk_chars`` is set.
    """
    tokens: list[str] = []
    pattern = _CJK_CHAR_PIECES if cjk_chars else _CJK_CLAUSE_PIECES
    for token in text.split():
        if contains_cjk(token):
            tokens.extend(piece for piece in pattern.findall(token) if piece)
        else:
            tokens.append(token)
    return tokens
