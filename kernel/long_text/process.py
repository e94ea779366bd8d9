"""The chunk loop: bring every chunk of a plan to a final state, one state file per chunk; and the
endpoint's request / verify / repair loop for any work item (``process_item``, see ``work_items``).

Invariants:
- ``chunks/<plan_id>/<chunk_id>.json`` is the only state a finished chunk writes (O(1) bytes per chunk,
  independent of the number of chunks); the manifest is written only when the plan changes (a replan).
- A chunk whose state is final (``succeeded`` or ``fallback``) is never processed again: resume re-sends
  only unfinished chunks, and a replan keeps finished cores (``Plan.inherited``).
- A chunk answered early, while speech recognition ran, to exactly the request it would send now (see
  ``early``) takes that answer instead of sending the request again.
- Content is never dropped: a chunk that cannot be made to pass verification falls back to the
  deterministic formatting of its own source sentences and is listed as a fallback.
- Pause and cancel are honoured between chunks: no new chunk starts once a stop is requested; chunks
  already in flight finish and are saved. Every state write checks the lease first.
- LLM usage and the run budget are cumulative over the run's processes: each committed chunk state
  carries the run's usage so far (``ChunkState.run_usage``) and a resumed run starts from the largest
  one. Requests in flight when a process died were never committed and are not counted.

Remedies (deterministic, per failure):
- verification violation with remedy ``repair`` -> a repair request listing the violations (bounded);
- ``replan`` (context too long, repeated truncation, timeouts the client could not retry away) -> stop starting chunks, shrink
  the unfinished part of the plan (``replan_remaining``) and continue with the new plan (bounded);
- ``fallback`` / content filter / exhausted attempts -> deterministic text for that chunk;
- auth failure or spent budget -> no further requests; every unfinished chunk falls back.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import LLMProfile
from ..task_runtime.errors import StopRequested
from ..task_runtime.faults import crash_point
from ..task_runtime.phases import PhaseContext
from ..task_runtime.store import atomic_write_json
from ..transcript import NormalizedDocument
from .chunk_files import CURRENT_PLAN_KEY, REPLAN_PATH_KEY, chunk_state_path, load_chunk_state
from .contracts import Attempt, ChunkSpec, ChunkState, Plan, Violation
from .deterministic import format_range
from .limiter import AdaptiveLimiter
from .work_items import Verdict, WorkItem, decide_verdict, succeeded_state

MAX_ATTEMPTS = 3  # the initial request plus two repairs
MAX_REPLANS = 3
REPLAN_SHRINK = 0.5
STATE_ROOTS = ("chunks", "cues")  # work_dir folders holding work-item states (see ``work_items``)

_current_chunk: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_chunk", default=None)


def deterministic_output(chunk: ChunkSpec, doc: NormalizedDocument) -> str:
    return format_range(doc, chunk.core_start, chunk.core_end)


@dataclass
class ItemLoop:
    """Shared, mutable facts of one pass over work items (all access is on the event loop's thread, except
    ``write``, which may run in a worker thread and updates its counters under a lock).

    ``state_root`` is the work_dir folder of the states; ``finished_event`` the telemetry event of each
    write, and ``crash_label`` the crash point ``<label>:<n>:committed`` after the n-th write.
    """

    ctx: PhaseContext
    state_root: str = "chunks"
    finished_event: str = "chunk_finished"
    crash_label: str = "chunk"
    committed: int = 0
    replan_reason: str | None = None
    no_more_requests: str | None = None
    stop_signal: str | None = None
    truncations: int = 0
    latencies: list[float] = field(default_factory=list)
    # Final status of every state written by this process, by (plan_id, chunk_id); shared by the passes
    # of one phase so the result index needs no re-read of what was just written.
    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    usage_now: Callable[[], dict[str, int]] = dict

    def write(self, state: ChunkState) -> None:
        """Persist a work-item state (lease checked first; telemetry; the crash point after it)."""
        self.ctx.lease.check()
        state.run_usage = self.usage_now()
        path = self.ctx.run_dir.path / self.state_root / state.plan_id / f"{state.chunk_id}.json"
        atomic_write_json(path, state.model_dump(mode="json"))
        with self.lock:
            self.committed += 1
            committed = self.committed
            self.statuses[(state.plan_id, state.chunk_id)] = state.status
        self.ctx.emit(self.finished_event, plan_id=state.plan_id, chunk_id=state.chunk_id, status=state.status,
                      origin=state.output_origin, attempts=len(state.attempts),
                      violations=[v.code for v in state.final_violations])
        crash_point(f"{self.crash_label}:{committed}:committed")

    def may_start(self) -> bool:
        """Whether another item may start: no replan pending and no pause or cancel requested."""
        if self.replan_reason or self.stop_signal:
            return False
        signal = self.ctx.stop_signal()
        if signal is not None:
            self.stop_signal = signal
            return False
        return True


@dataclass(kw_only=True)
class _Loop(ItemLoop):
    """One pass over a plan's chunks."""

    plan: Plan
    doc: NormalizedDocument

    def fallback(self, chunk: ChunkSpec, attempts: list[Attempt], violations: list[Violation]) -> ChunkState:
        state = chunk_fallback_state(self.plan, chunk, self.doc, attempts, violations)
        self.write(state)
        return state


