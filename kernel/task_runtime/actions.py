"""The action table: every action a run can take, with its executor, in one place.

The runtime declares its own actions (``RuntimeAction``: run_phase, pause, resume, cancel,
accept_degraded, finalize); a pipeline declares its domain actions as ``DomainAction`` rows. A row cannot
exist without an executor, so nothing can be offered or advertised that cannot run.

Invariants:
- ``ActionTable.names()`` is the complete vocabulary of actions (what advance-run's ``action`` argument
  accepts); the policy only ever offers names from it.
- ``automatic`` says whether the policy may take the action by itself when the caller names none. There
  is no other list of automatic actions anywhere.
- A domain action's ``offered(observation)`` is a pure function: it returns the reason the action is
  offered now, or None. It is consulted only when no work is in progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .contracts import ActionResult, Observation, RuntimeAction

if TYPE_CHECKING:
    from .contracts import Manifest
    from .lease import Lease
    from .workdir import RunDir


@dataclass
class ActionContext:
    """Handed to a domain action's executor; it runs in the background worker, under the lease."""

    run_dir: RunDir
    lease: Lease
    manifest: Manifest
    params: Any
    settings: Any
    args: dict[str, Any]


@dataclass(frozen=True)
class ActionOutcome:
    """What a domain executor returns: its result, and whether the phases should then be driven on
    (as ``run_phase`` would) in the same background job."""

    result: ActionResult
    continue_phases: bool = False


DomainExecutor = Callable[[ActionContext], ActionOutcome]
OfferRule = Callable[[Observation], "str | None"]


@dataclass(frozen=True)
class DomainAction:
    """One row of a pipeline's action table.

    ``arguments`` are the extra arguments the action takes, as (name, description) pairs (passed to the
    executor as ``ctx.args``); ``background`` actions run in the worker (they may take long); others run
    inline under the lease.
    """

    name: str
    description: str
    executor: DomainExecutor
    offered: OfferRule
    automatic: bool = False
    arguments: tuple[tuple[str, str], ...] = ()
    required: tuple[str, ...] = ()  # the arguments the action cannot run without
    background: bool = True

    def __post_init__(self) -> None:
        if not callable(self.executor):
            raise TypeError(f"action {self.name!r} has no executor")
        if self.name in set(RuntimeAction):
            raise ValueError(f"action {self.name!r} is a runtime action; a pipeline cannot redefine it")
        if not set(self.required) <= {name for name, _ in self.arguments}:
            raise ValueError(f"action {self.name!r} requires arguments it does not declare")


@dataclass(frozen=True)
class RuntimeActionSpec:
    name: RuntimeAction
    description: str
    automatic: bool


RUNTIME_ACTIONS: tuple[RuntimeActionSpec, ...] = (
    RuntimeActionSpec(RuntimeAction.RUN_PHASE, "run the phases that are due, up to the quality gate", True),
    RuntimeActionSpec(RuntimeAction.FINALIZE, "assemble and publish the outputs after the quality gate passed", True),
    RuntimeActionSpec(
        RuntimeAction.ACCEPT_DEGRADED, "finalize although the quality gate is degraded (the caller's choice)", False
    ),
    RuntimeActionSpec(RuntimeAction.PAUSE, "stop at the next safe point; finished work is kept", False),
    RuntimeActionSpec(RuntimeAction.RESUME, "continue a paused run", False),
    RuntimeActionSpec(RuntimeAction.CANCEL, "end the run for good; finished work stays on disk", False),
)


@dataclass(frozen=True)
class ActionTable:
    """The runtime's actions followed by a pipeline's domain actions."""

    domain: Sequence[DomainAction] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        names = [a.name for a in self.domain]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate action names in the table: {names}")

    def names(self) -> list[str]:
        return [spec.name.value for spec in RUNTIME_ACTIONS] + [a.name for a in self.domain]

    def description(self, name: str) -> str:
        for spec in RUNTIME_ACTIONS:
            if spec.name == name:
                return spec.description
        return self.domain_action(name).description

    def is_automatic(self, name: str) -> bool:
        for spec in RUNTIME_ACTIONS:
            if spec.name == name:
                return spec.automatic
        return self.domain_action(name).automatic

    def domain_action(self, name: str) -> DomainAction:
        for action in self.domain:
            if action.name == name:
                return action
        raise KeyError(name)

    def domain_offers(self, obs: Observation) -> dict[str, str]:
        """Domain action name -> reason, for every domain action offered in ``obs``."""
        offers: dict[str, str] = {}
        for action in self.domain:
            reason = action.offered(obs)
            if reason:
                offers[action.name] = reason
        return offers

    def arguments(self) -> dict[str, str]:
        """Every extra argument any domain action takes, name -> description (for front ends)."""
        seen: dict[str, str] = {}
        for action in self.domain:
            for name, description in action.arguments:
                seen.setdefault(name, f"{description} (for {action.name})")
        return seen
