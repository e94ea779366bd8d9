"""Deterministic verification of one cue group's translation: one numbered line out per line in.

``verify_cue_answer`` reads an answer as numbered lines (``1. ...``) and returns every violation found,
each with the remedy the loop should try (``repair`` for content problems; a truncated answer of several
lines asks for the group to be split, ``replan``), and the translated lines when the numbering is right.

Checks: the answer is not empty or cut off; nothing before line 1 (a preamble) and no unnumbered line;
exactly the numbers 1..n, each once; no empty line; no line that copies its source (unless the source is
only names and numbers); no line more than ``MAX_LINE_RATIO`` times its source's weighted length (plus a
little slack for short lines); the group's anchors (numbers, dates, URLs...) and required glossary terms
kept; the target language's script (the whole group, and every line long enough to tell). Pure functions.
"""

from __future__ import annotations

import re

from .anchors import extract_anchors, missing_anchors
from .contracts import Plan, Remedy, Verification, Violation, ViolationCode
from .glossary import term_occurs
from .languages import expected_script, script_share, weighted_length
from .verify import MIN_TARGET_SCRIPT_SHARE, language_problem, required_terms

MAX_LINE_RATIO = 3.0
LINE_SLACK = 12.0  # weighted characters: "Yes." may become "Ja, genau."
MIN_LETTERS_FOR_LINE_SCRIPT = 6
MAX_NAME_WORDS = 4
_NUMBERED = re.compile(r"^\s*(\d{1,3})\s*[.)、:：]\s?(.*)$")
_LETTERS = re.compile(r"[^\W\d_]+")
_SQUASH = re.compile(r"[\W_]+")


def _violation(code: ViolationCode, detail: str, remedy: Remedy = "repair") -> Violation:
    return Violation(code=code, detail=detail, remedy=remedy)


def _shown(numbers: list[int], limit: int = 8) -> str:
    listed = ", ".join(str(n) for n in numbers[:limit])
    return listed + (", ..." if len(numbers) > limit else "")


def parse_numbered_lines(text: str) -> tuple[dict[int, list[str]], list[str]]:
    """The answer's numbered lines by number (a number may repeat) and its unnumbered non-empty lines."""
    numbered: dict[int, list[str]] = {}
    unnumbered: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = _NUMBERED.match(raw)
        if match:
            numbered.setdefault(int(match.group(1)), []).append(" ".join(match.group(2).split()))
        else:
            unnumbered.append(raw.strip())
    return numbered, unnumbered


def is_name_or_number(line: str, plan: Plan) -> bool:
    """Whether a source line may stay as it is in a translation: only names, numbers and glossary terms
    (a few capitalised words, acronyms, values)."""
    rest = line
    for anchor in extract_anchors(line):
        rest = rest.replace(anchor.text, " ")
    for term in plan.glossary:
        if term_occurs(term.term, rest):
            rest = re.sub(re.escape(term.term), " ", rest, flags=re.IGNORECASE)
    words = _LETTERS.findall(rest)
    return len(words) <= MAX_NAME_WORDS and all(word[0].isupper() for word in words)


def without_kept_names(line: str, source: str) -> str:
    """The line without the capitalised words it keeps verbatim from its source line (names and brands stay
    in their own script, so they say nothing about the language of the rest)."""
    kept = {word for word in _LETTERS.findall(source) if word[0].isupper()}
    return _LETTERS.sub(lambda m: " " if m.group(0) in kept else m.group(0), line)


def _squashed(text: str) -> str:
    return _SQUASH.sub("", text).casefold()


