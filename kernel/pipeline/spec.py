"""The yt-transcript pipeline: the phase list of the design map wired into the generic runtime.

preflight -> discover -> route -> acquire -> transcribe -> normalize -> plan -> transform -> merge ->
verify | assemble. ``run_phase`` drives everything up to ``verify`` (the quality gate); ``assemble`` and
publishing run at finalize. Domain actions: ``reroute_to_asr`` (a subtitle track turned out not to be
a usable transcript).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import Settings, load_settings
from ..long_text.actions import replan_fallback_chunks, retry_fallback_chunks, transform_result
from ..source.routing import REROUTABLE_SUBTITLE_FAILURES, rejected_track_record
from ..task_runtime.api import RuntimeApi
from ..task_runtime.clock import Clock
from ..task_runtime.contracts import Action, ActionResult, Manifest, Observation
from ..task_runtime.lease import Lease
from ..task_runtime.phases import Phase
from ..task_runtime.pipeline_spec import ActionContext, QualityStatus
from ..task_runtime.schemas import register_schema
from ..task_runtime.store import atomic_write_json, read_json
from ..task_runtime.workdir import RunDir
from ..transcript import RouteDecision
from .intent import TranscriptParams, parse_params
from .output_phases import AssemblePhase, VerifyPhase, publish_outputs
from .source_phases import AcquirePhase, DiscoverPhase, NormalizePhase, PreflightPhase, RoutePhase, TranscribePhase
from .text_phases import MergePhase, PlanPhase, TransformPhase

PIPELINE_NAME = "yt-transcript"


def register_domain_schemas() -> None:
    """Register every domain model persisted in a work_dir, so reads are schema-checked and
    ``tools.gen_schemas`` ships a JSON Schema for each."""
    from ..long_text.contracts import ChunkState, Plan
    from ..output.exports import JsonExport
    from ..output.quality import QualityReport
    from ..preflight import PreflightReport
    from ..transcript import NormalizedDocument, SourceInfo, SourceTracks, TranscriptSegments

    models: dict[str, type[BaseModel]] = {
        "source_info": SourceInfo, "source_tracks": SourceTracks, "route_decision": RouteDecision,
        "transcript_segments": TranscriptSegments, "normalized_document": NormalizedDocument, "plan": Plan,
        "chunk_state": ChunkState, "quality_report": QualityReport, "preflight_report": PreflightReport,
        "transcript_export": JsonExport,
    }
    for name, model in models.items():
        register_schema(name, model)


register_domain_schemas()


class TranscriptPipeline:
    name = PIPELINE_NAME

    def __init__(self) -> None:
        self._phases: list[Phase] = [
            PreflightPhase(), DiscoverPhase(), RoutePhase(), AcquirePhase(), TranscribePhase(), NormalizePhase(),
            PlanPhase(), TransformPhase(), MergePhase(), VerifyPhase(), AssemblePhase(),
        ]

    @property
    def phases(self) -> Sequence[Phase]:
        return self._phases

    @property
    def gate_phase(self) -> str:
        return "verify"

    def parse_params(self, raw: Mapping[str, Any], settings: Settings) -> TranscriptParams:
        return parse_params(raw, settings)

    def load_params(self, raw: Mapping[str, Any]) -> TranscriptParams:
        return TranscriptParams.model_validate(dict(raw))

    def quality_status(self, run_dir: RunDir, manifest: Manifest) -> QualityStatus | None:
        ref = manifest.artifacts.get("quality.report")
        if ref is None:
            return None
        report = read_json(run_dir.path / ref.path)
        status = report.get("status") if isinstance(report, dict) else None
        return status if status in ("pass", "degraded", "fail") else None

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        route_ref = manifest.artifacts.get("route.decision")
        if route_ref is not None and (run_dir.path / route_ref.path).is_file():
            decision = RouteDecision.model_validate(read_json(run_dir.path / route_ref.path))
            facts["route"] = {"route": decision.route, "language": decision.language,
                              "backend": decision.asr_backend, "reasons": decision.reasons}
        if manifest.domain.get("rejected_tracks"):
            facts["rejected_tracks"] = len(manifest.domain["rejected_tracks"])
        if manifest.current_plan_id:
            counts: dict[str, int] = {}
            directory = run_dir.chunks_dir(manifest.current_plan_id)
            for path in directory.glob("*.json") if directory.is_dir() else []:
                try:
                    status = str(read_json(path).get("status"))
                except Exception:  # a torn or hand-damaged chunk file counts as unreadable
                    status = "unreadable"
                counts[status] = counts.get(status, 0) + 1
            facts["chunks"] = counts
        result = transform_result(run_dir, manifest)
        if result is not None:
            facts["llm_used"] = bool(result.get("llm_used"))
            facts["fallback_chunks"] = int((result.get("counts") or {}).get("fallback", 0))
        failure = manifest.failure or {}
        if failure:
            facts["failure_code"] = failure.get("code")
        return facts

    def domain_actions(self, obs: Observation) -> dict[Action, str]:
        actions: dict[Action, str] = {}
        if obs.domain.get("failure_code") in REROUTABLE_SUBTITLE_FAILURES:
            actions[Action.REROUTE_TO_ASR] = (f"the subtitle track cannot be used ({obs.domain['failure_code']}); "
                                              "transcribe the audio")
        fallbacks = int(obs.domain.get("fallback_chunks", 0))
        if obs.gate_phase_done and obs.quality_status != "pass" and fallbacks and obs.domain.get("llm_used"):
            actions[Action.RETRY_CHUNK] = f"send the {fallbacks} chunk(s) that fell back to the LLM again"
            actions[Action.REPLAN_REMAINING] = f"re-plan the {fallbacks} fallback chunk(s) smaller and send them again"
        return actions

    def execute_domain_action(self, action: Action, ctx: ActionContext) -> tuple[ActionResult, bool]:
        if action == Action.REROUTE_TO_ASR:
            return self._reroute_to_asr(ctx), True
        if action == Action.RETRY_CHUNK:
            reset = retry_fallback_chunks(ctx.run_dir, ctx.manifest, ctx.lease, ctx.args.get("chunk_id"))
            self._invalidate(ctx, "transform")
            return ActionResult(action=action, status="completed", detail=f"{len(reset)} chunk(s) sent again",
                                data={"chunks": reset}), True
        if action == Action.REPLAN_REMAINING:
            plan_id, plan_path = replan_fallback_chunks(ctx.run_dir, ctx.manifest, ctx.lease)
            self._invalidate(ctx, "transform", domain={"current_plan": plan_path}, current_plan_id=plan_id)
            return ActionResult(action=action, status="completed", detail=f"fallback chunks re-planned as {plan_id}",
                                data={"plan_id": plan_id}), True
        raise NotImplementedError(f"no executor for {action.value}")

    def _invalidate(self, ctx: ActionContext, phase: str, *, domain: dict[str, Any] | None = None,
                    current_plan_id: str | None = None) -> None:
        manifest = ctx.run_dir.read_manifest()
        phases = dict(manifest.phases)
        if phase in phases:
            phases[phase] = phases[phase].model_copy(update={"status": "invalidated"})
        update: dict[str, Any] = {"phases": phases, "domain": {**manifest.domain, **(domain or {})}}
        if current_plan_id is not None:
            update["current_plan_id"] = current_plan_id
        ctx.run_dir.commit(manifest.model_copy(update=update), ctx.lease)

    def _reroute_to_asr(self, ctx: ActionContext) -> ActionResult:
        manifest = ctx.manifest
        rejected = list(manifest.domain.get("rejected_tracks", []))
        route_ref = manifest.artifacts.get("route.decision")
        if route_ref is not None:
            decision = RouteDecision.model_validate(read_json(ctx.run_dir.path / route_ref.path))
            if decision.track is not None:
                rejected.append(rejected_track_record(decision.track, manifest.failure))
        phases = dict(manifest.phases)
        if "route" in phases:
            phases["route"] = phases["route"].model_copy(update={"status": "invalidated"})
        domain = {**manifest.domain, "rejected_tracks": rejected}
        ctx.run_dir.commit(manifest.model_copy(update={"phases": phases, "domain": domain}), ctx.lease)
        ctx.run_dir.telemetry(manifest.run_id).emit("reroute_to_asr", rejected_tracks=len(rejected))
        return ActionResult(action=Action.REROUTE_TO_ASR, status="completed",
                            detail="subtitle track rejected; routing again (speech recognition unless another track fits)")

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> dict[str, Any]:
        reset: list[str] = []
        if manifest.current_plan_id:
            directory = run_dir.chunks_dir(manifest.current_plan_id)
            for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
                try:
                    state = read_json(path)
                except Exception:  # an unreadable chunk state is redone from scratch
                    path.unlink(missing_ok=True)
                    reset.append(path.stem)
                    continue
                if isinstance(state, dict) and state.get("status") == "running":
                    lease.check()
                    atomic_write_json(path, {**state, "status": "pending"})
                    reset.append(path.stem)
        return {"chunks_reset": reset} if reset else {}

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> dict[str, str]:
        return publish_outputs(run_dir.path, manifest, params.output_path(settings))

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        base: Path = params.output_path(settings)
        return {name: str(base / filename) for name, filename in manifest.outputs.items()}


def build_runtime_api(settings: Settings | None = None, *, clock: Clock | None = None) -> RuntimeApi:
    """The runtime every entry point uses (MCP server, CLI, scripts)."""
    settings = settings or load_settings()
    return RuntimeApi(
        TranscriptPipeline(), settings, runs_root=settings.runs_dir, allowed_roots=settings.allowed_roots, clock=clock,
    )
