"""Language tags: caller-given codes validated and normalized as BCP 47 with ``langcodes`` (a maintained
implementation of the IANA registry), and the primary subtag of any code media files or sites use.

Invariants:
- ``normalize_language_tag`` accepts exactly the tags ``langcodes`` finds valid and returns them in
  standard form (``EN`` -> ``en``, ``en_US`` -> ``en-US``, ``ger`` -> ``de``, ``iw`` -> ``he``); anything
  else raises ``ValueError`` whose message suggests the tags the caller probably meant.
- ``primary_subtag`` maps ISO 639-2/3 and legacy codes to their 2-letter form where one exists.
"""

from __future__ import annotations

import difflib
from functools import cache

import langcodes

COMMON_TAGS = ("ar", "bn", "cs", "da", "de", "el", "en", "en-GB", "en-US", "es", "fa", "fi", "fr", "he", "hi",
               "hu", "id", "it", "ja", "ko", "nl", "no", "pl", "pt", "pt-BR", "ro", "ru", "sv", "th", "tr", "uk",
               "vi", "zh-Hans", "zh-Hant")


def normalize_language_tag(value: str) -> str:
    """The standard form of a BCP 47 tag.

    Raises:
        ValueError: not a valid tag; the message names suggestions.
    """
    text = value.strip()
    if text and langcodes.tag_is_valid(text.replace("_", "-")):
        return str(langcodes.standardize_tag(text.replace("_", "-")))
    suggestions = suggest_language_tags(text)
    hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    raise ValueError(f"{value!r} is not a BCP 47 language tag (such as 'en', 'de' or 'zh-Hans'){hint}")


def suggest_language_tags(text: str) -> list[str]:
    """Up to three tags ``text`` may have meant: a language named in it, then close spellings."""
    found: list[str] = []
    for word in [text, *text.replace("_", "-").replace(" ", "-").split("-")]:
        if len(word) >= 3 and word.isalpha():
            try:
                found.append(str(langcodes.find(word)))
            except LookupError:
                pass
    found += difflib.get_close_matches(text, COMMON_TAGS, n=3, cutoff=0.6)
    names = _common_names()
    found += [names[name] for name in difflib.get_close_matches(text.lower(), list(names), n=2, cutoff=0.75)]
    primary = text.replace("_", "-").split("-", 1)[0]
    if primary and langcodes.tag_is_valid(primary):
        found.append(str(langcodes.standardize_tag(primary)))
    return list(dict.fromkeys(found))[:3]


@cache
def _common_names() -> dict[str, str]:
    """English names of the common tags (``german`` -> ``de``), for suggestions after a misspelling."""
    return {str(langcodes.Language.get(tag).display_name()).lower(): tag for tag in COMMON_TAGS}


@cache
def primary_subtag(code: str) -> str:
    """``ger`` -> ``de``, ``eng`` -> ``en``, ``iw`` -> ``he``; codes without a shorter form are returned
    lower-cased as they are."""
    lowered = code.lower()
    try:
        if langcodes.tag_is_valid(lowered):
            return str(langcodes.Language.get(lowered).language or lowered)
    except (LookupError, ValueError):
        pass
    return lowered
