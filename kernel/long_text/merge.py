"""Merge: the final chunk outputs of a plan, in core order, into one Markdown body.

Invariants:
- Merge never drops content silently: when any sentence is not covered by a final chunk output (no
  state, no output, or a state that is not final), it raises ``MergeError`` (``merge_incomplete``)
  listing the missing sentence ranges and chunk ids.
- Chunks are concatenated in core order; a ``## <chapter title>`` heading goes before each chunk that
  starts a chapter (title from ``plan.chapter_titles``, else the chapter metadata).
- Between two chunks of the same chapter, a leading sentence of LLM output that repeats the previous
  chunk's tail is removed (``verify.remove_seam_duplicate``) and counted in ``seam_repairs``;
  deterministic text is never trimmed.
- The body has no front matter and no document title; it ends with one newline.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..task_runtime.errors import YTTError
from ..transcript import NormalizedDocument
from .contracts import ChunkSpec, ChunkState, MergedDocument, Plan
from .deterministic import chapter_title
from .verify import remove_seam_duplicate, sanitize_output


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


def merge_chunks(plan: Plan, doc: NormalizedDocument, states: Mapping[str, ChunkState]) -> MergedDocument:
    """Concatenate the final outputs of ``plan``'s chunks (its own and inherited ones, keyed by chunk id).

    Raises:
        MergeError: code ``merge_incomplete`` when any sentence range has no final output, or
            ``merge_overlap`` when the plan's cores overlap or exceed the document.
    """
    chunks = sorted(plan.chunks, key=lambda chunk: chunk.core_start)
    total = len(doc.sentences)
    _check_complete(chunks, states, doc)

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
        # Only model output can repeat its neighbour (context leaking in); deterministic text never does.
        if previous_output is not None and not chunk.starts_chapter and state.output_origin == "llm":
            text, changed = remove_seam_duplicate(previous_output, text)
            seam_repairs += int(changed)
        if heading:
            blocks.append(heading)
        if text:
            blocks.append(text)
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
