"""Section titles by the run's writer: one request titles every section, checked, repaired, or left
deterministic.

The request is ``chapter_title_messages`` (the chapter-title prompt); the answer is checked by
``verify_chapter_titles`` (short, one line, in the output language, distinct, not a bare number, not copied
instructions). A failing answer gets a repair with the violations; after the bounded attempts every title
that still fails keeps its deterministic title (its key phrase, or the source chapter's title), so a
heading is never empty or invented.

Invariants:
- The titles are a work item like a chunk (``TitlesItem``): the same endpoint loop (``process_item``) and
  agent loop (``agent_turn``), the same state file shape, the same durability.
- The state folder is named by a digest of the request, so an unchanged document and plan reuse the
  answer (a resumed run never asks again) and a changed one asks afresh.
- Titles are asked for only when a writer rewrites the text and the article has headings to title:
  sections found by topic, or source chapters in a translated article (chapters keep their own titles
  in the source language's article).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..config import LLMProfile
from ..task_runtime.canonical import fingerprint_value
from ..task_runtime.errors import StopRequested
from ..task_runtime.phases import PhaseContext
from ..transcript import NormalizedDocument
from .chapter_titles import chapter_title_messages, deterministic_titles, verify_chapter_titles
from .chunk_files import load_chunk_state
from .contracts import Attempt, ChunkState, Plan, Violation
from .sections import Section, document_sections
from .work_items import Verdict, decide_verdict, state_path

TITLES_ROOT = "titles"
TITLES_ITEM = "titles"
OUTPUT_TOKENS = 600  # numbered short lines: a few dozen sections fit


class SectionTitles(BaseModel):
    """The ``titles.chosen`` artifact: one title per section, in order, and where they came from."""

    schema_file: ClassVar[str] = "section_titles"

    titles: list[str] = Field(default_factory=list)
    origin: Literal["writer", "deterministic"] = "deterministic"
    violations: list[Violation] = Field(default_factory=list)  # what the writer's last answer got wrong
    reasons: list[str] = Field(default_factory=list)


@dataclass(frozen=True, eq=False)
class TitlesItem:
    """The section titles of an article as one work item."""

    plan: Plan
    doc: NormalizedDocument
    sections: tuple[Section, ...]
    set_id: str
    kind: str = "section_titles"
    operation: str = "titles"
    replans_plan: bool = False
    max_output_tokens: int = OUTPUT_TOKENS

    @property
    def folder(self) -> str:
        return f"{TITLES_ROOT}/{self.set_id}"

    @property
    def item_id(self) -> str:
        return TITLES_ITEM

    def messages(self, violations: list[Violation] | None, previous_output: str | None) -> list[dict[str, str]]:
        messages = chapter_title_messages(self.plan, self.doc, self.sections)
        if violations:
            problems = "\n".join(f"- {v.code}: {v.detail}" for v in violations)
            shown = previous_output.strip() if previous_output and previous_output.strip() else "(empty)"
            messages = [*messages, {"role": "assistant", "content": shown},
                        {"role": "user", "content": "Some titles did not pass these checks:\n" + problems +
                         "\n\nAnswer again with every numbered title, fixing exactly those problems."}]
        return messages

    def judge(self, raw_text: str, finish_reason: str | None, *, previous_output: str | None,
              truncated_before: int, attempts_left: bool) -> Verdict:
        titles, violations = verify_chapter_titles(raw_text, self.plan, self.doc, self.sections,
                                                   finish_reason=finish_reason)
        verdict = decide_verdict(self.item_id, raw_text.strip(), violations, previous_output=previous_output,
                                 truncated_before=truncated_before, attempts_left=attempts_left)
        if verdict.outcome == "accept":
            return Verdict("accept", "\n".join(titles), [])
        return verdict

    def give_up(self, attempts: list[Attempt], violations: list[Violation], *, more_requests: bool) -> ChunkState:
        return ChunkState(plan_id=self.set_id, chunk_id=self.item_id, status="fallback", attempts=attempts,
                          output="\n".join(deterministic_titles(self.plan, self.sections)),
                          output_origin="deterministic", final_violations=violations)


def titled_sections(plan: Plan, doc: NormalizedDocument, *, translated: bool) -> list[Section]:
    """The sections whose titles a writer should write (empty: none need one)."""
    sections = document_sections(doc)
    if len(sections) < 2:
        return []
    if all(section.origin == "chapter" for section in sections) and not translated:
        return []
    return sections


def choose_titles(ctx: PhaseContext, plan: Plan, doc: NormalizedDocument, llm: LLMProfile | None,
                  writer: Literal["endpoint", "agent"] | None, *, translated: bool) -> SectionTitles:
    """The ``titles.chosen`` artifact for this plan and document.

    Raises:
        StopRequested: a pause or cancel was honoured before the request.
        InputRequired: with the agent as the writer, the titles wait for the agent's answer.
    """
    from .agent_loop import agent_turn
    from .process import MAX_ATTEMPTS, ItemLoop, process_item, run_budget, with_llm_client

    sections = titled_sections(plan, doc, translated=translated)
    if writer is None or llm is None or not sections:
        every = document_sections(doc)
        reason = "no writer rewrites the text" if writer is None else "no headings need a title from the writer"
        return SectionTitles(titles=deterministic_titles(plan, every), reasons=[reason])
    set_id = "t" + fingerprint_value({"messages": chapter_title_messages(plan, doc, sections)}).split(":")[1][:12]
    item = TitlesItem(plan, doc, tuple(sections), set_id)
    loop = ItemLoop(ctx, state_root=TITLES_ROOT, finished_event="titles_finished", crash_label="titles")
    state = load_chunk_state(state_path(ctx.run_dir.path, item))
    if state is None or not state.is_final:
        if writer == "agent":
            state = agent_turn(ctx, item, loop.write, MAX_ATTEMPTS)
        else:
            ctx.checkpoint()
            budget, usage = run_budget(ctx.run_dir.path, llm)

            async def body(client: Any, limiter: Any) -> None:
                nonlocal state
                state = await process_item(loop, client, item, llm)

            asyncio.run(with_llm_client(loop, llm, budget, usage, body))
            if loop.stop_signal:
                raise StopRequested(f"{loop.stop_signal} requested", details={"signal": loop.stop_signal})
    assert state is not None and state.output is not None
    titles = state.output.split("\n")
    return SectionTitles(titles=titles, origin="writer" if state.output_origin == "llm" else "deterministic",
                         violations=list(state.final_violations),
                         reasons=[f"{len(sections)} section titles by the {writer}"
                                  + ("" if state.output_origin == "llm" else " failed the checks; kept the "
                                     "deterministic titles")])


def titles_for_plan(plan: Plan, chosen: Sequence[str]) -> Plan:
    """``plan`` with the chosen section titles (what merge writes as headings)."""
    return plan.model_copy(update={"chapter_titles": list(chosen)})
