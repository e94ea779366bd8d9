"""The calling agent as the writer: one task at a time, verified like an endpoint's reply, for every kind
of work item (chunks of the article, groups of subtitle cues; see ``work_items``).

The agent (an LLM that drives the run over MCP or the CLI) gets one item's task (the same prompt
templates and ``<source>``/``<context>``/``<glossary>`` contract as an endpoint request), writes the
text, and submits it. Each submission is judged by the item's own rules (``WorkItem.judge``, which ends in
``decide_verdict`` as for an endpoint): accepted, a repair task with the violations, or after
``MAX_ATTEMPTS`` the item gives up (``WorkItem.give_up``: a chunk's deterministic fallback, listed in the
quality report; a cue group split smaller).

Invariants:
- Items are handed out in order, one at a time; the task is stored in the item's state file
  (``ChunkState.agent_turn``, status ``awaiting_agent``) before the phase stops with ``InputRequired``,
  so a restart hands out exactly the same task.
- A submission is saved first (status ``submitted``) and judged by the next pass; once an item is final
  it is never handed out again, and a submission for any item but the one waiting is refused.
- Tasks are sized by the plan (``AGENT_PROFILE``) so a task with its context stays under
  ``AGENT_TASK_TOKENS``.
- Crash point ``agent:<item_id>:<attempt>:handed`` follows the write of a task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import LLMProfile
from ..task_runtime.errors import InputRequired, InvalidInputError, YTTError
from ..task_runtime.faults import crash_point
from ..task_runtime.lease import Lease
from ..task_runtime.phases import PhaseContext
from ..task_runtime.store import atomic_write_json, read_json
from .chunk_files import current_plan_id, load_chunk_state
from .contracts import AgentTurn, Attempt, ChunkState
from .work_items import WorkItem, folder_id, state_path, succeeded_state

AGENT_TASK_TOKENS = 6000
# The agent's "context window" for planning: chunks leave room for the template, the context, the
# glossary and (for a repair) the previous answer inside AGENT_TASK_TOKENS.
AGENT_PROFILE = LLMProfile(model="agent", context_window=AGENT_TASK_TOKENS, max_output_tokens=4096, concurrency=1)
MAX_SUBMISSION_CHARS = 200_000
# Names the cue set whose groups are current (``{"set_id": ...}``), written before its first group is handed
# out so a waiting group is found while its phase has not finished.
CURRENT_CUE_SET_FILE = "cues/current.json"


def agent_pass(ctx: PhaseContext, items: Sequence[WorkItem], write: Callable[[ChunkState], None],
               max_attempts: int) -> None:
    """Bring every item to a final state through the agent, in order; returns when all are final.

    Raises:
        InputRequired: an item waits for the agent's answer (its task is in its state file).
    """
    for item in items:
        agent_turn(ctx, item, write, max_attempts)


def agent_turn(ctx: PhaseContext, item: WorkItem, write: Callable[[ChunkState], None],
               max_attempts: int) -> ChunkState:
    """Judge the item's saved submission or hand out its task, until it is final or gave up (``superseded``).

    ``write(state)`` persists a finished state (the loop's writer: lease check, telemetry, crash point).

    Raises:
        InputRequired: the item waits for the agent's answer (its task is in its state file).
    """
    state = load_chunk_state(state_path(ctx.run_dir.path, item))
    while state is None or not (state.is_final or state.status == "superseded"):
        ctx.checkpoint()
        if state is not None and state.status == "submitted" and state.agent_turn is not None:
            state = _judge_submission(ctx, item, state, write, max_attempts)
            continue
        if state is None or state.status != "awaiting_agent" or state.agent_turn is None:
            state = _hand_out(ctx, item, AgentTurn(attempt=1, kind="initial"), attempts=[])
        turn = state.agent_turn
        assert turn is not None
        raise InputRequired(f"{item.kind.replace('_', ' ')} {item.item_id} waits for the agent's text "
                            f"(attempt {turn.attempt})", details={"chunk_id": item.item_id, "attempt": turn.attempt})
    return state


def _hand_out(ctx: PhaseContext, item: WorkItem, turn: AgentTurn, attempts: list[Attempt]) -> ChunkState:
    messages = item.messages(turn.violations or None, turn.previous_output)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    prompt = "\n\n".join(m["content"] for m in messages if m["role"] != "system")
    turn = turn.model_copy(update={"system": system, "prompt": prompt, "operation": item.operation,
                                   "max_output_tokens": item.max_output_tokens})
    state = ChunkState(plan_id=folder_id(item), chunk_id=item.item_id, status="awaiting_agent", attempts=attempts,
                       agent_turn=turn)
    ctx.lease.check()
    atomic_write_json(state_path(ctx.run_dir.path, item), state.model_dump(mode="json"))
    ctx.emit("agent_task", chunk_id=item.item_id, attempt=turn.attempt, kind=turn.kind, work_item=item.kind,
             violations=[v.code for v in turn.violations])
    crash_point(f"agent:{item.item_id}:{turn.attempt}:handed")  # crash tests: after the task is saved
    return state


def _judge_submission(ctx: PhaseContext, item: WorkItem, state: ChunkState, write: Callable[[ChunkState], None],
                      max_attempts: int) -> ChunkState:
    turn = state.agent_turn
    assert turn is not None and turn.submission is not None
    verdict = item.judge(turn.submission, "stop", previous_output=turn.previous_output, truncated_before=0,
                         attempts_left=turn.attempt < max_attempts)
    attempts = [*state.attempts, Attempt(number=turn.attempt, kind=turn.kind, finish_reason="stop",
                                         violations=verdict.violations)]
    if verdict.outcome == "accept":
        final = succeeded_state(item, attempts, verdict.text, "agent")
        write(final)
        return final
    if verdict.outcome == "repair":
        repair = AgentTurn(attempt=turn.attempt + 1, kind="repair", violations=verdict.violations,
                           previous_output=verdict.text)
        return _hand_out(ctx, item, repair, attempts)
    # No attempts left (or an answer that cannot be repaired): the item gives up (a listed fallback, or a
    # split into smaller items that are handed out next).
    given_up = item.give_up(attempts, verdict.violations, more_requests=True)
    write(given_up)
    return given_up


# --------------------------------------------------------------------------- the caller's side
_KINDS = {"chunks": "chunk", "cues": "cue_group", "titles": "section_titles"}


def current_cue_set(run_path: Path) -> str | None:
    """The current cue set's id (``CURRENT_CUE_SET_FILE``), or None."""
    path = run_path / CURRENT_CUE_SET_FILE
    try:
        data = read_json(path) if path.is_file() else None
    except YTTError:
        return None
    value = data.get("set_id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str) and value.isalnum() else None


def work_folders(run_path: Path, domain: Mapping[str, Any]) -> list[str]:
    """The folders whose items may wait for the agent: the current plan's chunks, the current cue set's groups."""
    folders = []
    plan_id = current_plan_id(domain)
    if plan_id:
        folders.append(f"chunks/{plan_id}")
    cue_set = current_cue_set(run_path)
    if cue_set:
        folders.append(f"cues/{cue_set}")
    titles = run_path / "titles"
    folders += [f"titles/{p.name}" for p in sorted(titles.iterdir())] if titles.is_dir() else []
    return folders


def waiting_item(run_path: Path, domain: Mapping[str, Any]) -> tuple[str, ChunkState] | None:
    """The folder and state of the item that waits for the agent's answer (at most one), or None."""
    for folder in work_folders(run_path, domain):
        directory = run_path / folder
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            state = load_chunk_state(path)
            if state is not None and state.status == "awaiting_agent" and state.agent_turn is not None:
                return folder, state
    return None


def agent_task_view(state: ChunkState, folder: str = "chunks") -> dict[str, Any]:
    """The task as the caller sees it (MCP ``agent_task``, the CLI's ``agent-task``); ``chunk_id`` names the
    work item (a chunk, or a cue group: ``work_item`` says which)."""
    turn = state.agent_turn
    assert turn is not None
    return {
        "chunk_id": state.chunk_id,
        "plan_id": state.plan_id,
        "work_item": _KINDS.get(folder.split("/", 1)[0], "chunk"),
        "attempt": turn.attempt,
        "operation": turn.operation,
        "system": turn.system or "",
        "prompt": turn.prompt or "",
        "max_output_tokens": turn.max_output_tokens,
        "violations": [{"code": v.code, "detail": v.detail} for v in turn.violations],
    }


def awaiting_task(run_path: Path, domain: Mapping[str, Any]) -> dict[str, Any] | None:
    """The waiting task's view with ``chunks_done`` (items of its kind already final), or None."""
    waiting = waiting_item(run_path, domain)
    if waiting is None:
        return None
    folder, state = waiting
    task = agent_task_view(state, folder)
    done = 0
    for path in (run_path / folder).glob("*.json"):
        other = load_chunk_state(path)
        done += bool(other is not None and other.is_final)
    task["chunks_done"] = done
    return task


def submit_answer(run_path: Path, domain: Mapping[str, Any], chunk_id: str, text: str, lease: Lease) -> ChunkState:
    """Save the agent's answer for the waiting item (status ``submitted``); the next pass judges it.

    Raises:
        InvalidInputError: ``chunk_not_wanted`` (no item waits, or another one does: the message names
            the item wanted now), ``submission_too_long``.
    """
    waiting = waiting_item(run_path, domain)
    if waiting is None:
        raise InvalidInputError(f"no chunk waits for an answer now (chunk {chunk_id} is not wanted)",
                                code="chunk_not_wanted", hint="{inspect}: the run says what it waits for",
                                details={"chunk_id": chunk_id, "wanted_chunk_id": None})
    folder, state = waiting
    turn = state.agent_turn
    assert turn is not None
    if chunk_id != state.chunk_id:
        raise InvalidInputError(
            f"chunk {chunk_id} is not the one wanted now: submit the text for chunk {state.chunk_id} "
            f"(attempt {turn.attempt})",
            code="chunk_not_wanted", hint=f"write the text for {state.chunk_id} (its task is the one shown now) "
            "and submit it with that chunk_id",
            details={"chunk_id": chunk_id, "wanted_chunk_id": state.chunk_id, "attempt": turn.attempt},
        )
    if len(text) > MAX_SUBMISSION_CHARS:
        raise InvalidInputError(f"the text for chunk {chunk_id} has {len(text)} characters; at most "
                                f"{MAX_SUBMISSION_CHARS} are accepted", code="submission_too_long",
                                hint="submit only the transformed text of this chunk's <source>",
                                details={"chunk_id": chunk_id})
    saved = state.model_copy(update={"status": "submitted", "agent_turn": turn.model_copy(update={"submission": text})})
    lease.check()
    atomic_write_json(run_path / folder / f"{chunk_id}.json", saved.model_dump(mode="json"))
    return saved
