"""The chunk loop with the calling agent as the writer: one task at a time, verified like an endpoint's reply.

The agent (an LLM that drives the run over MCP or the CLI) gets one chunk's task (the same prompt
templates and ``<source>``/``<context>``/``<glossary>`` contract as an endpoint request), writes the
text, and submits it. The loop judges each submission with the endpoint loop's rules (``judge_answer``):
accepted, a repair task with the violations, or after ``MAX_ATTEMPTS`` the deterministic fallback, listed
in the quality report.

Invariants:
- Chunks are handed out in core order, one at a time; the task is stored in the chunk's state file
  (``ChunkState.agent_turn``, status ``awaiting_agent``) before the phase stops with ``InputRequired``,
  so a restart hands out exactly the same task.
- A submission is saved first (status ``submitted``) and judged by the next pass; once a chunk is final
  it is never handed out again, and a submission for any chunk but the one waiting is refused.
- Tasks are sized by the plan (``AGENT_PROFILE``) so a task with its context stays under
  ``AGENT_TASK_TOKENS``.
- Crash point ``agent:<chunk_id>:<attempt>:handed`` follows the write of a task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import LLMProfile
from ..task_runtime.errors import InputRequired, InvalidInputError
from ..task_runtime.faults import crash_point
from ..task_runtime.lease import Lease
from ..task_runtime.phases import PhaseContext
from ..task_runtime.store import atomic_write_json
from ..transcript import NormalizedDocument
from .chunk_files import chunk_state_path, chunks_dir, load_chunk_state
from .contracts import AgentTurn, Attempt, ChunkSpec, ChunkState, Plan

AGENT_TASK_TOKENS = 6000
# The agent's "context window" for planning: chunks leave room for the template, the context, the
# glossary and (for a repair) the previous answer inside AGENT_TASK_TOKENS.
AGENT_PROFILE = LLMProfile(model="agent", context_window=AGENT_TASK_TOKENS, max_output_tokens=4096, concurrency=1)
MAX_SUBMISSION_CHARS = 200_000


def agent_pass(ctx: PhaseContext, plan: Plan, doc: NormalizedDocument, write: Any, max_attempts: int) -> None:
    """Judge saved submissions and hand out the next task; returns when every own chunk is final.

    ``write(state)`` persists a final chunk state (the loop's writer: lease check, telemetry).

    Raises:
        InputRequired: a chunk waits for the agent's answer (its task is in its state file).
    """
    for chunk in plan.own_chunks():
        path = chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id)
        state = load_chunk_state(path)
        while state is None or not state.is_final:
            ctx.checkpoint()
            if state is not None and state.status == "submitted" and state.agent_turn is not None:
                state = _judge_submission(ctx, plan, chunk, doc, state, write, max_attempts)
                continue
            if state is None or state.status != "awaiting_agent" or state.agent_turn is None:
                state = _hand_out(ctx, plan, chunk, doc, AgentTurn(attempt=1, kind="initial"), attempts=[])
            turn = state.agent_turn
            assert turn is not None
            raise InputRequired(f"chunk {chunk.chunk_id} waits for the agent's text (attempt {turn.attempt})",
                                details={"chunk_id": chunk.chunk_id, "attempt": turn.attempt})


def _hand_out(ctx: PhaseContext, plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument, turn: AgentTurn,
              attempts: list[Attempt]) -> ChunkState:
    from .prompting import build_chunk_messages

    messages = build_chunk_messages(plan, chunk, doc, violations=turn.violations or None,
                                    previous_output=turn.previous_output)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    prompt = "\n\n".join(m["content"] for m in messages if m["role"] != "system")
    turn = turn.model_copy(update={"system": system, "prompt": prompt, "operation": plan.contract.operation,
                                   "max_output_tokens": plan.contract.max_output_tokens})
    state = ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="awaiting_agent", attempts=attempts,
                       agent_turn=turn)
    ctx.lease.check()
    atomic_write_json(chunk_state_path(ctx.run_dir.path, plan.plan_id, chunk.chunk_id), state.model_dump(mode="json"))
    ctx.emit("agent_task", chunk_id=chunk.chunk_id, attempt=turn.attempt, kind=turn.kind,
             violations=[v.code for v in turn.violations])
    crash_point(f"agent:{chunk.chunk_id}:{turn.attempt}:handed")  # crash tests: after the task is saved
    return state


def _judge_submission(ctx: PhaseContext, plan: Plan, chunk: ChunkSpec, doc: NormalizedDocument,
                      state: ChunkState, write: Any, max_attempts: int) -> ChunkState:
    from .deterministic import format_range
    from .process import judge_answer

    turn = state.agent_turn
    assert turn is not None and turn.submission is not None
    verdict = judge_answer(plan, chunk, doc, turn.submission, "stop", previous_output=turn.previous_output,
                           truncated_before=0, attempts_left=turn.attempt < max_attempts)
    attempts = [*state.attempts, Attempt(number=turn.attempt, kind=turn.kind, finish_reason="stop",
                                         violations=verdict.violations)]
    if verdict.outcome == "accept":
        final = ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="succeeded", attempts=attempts,
                           output=verdict.text, output_origin="llm", writer="agent")
        write(final)
        return final
    if verdict.outcome == "repair":
        repair = AgentTurn(attempt=turn.attempt + 1, kind="repair", violations=verdict.violations,
                           previous_output=verdict.text)
        return _hand_out(ctx, plan, chunk, doc, repair, attempts)
    # No attempts left (or an answer that cannot be repaired): the chunk keeps its source text, listed.
    final = ChunkState(plan_id=plan.plan_id, chunk_id=chunk.chunk_id, status="fallback", attempts=attempts,
                       output=format_range(doc, chunk.core_start, chunk.core_end), output_origin="deterministic",
                       final_violations=verdict.violations)
    write(final)
    return final


# --------------------------------------------------------------------------- the caller's side
def waiting_chunk(run_path: Path, plan_id: str) -> ChunkState | None:
    """The chunk state that waits for the agent's answer in ``plan_id`` (at most one), or None."""
    directory = chunks_dir(run_path, plan_id)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        state = load_chunk_state(path)
        if state is not None and state.status == "awaiting_agent" and state.agent_turn is not None:
            return state
    return None


def agent_task_view(state: ChunkState) -> dict[str, Any]:
    """The task as the caller sees it (MCP ``agent_task``, the CLI's ``agent-task``)."""
    turn = state.agent_turn
    assert turn is not None
    return {
        "chunk_id": state.chunk_id,
        "plan_id": state.plan_id,
        "attempt": turn.attempt,
        "operation": turn.operation,
        "system": turn.system or "",
        "prompt": turn.prompt or "",
        "max_output_tokens": turn.max_output_tokens,
        "violations": [{"code": v.code, "detail": v.detail} for v in turn.violations],
    }


def submit_answer(run_path: Path, plan_id: str, chunk_id: str, text: str, lease: Lease) -> ChunkState:
    """Save the agent's answer for the waiting chunk (status ``submitted``); the next pass judges it.

    Raises:
        InvalidInputError: ``chunk_not_wanted`` (no chunk waits, or another one does: the message names
            the chunk wanted now), ``submission_too_long``.
    """
    waiting = waiting_chunk(run_path, plan_id)
    if waiting is None:
        raise InvalidInputError(f"no chunk waits for an answer now (chunk {chunk_id} is not wanted)",
                                code="chunk_not_wanted", details={"chunk_id": chunk_id, "wanted_chunk_id": None})
    turn = waiting.agent_turn
    assert turn is not None
    if chunk_id != waiting.chunk_id:
        raise InvalidInputError(
            f"chunk {chunk_id} is not the one wanted now: submit the text for chunk {waiting.chunk_id} "
            f"(attempt {turn.attempt})",
            code="chunk_not_wanted", details={"chunk_id": chunk_id, "wanted_chunk_id": waiting.chunk_id,
                                              "attempt": turn.attempt},
        )
    if len(text) > MAX_SUBMISSION_CHARS:
        raise InvalidInputError(f"the text for chunk {chunk_id} has {len(text)} characters; at most "
                                f"{MAX_SUBMISSION_CHARS} are accepted", code="submission_too_long",
                                details={"chunk_id": chunk_id})
    saved = waiting.model_copy(update={"status": "submitted",
                                       "agent_turn": turn.model_copy(update={"submission": text})})
    lease.check()
    atomic_write_json(chunk_state_path(run_path, plan_id, chunk_id), saved.model_dump(mode="json"))
    return saved
