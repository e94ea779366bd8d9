"""Deterministic verification of one chunk's LLM output, and seam de-duplication for merge.

``verify_chunk_output`` compares the output with the chunk's source text (its core as deterministic
paragraphs, exactly what the prompt sent) and returns every violation found, each with the remedy the
loop should try:
- ``repair``: ask again with the specific violations (most content problems);
- ``replan``: the chunk is too big for the model's output limit (truncated although the expected
  output nearly fills ``max_output_tokens``): re-chunk smaller;
- ``fallback``: nothing the model can do (a single sentence that cannot fit): use the deterministic text.
The loop escalates on its own too (for example, replan after repeated truncation).

Checks: empty output, truncation, leaked preamble / prompt tags, heading shape, length ratio (weighted
length, see ``languages.weighted_length``), anchors, glossary terms, language/script, bilingual pairing,
repetition loops, context text copied into a cleaned chunk, and speaker turns. All pure functions.

Speaker turns are checked like anchors: in a multi-speaker source every turn is a paragraph starting
with ``**Label:**``; the output's sequence of turns (labels in paragraph order, a repeated label or an
unlabelled paragraph continuing the current speaker) must equal the source's, so an answer that merges
two speakers' paragraphs, drops or renames a label, or invents one is a ``speaker_turns`` violation
(remedy ``repair``).
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

from ..text import contains_cjk, join_text_pieces
from ..transcript import NormalizedDocument
from .anchors import missing_anchors
from .contracts import ChunkSpec, Plan, Remedy, Verification, Violation, ViolationCode
from .deterministic import format_range, polish_sentence
from .glossary import GlossaryTerm, is_brand_like, term_occurs, terms_in
from .languages import (
    Script,
    base_language,
    dominant_script,
    expected_script,
    guess_latin_language,
    knows_function_words,
    language_name,
    script_share,
    weighted_length,
)

LENGTH_SLACK = 30.0  # weighted characters: short chunks get a little absolute tolerance
MIN_TARGET_SCRIPT_SHARE = 0.6
REPEAT_NGRAM = 8
REPEAT_MIN_COUNT = 4
REPEAT_EXCESS = 3
MAX_HEADING_WEIGHT = 90.0
SEAM_MIN_CHARS = 12
CONTEXT_COPY_SIMILARITY = 0.8

_SPEAKER_LABEL = re.compile(r"^\*\*[^*\n]{1,40}:\*\*\s*")
# Also "**Name**:" (the colon outside the bold), which models write as often.
_TURN_LABEL = re.compile(r"^\*\*([^*\n]{1,40}?)(?::\*\*|\*\*:)")
_HEADING_LINE = re.compile(r"^#{1,6}\s")
_GOOD_HEADING = re.compile(r"^#{2,3} \S")
_HEADING_END = ".:;,!?。：；，！？、"
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+")
_PREAMBLE = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|absolutely)\b[\s,!.:]"
    r"|^\s*here(?:'s| is| are)\b"
    r"|^\s*as an ai\b"
    r"|^\s*(?:below|the following) (?:is|are)\b"
    r"|^\s*(?:translation|translated text|cleaned text|cleaned transcript|edited text|output|result)\s*:"
    r"|^\s*(?:hier ist|voici|aquí (?:tienes|está)|ecco)\b"
    r"|^\s*(?:以下是|好的[，,。！!]|当然[，,。！!]|这是.{0,20}(?:翻译|文本|译文)|译文[:：])",
    re.IGNORECASE,
)
_POSTAMBLE = re.compile(
    r"(?:i hope this helps|let me know if|feel free to ask|if you need any|希望(?:这|以上)|如果您需要|如需)",
    re.IGNORECASE,
)
_LEAKED_TAG = re.compile(r"</?(?:source|context|glossary|previous)>", re.IGNORECASE)
_LEAKED_LINE = re.compile(r"^\s*(?:Mode|Target language|Source language)\s*:", re.MULTILINE)


def sanitize_output(text: str) -> str:
    """Strip surrounding whitespace and a code fence wrapping the whole answer (a harmless model habit)."""
    stripped = text.strip()
    fenced = re.fullmatch(r"```[\w-]*\n(.*?)\n?```", stripped, re.DOTALL)
    return fenced.group(1).strip() if fenced else stripped


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text.strip()) if p.strip()]


def _without_label(paragraph: str) -> str:
    return _SPEAKER_LABEL.sub("", paragraph, count=1)


def _body_paragraphs(text: str) -> list[str]:
    """Paragraphs without heading lines and without speaker labels."""
    result: list[str] = []
    for paragraph in paragraphs(text):
        lines = [line for line in paragraph.splitlines() if not _HEADING_LINE.match(line.strip())]
        body = _without_label("\n".join(lines).strip())
        if body:
            result.append(body)
    return result


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _ngram_counts(tokens: list[str], size: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def _squash(text: str) -> str:
    return "".join(filter(str.isalnum, text.lower()))


def _similarity(left: str, right: str) -> float:
    a, b = _squash(left), _squash(right)
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _squashed_at_least_similar(a: str, b: str, threshold: float) -> bool:
    """``_similarity >= threshold`` for two squashed texts, ruling most pairs out with cheap upper bounds
    first: the length bound (the matcher's ``real_quick_ratio``) before a matcher is even built."""
    if not a or not b:
        return threshold <= 0.0
    if 2.0 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


def _violation(code: ViolationCode, detail: str, remedy: Remedy = "repair") -> Violation:
    return Violation(code=code, detail=detail, remedy=remedy)


def _truncation_remedy(plan: Plan, chunk: ChunkSpec) -> Remedy:
    expected_output = chunk.source_tokens * plan.contract.expected_output_ratio
    if expected_output >= 0.8 * plan.contract.max_output_tokens:
        return "replan" if chunk.sentence_count > 1 else "fallback"
    return "repair"


def _check_leaks(source: str, output: str) -> list[Violation]:
    """Preambles, comments to the reader, prompt tags and header lines. A spoken "Okay, so..." or
    "let me know if..." is only a leak when the source does not say it too."""
    found: list[str] = []
    first_line = next((line for line in output.splitlines() if line.strip()), "")
    source_first = _without_label(paragraphs(source)[0]) if paragraphs(source) else ""
    if _PREAMBLE.search(_without_label(first_line)) and not _PREAMBLE.search(source_first):
        found.append(f"starts with a preamble: {first_line.strip()[:60]!r}")
    last = paragraphs(output)[-1] if paragraphs(output) else ""
    source_last = paragraphs(source)[-1] if paragraphs(source) else ""
    if _POSTAMBLE.search(last) and not _POSTAMBLE.search(source_last):
        found.append(f"ends with a comment to the reader: {last[:60]!r}")
    tag = _LEAKED_TAG.search(output)
    if tag:
        found.append(f"contains the prompt tag {tag.group(0)}")
    if _LEAKED_LINE.search(output):
        found.append("repeats prompt header lines (Mode / language)")
    if output.lstrip().startswith("```"):
        found.append("is wrapped in a code fence")
    return [_violation("leaked_preamble", "; ".join(found))] if found else []


def _check_headings(plan: Plan, output: str) -> list[Violation]:
    headings = [line.strip() for line in output.splitlines() if _HEADING_LINE.match(line.strip())]
    if not headings:
        return []
    if "structure" not in plan.operations:
        return [_violation("heading_shape", f"headings were not asked for: {headings[0][:60]!r}")]
    bad = [
        h
        for h in headings
        if not _GOOD_HEADING.match(h)
        or h.rstrip()[-1] in _HEADING_END
        or weighted_length(h.lstrip("#")) > MAX_HEADING_WEIGHT
    ]
    if bad:
        return [
            _violation(
                "heading_shape",
                f"headings must be short '## Title' lines without end punctuation: {bad[0][:60]!r}",
            )
        ]
    return []


def _check_length(
    plan: Plan, source_body: str, output_body: str, metrics: dict[str, float]
) -> list[Violation]:
    source_length = weighted_length(source_body)
    output_length = weighted_length(output_body)
    ratio = output_length / source_length if source_length else 1.0
    metrics["length_ratio"] = round(ratio, 3)
    low, high = plan.contract.min_length_ratio, plan.contract.max_length_ratio
    if output_length < low * source_length - LENGTH_SLACK:
        return [
            _violation(
                "length_ratio",
                f"output is {ratio:.2f}x the source length (expected {low}-{high}): "
                "content seems to be missing or summarized",
            )
        ]
    if output_length > high * source_length + LENGTH_SLACK:
        return [
            _violation(
                "length_ratio",
                f"output is {ratio:.2f}x the source length (expected {low}-{high}): "
                "content seems to be added",
            )
        ]
    return []


def _check_anchors(source: str, checked_output: str, metrics: dict[str, float]) -> list[Violation]:
    missing = missing_anchors(source, checked_output)
    metrics["anchors_missing"] = float(len(missing))
    if not missing:
        return []
    shown = "; ".join(anchor.text for anchor in missing[:10])
    return [_violation("missing_anchor", f"missing values: {shown}")]


def _required_terms(plan: Plan, source: str) -> list[GlossaryTerm]:
    present = terms_in(source, plan.glossary)
    if plan.mode == "clean":
        return present
    # In a translation only Latin-script brand-like or user terms stay verbatim; names get transliterated.
    return [
        term
        for term in present
        if not contains_cjk(term.term)
        and script_share(term.term, "latin") > 0.9
        and (term.source == "user" or is_brand_like(term.term))
    ]


def _check_glossary(
    plan: Plan, source: str, checked_output: str, metrics: dict[str, float]
) -> list[Violation]:
    required = _required_terms(plan, source)
    missing = [term.term for term in required if not term_occurs(term.term, checked_output)]
    metrics["glossary_checked"] = float(len(required))
    metrics["glossary_missing"] = float(len(missing))
    if not missing:
        return []
    return [_violation("missing_glossary_term", f"missing or misspelled terms: {'; '.join(missing[:10])}")]


def _language_problem(text: str, expected_language: str | None, other_language: str | None) -> str | None:
    """Why ``text`` is not in ``expected_language`` (None when it looks right or cannot be told)."""
    script: Script = expected_script(expected_language)
    share = script_share(text, script)
    if share < MIN_TARGET_SCRIPT_SHARE and any(c.isalpha() for c in text):
        name = language_name(expected_language)
        return f"only {share:.0%} of the letters are in the {script} script of {name}"
    if script == "latin" and knows_function_words(expected_language):
        guessed = guess_latin_language(text)
        if guessed and guessed != base_language(expected_language):
            looks = (
                "the source language" if guessed == base_language(other_language) else language_name(guessed)
            )
            return f"it reads as {looks}, not {language_name(expected_language)}"
    return None


def _check_script(plan: Plan, source: str, output_body: str, metrics: dict[str, float]) -> list[Violation]:
    if plan.mode == "clean":
        language = plan.source_language
        if language is None:
            dominant = dominant_script(source)
            share = script_share(output_body, dominant) if dominant else 1.0
            metrics["target_script_share"] = round(share, 3)
            if dominant and share < MIN_TARGET_SCRIPT_SHARE:
                return [
                    _violation(
                        "wrong_script",
                        f"only {share:.0%} of the letters keep the source's {dominant} "
                        "script: the text seems translated",
                    )
                ]
            return []
        metrics["target_script_share"] = round(script_share(output_body, expected_script(language)), 3)
        problem = _language_problem(output_body, language, None)
        return (
            [_violation("wrong_script", f"the cleaned text changed language: {problem}")] if problem else []
        )
    metrics["target_script_share"] = round(
        script_share(output_body, expected_script(plan.target_language)), 3
    )
    problem = _language_problem(output_body, plan.target_language, plan.source_language)
    return [_violation("wrong_script", f"the output is not a translation: {problem}")] if problem else []


def _looks_like(text: str, language: str | None) -> bool:
    return _language_problem(text, language, None) is None


def _check_pairing(
    plan: Plan, source: str, output: str, metrics: dict[str, float]
) -> tuple[list[Violation], str]:
    """Bilingual pairing; returns the violations and the translation half (the whole output if unpaired)."""
    source_paragraphs = _body_paragraphs(source)
    output_paragraphs = _body_paragraphs(output)
    expected = 2 * len(source_paragraphs)
    metrics["paragraphs_expected"] = float(expected)
    metrics["paragraphs_output"] = float(len(output_paragraphs))
    if len(output_paragraphs) != expected:
        detail = (
            f"expected {expected} paragraphs ({len(source_paragraphs)} source paragraphs, each followed by "
            f"its translation), got {len(output_paragraphs)}"
        )
        return [_violation("bilingual_pairing", detail)], output
    originals, translations = output_paragraphs[0::2], output_paragraphs[1::2]
    bad_pairs: list[int] = []
    same_script = expected_script(plan.source_language) == expected_script(plan.target_language)
    for number, (original, translation, source_paragraph) in enumerate(
        zip(originals, translations, source_paragraphs, strict=True), start=1
    ):
        if same_script:
            # Same script (en -> de): the original must resemble its source paragraph more than the
            # translation does, and the translation must read as the target language when that can be told.
            paired = _similarity(original, source_paragraph) > _similarity(translation, source_paragraph)
            paired = paired and _looks_like(translation, plan.target_language)
        else:
            paired = _looks_like(translation, plan.target_language) and not _looks_like(
                original, plan.target_language
            )
        if not paired:
            bad_pairs.append(number)
    if bad_pairs:
        shown = ", ".join(str(n) for n in bad_pairs[:10])
        return [
            _violation(
                "bilingual_pairing",
                f"pair(s) {shown} are not an original followed by its "
                f"{language_name(plan.target_language)} translation",
            )
        ], output
    return [], "\n\n".join(translations)


def _check_repetition(source: str, output_body: str, metrics: dict[str, float]) -> list[Violation]:
    output_counts = _ngram_counts(_tokens(output_body), REPEAT_NGRAM)
    if not output_counts:
        metrics["max_repeat"] = 0.0
        return []
    gram, count = output_counts.most_common(1)[0]
    metrics["max_repeat"] = float(count)
    source_count = _ngram_counts(_tokens(source), REPEAT_NGRAM).get(gram, 0)
    if count >= REPEAT_MIN_COUNT and count >= source_count + REPEAT_EXCESS:
        joiner = "" if contains_cjk("".join(gram)) else " "
        return [
            _violation(
                "repetition_loop",
                f"the phrase {joiner.join(gram)!r} repeats {count} times ({source_count} in the source)",
            )
        ]
    return []


def _split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


def _check_context_copy(
    plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument, source_body: str, output_body: str
) -> list[Violation]:
    """A cleaned chunk must not start with the context before it or end with the context after it."""
    if plan.mode != "clean":
        return []
    sentences = _split_sentences(output_body)
    source_sentences = _split_sentences(source_body)
    if not sentences or not source_sentences:
        return []
    checks = [
        (sentences[0], source_sentences[0], range(chunk.context_before_start, chunk.core_start), "before"),
        (sentences[-1], source_sentences[-1], range(chunk.core_end, chunk.context_after_end), "after"),
    ]
    for output_sentence, source_sentence, context_range, side in checks:
        output_squashed = _squash(output_sentence)
        like_source: bool | None = None  # whether the output sentence is the source's own, once needed
        for index in context_range:
            context_squashed = _squash(polish_sentence(doc.sentences[index].text, doc.language))
            if len(context_squashed) < SEAM_MIN_CHARS or not _squashed_at_least_similar(
                output_squashed, context_squashed, CONTEXT_COPY_SIMILARITY
            ):
                continue
            if like_source is None:
                like_source = _squashed_at_least_similar(
                    output_squashed, _squash(source_sentence), CONTEXT_COPY_SIMILARITY
                )
            if not like_source:
                return [
                    _violation(
                        "seam_duplicate",
                        f"the output includes context text from {side} the source: {output_sentence[:60]!r}",
                    )
                ]
    return []


def speaker_turns(text: str) -> list[str]:
    """The speakers in turn order: each paragraph's leading label, repeats and unlabelled paragraphs
    continuing the current turn (heading lines are skipped)."""
    turns: list[str] = []
    for paragraph in paragraphs(text):
        lines = [line for line in paragraph.splitlines() if not _HEADING_LINE.match(line.strip())]
        match = _TURN_LABEL.match("\n".join(lines).strip())
        if match:
            label = " ".join(match.group(1).split())
            if not turns or turns[-1] != label:
                turns.append(label)
    return turns


def _check_speaker_turns(source: str, output: str) -> list[Violation]:
    expected, found = speaker_turns(source), speaker_turns(output)
    if expected == found:
        return []
    if not expected:
        detail = f"the source has no speaker labels, but the output adds {found[0]!r}"
    else:
        position = next((i for i, (a, b) in enumerate(zip(expected, found, strict=False)) if a != b),
                        min(len(expected), len(found)))
        shown = " -> ".join(expected[:12]) + (" -> ..." if len(expected) > 12 else "")
        if position < len(expected) and (position >= len(found) or found[position] in expected[position + 1 :]):
            problem = f"the turn of {expected[position]!r} (turn {position + 1}) is lost"
        elif position < len(found):
            problem = f"a turn of {found[position]!r} is invented or renamed (turn {position + 1})"
        else:
            problem = "the turns differ"
        detail = (
            f"speaker turns must stay as in the source ({shown}): {problem}; start each speaker's paragraph "
            "with its label exactly as written"
        )
    return [_violation("speaker_turns", detail)]


def verify_chunk_output(
    plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument, output: str, finish_reason: str | None
) -> Verification:
    """Every deterministic check of one chunk's output (see the module docstring)."""
    metrics: dict[str, float] = {}
    violations: list[Violation] = []
    truncated = finish_reason == "length"
    if truncated:
        violations.append(
            _violation(
                "truncated", "the model stopped at its output token limit", _truncation_remedy(plan, chunk)
            )
        )
    if not output.strip():
        violations.insert(0, _violation("empty_output", "the model returned no text"))
        return Verification(ok=False, violations=violations, metrics=metrics)

    source = format_range(doc, chunk.core_start, chunk.core_end)
    source_body = "\n\n".join(_body_paragraphs(source))
    output_body = "\n\n".join(_body_paragraphs(output))
    violations += _check_leaks(source, output)
    violations += _check_headings(plan, output)
    violations += _check_length(plan, source_body, output_body, metrics)
    checked_output = output
    if plan.mode == "bilingual":
        pairing, checked_output = _check_pairing(plan, source, output, metrics)
        violations += pairing
        if not pairing:  # unpaired output mixes both languages: the pairing violation says enough
            violations += _check_script(plan, source_body, checked_output, metrics)
    else:
        violations += _check_script(plan, source_body, output_body, metrics)
    violations += _check_anchors(source, checked_output, metrics)
    violations += _check_glossary(plan, source, checked_output, metrics)
    violations += _check_repetition(source_body, output_body, metrics)
    violations += _check_context_copy(plan, chunk, doc, source_body, output_body)
    violations += _check_speaker_turns(source, output)
    return Verification(ok=not violations, violations=violations, metrics=metrics)


def remove_seam_duplicate(prev_output: str, next_output: str) -> tuple[str, bool]:
    """Drop leading sentences of ``next_output`` that repeat the end of ``prev_output``.

    Only the first paragraph is examined, sentence by sentence, and only sentences of at least
    ``SEAM_MIN_CHARS`` letters/digits count, so a legitimately repeated "Yes." survives. A speaker label
    in front of the paragraph is kept. Returns the (possibly) shortened text and whether it changed.
    """
    tail = _squash(" ".join(paragraphs(prev_output)[-2:]))
    blocks = paragraphs(next_output)
    if not tail or not blocks or _HEADING_LINE.match(blocks[0]):
        return next_output, False
    label_match = _SPEAKER_LABEL.match(blocks[0])
    label = label_match.group(0) if label_match else ""
    sentences = _split_sentences(blocks[0][len(label) :])
    removed = 0
    for sentence in sentences:
        squashed = _squash(sentence)
        if len(squashed) < SEAM_MIN_CHARS or squashed not in tail:
            break
        removed += 1
    if not removed:
        return next_output, False
    rest = join_text_pieces(sentences[removed:])
    blocks = ([label + rest] if rest else []) + blocks[1:]
    return "\n\n".join(blocks), True


# Shared with the subtitle cue checks (``cue_verify``): one implementation of each rule.
language_problem = _language_problem
required_terms = _required_terms