def chunk_fallback_state(plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument, attempts: list[Attempt],
                         violations: list[Violation]) -> ChunkState:
    return ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="fallback", attempts=attempts,
                      output=deterministic_output(chunk, doc), output_origin="deterministic",
                      final_violations=violations)


@dataclass(frozen=True)
class ChunkItem:
    """A chunk of the article as a work item: giving up falls back to its deterministic text."""

    plan: Plan
    chunk: ChunkSpec
    doc: NormalizedDocument
    kind: str = "chunk"
    replans_plan: bool = True

    @property
    def folder(self) -> str:
        return f"chunks/{self.plan.plan_id}"

    @property
    def item_id(self) -> str:
        return self.chunk.chunk_id

    @property
    def operation(self) -> str:
        return self.plan.contract.operation

    @property
    def max_output_tokens(self) -> int:
        return self.plan.contract.max_output_tokens

    def messages(self, violations: list[Violation] | None, previous_output: str | None) -> list[dict[str, str]]:
        from .prompting import build_chunk_messages

        return build_chunk_messages(self.plan, self.chunk, self.doc, violations=violations or None,
                                    previous_output=previous_output)

    def judge(self, raw_text: str, finish_reason: str | None, *, previous_output: str | None,
              truncated_before: int, attempts_left: bool) -> Verdict:
        return judge_answer(self.plan, self.chunk, self.doc, raw_text, finish_reason, previous_output=previous_output,
                            truncated_before=truncated_before, attempts_left=attempts_left)

    def give_up(self, attempts: list[Attempt], violations: list[Violation], *, more_requests: bool) -> ChunkState:
        return chunk_fallback_state(self.plan, self.chunk, self.doc, attempts, violations)


