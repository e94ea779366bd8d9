"""A small pipeline for runtime tests: count -> double -> check (gate) -> publish.

Settings are a mutable dict so tests can change one phase's config between advances. ``block`` events
let a test hold a phase open to exercise pause, cancel and lease contention deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.clock import Clock
from kernel.task_runtime.contracts import Action, ActionResult, ArtifactRef, LifecycleState, Manifest, Observation
from kernel.task_runtime.errors import InvalidInputError
from kernel.task_runtime.lease import Lease
from kernel.task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from kernel.task_runtime.pipeline_spec import ActionContext, QualityStatus
from kernel.task_runtime.store import atomic_copy, read_json
from kernel.task_runtime.workdir import RunDir


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int


class CountPhase(Phase):
    name = "count"
    state_on_success = LifecycleState.SOURCED

    def provides(self, params: Any) -> list[str]:
        return ["numbers"]

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {"start": settings["start"]}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        numbers = list(range(ctx.settings["start"], ctx.settings["start"] + ctx.params.n))
        return PhaseResult(outputs={"numbers": PhaseOutput.json(numbers, "numbers.json")})


class DoublePhase(Phase):
    name = "double"
    state_on_success = LifecycleState.NORMALIZED

    def requires(self, params: Any) -> list[str]:
        return ["numbers"]

    def provides(self, params: Any) -> list[str]:
        return ["doubled"]

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {"factor": settings["factor"]}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        gate: threading.Event | None = ctx.settings.get("block")
        if gate is not None:
            ctx.settings["entered"].set()
            while not gate.wait(0.01):
                ctx.checkpoint()  # a safe point: pause/cancel are honoured here
        numbers = read_json(ctx.path_of(inputs["numbers"]))
        return PhaseResult(outputs={"doubled": PhaseOutput.json([x * ctx.settings["factor"] for x in numbers], "doubled.json")})


class CheckPhase(Phase):
    name = "check"
    state_on_success = LifecycleState.VERIFYING

    def requires(self, params: Any) -> list[str]:
        return ["doubled"]

    def provides(self, params: Any) -> list[str]:
        return ["report"]

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {"limit": settings["limit"]}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        doubled = read_json(ctx.path_of(inputs["doubled"]))
        status = "pass" if max(doubled) <= ctx.settings["limit"] else "degraded"
        return PhaseResult(outputs={"report": PhaseOutput.json({"status": status}, "report.json")})


class PublishPhase(Phase):
    name = "render"
    state_on_success = LifecycleState.ASSEMBLED

    def requires(self, params: Any) -> list[str]:
        return ["doubled"]

    def provides(self, params: Any) -> list[str]:
        return ["output.text"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        doubled = read_json(ctx.path_of(inputs["doubled"]))
        return PhaseResult(outputs={"output.text": PhaseOutput.text(" ".join(map(str, doubled)) + "\n", "result.txt")})


class ToyPipeline:
    name = "toy"

    def __init__(self) -> None:
        self._phases: list[Phase] = [CountPhase(), DoublePhase(), CheckPhase(), PublishPhase()]
        self.output_dir: Path | None = None

    @property
    def phases(self) -> Sequence[Phase]:
        return self._phases

    @property
    def gate_phase(self) -> str:
        return "check"

    def parse_params(self, raw: Mapping[str, Any], settings: Any) -> ToyParams:
        if not isinstance(raw.get("n"), int) or raw["n"] < 1:
            raise InvalidInputError("n must be a positive integer", code="invalid_option")
        return ToyParams.model_validate(dict(raw))

    def load_params(self, raw: Mapping[str, Any]) -> ToyParams:
        return ToyParams.model_validate(dict(raw))

    def quality_status(self, run_dir: RunDir, manifest: Manifest) -> QualityStatus | None:
        ref = manifest.artifacts.get("report")
        return read_json(run_dir.path / ref.path)["status"] if ref else None

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        return {}

    def domain_actions(self, obs: Observation) -> dict[Action, str]:
        return {}

    def execute_domain_action(self, action: Action, ctx: ActionContext) -> tuple[ActionResult, bool]:
        raise NotImplementedError

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> dict[str, Any]:
        return {}

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> dict[str, str]:
        assert self.output_dir is not None
        ref = manifest.artifacts["output.text"]
        atomic_copy(run_dir.path / ref.path, self.output_dir / "result.txt")
        return {"text": "result.txt"}

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        assert self.output_dir is not None
        return {k: str(self.output_dir / v) for k, v in manifest.outputs.items()}


def make_api(tmp_path: Path, *, clock: Clock | None = None, **settings: Any) -> tuple[RuntimeApi, dict[str, Any]]:
    config: dict[str, Any] = {"start": 1, "factor": 2, "limit": 1000, **settings}
    pipeline = ToyPipeline()
    pipeline.output_dir = tmp_path / "out"
    api = RuntimeApi(pipeline, config, runs_root=tmp_path / "runs", allowed_roots=[tmp_path.resolve()], clock=clock)
    return api, config
