"""Languages and writing systems: script shares, expected scripts, language names, weighted text length.

Invariants:
- Script shares count letters only (``str.isalpha``); digits, punctuation and spaces are ignored, so a
  number-heavy text does not look like "another script".
- ``cjk`` is Han ideographs plus Japanese kana; Korean Hangul is its own script (``hangul``).
- ``weighted_length`` makes lengths comparable across scripts: one Han/kana character carries about as
  much meaning as three Latin letters, one Hangul syllable about two. It is the unit of every length
  ratio in verification, so a faithful English -> Chinese translation has a ratio near 1.
- Every function is pure.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

Script = Literal["latin", "cjk", "hangul", "cyrillic", "greek", "arabic", "hebrew", "devanagari", "thai"]

_SCRIPT_RANGES: list[tuple[int, int, Script]] = [
    (0x0041, 0x024F, "latin"),  # Basic Latin letters .. Latin Extended-B
    (0x1E00, 0x1EFF, "latin"),  # Latin Extended Additional (Vietnamese)
    (0x0370, 0x03FF, "greek"),
    (0x1F00, 0x1FFF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "cjk"),  # kana
    (0x3130, 0x318F, "hangul"),
    (0x31F0, 0x31FF, "cjk"),
    (0x3400, 0x4DBF, "cjk"),
    (0x4E00, 0x9FFF, "cjk"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "cjk"),
    (0xFF21, 0xFF5A, "latin"),  # full-width Latin letters
    (0xFF66, 0xFF9F, "cjk"),
    (0x20000, 0x2FA1F, "cjk"),
]

_SCRIPT_BY_LANGUAGE: dict[str, Script] = {
    "zh": "cjk", "ja": "cjk", "yue": "cjk", "wuu": "cjk",
    "ko": "hangul",
    "ru": "cyrillic", "uk": "cyrillic", "bg": "cyrillic", "be": "cyrillic", "mk": "cyrillic",
    "kk": "cyrillic", "ky": "cyrillic", "mn": "cyrillic", "sr": "cyrillic", "tg": "cyrillic",
    "el": "greek",
    "ar": "arabic", "fa": "arabic", "ur": "arabic", "ps": "arabic",
    "he": "hebrew", "iw": "hebrew", "yi": "hebrew",
    "hi": "devanagari", "mr": "devanagari", "ne": "devanagari", "sa": "devanagari",
    "th": "thai",
}  # fmt: skip

_LANGUAGE_NAMES: dict[str, str] = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "pt-br": "Portuguese (Brazil)", "nl": "Dutch", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "pl": "Polish", "cs": "Czech", "sk": "Slovak",
    "hu": "Hungarian", "ro": "Romanian", "tr": "Turkish", "vi": "Vietnamese", "id": "Indonesian",
    "ms": "Malay", "ca": "Catalan", "hr": "Croatian", "sl": "Slovenian", "et": "Estonian",
    "lv": "Latvian", "lt": "Lithuanian",
    "zh": "Chinese (Simplified)", "zh-hans": "Chinese (Simplified)", "zh-cn": "Chinese (Simplified)",
    "zh-sg": "Chinese (Simplified)", "zh-hant": "Chinese (Traditional)", "zh-tw": "Chinese (Traditional)",
    "zh-hk": "Chinese (Traditional)", "yue": "Cantonese", "ja": "Japanese", "ko": "Korean",
    "ru": "Russian", "uk": "Ukrainian", "bg": "Bulgarian", "sr": "Serbian", "el": "Greek",
    "ar": "Arabic", "fa": "Persian", "ur": "Urdu", "he": "Hebrew", "hi": "Hindi", "th": "Thai",
}  # fmt: skip


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A few very frequent function words per language: enough to tell Latin-script languages apart.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _word_set("the and of to is that it in you for with this was are have not but what be"),
    "de": _word_set("der die das und ist nicht ich ein eine zu den mit sie es auf für auch wir sich"),
    "fr": _word_set("le la les et est une des que pas pour dans il nous vous qui ce sur avec du"),
    "es": _word_set("el la los las que es una por para con del se lo como pero más esto muy"),
    "it": _word_set("il di che è non una per con sono gli della questo anche come più ma"),
    "pt": _word_set("o os que não uma para com do da dos das em se mais você isso como mas"),
    "nl": _word_set("de het een en is dat niet ik van je zijn op te met voor maar ook wat"),
}

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_CJK_WEIGHT = 3.0
_HANGUL_WEIGHT = 2.0


def base_language(code: str | None) -> str | None:
    """``"zh-Hans"`` -> ``"zh"``; None stays None."""
    if not code:
        return None
    return code.replace("_", "-").split("-")[0].lower()


def script_of(char: str) -> Script | None:
    """The script of one letter, or None for digits, punctuation and scripts not listed."""
    point = ord(char)
    if point < 0x41:
        return None
    for low, high, script in _SCRIPT_RANGES:
        if low <= point <= high:
            return script if char.isalpha() else None
    return None


def _letter_counts(text: str) -> dict[str, int]:
    """How often each distinct letter occurs, in order of first occurrence. The checks below look at
    each distinct character once instead of at every character of a chunk (verification runs per answer)."""
    return {char: count for char, count in Counter(text).items() if char.isalpha()}


def script_counts(text: str) -> dict[Script, int]:
    counts: dict[Script, int] = {}
    for char, count in _letter_counts(text).items():
        script = script_of(char)
        if script is not None:
            counts[script] = counts.get(script, 0) + count
    return counts


def script_share(text: str, script: Script) -> float:
    """Share of the text's letters written in ``script`` (0.0 when the text has no letters)."""
    letters = _letter_counts(text)
    total = sum(letters.values())
    if not total:
        return 0.0
    in_script = sum(count for char, count in letters.items() if script_of(char) == script)
    return in_script / total


