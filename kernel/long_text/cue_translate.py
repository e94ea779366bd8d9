"""Subtitle cues translated a group at a time, by an endpoint or by the calling agent, verified line by line.

Each group of cues (``cues.group_cues``) is one work item (``work_items.WorkItem``) with its own state file
``cues/<set_id>/<group_id>.json``, driven by the same loops as the article's chunks: ``process.process_item``
for an endpoint (concurrent, rate-limit aware, the run's budget) and ``agent_loop.agent_turn`` for the agent
(one task at a time, same task and submission shapes). What differs is behind the item: the
``cue_translate`` / ``cue_repair`` prompts (the ``<source>``/``<context>``/``<glossary>`` contract, source
lines numbered), the checks of ``cue_verify``, and giving up: a group of several cues is split in two
(``cues.split_group``; the halves are new items), and a single cue keeps its source line, listed in
``CueTranslation.fallback_cues``.

Invariants:
- ``set_id`` is a fingerprint of everything that decides the translation (the cues, the groups, the
  languages, the glossary, the prompts), so states in ``cues/<set_id>/`` always belong to this set and a
  changed input starts a fresh folder instead of reusing answers for other lines.
- A group whose state is final is never sent again (a resumed run re-sends only unfinished groups); a
  ``superseded`` state means the group was split and its halves carry on.
- The result has exactly one cue per source cue, with the source cue's timings, kind and speaker; no
  translated cue is empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..config import LLMProfile
from ..task_runtime.canonical import fingerprint_value
from ..task_runtime.errors import StopRequested
from ..task_runtime.phases import PhaseContext
from ..task_runtime.store import atomic_write_json
from ..transcript import Segment
from .agent_loop import CURRENT_CUE_SET_FILE, agent_turn
from .chunk_files import load_chunk_state
from .contracts import Attempt, ChunkState, Plan, Violation
from .cues import CueGroup, CueTranslation, cue_text, group_cues, split_group
from .limiter import AdaptiveLimiter
from .process import MAX_ATTEMPTS, ItemLoop, process_item, run_budget, with_llm_client
from .work_items import Verdict, decide_verdict

CUE_STATE_ROOT = "cues"
OPERATION = "translate_cues"
CONTEXT_CUES = 3
MIN_OUTPUT_TOKENS = 256
PROMPTS = ("cue_translate", "cue_repair")


def cue_set_id(plan: Plan, lines: list[Segment], groups: list[CueGroup]) -> str:
    """The folder name of a set of cue groups: ``s`` + 12 hex digits of its fingerprint."""
    from .prompting import load_template

    digest = fingerprint_value({
        "lines": [[line.kind, line.speaker, cue_text(line)] for line in lines],
        "groups": [[g.first, g.stop] for g in groups],
        "languages": [plan.source_language, plan.target_language],
        "glossary": [term.term for term in plan.glossary],
        "prompts": [load_template(name).model_dump() for name in PROMPTS],
    })
    return "s" + digest.removeprefix("sha256:")[:12]


def _context(lines: list[Segment], start: int, stop: int) -> str:
    texts = [cue_text(line) for line in lines[max(0, start):max(0, stop)] if line.kind == "speech"]
    return "\n".join(texts) or "(none)"


@dataclass(frozen=True, eq=False)
class CueGroupItem:
    """One group of cues as a work item (see the module docstring)."""

    set_id: str
    group: CueGroup
    lines: list[Segment]
    plan: Plan
    output_cap: int
    kind: str = "cue_group"
    replans_plan: bool = False
    operation: str = OPERATION

    @property
    def folder(self) -> str:
        return f"{CUE_STATE_ROOT}/{self.set_id}"

    @property
    def item_id(self) -> str:
        return self.group.group_id

    @property
    def source_lines(self) -> list[str]:
        return [cue_text(line) for line in self.lines[self.group.first:self.group.stop]]

    @property
    def max_output_tokens(self) -> int:
        from .tokens import count_tokens

        wanted = 3 * count_tokens("\n".join(self.source_lines)) + 12 * self.group.size
        return min(self.output_cap, max(MIN_OUTPUT_TOKENS, wanted))

    def messages(self, violations: list[Violation] | None, previous_output: str | None) -> list[dict[str, str]]:
        from .languages import language_label
        from .prompting import glossary_block, load_template

        lines = self.source_lines
        common = {
            "source_language": language_label(self.plan.source_language) if self.plan.source_language
            else "the source language",
            "target_language": language_label(self.plan.target_language),
            "line_count": str(len(lines)),
            "glossary": glossary_block(self.plan, "\n".join(lines)),
            "source": "\n".join(f"{number}. {text}" for number, text in enumerate(lines, start=1)),
        }
        if violations:
            shown = previous_output.strip() if previous_output and previous_output.strip() else "(empty)"
            return load_template("cue_repair").render(
                violations="\n".join(f"- {v.code}: {v.detail}" for v in violations), previous_output=shown, **common)
        first, stop = self.group.first, self.group.stop
        return load_template("cue_translate").render(context_before=_context(self.lines, first - CONTEXT_CUES, first),
                                                     context_after=_context(self.lines, stop, stop + CONTEXT_CUES),
                                                     **common)

    def judge(self, raw_text: str, finish_reason: str | None, *, previous_output: str | None,
              truncated_before: int, attempts_left: bool) -> Verdict:
        from .cue_verify import verify_cue_answer
        from .verify import sanitize_output

        text = sanitize_output(raw_text)
        verification, lines = verify_cue_answer(self.plan, self.source_lines, text, finish_reason)
        verdict = decide_verdict(self.item_id, text, verification.violations, previous_output=previous_output,
                                 truncated_before=truncated_before, attempts_left=attempts_left)
        if verdict.outcome == "accept" and lines is not None:
            return Verdict("accept", "\n".join(lines), [])
        return verdict

    def give_up(self, attempts: list[Attempt], violations: list[Violation], *, more_requests: bool) -> ChunkState:
        if more_requests and self.group.size > 1:
            return ChunkState(plan_id=self.set_id, chunk_id=self.item_id, status="superseded", attempts=attempts,
                              final_violations=violations)
        return ChunkState(plan_id=self.set_id, chunk_id=self.item_id, status="fallback", attempts=attempts,
                          output="\n".join(self.source_lines), output_origin="deterministic",
                          final_violations=violations)


def translate_cues(ctx: PhaseContext, plan: Plan, lines: list[Segment], llm: LLMProfile,
                   writer: Literal["endpoint", "agent"]) -> CueTranslation:
    """Translate every speech cue of ``lines`` into ``plan.target_language``; the ``cues.translated`` result.

    Raises:
        StopRequested: a pause or cancel was honoured between groups (finished groups are saved).
        InputRequired: with the agent as the writer, a group waits for the agent's answer.
    """
    groups = group_cues(lines)
    set_id = cue_set_id(plan, lines, groups)
    _point_at(ctx, set_id)
    loop = ItemLoop(ctx, state_root=CUE_STATE_ROOT, finished_event="cue_group_finished", crash_label="cues")

    def item(group: CueGroup) -> CueGroupItem:
        return CueGroupItem(set_id, group, lines, plan, llm.max_output_tokens)

    ctx.emit("cue_translation_started", set_id=set_id, groups=len(groups), cues=len(lines), writer=writer)
    usage: dict[str, int] = {}
    if writer == "agent":
        def settle(group: CueGroup) -> None:
            state = agent_turn(ctx, item(group), loop.write, MAX_ATTEMPTS)
            if state.status == "superseded":
                for half in split_group(group, lines):
                    settle(half)

        for position, group in enumerate(groups):
            settle(group)
            ctx.report_progress((position + 1) / len(groups), f"cue group {position + 1}/{len(groups)}")
    else:
        usage = _endpoint_pass(ctx, loop, item, groups, lines, llm)
    return _result(ctx, set_id, groups, lines, plan, writer, usage)


def _endpoint_pass(ctx: PhaseContext, loop: ItemLoop, item: Any, groups: list[CueGroup], lines: list[Segment],
                   llm: LLMProfile) -> dict[str, int]:
    budget, usage = run_budget(ctx.run_dir.path, llm)
    done = 0

    async def settle(group: CueGroup, client: Any, limiter: AdaptiveLimiter) -> None:
        work = item(group)
        state = load_chunk_state(ctx.run_dir.path / work.folder / f"{work.item_id}.json")
        if state is None or not (state.is_final or state.status == "superseded"):
            async with limiter:
                if not loop.may_start():
                    return
                state = await process_item(loop, client, work, llm)
            if state is not None and state.status == "succeeded":
                limiter.succeeded()
        if state is not None and state.status == "superseded":
            for half in split_group(group, lines):
                await settle(half, client, limiter)

    async def run_all(client: Any, limiter: AdaptiveLimiter) -> None:
        async def top(group: CueGroup) -> None:
            nonlocal done
            await settle(group, client, limiter)
            done += 1
            ctx.report_progress(done / len(groups), f"cue group {done}/{len(groups)}")

        await asyncio.gather(*(top(group) for group in groups))

    totals = asyncio.run(with_llm_client(loop, llm, budget, usage, run_all))
    if loop.stop_signal:
        raise StopRequested(f"{loop.stop_signal} requested; stopped between cue groups",
                            details={"signal": loop.stop_signal})
    return totals


def _point_at(ctx: PhaseContext, set_id: str) -> None:
    """Name the current cue set now, so the agent's waiting group can be found while the phase runs."""
    ctx.lease.check()
    atomic_write_json(ctx.run_dir.path / CURRENT_CUE_SET_FILE, {"set_id": set_id})