def process_plan(
    ctx: PhaseContext,
    plan: Plan,
    plan_path: str,
    doc: NormalizedDocument,
    llm: LLMProfile | None,
    writer: Literal["endpoint", "agent"] | None = "endpoint",
) -> dict[str, Any]:
    """Run the loop (replanning as needed) and return the ``transform.result`` document.

    ``writer`` is who rewrites the text: the ``llm`` endpoint, the calling ``agent`` (one task at a time,
    see ``agent_loop``), or None for deterministic formatting.

    Raises:
        StopRequested: a pause/cancel was honoured between chunks (finished chunks are saved).
        InputRequired: with the agent as writer, a chunk waits for the agent's answer.
    """
    usage: dict[str, int] = {}
    autotune: dict[str, Any] = {}
    replans: list[dict[str, Any]] = []
    statuses: dict[tuple[str, str], str] = {}
    if llm is None or writer is None or plan.path == "deterministic":
        writer = None
        loop = _Loop(ctx, statuses=statuses, plan=plan, doc=doc)
        _deterministic_pass(loop)
    elif writer == "agent":
        from .agent_loop import agent_pass

        loop = _Loop(ctx, statuses=statuses, plan=plan, doc=doc)
        agent_pass(ctx, [ChunkItem(plan, chunk, doc) for chunk in plan.own_chunks()], loop.write, MAX_ATTEMPTS)
    else:
        budget, usage = run_budget(ctx.run_dir.path, llm)
        while True:
            loop = _Loop(ctx, statuses=statuses, plan=plan, doc=doc)
            usage = asyncio.run(_llm_pass(loop, llm, budget, usage))
            if loop.stop_signal:
                raise StopRequested(f"{loop.stop_signal} requested; stopped between chunks",
                                    details={"signal": loop.stop_signal})
            if loop.replan_reason is None:
                break
            if len(replans) >= MAX_REPLANS:
                _fallback_unfinished(loop, f"replan limit reached ({loop.replan_reason})")
                break
            plan, plan_path = _replan(ctx, loop, plan)
            replans.append({"plan_id": plan.plan_id, "reason": loop.replan_reason})
        if loop.latencies:
            mean = sum(loop.latencies) / len(loop.latencies)
            autotune = {"mean_latency_s": round(mean, 3), "truncations": loop.truncations,
                        "max_source_tokens": plan.contract.max_source_tokens}
    states = {c.chunk_id: chunk_state_path(ctx.run_dir.path, plan.state_plan_id(c.chunk_id), c.chunk_id)
              for c in plan.chunks}
    counts: dict[str, int] = {}
    for chunk in plan.chunks:
        status = loop.statuses.get((plan.state_plan_id(chunk.chunk_id), chunk.chunk_id))
        if status is None:  # finished by an earlier process, or inherited from an earlier plan
            state = load_chunk_state(states[chunk.chunk_id])
            status = state.status if state else "missing"
        counts[status] = counts.get(status, 0) + 1
    return {
        "plan_id": plan.plan_id,
        "plan_path": plan_path,
        "chunk_states": {cid: p.relative_to(ctx.run_dir.path).as_posix() for cid, p in states.items()},
        "counts": counts,
        "llm_used": writer is not None,
        "writer": writer,
        "usage": usage,
        "replans": replans,
        "autotune": autotune,
    }


def recorded_usage(run_path: Path) -> dict[str, int]:
    """The run's LLM usage as of its latest committed work-item state (chunks and cue groups, every plan;
    empty before the first)."""
    latest: dict[str, int] = {}
    for root in STATE_ROOTS:
        for path in (run_path / root).glob("*/*.json"):
            state = load_chunk_state(path)
            if state is not None and state.run_usage.get("requests", 0) > latest.get("requests", -1):
                latest = dict(state.run_usage)
    return latest


def run_budget(run_path: Path, llm: LLMProfile) -> tuple[Any, dict[str, int]]:
    """The run's budget, continued from its recorded usage, and that usage."""
    from .budget import RunBudget

    usage = recorded_usage(run_path)
    budget = RunBudget(max_requests=llm.max_requests, max_tokens_total=llm.max_tokens_total,
                       used_requests=usage.get("requests", 0), used_prompt_tokens=usage.get("prompt_tokens", 0),
                       used_completion_tokens=usage.get("completion_tokens", 0))
    return budget, usage


def _deterministic_pass(loop: _Loop) -> None:
    plan, ctx = loop.plan, loop.ctx
    own = plan.own_chunks()
    for position, chunk in enumerate(own):
        existing = load_chunk_state(chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id))
        if existing is None or not existing.is_final:
            ctx.checkpoint()
            loop.write(ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="succeeded",
                                  output=deterministic_output(chunk, loop.doc), output_origin="deterministic"))
        ctx.report_progress((position + 1) / len(own), f"chunk {position + 1}/{len(own)}")


