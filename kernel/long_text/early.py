"""Early chunks: answers for chunks obtained while speech recognition is still running, kept by what was asked.

While the audio is being recognized, the text so far is planned as if it were the whole transcript
(``settled_chunks`` picks the chunks more text cannot change: their section is final, the glossary is
final, their context is complete) and those chunks are sent to the endpoint. Each answer is stored as
``chunks/early/<item_id>.json``, named by ``early_key``: the fingerprint of everything that decides the
chunk's requests and how its answers are judged (the contract, mode, languages and operations, the first
request's messages, which hold the chunk's glossary terms and its text, and the core and context
sentences). The transform phase, working on the plan of the whole transcript, adopts an early state for a
chunk only when the keys are equal (``adopt_early_state``), so an adopted answer is an answer to exactly
the request the chunk loop would have sent and was judged by the same checks: the article does not depend
on whether stages overlapped. An early chunk that matches nothing is simply not used.

Invariants:
- Only ``succeeded`` early states are adopted; an early chunk that gave up (``fallback``) is done again by
  the transform phase, with its own repairs and replans (early chunks never replan).
- Early states are ordinary ``ChunkState`` files (``plan_id="early"``); their ``run_usage`` is part of the
  run's usage, so the run budget counts early requests.
- Pure functions except the state file reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..task_runtime.canonical import fingerprint_value
from ..transcript import NormalizedDocument
from .chunk_files import load_chunk_state
from .contracts import Attempt, ChunkSpec, ChunkState, Plan, Violation
from .glossary import glossary_is_final
from .plan import CONTEXT_SENTENCES
from .process import ChunkItem, deterministic_output
from .sections import document_sections, final_section_count

EARLY_PLAN_ID = "early"
EARLY_FOLDER = f"chunks/{EARLY_PLAN_ID}"
EARLY_KEY_VERSION = 1


def settled_chunks(plan: Plan, doc: NormalizedDocument) -> list[ChunkSpec]:
    """The chunks of ``plan`` (made for ``doc``, a transcript still growing at its end) that more text cannot
    change: the glossary is final, the chunk's section is final, and its context after is complete."""
    if plan.path == "deterministic" or not glossary_is_final(doc.sentences):
        return []
    sections = document_sections(doc)
    final = final_section_count(doc, sections)
    if final == 0:
        return []
    settled_end = sections[final].first_sentence  # the sentences before it belong to final sections
    total = len(doc.sentences)
    return [chunk for chunk in plan.chunks
            if chunk.core_end <= settled_end and chunk.core_end + CONTEXT_SENTENCES <= total]


def early_key(plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument) -> str:
    """The fingerprint of a chunk's requests and judgement (see the module docstring)."""
    from .prompting import build_chunk_messages

    return fingerprint_value({
        "version": EARLY_KEY_VERSION,
        "contract": plan.contract.model_dump(mode="json"),
        "mode": plan.mode,
        "operations": list(plan.operations),
        "languages": [plan.source_language, plan.target_language, plan.output_language, doc.language],
        "messages": build_chunk_messages(plan, chunk, doc),
        "chunk": chunk.model_dump(mode="json", exclude={"chunk_id", "index", "chapter_index"}),
        "sentences": [s.model_dump(mode="json")
                      for s in doc.sentences[chunk.context_before_start:chunk.context_after_end]],
    })


def early_item_id(key: str) -> str:
    return "e" + key.split(":", 1)[-1][:24]


def early_state_path(run_path: Path, key: str) -> Path:
    return run_path / EARLY_FOLDER / f"{early_item_id(key)}.json"


@dataclass(frozen=True)
class EarlyChunkItem(ChunkItem):
    """A settled chunk of a growing transcript as a work item: its state is named by its key; it never
    asks for a replan (giving up leaves the chunk to the transform phase)."""

    key: str = ""
    replans_plan: bool = False

    @property
    def folder(self) -> str:
        return EARLY_FOLDER

    @property
    def item_id(self) -> str:
        return early_item_id(self.key)

    def give_up(self, attempts: list[Attempt], violations: list[Violation], *, more_requests: bool) -> ChunkState:
        return ChunkState(plan_id=EARLY_PLAN_ID, chunk_id=self.item_id, status="fallback", attempts=attempts,
                          output=deterministic_output(self.chunk, self.doc), output_origin="deterministic",
                          final_violations=violations)


def has_early_states(run_path: Path) -> bool:
    return (run_path / EARLY_FOLDER).is_dir()


def adopt_early_state(run_path: Path, plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument) -> ChunkState | None:
    """The early answer to exactly this chunk's request, as the chunk's own state; None when there is none."""
    early = load_chunk_state(early_state_path(run_path, early_key(plan, chunk, doc)))
    if early is None or early.status != "succeeded" or not early.is_final:
        return None
    return early.model_copy(update={"plan_id": plan.plan_id, "chunk_id": chunk.chunk_id})
