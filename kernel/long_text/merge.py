"""Merge: the final chunk outputs of a plan, in core order, into one Markdown body.

Invariants:
- Merge never drops content silently: when any sentence is not covered by a final chunk output (no
  state, no output, or a state that is not final), it raises ``MergeError`` (``merge_incomplete``)
  listing the missing sentence ranges and chunk ids.
- Chunks are concatenated in core order; a ``## <section title>`` heading goes before each chunk that
  starts a section (a chapter or a topic section; title from ``plan.chapter_titles``, else the chapter
  metadata).
- Times come from the source, never from the model. With ``timestamps`` ``sections`` (the default) or
  ``paragraphs`` a heading ends with its section's start time, the start of the first source sentence
  under it (``[mm:ss]``, or a deep link, see ``timestamps.TimeLinks``); with ``paragraphs`` every
  paragraph also starts with the time of the source sentence it begins with: exactly for deterministic
  text, by ``alignment.paragraph_source_starts`` over the chunk's core for model text, so a model that
  merges, splits or reorders paragraphs cannot move a time outside its chunk or backwards.
- Between two chunks of the same chapter, a leading sentence of LLM output that repeats the previous
  chunk's tail is removed (``verify.remove_seam_duplicate``) and counted in ``seam_repairs``;
  deterministic text is never trimmed.
- The body has no front matter and no document title; it ends with one newline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..task_runtime.errors import YTTError
from ..transcript import NormalizedDocument
from .alignment import paragraph_source_starts
from .contracts import ChunkSpec, ChunkState, MergedDocument, Plan
from .deterministic import chapter_title, range_paragraph_starts
from .timestamps import TimeLinks, TimestampMode
from .verify import paragraphs, remove_seam_duplicate, sanitize_output

_HEADING_BLOCK = re.compile(r"^#{2,6} \S")


class MergeError(YTTError):
    """The chunk outputs do not account for every sentence; ``details`` lists the missing ranges."""

    code = "merge_incomplete"


def _missing_ranges(covered: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    missing: list[tuple[int, int]] = []
    position = 0
    for start, end in sorted(covered):
        if start > position:
            missing.append((position, start))
        position = max(position, end)
    if position < total:
        missing.append((position, total))
    return missing


def _has_output(chunk: ChunkSpec, state: ChunkState | None, doc: NormalizedDocument) -> bool:
    if state is None or not state.is_final:
        return False
    if (state.output or "").strip():
        return True
    # An empty output only accounts for sentences that are themselves empty.
    return not any(s.text.strip() for s in doc.sentences[chunk.core_start : chunk.core_end])


def _check_complete(
    chunks: list[ChunkSpec], states: Mapping[str, ChunkState], doc: NormalizedDocument
) -> None:
    total = len(doc.sentences)
    covered: list[tuple[int, int]] = []
    unfinished: list[str] = []
    position = 0
    for chunk in chunks:
        if chunk.core_start < position or chunk.core_end > total:
            raise MergeError(
                f"cannot merge: chunk {chunk.chunk_id} (sentences {chunk.core_start}-{chunk.core_end - 1}) "
                f"overlaps another chunk or lies outside the document's {total} sentences",
                code="merge_overlap",
                hint="the plan does not match the normalized document; re-run the plan phase",
            )
        position = chunk.core_end
        if _has_output(chunk, states.get(chunk.chunk_id), doc):
            covered.append((chunk.core_start, chunk.core_end))
        else:
            unfinished.append(chunk.chunk_id)
    missing = _missing_ranges(covered, total)
    if missing:
        shown = ", ".join(f"{start}-{end - 1}" for start, end in missing[:10])
        raise MergeError(
            f"cannot merge: sentences {shown} have no finished chunk output"
            + (f" (unfinished chunks: {', '.join(unfinished[:10])})" if unfinished else ""),
            hint="resume the run to finish the missing chunks (or replan them); nothing was merged",
            details={
                "missing_ranges": [[start, end] for start, end in missing],
                "unfinished_chunks": unfinished,
            },
        )


def merge_chunks(
    plan: Plan,
    doc: NormalizedDocument,
    states: Mapping[str, ChunkState],
    *,
    timestamps: TimestampMode = "sections",
    links: TimeLinks | None = None,
) -> MergedDocument:
    """Concatenate the final outputs of ``plan``'s chunks (its own and inherited ones, keyed by chunk id).

    ``links`` writes the times (plain ``[mm:ss]`` labels when None); see the module invariants.

    Raises:
        MergeError: code ``merge_incomplete`` when any sentence range has no final output, or
            ``merge_overlap`` when the plan's cores overlap or exceed the document.
    """
    chunks = sorted(plan.chunks, key=lambda chunk: chunk.core_start)
    total = len(doc.sentences)
    _check_complete(chunks, states, doc)

    time_links = links or TimeLinks()
    blocks: list[str] = []
    previous_output: str | None = None
    llm_chunks: list[str] = []
    fallback_chunks: list[str] = []
    degraded_chunks: list[str] = []
    seam_repairs = 0
    for chunk in chunks:
        state = states[chunk.chunk_id]
        text = sanitize_output(state.output or "")
        heading: str | None = None
        if chunk.starts_chapter and chunk.chapter_index is not None:
            title = chapter_title(doc, plan.chapter_titles, chunk.chapter_index)
            heading = f"## {title}" if title else None
        if heading and text.splitlines()[:1] == [heading]:
            text = text[len(heading) :].lstrip()  # the model already wrote this chapter's heading
        if heading and timestamps != "none":
            heading = f"{heading} {time_links.render(doc.sentences[chunk.core_start].start)}"
        # Only model output can repeat its neighbour (context leaking in); deterministic text never does.
        if previous_output is not None and not chunk.starts_chapter and state.output_origin == "llm":
            text, changed = remove_seam_duplicate(previous_output, text)
            seam_repairs += int(changed)
        if heading:
            blocks.append(heading)
        if text:
            blocks.append(_timed_text(text, chunk, doc, state, timestamps, time_links))
        previous_output = text or previous_output

        if state.status == "fallback" or (
            plan.path != "deterministic" and state.output_origin == "deterministic"
        ):
            fallback_chunks.append(chunk.chunk_id)
        elif state.output_origin == "llm":
            llm_chunks.append(chunk.chunk_id)
            if state.final_violations:
                degraded_chunks.append(chunk.chunk_id)

    markdown = "\n\n".join(blocks)
    return MergedDocument(
        markdown=markdown + "\n" if markdown else "",
        accounted_sentences=sum(chunk.sentence_count for chunk in chunks),
        total_sentences=total,
        llm_chunks=llm_chunks,
        fallback_chunks=fallback_chunks,
        degraded_chunks=degraded_chunks,
        seam_repairs=seam_repairs,
    )


def _timed_text(
    text: str,
    chunk: ChunkSpec,
    doc: NormalizedDocument,
    state: ChunkState,
    timestamps: TimestampMode,
    links: TimeLinks,
) -> str:
    """The chunk's text with paragraph times (``paragraphs``) and times on the model's own headings."""
    blocks = paragraphs(text)
    body = [index for index, block in enumerate(blocks) if not _HEADING_BLOCK.match(block)]
    if timestamps == "none" or (timestamps == "sections" and len(body) == len(blocks)):
        return text
    starts = _paragraph_starts([blocks[i] for i in body], chunk, doc, state)
    times = dict(zip(body, (doc.sentences[start].start for start in starts), strict=True))
    timed: list[str] = []
    for index, block in enumerate(blocks):
        following = next((times[i] for i in body if i > index), None)
        if index not in times:  # a heading the model wrote (structure): the time of what it introduces
            timed.append(f"{block} {links.render(following)}" if following is not None else block)
        elif timestamps == "paragraphs":
            timed.append(f"{links.render(times[index])} {block}")
        else:
            timed.append(block)
    return "\n\n".join(timed)


def _paragraph_starts(
    blocks: list[str], chunk: ChunkSpec, doc: NormalizedDocument, state: ChunkState
) -> list[int]:
    """Document sentence index each body paragraph starts with (monotone, inside the chunk's core)."""
    if state.output_origin == "deterministic":
        exact = range_paragraph_starts(doc, chunk.core_start, chunk.core_end)
        if len(exact) == len(blocks):
            return exact
    sources = [sentence.text for sentence in doc.sentences[chunk.core_start : chunk.core_end]]
    return [chunk.core_start + offset for offset in paragraph_source_starts(blocks, sources)]