def forget_current_set(ctx: PhaseContext) -> None:
    """No cue set is current (the cues are not translated by this run's writer)."""
    ctx.lease.check()
    (ctx.run_dir.path / CURRENT_CUE_SET_FILE).unlink(missing_ok=True)


def leaf_groups(ctx: PhaseContext, set_id: str, group: CueGroup, lines: list[Segment]) -> Iterator[
        tuple[CueGroup, ChunkState | None]]:
    """The group, or (when it was split) its halves' leaves, each with its state."""
    state = load_chunk_state(ctx.run_dir.path / CUE_STATE_ROOT / set_id / f"{group.group_id}.json")
    if state is not None and state.status == "superseded" and group.size > 1:
        for half in split_group(group, lines):
            yield from leaf_groups(ctx, set_id, half, lines)
    else:
        yield group, state


def _result(ctx: PhaseContext, set_id: str, groups: list[CueGroup], lines: list[Segment], plan: Plan,
            writer: Literal["endpoint", "agent"], usage: dict[str, int]) -> CueTranslation:
    texts = [cue_text(line) for line in lines]
    fallback: list[int] = []
    states: dict[str, str] = {}
    counts: dict[str, int] = {}
    for group in groups:
        for leaf, state in leaf_groups(ctx, set_id, group, lines):
            states[leaf.group_id] = f"{CUE_STATE_ROOT}/{set_id}/{leaf.group_id}.json"
            status = state.status if state is not None else "missing"
            counts[status] = counts.get(status, 0) + 1
            outputs = state.output.split("\n") if state is not None and state.is_final and state.output else []
            if status != "succeeded" or len(outputs) != leaf.size or not all(o.strip() for o in outputs):
                fallback.extend(range(leaf.first + 1, leaf.stop + 1))  # keeps the source lines
                continue
            texts[leaf.first:leaf.stop] = outputs
    cues = [Segment(start=line.start, end=line.end, text=text, kind=line.kind, speaker=line.speaker)
            for line, text in zip(lines, texts, strict=True)]
    reasons = [f"translated {len(lines)} cues in {len(groups)} groups ({writer})"]
    if fallback:
        reasons.append(f"{len(fallback)} cue(s) kept their source line after failed verification")
    return CueTranslation(requested=True, origin="llm", target_language=plan.target_language, writer=writer,
                          set_id=set_id, cues=cues, fallback_cues=fallback, group_states=states, counts=counts,
                          usage=usage, reasons=reasons)
