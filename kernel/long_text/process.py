"""The chunk loop: bring every chunk of a plan to a final state, one state file per chunk.

Invariants:
- ``chunks/<plan_id>/<chunk_id>.json`` is the only state a finished chunk writes (O(1) bytes per chunk,
  independent of the number of chunks); the manifest is written only when the plan changes (a replan).
- A chunk whose state is final (``succeeded`` or ``fallback``) is never processed again: resume re-sends
  only unfinished chunks, and a replan keeps finished cores (``Plan.inherited``).
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
from collections.abc import Callable
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

MAX_ATTEMPTS = 3  # the initial request plus two repairs
MAX_REPLANS = 3
TRUNCATIONS_BEFORE_REPLAN = 2
REPLAN_SHRINK = 0.5

_current_chunk: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_chunk", default=None)


def deterministic_output(chunk: ChunkSpec, doc: NormalizedDocument) -> str:
    return format_range(doc, chunk.core_start, chunk.core_end)


@dataclass
class _Loop:
    """Shared, mutable facts of one pass over a plan (all access is on the event loop's thread)."""

    ctx: PhaseContext
    plan: Plan
    doc: NormalizedDocument
    committed: int = 0
    replan_reason: str | None = None
    no_more_requests: str | None = None
    stop_signal: str | None = None
    truncations: int = 0
    latencies: list[float] = field(default_factory=list)
    # Final status of every chunk state written by this process, by (plan_id, chunk_id); shared by the
    # passes of one transform so the result index needs no re-read of what was just written.
    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    usage_now: Callable[[], dict[str, int]] = dict

    def write(self, state: ChunkState) -> None:
        """Persist a chunk state (may run in a worker thread: counters are updated under a lock)."""
        self.ctx.lease.check()
        state.run_usage = self.usage_now()
        path = chunk_state_path(self.ctx.run_dir.path, state.plan_id, state.chunk_id)
        atomic_write_json(path, state.model_dump(mode="json"))
        with self.lock:
            self.committed += 1
            committed = self.committed
            self.statuses[(state.plan_id, state.chunk_id)] = state.status
        self.ctx.emit("chunk_finished", plan_id=state.plan_id, chunk_id=state.chunk_id, status=state.status,
                      origin=state.output_origin, attempts=len(state.attempts),
                      violations=[v.code for v in state.final_violations])
        crash_point(f"chunk:{committed}:committed")

    def fallback(self, chunk: ChunkSpec, attempts: list[Attempt], violations: list[Violation]) -> ChunkState:
        state = ChunkState(plan_id=self.plan.plan_id, chunk_id=chunk.chunk_id, status="fallback",
                           attempts=attempts, output=deterministic_output(chunk, self.doc),
                           output_origin="deterministic", final_violations=violations)
        self.write(state)
        return state


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
        loop = _Loop(ctx, plan, doc, statuses=statuses)
        _deterministic_pass(loop)
    elif writer == "agent":
        from .agent_loop import agent_pass

        loop = _Loop(ctx, plan, doc, statuses=statuses)
        agent_pass(ctx, plan, doc, loop.write, MAX_ATTEMPTS)
    else:
        from .budget import RunBudget

        usage = recorded_usage(ctx.run_dir.path)
        budget = RunBudget(max_requests=llm.max_requests, max_tokens_total=llm.max_tokens_total,
                           used_requests=usage.get("requests", 0), used_prompt_tokens=usage.get("prompt_tokens", 0),
                           used_completion_tokens=usage.get("completion_tokens", 0))
        while True:
            loop = _Loop(ctx, plan, doc, statuses=statuses)
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
    """The run's LLM usage as of its latest committed chunk, over every plan (empty before the first)."""
    latest: dict[str, int] = {}
    for path in (run_path / "chunks").glob("*/*.json"):
        state = load_chunk_state(path)
        if state is not None and state.run_usage.get("requests", 0) > latest.get("requests", -1):
            latest = dict(state.run_usage)
    return latest


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


async def _llm_pass(loop: _Loop, llm: LLMProfile, budget: Any, usage_so_far: dict[str, int]) -> dict[str, int]:
    from .llm_client import LLMClient

    ctx, plan = loop.ctx, loop.plan
    limiter = AdaptiveLimiter(llm.concurrency)

    def on_event(event: dict[str, Any]) -> None:
        name = str(event.get("event", "llm_event"))
        fields = {k: v for k, v in event.items() if k != "event"}
        ctx.emit(name, chunk_id=_current_chunk.get(), **fields)
        if event.get("category") == "rate_limit":
            limiter.rate_limited()

    client = LLMClient(llm, budget=budget, on_event=on_event)
    own = plan.own_chunks()
    todo = []
    for chunk in own:
        existing = load_chunk_state(chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id))
        if existing is None or not existing.is_final:
            todo.append(chunk)
    done = len(own) - len(todo)

    async def run_one(chunk: ChunkSpec) -> None:
        nonlocal done
        async with limiter:
            if loop.replan_reason or loop.stop_signal:
                return
            signal = ctx.stop_signal()
            if signal is not None:
                loop.stop_signal = signal
                return
            _current_chunk.set(chunk.chunk_id)
            state = await _process_chunk(loop, client, chunk, llm)
            if state is not None:
                if state.status == "succeeded":
                    limiter.succeeded()
                done += 1
                ctx.report_progress(done / len(own), f"chunk {done}/{len(own)}")

    def totals() -> dict[str, int]:
        merged = {key: int(value) for key, value in usage_so_far.items()}
        for key, value in client.usage.items():
            merged[key] = merged.get(key, 0) + value
        merged["peak_concurrency"] = max(merged.get("peak_concurrency", 0), limiter.peak_in_flight)
        merged["concurrency_reductions"] = merged.get("concurrency_reductions", 0) + limiter.reductions
        return merged

    loop.usage_now = totals
    try:
        await asyncio.gather(*(run_one(chunk) for chunk in todo))
    finally:
        await client.aclose()
    return totals()