def dominant_script(text: str) -> Script | None:
    counts = script_counts(text)
    if not counts:
        return None
    return max(counts.items(), key=lambda item: item[1])[0]


def expected_script(language_code: str | None) -> Script:
    """The script a language is normally written in (Latin for unknown codes)."""
    return _SCRIPT_BY_LANGUAGE.get(base_language(language_code) or "", "latin")


def is_cjk_language(language_code: str | None) -> bool:
    return expected_script(language_code) == "cjk"


def language_name(code: str | None) -> str:
    """A readable English name for a language code (the code itself when unknown)."""
    if not code:
        return "the source language"
    key = code.replace("_", "-").lower()
    if key in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[key]
    if key.startswith("zh-"):
        return _LANGUAGE_NAMES["zh"]
    return _LANGUAGE_NAMES.get(base_language(code) or "", code)


def language_label(code: str | None) -> str:
    """``"German (de)"``: the name and the code, as prompts show a language."""
    if not code:
        return "the same language as the source text"
    return f"{language_name(code)} ({code})"


def weighted_length(text: str) -> float:
    """Length in Latin-letter equivalents: whitespace is free, a Han/kana char counts 3, Hangul 2."""
    total = 0.0
    for char, count in Counter(text).items():  # weights are whole numbers: the sum is exact in any order
        if char.isspace():
            continue
        script = script_of(char) if char.isalpha() else None
        if script == "cjk":
            total += _CJK_WEIGHT * count
        elif script == "hangul":
            total += _HANGUL_WEIGHT * count
        else:
            total += count
    return total


def guess_latin_language(text: str, *, min_hits: int = 5) -> str | None:
    """The Latin-script language whose function words dominate ``text`` (None when unsure)."""
    words = Counter(word.lower() for word in _WORD.findall(text))
    scores = {lang: sum(words[word] for word in stop if word in words) for lang, stop in _STOPWORDS.items()}
    best, hits = max(scores.items(), key=lambda item: item[1])
    if hits < min_hits:
        return None
    runner_up = max(score for lang, score in scores.items() if lang != best)
    return best if hits >= 1.5 * runner_up else None


def knows_function_words(language_code: str | None) -> bool:
    """Whether ``guess_latin_language`` can recognise this language."""
    return (base_language(language_code) or "") in _STOPWORDS
