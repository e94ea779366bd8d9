"""A small pipeline for runtime tests: count -> double -> check (gate) -> render.

It knows nothing of yt-transcript. Settings are a mutable dict so tests can change one phase's config
between advances. ``block`` events let a test hold a phase open to exercise pause, cancel and lease
contention deterministically. Its action table has one domain action of each kind:

- ``use_default_start`` (automatic): offered when ``count`` failed because the start is negative (a
  permanent failure); it records a start override and the phases run on;
- ``raise_limit`` (the caller's choice): offered when the gate is degraded; it doubles the limit and the
  gate runs again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from kernel.task_runtime.actions import ActionContext, ActionOutcome, ActionTable, DomainAction
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.clock import Clock
from kernel.task_runtime.contracts import ActionResult, ArtifactRef, Manifest
from kernel.task_runtime.errors import InvalidInputError, YTTError
from kernel.task_runtime.lease import Lease
from kernel.task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from kernel.task_runtime.pipeline_spec import DetailPage, Published, QualityVerdict
from kernel.task_runtime.store import atomic_copy, read_json
from kernel.task_runtime.workdir import RunDir


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int


class CountPhase(Phase):
    name = "count"
    state_on_start = "counting"

    def provides(self, params: Any) -> list[str]:
        return ["numbers"]

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {"start": settings["start"]}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        start = int(ctx.domain.get("start_override", ctx.settings["start"]))
        if start < 0:
            raise YTTError(f"start {start} is negative", code="negative_start", permanent=True)
        numbers = list(range(start, start + ctx.params.n))
        return PhaseResult(outputs={"numbers": PhaseOutput.json(numbers, "numbers.json")})


class DoublePhase(Phase):
    name = "double"

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
        if ctx.settings.get("fail_double"):
            raise YTTError("the doubling service is down", code="double_unavailable")
        if ctx.settings["factor"] == 0:
            raise YTTError("doubling by zero loses every number", code="zero_factor", permanent=True)
        numbers = read_json(ctx.path_of(inputs["numbers"]))
        return PhaseResult(outputs={"doubled": PhaseOutput.json([x * ctx.settings["factor"] for x in numbers], "doubled.json")})


class CheckPhase(Phase):
    name = "check"

    def requires(self, params: Any) -> list[str]:
        return ["doubled"]

    def provides(self, params: Any) -> list[str]:
        return ["report"]

    def config(self, params: Any, settings: Any) -> dict[str, Any]:
        return {"limit": settings["limit"]}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        doubled = read_json(ctx.path_of(inputs["doubled"]))
        biggest = max(doubled)
        status = "pass" if biggest <= ctx.settings["limit"] else ("degraded" if biggest <= 10 * ctx.settings["limit"]
                                                                  else "fail")
        return PhaseResult(outputs={"report": PhaseOutput.json({"status": status}, "report.json")})


class PublishPhase(Phase):
    name = "render"

    def requires(self, params: Any) -> list[str]:
        return ["doubled"]

    def provides(self, params: Any) -> list[str]:
        return ["output.text"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        doubled = read_json(ctx.path_of(inputs["doubled"]))
        return PhaseResult(outputs={"output.text": PhaseOutput.text(" ".join(map(str, doubled)) + "\n", "result.txt")})


def _invalidate(ctx: ActionContext, phase: str, **domain: Any) -> None:
    manifest = ctx.run_dir.read_manifest()
    phases = dict(manifest.phases)
    phases[phase] = phases[phase].model_copy(update={"status": "invalidated"})
    ctx.run_dir.commit(manifest.model_copy(update={"phases": phases, "domain": {**manifest.domain, **domain}}),
                       ctx.lease)


def use_default_start(ctx: ActionContext) -> ActionOutcome:
    _invalidate(ctx, "count", start_override=1)
    return ActionOutcome(ActionResult(action="use_default_start", status="completed", detail="counting from 1"),
                         continue_phases=True)


def raise_limit(ctx: ActionContext) -> ActionOutcome:
    ctx.settings["limit"] *= 2
    return ActionOutcome(ActionResult(action="raise_limit", status="completed",
                                      detail=f"limit is now {ctx.settings['limit']}"), continue_phases=True)


TOY_ACTIONS = ActionTable(domain=(
    DomainAction("use_default_start", "count from 1 instead of the negative start",
                 executor=use_default_start, automatic=True,
                 offered=lambda obs: "the start is negative; count from 1 instead"
                 if obs.failure is not None and obs.failure.code == "negative_start" else None),
    DomainAction("raise_limit", "double the check's limit", executor=raise_limit,
                 offered=lambda obs: "the numbers exceed the limit; raise it"
                 if obs.gate_phase_done and obs.quality_status == "degraded" else None),
))


def count_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int,
               name: str | None = None) -> dict[str, Any]:
    ref = manifest.artifacts.get("numbers")
    numbers = read_json(run_dir.path / ref.path) if ref else []
    page = numbers[cursor : cursor + limit]
    return {"numbers": page, "next_cursor": cursor + limit if cursor + limit < len(numbers) else None}


class ToyPipeline:
    name = "toy"

    def __init__(self) -> None:
        self._phases: list[Phase] = [CountPhase(), DoublePhase(), CheckPhase(), PublishPhase()]
        self.output_dir: Path | None = None
        self._details: dict[str, DetailPage] = {"numbers": count_page}

    @property
    def phases(self) -> Sequence[Phase]:
        return self._phases

    @property
    def gate_phase(self) -> str:
        return "check"

    @property
    def states(self) -> Sequence[str]:
        return ("counting",)

    @property
    def actions(self) -> ActionTable:
        return TOY_ACTIONS

    @property
    def intent_model(self) -> type[BaseModel]:
        return ToyParams

    @property
    def details(self) -> Mapping[str, DetailPage]:
        return self._details

    @property
    def persisted_models(self) -> Sequence[type[BaseModel]]:
        return ()

    def parse_params(self, raw: Mapping[str, Any], settings: Any) -> ToyParams:
        if not isinstance(raw.get("n"), int) or raw["n"] < 1:
            raise InvalidInputError("n must be a positive integer", code="invalid_option")
        return ToyParams.model_validate(dict(raw))

    def load_params(self, raw: Mapping[str, Any]) -> ToyParams:
        return ToyParams.model_validate(dict(raw))

    def quality(self, run_dir: RunDir, manifest: Manifest) -> QualityVerdict | None:
        ref = manifest.artifacts.get("report")
        return QualityVerdict(status=read_json(run_dir.path / ref.path)["status"]) if ref else None

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        return {"start_override": manifest.domain.get("start_override")}

    def notices(self, manifest: Manifest) -> list[str]:
        return []

    def progress_counts(self, facts: Mapping[str, Any]) -> dict[str, int]:
        return {}

    def phase_weights(self, params: Any, settings: Any, manifest: Manifest) -> Mapping[str, float]:
        return {}

    def awaiting_input(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
        return None

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease, settings: Any) -> dict[str, Any]:
        return {}

    def summarize_telemetry(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        return {"counted": sum(1 for e in events if e.get("event") == "phase_succeeded" and e.get("phase") == "count")}

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> Published:
        assert self.output_dir is not None
        ref = manifest.artifacts["output.text"]
        atomic_copy(run_dir.path / ref.path, self.output_dir / "result.txt")
        return Published(files={"text": "result.txt"})

    def restore_outputs(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> list[str]:
        return []

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        assert self.output_dir is not None
        return {k: str(self.output_dir / v) for k, v in manifest.outputs.items()}


def make_api(tmp_path: Path, *, clock: Clock | None = None, **settings: Any) -> tuple[RuntimeApi, dict[str, Any]]:
    config: dict[str, Any] = {"start": 1, "factor": 2, "limit": 1000, **settings}
    pipeline = ToyPipeline()
    pipeline.output_dir = tmp_path / "out"
    api = RuntimeApi(pipeline, config, runs_root=tmp_path / "runs", allowed_roots=[tmp_path.resolve()], clock=clock)
    return api, config