async def with_llm_client(loop: ItemLoop, llm: LLMProfile, budget: Any, usage_so_far: dict[str, int],
                          body: Callable[[Any, AdaptiveLimiter], Awaitable[None]]) -> dict[str, int]:
    """Run ``body(client, limiter)`` with an LLM client whose events go to telemetry (tagged with the work
    item in flight) and whose usage is added to ``usage_so_far``; returns the run's usage totals."""
    from .llm_client import LLMClient

    ctx = loop.ctx
    limiter = AdaptiveLimiter(llm.concurrency)

    def on_event(event: dict[str, Any]) -> None:
        name = str(event.get("event", "llm_event"))
        fields = {k: v for k, v in event.items() if k != "event"}
        ctx.emit(name, chunk_id=_current_chunk.get(), **fields)
        if event.get("category") == "rate_limit":
            limiter.rate_limited()

    client = LLMClient(llm, budget=budget, on_event=on_event)

    def totals() -> dict[str, int]:
        merged = {key: int(value) for key, value in usage_so_far.items()}
        for key, value in client.usage.items():
            merged[key] = merged.get(key, 0) + value
        merged["peak_concurrency"] = max(merged.get("peak_concurrency", 0), limiter.peak_in_flight)
        merged["concurrency_reductions"] = merged.get("concurrency_reductions", 0) + limiter.reductions
        return merged

    loop.usage_now = totals
    try:
        await body(client, limiter)
    finally:
        await client.aclose()
    return totals()


async def _llm_pass(loop: _Loop, llm: LLMProfile, budget: Any, usage_so_far: dict[str, int]) -> dict[str, int]:
    from .early import adopt_early_state, has_early_states

    ctx, plan = loop.ctx, loop.plan
    own = plan.own_chunks()
    early = has_early_states(ctx.run_dir.path)
    todo = []
    adopted = 0
    for chunk in own:
        existing = load_chunk_state(chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id))
        if existing is not None and existing.is_final:
            continue
        answer = adopt_early_state(ctx.run_dir.path, plan, chunk, loop.doc) if early else None
        if answer is not None:  # answered while speech recognition ran, to exactly this request
            loop.write(answer)
            adopted += 1
        else:
            todo.append(chunk)
    if adopted:
        ctx.emit("early_chunks_adopted", plan_id=plan.plan_id, chunks=adopted)
    done = len(own) - len(todo)

    async def run_all(client: Any, limiter: AdaptiveLimiter) -> None:
        async def run_one(chunk: ChunkSpec) -> None:
            nonlocal done
            async with limiter:
                if not loop.may_start():
                    return
                state = await process_item(loop, client, ChunkItem(plan, chunk, loop.doc), llm)
                if state is not None:
                    if state.status == "succeeded":
                        limiter.succeeded()
                    done += 1
                    ctx.report_progress(done / len(own), f"chunk {done}/{len(own)}")

        await asyncio.gather(*(run_one(chunk) for chunk in todo))

    return await with_llm_client(loop, llm, budget, usage_so_far, run_all)


def judge_answer(
    plan: Plan,
    chunk: ChunkSpec,
    doc: NormalizedDocument,
    raw_text: str,
    finish_reason: str | None,
    *,
    previous_output: str | None,
    truncated_before: int,
    attempts_left: bool,
) -> Verdict:
    """Verify one answer for a chunk and decide (``work_items.decide_verdict``): accept it, ask for a
    repair, re-plan smaller, or fall back. The same for every writer."""
    from .verify import sanitize_output, verify_chunk_output

    text = sanitize_output(raw_text)
    verification = verify_chunk_output(plan, chunk, doc, text, finish_reason)
    return decide_verdict(chunk.chunk_id, text, verification.violations, previous_output=previous_output,
                          truncated_before=truncated_before, attempts_left=attempts_left)


