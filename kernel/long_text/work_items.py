"""Work items: what the writer loops (an endpoint, or the calling agent) bring to a final state.

A work item is one unit of model work with its own state file: a chunk of the article
(``chunks/<plan_id>/<chunk_id>.json``) or a group of subtitle cues (``cues/<set_id>/<group_id>.json``).
Both loops (``process.process_item`` for an endpoint, ``agent_loop.agent_turn`` for the agent) are written
once against ``WorkItem``; what differs per kind is behind it: the prompt, the checks, and what giving
up means (a chunk falls back to deterministic text; a cue group is split smaller, and a single cue keeps
its source line).

Invariants:
- Every state file is a ``ChunkState`` (``plan_id`` names the folder, ``chunk_id`` the item), so the
  agent's task and submission have one shape for every kind, and budgets and usage read the same way.
- ``decide_verdict`` is the one rule set for what to do with a checked answer, for every kind and writer.
- A state is final when it is ``succeeded`` or ``fallback`` with an output; ``superseded`` means the item
  was replaced by smaller ones (a replan, or a cue group split) that carry on in its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from .contracts import Attempt, ChunkState, Violation

Outcome = Literal["accept", "repair", "replan", "fallback"]
Writer = Literal["endpoint", "agent"]
TRUNCATIONS_BEFORE_REPLAN = 2


@dataclass(frozen=True)
class Verdict:
    """What to do with one answer for a work item (from an endpoint or the calling agent)."""

    outcome: Outcome
    text: str  # the answer after sanitizing (what is kept, or shown back in a repair request)
    violations: list[Violation]
    truncated: bool = False
    reason: str = ""


def decide_verdict(
    item_id: str,
    text: str,
    violations: list[Violation],
    *,
    previous_output: str | None,
    truncated_before: int,
    attempts_left: bool,
) -> Verdict:
    """Accept, repair, replan smaller, or fall back, from the violations a check found in ``text``.

    A repeated truncation or a replan remedy asks for a replan; a fallback remedy, the same rejected
    answer again, or no attempts left fall back; else repair.
    """
    if not violations:
        return Verdict("accept", text.strip(), [])
    truncated = any(v.code == "truncated" for v in violations)
    if truncated and truncated_before + 1 >= TRUNCATIONS_BEFORE_REPLAN:
        return Verdict("replan", text, violations, truncated, f"output of {item_id} truncated repeatedly")
    if any(v.remedy == "replan" for v in violations):
        return Verdict("replan", text, violations, truncated, f"{violations[0].code} on {item_id}")
    # Checked after truncation: a cut-off answer repeated means the output budget is too small (a replan
    # helps), while any other repeated answer would fail the same checks again.
    if any(v.remedy == "fallback" for v in violations) or text == previous_output or not attempts_left:
        return Verdict("fallback", text, violations, truncated)
    return Verdict("repair", text, violations, truncated)


class WorkItem(Protocol):
    """One unit of model work and the rules for it (see the module docstring)."""

    @property
    def folder(self) -> str:
        """The work_dir-relative folder of its state file (``chunks/p1``, ``cues/s…``)."""
        ...

    @property
    def item_id(self) -> str: ...

    @property
    def kind(self) -> str:
        """``chunk`` or ``cue_group``: shown to the agent with its task."""
        ...

    @property
    def operation(self) -> str: ...

    @property
    def max_output_tokens(self) -> int: ...

    @property
    def replans_plan(self) -> bool:
        """Whether a ``replan`` verdict stops the pass to re-plan the rest (chunks), rather than giving up on
        this item alone (cue groups split themselves)."""
        ...

    def messages(self, violations: list[Violation] | None, previous_output: str | None) -> list[dict[str, str]]:
        """The chat messages of the first request, or of a repair when ``violations`` are given."""
        ...

    def judge(self, raw_text: str, finish_reason: str | None, *, previous_output: str | None,
              truncated_before: int, attempts_left: bool) -> Verdict: ...

    def give_up(self, attempts: list[Attempt], violations: list[Violation], *, more_requests: bool) -> ChunkState:
        """The state to write when the item cannot pass as it is: a fallback, or (with ``more_requests``)
        a ``superseded`` state whose smaller replacements go on."""
        ...


def state_path(run_path: Path, item: WorkItem) -> Path:
    return run_path / item.folder / f"{item.item_id}.json"


def folder_id(item: WorkItem) -> str:
    """The ``ChunkState.plan_id`` of the item's states: the last part of its folder."""
    return item.folder.rsplit("/", 1)[-1]


def succeeded_state(item: WorkItem, attempts: list[Attempt], text: str, writer: Writer) -> ChunkState:
    return ChunkState(plan_id=folder_id(item), chunk_id=item.item_id, status="succeeded", attempts=attempts,
                      output=text, output_origin="llm", writer=writer)
