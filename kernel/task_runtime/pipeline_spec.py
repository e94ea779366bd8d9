"""What a domain pipeline provides to the generic runtime (the runtime never imports a domain package).

``kernel.pipeline`` implements this for yt-transcript; tests implement small ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from .contracts import Action, ActionResult, Manifest, Observation
from .lease import Lease
from .phases import Phase
from .workdir import RunDir

QualityStatus = Literal["pass", "degraded", "fail"]


@dataclass
class ActionContext:
    """Handed to a pipeline's domain-action executor; it runs in the worker, under the lease."""

    run_dir: RunDir
    lease: Lease
    manifest: Manifest
    params: Any
    settings: Any
    args: dict[str, Any]


class PipelineSpec(Protocol):
    name: str

    @property
    def phases(self) -> Sequence[Phase]: ...

    @property
    def gate_phase(self) -> str:
        """The last phase ``run_phase`` drives; phases after it run at finalize."""
        ...

    def parse_params(self, raw: Mapping[str, Any], settings: Any) -> BaseModel:
        """Validate a caller's intent (raises InvalidInputError naming the bad field)."""
        ...

    def load_params(self, raw: Mapping[str, Any]) -> BaseModel:
        """Rebuild params already validated at create time."""
        ...

    def quality_status(self, run_dir: RunDir, manifest: Manifest) -> QualityStatus | None: ...

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]: ...

    def domain_actions(self, obs: Observation) -> dict[Action, str]: ...

    def execute_domain_action(self, action: Action, ctx: ActionContext) -> tuple[ActionResult, bool]:
        """Run a domain action. Returns the result and whether run_phase should continue afterwards."""
        ...

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> dict[str, Any]:
        """Repair domain state after a crash (e.g. chunks left ``running``); returns a summary."""
        ...

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> dict[str, str]:
        """Copy the assembled outputs to their destination; returns output name -> file name."""
        ...

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        """Where the published outputs are: output name -> full path (shown to callers, never persisted)."""
        ...


def gate_phases(pipeline: PipelineSpec) -> list[Phase]:
    """The phases ``run_phase`` drives: up to and including the quality gate."""
    names = [p.name for p in pipeline.phases]
    return list(pipeline.phases)[: names.index(pipeline.gate_phase) + 1]


def final_phases(pipeline: PipelineSpec) -> list[Phase]:
    """The phases after the quality gate, run at finalize."""
    names = [p.name for p in pipeline.phases]
    return list(pipeline.phases)[names.index(pipeline.gate_phase) + 1 :]
