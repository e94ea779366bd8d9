"""The document-level quality gate: a stop/go decision over the merged article, with readable reasons.

Status rules:
- ``fail``: an ``error`` check failed (empty output, source sentences not accounted for). The run cannot
  be finalized until the problem is fixed.
- ``degraded``: no error, but a ``warning`` check failed (length ratio out of bounds, leftover prompt
  tags, malformed headings) or, when an LLM was used, some chunks fell back to deterministic formatting or
  were accepted degraded. Finalizing needs ``accept_degraded``.
- ``pass``: otherwise. ``info`` checks never change the status.

The length ratio compares "weighted" characters: a CJK ideograph or kana carries about as much meaning as
three Latin letters (a Hangul syllable about two and a half), so an English-to-Chinese translation is not
mistaken for lost content. The source side is only a character count, weighted by the source language.

``usage`` passes through numeric totals from the LLM loop (``requests``, ``prompt_tokens``,
``completion_tokens``, ...). ``total_tokens`` is added when missing; ``cost`` only when a price is given:
``price_per_1k_tokens``, or ``price_per_1k_prompt_tokens`` / ``price_per_1k_completion_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

QUALITY_SCHEMA_VERSION = 1
NO_LLM_NOTE = (
    "No LLM configured: deterministic formatting (sentences, paragraphs, chapter headings) was used."
)
UNPUNCTUATED_NOTE = (
    "The source transcript has no punctuation (automatic captions): sentences were ended only at pauses, "
    "so some sentences run on. A run with an LLM configured (clean mode) would punctuate and improve it."
)

Severity = Literal["error", "warning", "info"]
QualityStatus = Literal["pass", "degraded", "fail"]

# (low, high) bounds of weighted output chars / weighted source chars. Bilingual output holds both texts.
LENGTH_RATIO_BOUNDS: dict[str, tuple[float, float]] = {
    "clean": (0.6, 1.6),
    "translate": (0.4, 2.5),
    "bilingual": (1.6, 3.5),
}
_DEFAULT_BOUNDS = (0.4, 2.5)
# Below this many weighted source characters a ratio says little (a heading alone moves it a lot).
MIN_CHARS_FOR_RATIO = 200
_CJK_LANGUAGE_WEIGHTS = {"zh": 3.0, "ja": 3.0, "yue": 3.0, "cmn": 3.0, "wuu": 3.0, "ko": 2.5}

_PROMPT_TAG = re.compile(
    r"</?\s*(source|context|glossary|anchors?|instructions?|chunk|transcript|system|user|assistant)\s*/?>",
    re.IGNORECASE,
)
_HEADING_LIKE = re.compile(r"^ {0,3}(#+)(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MARKUP = re.compile(r"^ {0,3}(#{1,6}\s+|>\s?|[-*+]\s+)|[*_`]")
_PRICE_KEYS = ("price_per_1k_tokens", "price_per_1k_prompt_tokens", "price_per_1k_completion_tokens")


class QualityCheck(BaseModel):
    name: str
    ok: bool
    severity: Severity
    detail: str


class QualityReport(BaseModel):
    """The ``quality.report`` artifact."""

    schema_file: ClassVar[str] = "quality_report"

    schema_version: int = QUALITY_SCHEMA_VERSION
    status: QualityStatus
    reasons: list[str]
    checks: list[QualityCheck]
    llm_used: bool
    mode: str
    degraded_chunks: list[str] = Field(default_factory=list)
    fallback_chunks: list[str] = Field(default_factory=list)
    # Subtitle cues (numbers in the source SRT) whose translation kept the source line.
    fallback_cues: list[int] = Field(default_factory=list)
    sentences_total: int
    sentences_accounted: int
    source_chars: int
    output_chars: int
    usage: dict[str, int | float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    # What reading the source changed or dropped (damaged subtitle cues and the like), file and line each.
    source_issues: list[str] = Field(default_factory=list)


def evaluate_quality(
    *,
    sentences_total: int,
    sentences_accounted: int,
    source_chars: int,
    output_text: str,
    mode: str,
    llm_used: bool,
    fallback_chunks: list[str],
    degraded_chunks: list[str],
    usage: Mapping[str, int | float] | None = None,
    source_language: str | None = None,
    target_language: str | None = None,
    transcript_origin: str | None = None,
    source_unpunctuated: bool = False,
    source_issues: list[str] | None = None,
    fallback_cues: list[int] | None = None,
    cue_notes: list[str] | None = None,
) -> QualityReport:
    """Run every document check over the merged text and decide pass, degraded or fail.

    ``source_unpunctuated`` (the normalized document's ``sentence_split`` is ``pauses``) adds a note when
    no LLM was used, saying that an LLM pass would improve the text. ``source_issues`` lists what reading
    the source repaired or dropped. ``fallback_cues`` (cue numbers) is given when subtitle cues were
    translated by the LLM: cues that kept their source line make the run degraded like fallback chunks.
    ``cue_notes`` say how the translated subtitle files were made.
    """
    checks = [
        _check_not_empty(output_text),
        _check_sentences(sentences_total, sentences_accounted),
        _check_length_ratio(output_text, source_chars, mode, source_language),
        _check_prompt_tags(output_text),
        _check_headings(output_text),
    ]
    if llm_used:
        checks.append(
            _check_chunks(
                "fallback_chunks",
                fallback_chunks,
                problem="fell back to deterministic formatting (the unedited transcript text is used there)",
                all_clear="Every chunk was transformed by the LLM.",
            )
        )
        checks.append(
            _check_chunks(
                "degraded_chunks",
                degraded_chunks,
                problem="passed with unresolved verification problems",
                all_clear="No chunk has unresolved verification problems.",
            )
        )
    if fallback_cues is not None:
        checks.append(_check_cues(fallback_cues))
    reasons = [check.detail for check in checks if not check.ok and check.severity != "info"]
    if any(not check.ok and check.severity == "error" for check in checks):
        status: QualityStatus = "fail"
    elif reasons:
        status = "degraded"
    else:
        status = "pass"
        reasons = [f"All {sentences_total} source sentences are in the output and every check passed."]
    return QualityReport(
        status=status,
        reasons=reasons,
        checks=checks,
        llm_used=llm_used,
        mode=mode,
        degraded_chunks=list(degraded_chunks),
        fallback_chunks=list(fallback_chunks),
        sentences_total=sentences_total,
        sentences_accounted=sentences_accounted,
        source_chars=source_chars,
        output_chars=len(output_text),
        usage=usage_totals(usage or {}),
        notes=_notes(llm_used, mode, source_language, target_language, transcript_origin, source_unpunctuated)
        + list(cue_notes or []),
        source_issues=list(source_issues or []),
        fallback_cues=list(fallback_cues or []),
    )


def weighted_length(text: str) -> float:
    """Characters of ``text`` with CJK ideographs and kana counted 3, Hangul 2.5, everything else 1."""
    total = 0.0
    for char in text:
        code = ord(char)
        if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            total += 2.5
        elif (
            0x4E00 <= code <= 0x9FFF
            or 0x3400 <= code <= 0x4DBF
            or 0x3040 <= code <= 0x30FF
            or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3134F
        ):
            total += 3.0
        else:
            total += 1.0
    return total


def usage_totals(usage: Mapping[str, int | float]) -> dict[str, int | float]:
    """Numeric usage totals plus ``total_tokens`` and, when a price is given, ``cost`` (prices dropped)."""
    totals: dict[str, int | float] = {
        key: value
        for key, value in usage.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and key not in _PRICE_KEYS
    }
    prompt = totals.get("prompt_tokens", 0)
    completion = totals.get("completion_tokens", 0)
    if "total_tokens" not in totals and ("prompt_tokens" in totals or "completion_tokens" in totals):
        totals["total_tokens"] = prompt + completion
    prices = {key: usage[key] for key in _PRICE_KEYS if isinstance(usage.get(key), int | float)}
    if "price_per_1k_tokens" in prices:
        totals["cost"] = round(totals.get("total_tokens", 0) / 1000 * prices["price_per_1k_tokens"], 6)
    elif prices:
        cost = prompt / 1000 * prices.get("price_per_1k_prompt_tokens", 0)
        cost += completion / 1000 * prices.get("price_per_1k_completion_tokens", 0)
        totals["cost"] = round(cost, 6)
    return totals


def _check_not_empty(output_text: str) -> QualityCheck:
    ok = bool(output_text.strip())
    detail = "The output has text." if ok else "The output is empty: no transcript text reached the article."
    return QualityCheck(name="output_not_empty", ok=ok, severity="error", detail=detail)


def _check_sentences(total: int, accounted: int) -> QualityCheck:
    if accounted == total:
        detail = f"All {total} source sentences are accounted for in the output."
    elif accounted < total:
        detail = f"{total - accounted} of {total} source sentences are missing from the output."
    else:
        detail = f"The output accounts for {accounted} sentences but the source has only {total}."
    return QualityCheck(name="sentences_accounted", ok=accounted == total, severity="error", detail=detail)


def _check_length_ratio(
    output_text: str, source_chars: int, mode: str, source_language: str | None
) -> QualityCheck:
    low, high = LENGTH_RATIO_BOUNDS.get(mode, _DEFAULT_BOUNDS)
    # Sentence texts are single-spaced, so the output is compared with its markup and line breaks removed.
    plain_output = " ".join(_without_markup(output_text).split())
    if mode == "clean":
        # Same language on both sides: compare plain characters, whatever the script.
        output_weight = float(len(plain_output))
        source_weight = float(source_chars)
    else:
        output_weight = weighted_length(plain_output)
        source_weight = source_chars * _language_weight(source_language)
    if source_weight <= 0:
        return QualityCheck(
            name="length_ratio", ok=True, severity="info", detail="The source has no text to compare."
        )
    ratio = output_weight / source_weight
    ok = low <= ratio <= high
    # A tiny text, or an unknown source language across a translation, makes the ratio unreliable.
    unreliable = source_weight < MIN_CHARS_FOR_RATIO or (mode != "clean" and source_language is None)
    if ok:
        detail = f"Output/source length ratio {ratio:.2f} is within {low}-{high} for mode {mode}."
    elif ratio < low:
        detail = (
            f"The output is much shorter than the source (length ratio {ratio:.2f}, expected at least "
            f"{low} for mode {mode}): text may have been dropped or summarized."
        )
    else:
        detail = (
            f"The output is much longer than the source (length ratio {ratio:.2f}, expected at most "
            f"{high} for mode {mode}): text may be repeated or invented."
        )
    return QualityCheck(
        name="length_ratio", ok=ok, severity="info" if unreliable else "warning", detail=detail
    )


def _check_prompt_tags(output_text: str) -> QualityCheck:
    found = sorted({match.group(0).lower() for match in _PROMPT_TAG.finditer(output_text)})
    if not found:
        return QualityCheck(
            name="no_prompt_tags", ok=True, severity="warning", detail="No prompt markup leaked."
        )
    return QualityCheck(
        name="no_prompt_tags",
        ok=False,
        severity="warning",
        detail=f"The output contains leftover prompt markup ({', '.join(found[:5])}).",
    )


def _check_headings(output_text: str) -> QualityCheck:
    problems: list[str] = []
    top_level = 0
    in_fence = False
    for number, line in enumerate(output_text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_LIKE.match(line)
        if match is None:
            continue
        hashes, rest = match.groups()
        if len(hashes) > 6:
            problems.append(f"line {number} has {len(hashes)} '#' (at most 6)")
        elif rest and not rest[0].isspace():
            # "#hashtag" is ordinary text in Markdown; "##Title" is a heading missing its space.
            if len(hashes) > 1:
                problems.append(f"line {number} has no space after '{hashes}'")
        elif not rest.strip(" #\t"):
            problems.append(f"line {number} is an empty heading")
        elif len(hashes) == 1:
            top_level += 1
            if top_level > 1:
                problems.append(f"line {number} is another top-level '#' heading (only the title is one)")
    if not problems:
        return QualityCheck(
            name="headings_well_formed", ok=True, severity="warning", detail="Headings are well formed."
        )
    shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return QualityCheck(
        name="headings_well_formed",
        ok=False,
        severity="warning",
        detail=f"Some headings are malformed: {shown}.",
    )


def _check_chunks(name: str, chunk_ids: list[str], *, problem: str, all_clear: str) -> QualityCheck:
    if not chunk_ids:
        return QualityCheck(name=name, ok=True, severity="warning", detail=all_clear)
    listed = ", ".join(chunk_ids[:10]) + (", ..." if len(chunk_ids) > 10 else "")
    count = f"{len(chunk_ids)} chunk" if len(chunk_ids) == 1 else f"{len(chunk_ids)} chunks"
    return QualityCheck(name=name, ok=False, severity="warning", detail=f"{count} ({listed}) {problem}.")


def _check_cues(cue_numbers: list[int]) -> QualityCheck:
    if not cue_numbers:
        return QualityCheck(name="fallback_cues", ok=True, severity="warning",
                            detail="Every subtitle cue was translated and verified.")
    listed = ", ".join(str(n) for n in cue_numbers[:10]) + (", ..." if len(cue_numbers) > 10 else "")
    count = "1 subtitle cue" if len(cue_numbers) == 1 else f"{len(cue_numbers)} subtitle cues"
    return QualityCheck(name="fallback_cues", ok=False, severity="warning",
                        detail=f"{count} ({listed}) kept the source line: the translation failed verification.")


def _notes(
    llm_used: bool,
    mode: str,
    source_language: str | None,
    target_language: str | None,
    transcript_origin: str | None,
    source_unpunctuated: bool = False,
) -> list[str]:
    notes: list[str] = []
    if not llm_used:
        notes.append(NO_LLM_NOTE)
        if source_unpunctuated:
            notes.append(UNPUNCTUATED_NOTE)
    if mode != "clean" and source_language is None:
        notes.append(
            "The source language is unknown, so the length ratio across languages is only indicative."
        )
    if mode != "clean" and target_language:
        notes.append(f"Target language: {target_language}.")
    if transcript_origin in ("whisper", "deepgram"):
        notes.append(
            f"The transcript comes from speech recognition ({transcript_origin}): names, numbers and "
            "rare terms may be misheard."
        )
    return notes


def _language_weight(language: str | None) -> float:
    if not language:
        return 1.0
    return _CJK_LANGUAGE_WEIGHTS.get(language.lower().split("-")[0].split("_")[0], 1.0)


def _without_markup(markdown: str) -> str:
    return "\n".join(_MARKUP.sub("", line) for line in markdown.splitlines())