def verify_cue_answer(plan: Plan, source_lines: list[str], answer: str,
                      finish_reason: str | None) -> tuple[Verification, list[str] | None]:
    """Every check of one group's answer; the translated lines (in source order) when numbering is right."""
    count = len(source_lines)
    violations: list[Violation] = []
    metrics: dict[str, float] = {"lines_expected": float(count)}
    if finish_reason == "length":
        remedy: Remedy = "replan" if count > 1 else "fallback"  # a group cut off is split; one cue cannot be
        violations.append(_violation("truncated", "the answer stopped at its output token limit", remedy))
    if not answer.strip():
        violations.insert(0, _violation("empty_output", "the answer has no text"))
        return Verification(ok=False, violations=violations, metrics=metrics), None
    numbered, unnumbered = parse_numbered_lines(answer)
    metrics["lines_output"] = float(sum(len(v) for v in numbered.values()))
    first = next((line for line in answer.splitlines() if line.strip()), "")
    if unnumbered and not _NUMBERED.match(first):
        violations.append(_violation("leaked_preamble", f"text before line 1: {first.strip()[:60]!r}"))
    expected = set(range(1, count + 1))
    missing = sorted(expected - set(numbered))
    extra = sorted(set(numbered) - expected)
    repeated = sorted(n for n, texts in numbered.items() if len(texts) > 1)
    stray = [line for line in unnumbered if line.strip() != first.strip()] if unnumbered else []
    if missing or extra or repeated or stray:
        problems = [f"expected exactly {count} lines numbered 1 to {count}"]
        if missing:
            problems.append(f"missing line(s) {_shown(missing)}")
        if extra:
            problems.append(f"unexpected line number(s) {_shown(extra)}")
        if repeated:
            problems.append(f"line number(s) {_shown(repeated)} given more than once")
        if stray:
            problems.append(f"{len(stray)} line(s) without a number, such as {stray[0][:40]!r}")
        violations.append(_violation("line_count", "; ".join(problems)))
        return Verification(ok=False, violations=violations, metrics=metrics), None
    lines = [numbered[n][0] for n in range(1, count + 1)]
    violations += _line_checks(plan, source_lines, lines, metrics)
    source_text, output_text = "\n".join(source_lines), "\n".join(lines)
    missing_values = missing_anchors(source_text, output_text)
    if missing_values:
        violations.append(_violation("missing_anchor", "missing values: "
                                     + "; ".join(a.text for a in missing_values[:10])))
    missing_terms = [t.term for t in required_terms(plan, source_text) if not term_occurs(t.term, output_text)]
    if missing_terms:
        violations.append(_violation("missing_glossary_term",
                                     f"missing or misspelled terms: {'; '.join(missing_terms[:10])}"))
    checked = "\n".join(without_kept_names(line, source) for line, source in zip(lines, source_lines, strict=True)
                        if not is_name_or_number(source, plan))
    metrics["target_script_share"] = round(script_share(checked, expected_script(plan.target_language)), 3)
    problem = language_problem(checked, plan.target_language, plan.source_language) if checked else None
    if problem:
        violations.append(_violation("wrong_script", f"the lines are not a translation: {problem}"))
    return Verification(ok=not violations, violations=violations, metrics=metrics), lines


def _line_checks(plan: Plan, source_lines: list[str], lines: list[str], metrics: dict[str, float]) -> list[Violation]:
    empty, copied, long, foreign = [], [], [], []
    script = expected_script(plan.target_language)
    for number, (source, line) in enumerate(zip(source_lines, lines, strict=True), start=1):
        if not line.strip():
            empty.append(number)
            continue
        name_like = is_name_or_number(source, plan)
        if _squashed(line) == _squashed(source) and not name_like:
            copied.append(number)
        if weighted_length(line) > MAX_LINE_RATIO * weighted_length(source) + LINE_SLACK:
            long.append(number)
        own = without_kept_names(line, source)
        letters = sum(1 for char in own if char.isalpha())
        if not name_like and letters >= MIN_LETTERS_FOR_LINE_SCRIPT and script_share(own, script) < MIN_TARGET_SCRIPT_SHARE:
            foreign.append(number)
    metrics["lines_copied"] = float(len(copied))
    found: list[Violation] = []
    if empty:
        found.append(_violation("empty_line", f"line(s) {_shown(empty)} are empty"))
    if copied:
        found.append(_violation("untranslated_line", f"line(s) {_shown(copied)} repeat the source untranslated"))
    if long:
        found.append(_violation("line_length", f"line(s) {_shown(long)} are more than {MAX_LINE_RATIO:g}x as long "
                                "as their source line: keep each line to what its source line says"))
    if foreign and not copied:
        found.append(_violation("wrong_script", f"line(s) {_shown(foreign)} are not written in the "
                                f"{script} script of the target language"))
    return found