@dataclass(frozen=True)
class Verdict:
    """What to do with one answer for a chunk (from an endpoint or the calling agent)."""

    outcome: Literal["accept", "repair", "replan", "fallback"]
    text: str  # the answer after sanitizing (what is kept, or shown back in a repair request)
    violations: list[Violation]
    truncated: bool = False
    reason: str = ""


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
    """Verify one answer and decide: accept it, ask for a repair, re-plan smaller, or fall back.

    One rule set for every writer: a repeated truncation or a replan remedy asks for a replan; a
    fallback remedy, the same rejected answer again, or no attempts left fall back; else repair.
    """
    from .verify import sanitize_output, verify_chunk_output

    text = sanitize_output(raw_text)
    verification = verify_chunk_output(plan, chunk, doc, text, finish_reason)
    if verification.ok:
        return Verdict("accept", text.strip(), [])
    violations = verification.violations
    truncated = any(v.code == "truncated" for v in violations)
    if truncated and truncated_before + 1 >= TRUNCATIONS_BEFORE_REPLAN:
        return Verdict("replan", text, violations, truncated, f"output of {chunk.chunk_id} truncated repeatedly")
    if any(v.remedy == "replan" for v in violations):
        return Verdict("replan", text, violations, truncated, f"{violations[0].code} on {chunk.chunk_id}")
    # Checked after truncation: a cut-off answer repeated means the output budget is too small (a replan
    # helps), while any other repeated answer would fail the same checks again.
    if any(v.remedy == "fallback" for v in violations) or text == previous_output or not attempts_left:
        return Verdict("fallback", text, violations, truncated)
    return Verdict("repair", text, violations, truncated)


async def _process_chunk(loop: _Loop, client: Any, chunk: ChunkSpec, llm: LLMProfile) -> ChunkState | None:
    """Request, verify, repair; returns the final state, or None when the chunk awaits a replan."""
    from .llm_client import LLMCallError
    from .prompting import build_chunk_messages

    plan = loop.plan
    attempts: list[Attempt] = []
    violations: list[Violation] = []
    previous_output: str | None = None
    truncated_here = 0
    for number in range(1, MAX_ATTEMPTS + 1):
        if loop.no_more_requests:
            return loop.fallback(chunk, attempts, violations)
        kind = "initial" if number == 1 else "repair"
        messages = build_chunk_messages(plan, chunk, loop.doc, violations=violations or None,
                                        previous_output=previous_output)
        try:
            result = await client.complete(messages, max_tokens=plan.contract.max_output_tokens,
                                           temperature=llm.temperature)
        except LLMCallError as error:
            attempts.append(Attempt(number=number, kind=kind, error=error.category))
            if error.category in ("auth", "budget"):
                loop.no_more_requests = error.category
                return loop.fallback(chunk, attempts, violations)
            if error.remedy == "replan":
                loop.replan_reason = loop.replan_reason or f"{error.category} on {chunk.chunk_id}"
                return None
            if error.remedy in ("repair", "retry"):
                continue  # e.g. an empty reply: ask again while attempts remain
            return loop.fallback(chunk, attempts, violations)
        loop.latencies.append(result.latency_s)
        verdict = judge_answer(plan, chunk, loop.doc, result.text, result.finish_reason,
                               previous_output=previous_output, truncated_before=truncated_here,
                               attempts_left=number < MAX_ATTEMPTS)
        attempts.append(Attempt(number=number, kind=kind, finish_reason=result.finish_reason,
                                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                                latency_s=round(result.latency_s, 3), violations=verdict.violations))
        if verdict.outcome == "accept":
            state = ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="succeeded",
                               attempts=attempts, output=verdict.text, output_origin="llm", writer="endpoint")
            # fsyncs block; keep the event loop free to drive the other requests meanwhile.
            await asyncio.to_thread(loop.write, state)
            return state
        violations = verdict.violations
        previous_output = verdict.text
        if verdict.truncated:
            truncated_here += 1
            loop.truncations += 1
        if verdict.outcome == "replan":
            loop.replan_reason = loop.replan_reason or verdict.reason
            return None
        if verdict.outcome == "fallback":
            break
    return loop.fallback(chunk, attempts, violations)


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