async def process_item(loop: ItemLoop, client: Any, item: WorkItem, llm: LLMProfile) -> ChunkState | None:
    """Request, verify, repair one work item; returns the state written (final, or ``superseded`` when the
    item gave up in favour of smaller ones), or None when the item awaits a replan of the whole plan."""
    from .llm_client import LLMCallError

    _current_chunk.set(item.item_id)
    attempts: list[Attempt] = []
    violations: list[Violation] = []
    previous_output: str | None = None
    truncated_here = 0

    def give_up() -> ChunkState:
        state = item.give_up(attempts, violations, more_requests=loop.no_more_requests is None)
        loop.write(state)
        return state

    for number in range(1, MAX_ATTEMPTS + 1):
        if loop.no_more_requests:
            return give_up()
        kind = "initial" if number == 1 else "repair"
        messages = item.messages(violations or None, previous_output)
        try:
            result = await client.complete(messages, max_tokens=item.max_output_tokens, temperature=llm.temperature)
        except LLMCallError as error:
            attempts.append(Attempt(number=number, kind=kind, error=error.category))
            if error.category in ("auth", "budget"):
                loop.no_more_requests = error.category
                return give_up()
            if error.remedy == "replan":
                if not item.replans_plan:
                    return give_up()
                loop.replan_reason = loop.replan_reason or f"{error.category} on {item.item_id}"
                return None
            if error.remedy in ("repair", "retry"):
                continue  # e.g. an empty reply: ask again while attempts remain
            return give_up()
        loop.latencies.append(result.latency_s)
        verdict = item.judge(result.text, result.finish_reason, previous_output=previous_output,
                             truncated_before=truncated_here, attempts_left=number < MAX_ATTEMPTS)
        attempts.append(Attempt(number=number, kind=kind, finish_reason=result.finish_reason,
                                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                                latency_s=round(result.latency_s, 3), violations=verdict.violations))
        if verdict.outcome == "accept":
            state = succeeded_state(item, attempts, verdict.text, "endpoint")
            # fsyncs block; keep the event loop free to drive the other requests meanwhile.
            await asyncio.to_thread(loop.write, state)
            return state
        violations = verdict.violations
        previous_output = verdict.text
        if verdict.truncated:
            truncated_here += 1
            loop.truncations += 1
        if verdict.outcome == "replan":
            if not item.replans_plan:
                break
            loop.replan_reason = loop.replan_reason or verdict.reason
            return None
        if verdict.outcome == "fallback":
            break
    return give_up()


def _fallback_unfinished(loop: _Loop, reason: str) -> None:
    for chunk in loop.plan.own_chunks():
        existing = load_chunk_state(chunk_state_path(loop.ctx.run_dir.path, loop.plan.plan_id, chunk.chunk_id))
        if existing is None or not existing.is_final:
            loop.fallback(chunk, list(existing.attempts) if existing else [], [
                Violation(code="replan_limit", detail=reason, remedy="fallback")])


def _replan(ctx: PhaseContext, loop: _Loop, plan: Plan) -> tuple[Plan, str]:
    """Shrink the unfinished part of ``plan``; persist the new plan and point the manifest at it."""
    from .plan import replan_remaining
    from .tokens import count_tokens

    finished = set(plan.inherited)
    for chunk in plan.own_chunks():
        state = load_chunk_state(chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id))
        if state is not None and state.is_final:
            finished.add(chunk.chunk_id)
        else:
            loop.write(ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="superseded",
                                  attempts=state.attempts if state else []))
    number = int(plan.plan_id.lstrip("p") or 1) + 1 if plan.plan_id.lstrip("p").isdigit() else 2
    new_plan = replan_remaining(plan, loop.doc, finished, new_plan_id=f"p{number}", shrink=REPLAN_SHRINK,
                                count_tokens=count_tokens)
    plan_path = f"plans/{new_plan.plan_id}.json"
    ctx.lease.check()
    atomic_write_json(ctx.run_dir.path / plan_path, new_plan.model_dump(mode="json"))
    # Point the manifest at the new plan now, so a crash after this resumes with it.
    manifest = ctx.run_dir.read_manifest()
    ctx.run_dir.commit(manifest.model_copy(update={"domain": {
        **manifest.domain, CURRENT_PLAN_KEY: new_plan.plan_id, REPLAN_PATH_KEY: plan_path}}), ctx.lease)
    ctx.domain[REPLAN_PATH_KEY] = plan_path
    ctx.emit("replan", from_plan=plan.plan_id, to_plan=new_plan.plan_id, reason=loop.replan_reason,
             max_source_tokens=new_plan.contract.max_source_tokens, unfinished=len(new_plan.own_chunks()))
    return new_plan, plan_path
