"""Planning: split a normalized document into chunks sized for the configured model.

Invariants (checked by ``check_partition`` on every plan built here):
- Chunk cores partition the sentences: every sentence index ``0..n-1`` belongs to exactly one core, and
  ``chunks`` are in core order. Boundaries fall only between sentences.
- A section's first sentence always starts a chunk, so merge can put the ``## `` heading in the right
  place even though LLM output is not sentence-aligned. Sections are the source's chapters or, without
  chapters, the topic sections of ``sections.document_sections``; in the plan they are "chapters":
  ``ChunkSpec.chapter_index`` is the section index and ``Plan.chapter_titles`` holds one title per section
  (the chapter title, or the section's key-phrase title until a better one replaces it).
- Within a section, cores end where a sentence really ends (``deterministic.closes_sentence``) whenever
  such a boundary lies in the last half of the balanced size, so no chunk ends mid-sentence on
  unpunctuated captions when it can be avoided.
- The plan depends only on the document's sentences, never on when they arrived: topic sections have a
  bounded look-ahead (see ``sections``), and packing depends only on the sentences of one section.
- Context ranges are at most ``CONTEXT_SENTENCES`` source sentences on each side, within half of
  ``contract.context_tokens`` per side; they are reference only.
- Deterministic: the same document, request, profile and token counter give the same plan.

Chunk size (``max_source_tokens``), for a profile with context window W and output limit O:
    min((W - prompt overhead - glossary - context) / (1 + 2 r), O / r) * SAFETY_MARGIN
capped at ``MAX_QUALITY_SOURCE_TOKENS``, where r is the expected output/source token ratio of the
operation (``expected_output_ratio``). The ``2 r`` leaves room for a repair request, whose input holds
the source and the previous output and whose output needs r again.

Token ratios (cl100k-style tokenizers, relative token cost of the same content per language, with
English = 1.0): other Latin-script languages 1.4, Chinese/Japanese 1.5, Korean 1.8, Cyrillic 2.2,
Greek/Arabic/Hebrew 2.5, Devanagari/Thai 3.0. A translation's ratio is cost(target) / cost(source),
never below 0.8 (underestimating output truncates it): en->de 1.4, en->zh 1.5, zh->en 0.8. Cleaning
is 1.1 (punctuation and casing are added). Bilingual output holds the cleaned source plus its
translation: 1.1 + translate ratio (en->de 2.5, en->zh 2.6).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from ..config import LLMProfile
from ..task_runtime.errors import YTTError
from ..transcript import NormalizedDocument
from .contracts import (
    ChunkContract,
    ChunkSpec,
    GlossaryTerm,
    Operation,
    Plan,
    PlanPath,
    TransformRequest,
)
from .deterministic import closes_sentence
from .languages import base_language, expected_script
from .sections import document_sections, section_of_sentences, section_start_flags

PROMPT_OVERHEAD_TOKENS = 700  # template text, tags and instructions; test_prompting keeps templates under it
MAX_CONTEXT_TOKENS = 300  # both sides together
CONTEXT_SENTENCES = 2  # per side
SAFETY_MARGIN = 0.85
MAX_QUALITY_SOURCE_TOKENS = 4000  # models abridge and drift on very long single outputs
MIN_REPLAN_SOURCE_TOKENS = 150
DETERMINISTIC_CHUNK_TOKENS = 1500
TAIL_SHARE = 0.3  # a last chunk under this share of the maximum joins its predecessor when that fits

_SCRIPT_TOKEN_COST = {
    "latin": 1.4, "cjk": 1.5, "hangul": 1.8, "cyrillic": 2.2, "greek": 2.5, "arabic": 2.5, "hebrew": 2.5,
    "devanagari": 3.0, "thai": 3.0,
}  # fmt: skip
_CLEAN_RATIO = 1.1
_MIN_TRANSLATE_RATIO = 0.8


class PlanError(YTTError):
    """A plan cannot be built or changed as asked (a broken invariant or an inconsistent replan request)."""

    code = "plan_error"


def _token_cost(language: str | None) -> float:
    if base_language(language) in (None, "en"):
        return 1.0
    return _SCRIPT_TOKEN_COST[expected_script(language)]


def expected_output_ratio(
    operation: Operation, source_language: str | None, target_language: str | None
) -> float:
    """Output tokens per source token for ``operation`` (see the module docstring for the numbers)."""
    if operation in ("format",):
        return 1.0
    if operation in ("clean", "structure"):
        return _CLEAN_RATIO
    translate = max(_MIN_TRANSLATE_RATIO, _token_cost(target_language) / _token_cost(source_language))
    translate = round(translate, 2)
    return translate if operation == "translate" else round(_CLEAN_RATIO + translate, 2)


def length_ratio_bounds(
    operation: Operation, source_language: str | None, target_language: str | None
) -> tuple[float, float]:
    """Accepted output/source ratio of weighted length (``languages.weighted_length``).

    Weighting already evens out scripts, so one band fits most directions; translating from Chinese or
    Japanese into a spaced script runs longer (function words appear), the reverse shorter.
    """
    if operation in ("format", "clean", "structure"):
        return (0.65, 1.35)
    source_cjk = expected_script(source_language) == "cjk"
    target_cjk = expected_script(target_language) == "cjk"
    low, high = 0.5, 1.8
    if target_cjk and not source_cjk:
        low, high = 0.4, 1.6
    elif source_cjk and not target_cjk:
        low, high = 0.6, 2.2
    if operation == "bilingual":
        return (round(0.65 + low, 2), round(1.35 + high, 2))
    return (low, high)


def _llm_contract(
    operation: Operation, ratio: float, llm: LLMProfile, glossary_tokens: int, bounds: tuple[float, float]
) -> ChunkContract:
    context_tokens = min(MAX_CONTEXT_TOKENS, llm.context_window // 16)
    available = llm.context_window - PROMPT_OVERHEAD_TOKENS - glossary_tokens - context_tokens
    by_window = available / (1 + 2 * ratio)
    by_output = llm.max_output_tokens / ratio
    max_source = int(min(by_window, by_output, MAX_QUALITY_SOURCE_TOKENS / SAFETY_MARGIN) * SAFETY_MARGIN)
    max_source = max(1, max_source)
    room = llm.context_window - PROMPT_OVERHEAD_TOKENS - glossary_tokens - context_tokens - max_source
    max_output = max(1, min(llm.max_output_tokens, room))
    return ChunkContract(
        operation=operation,
        max_source_tokens=max_source,
        context_tokens=context_tokens,
        expected_output_ratio=ratio,
        max_output_tokens=max_output,
        min_length_ratio=bounds[0],
        max_length_ratio=bounds[1],
    )


def _pack(
    tokens: Sequence[int], closes: Sequence[bool], first: int, stop: int, max_tokens: int
) -> list[tuple[int, int]]:
    """Split ``[first, stop)`` into balanced consecutive ranges of at most ``max_tokens`` (one sentence
    may exceed it alone), ending ranges after a closing sentence when one is near."""
    total = sum(tokens[first:stop])
    if total <= max_tokens:
        return [(first, stop)]
    target = total / math.ceil(total / max_tokens)
    ranges: list[tuple[int, int]] = []
    start, current = first, 0
    for index in range(first, stop):
        size = tokens[index]
        # Close the range when this sentence would overflow it, or when more than half of the sentence
        # would land beyond the balanced target size.
        if index > start and (current + size > max_tokens or current + size / 2 > target):
            cut = _closing_cut(tokens, closes, start, index, target)
            ranges.append((start, cut))
            start, current = cut, sum(tokens[cut:index])
        current += size
    ranges.append((start, stop))
    if len(ranges) >= 2:
        last, previous = ranges[-1], ranges[-2]
        last_size = sum(tokens[last[0] : last[1]])
        if (
            last_size < TAIL_SHARE * max_tokens
            and last_size + sum(tokens[previous[0] : previous[1]]) <= max_tokens
        ):
            ranges[-2:] = [(previous[0], last[1])]
    return ranges


def _closing_cut(tokens: Sequence[int], closes: Sequence[bool], start: int, cut: int, target: float) -> int:
    """``cut``, or the latest earlier cut after a closing sentence that keeps half the target size."""
    if closes[cut - 1]:
        return cut
    size = sum(tokens[start:cut])
    for candidate in range(cut - 1, start, -1):
        size -= tokens[candidate]
        if size < target / 2:
            break
        if closes[candidate - 1]:
            return candidate
    return cut


def _partition(
    tokens: Sequence[int],
    is_section_start: Sequence[bool],
    closes: Sequence[bool],
    first: int,
    stop: int,
    max_tokens: int,
) -> list[tuple[int, int]]:
    """Core ranges for ``[first, stop)``: cut at every section start, then pack each piece."""
    if first >= stop:
        return []
    cuts = [first, *(i for i in range(first + 1, stop) if is_section_start[i]), stop]
    return [core for start, end in pairwise(cuts) for core in _pack(tokens, closes, start, end, max_tokens)]


def _context_range(tokens: Sequence[int], start: int, end: int, per_side: int) -> tuple[int, int]:
    before, used = start, 0
    while before > 0 and start - before < CONTEXT_SENTENCES and used + tokens[before - 1] <= per_side:
        before -= 1
        used += tokens[before]
    after, used = end, 0
    while after < len(tokens) and after - end < CONTEXT_SENTENCES and used + tokens[after] <= per_side:
        used += tokens[after]
        after += 1
    return before, after


def _make_chunk(
    tokens: Sequence[int],
    section_of: Sequence[int | None],
    is_section_start: Sequence[bool],
    core: tuple[int, int],
    *,
    chunk_id: str,
    index: int,
    context_tokens: int,
) -> ChunkSpec:
    start, end = core
    before, after = _context_range(tokens, start, end, context_tokens // 2)
    return ChunkSpec(
        chunk_id=chunk_id,
        index=index,
        core_start=start,
        core_end=end,
        context_before_start=before,
        context_after_end=after,
        chapter_index=section_of[start],
        starts_chapter=is_section_start[start],
        source_tokens=sum(tokens[start:end]),
    )


def _closing_flags(doc: NormalizedDocument) -> list[bool]:
    sentences = doc.sentences
    return [
        closes_sentence(sentence, sentences[i + 1] if i + 1 < len(sentences) else None)
        for i, sentence in enumerate(sentences)
    ]


def chunk_id_for(plan_id: str, index: int) -> str:
    return f"{plan_id}-c{index:04d}"


def check_partition(chunks: Sequence[ChunkSpec], total_sentences: int) -> None:
    """Raise unless the chunks' cores cover ``0..total_sentences-1`` exactly once, in order.

    Raises:
        PlanError: code ``plan_partition_broken``, naming the first gap or overlap.
    """
    expected = 0
    for chunk in chunks:
        if chunk.core_start != expected:
            raise PlanError(
                f"chunk {chunk.chunk_id} starts at sentence {chunk.core_start}, expected {expected}",
                code="plan_partition_broken",
                hint="this is a bug in planning; report it with the plan file",
            )
        expected = chunk.core_end
    if expected != total_sentences:
        raise PlanError(
            f"chunks cover sentences 0..{expected - 1} of 0..{total_sentences - 1}",
            code="plan_partition_broken",
            hint="this is a bug in planning; report it with the plan file",
        )
    ids = [chunk.chunk_id for chunk in chunks]
    if len(set(ids)) != len(ids):
        raise PlanError("chunk ids repeat within a plan", code="plan_partition_broken")


def build_plan(
    doc: NormalizedDocument,
    request: TransformRequest,
    *,
    llm: LLMProfile | None,
    glossary: list[GlossaryTerm],
    chapter_titles: list[str | None],
    plan_id: str,
    count_tokens: Callable[[str], int],
) -> Plan:
    """The first plan for ``doc``: deterministic without an LLM, else short (fits one chunk) or long.

    Raises:
        PlanError: an invariant broke (a bug; the message says which).
    """
    tokens = [count_tokens(sentence.text) for sentence in doc.sentences]
    sections = document_sections(doc)
    is_section_start = section_start_flags(sections, len(tokens))
    section_of = section_of_sentences(sections, len(tokens))
    closes = _closing_flags(doc)
    total_tokens = sum(tokens)
    source_language = request.source_language or doc.language
    target_language = request.target_language if request.mode != "clean" else source_language
    has_chapters = bool(doc.chapters)
    reasons: list[str] = []
    operations: list[Operation]
    path: PlanPath

    if llm is None:
        operations = ["format"]
        ratio = 1.0
        contract = ChunkContract(
            operation="format",
            max_source_tokens=DETERMINISTIC_CHUNK_TOKENS,
            context_tokens=0,
            expected_output_ratio=ratio,
            max_output_tokens=DETERMINISTIC_CHUNK_TOKENS,
            min_length_ratio=0.65,
            max_length_ratio=1.35,
        )
        path = "deterministic"
        reasons.append(
            "no LLM is configured: deterministic formatting (sentences, paragraphs by pauses and length, "
            "chapter headings from metadata)"
        )
        if request.mode != "clean":
            reasons.append(f"mode {request.mode} needs an LLM; the text stays in its source language")
        reasons.append(
            f"chunks of up to {DETERMINISTIC_CHUNK_TOKENS} tokens so the work resumes chunk by chunk"
        )
    else:
        operation: Operation = request.mode
        operations = [operation]
        if request.structure and not has_chapters:
            operations.append("structure")
        ratio = expected_output_ratio(operation, source_language, target_language)
        glossary_tokens = count_tokens("; ".join(term.term for term in glossary)) if glossary else 0
        bounds = length_ratio_bounds(operation, source_language, target_language)
        contract = _llm_contract(operation, ratio, llm, glossary_tokens, bounds)
        path = "short" if total_tokens <= contract.max_source_tokens else "long"
        reasons.append(
            f"model context window {llm.context_window} tokens, output limit {llm.max_output_tokens}: "
            f"chunks of up to {contract.max_source_tokens} source tokens (expected output {ratio}x the "
            "source; room kept for a repair request that carries the previous output)"
        )
        if contract.max_source_tokens < 100:
            reasons.append("the context window leaves little room for source text: chunks are very small")
        if path == "short":
            reasons.append(f"the document ({total_tokens} tokens) fits one request: short path")
        else:
            reasons.append(f"the document has {total_tokens} tokens in {len(tokens)} sentences: long path")

    cores = _partition(tokens, is_section_start, closes, 0, len(tokens), contract.max_source_tokens)
    chunks = [
        _make_chunk(
            tokens,
            section_of,
            is_section_start,
            core,
            chunk_id=chunk_id_for(plan_id, index),
            index=index,
            context_tokens=contract.context_tokens,
        )
        for index, core in enumerate(cores)
    ]
    check_partition(chunks, len(doc.sentences))
    if sections and has_chapters:
        reasons.append(f"{len(sections)} chapters: every chapter starts a new chunk")
    elif sections:
        reasons.append(
            f"no chapters: {len(sections)} topic sections found in the transcript (pauses, length, lexical "
            "cohesion); every section starts a new chunk"
        )
    reasons.append(f"{len(chunks)} chunk(s)")
    if any(chunk.source_tokens > contract.max_source_tokens for chunk in chunks):
        reasons.append("some single sentences exceed the chunk size and form a chunk of their own")
    return Plan(
        plan_id=plan_id,
        path=path,
        mode=request.mode,
        source_language=source_language,
        target_language=request.target_language,
        # Decided here, once: deterministic formatting keeps the source language whatever was asked.
        output_language=target_language if path != "deterministic" else source_language,
        operations=operations,
        contract=contract,
        chunks=chunks,
        chapter_titles=_section_titles(sections, chapter_titles),
        glossary=list(glossary),
        reasons=reasons,
    )


def _section_titles(sections: Sequence[Any], overrides: Sequence[str | None]) -> list[str | None]:
    """One title per section index: the given title (a chapter's) when set, else the section's own."""
    size = max([len(overrides), *(section.index + 1 for section in sections)])
    titles: list[str | None] = [*overrides, *([None] * (size - len(overrides)))]
    for section in sections:
        if not titles[section.index] and section.title:
            titles[section.index] = section.title
    return titles


def replan_remaining(
    plan: Plan,
    doc: NormalizedDocument,
    finished: set[str],
    *,
    new_plan_id: str,
    shrink: float = 0.5,
    count_tokens: Callable[[str], int],
) -> Plan:
    """A new plan that keeps the ``finished`` chunks and re-chunks everything else smaller.

    Kept chunks keep their ids and cores and are listed in ``inherited`` (with the plan id holding their
    state; earlier inherited entries carry over). Unfinished neighbouring chunks are joined and cut again
    with ``max_source_tokens * shrink``, never below ``MIN_REPLAN_SOURCE_TOKENS`` (or the current size when
    that is already smaller); a single sentence cannot be split further.

    Raises:
        PlanError: ``finished`` names a chunk the plan does not have, or ``new_plan_id`` is already used.
    """
    known = {chunk.chunk_id for chunk in plan.chunks}
    unknown = sorted(finished - known)
    if unknown:
        raise PlanError(
            f"plan {plan.plan_id} has no chunk(s) {', '.join(unknown)}",
            code="unknown_chunk",
            hint="pass the ids of the plan's own or inherited chunks",
        )
    if new_plan_id == plan.plan_id or new_plan_id in plan.inherited.values():
        raise PlanError(
            f"plan id {new_plan_id} is already used in this run",
            code="plan_id_reused",
            hint="choose a new plan id",
        )
    old_max = plan.contract.max_source_tokens
    new_max = max(min(MIN_REPLAN_SOURCE_TOKENS, old_max), int(old_max * shrink))
    contract = plan.contract.model_copy(update={"max_source_tokens": new_max})
    tokens = [count_tokens(sentence.text) for sentence in doc.sentences]
    # Sections come from the plan itself (its chunks start them), so a replan never moves a heading.
    is_section_start = [False] * len(tokens)
    section_of: list[int | None] = [None] * len(tokens)
    for chunk in plan.chunks:
        is_section_start[chunk.core_start] = chunk.starts_chapter
        for position in range(chunk.core_start, chunk.core_end):
            section_of[position] = chunk.chapter_index
    closes = _closing_flags(doc)

    pieces: list[ChunkSpec | tuple[int, int]] = []
    for chunk in plan.chunks:
        if chunk.chunk_id in finished:
            pieces.append(chunk)
        elif pieces and isinstance(pieces[-1], tuple):
            pieces[-1] = (pieces[-1][0], chunk.core_end)
        else:
            pieces.append((chunk.core_start, chunk.core_end))

    chunks: list[ChunkSpec] = []
    inherited: dict[str, str] = {}
    resplit_sentences = 0
    for piece in pieces:
        if isinstance(piece, ChunkSpec):
            inherited[piece.chunk_id] = plan.state_plan_id(piece.chunk_id)
            chunks.append(piece.model_copy(update={"index": len(chunks)}))
            continue
        resplit_sentences += piece[1] - piece[0]
        for core in _partition(tokens, is_section_start, closes, piece[0], piece[1], new_max):
            index = len(chunks)
            chunks.append(
                _make_chunk(
                    tokens,
                    section_of,
                    is_section_start,
                    core,
                    chunk_id=chunk_id_for(new_plan_id, index),
                    index=index,
                    context_tokens=contract.context_tokens,
                )
            )
    check_partition(chunks, len(doc.sentences))
    new_chunks = len(chunks) - len(inherited)
    reason = (
        f"replan {new_plan_id} of {plan.plan_id}: kept {len(inherited)} finished chunk(s); re-chunked "
        f"{resplit_sentences} sentence(s) into {new_chunks} chunk(s) of up to {new_max} tokens"
    )
    return plan.model_copy(
        update={
            "plan_id": new_plan_id,
            "parent_plan_id": plan.plan_id,
            "path": "deterministic" if plan.path == "deterministic" else "long",
            "contract": contract,
            "chunks": chunks,
            "inherited": inherited,
            "reasons": [*plan.reasons, reason],
        }
    )


def plan_summary(plan: Plan) -> dict[str, Any]:
    """A small readable summary (for phase records, inspect-run and the quality report)."""
    sentences = plan.chunks[-1].core_end if plan.chunks else 0
    return {
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id,
        "path": plan.path,
        "mode": plan.mode,
        "source_language": plan.source_language,
        "target_language": plan.target_language,
        "operations": list(plan.operations),
        "chunks": len(plan.chunks),
        "inherited_chunks": len(plan.inherited),
        "sentences": sentences,
        "max_source_tokens": plan.contract.max_source_tokens,
        "max_output_tokens": plan.contract.max_output_tokens,
        "glossary_terms": len(plan.glossary),
        "reasons": list(plan.reasons),
    }
