"""The yt-transcript pipeline spec: the phase list of the design map wired into the generic runtime.

preflight -> discover -> route -> acquire -> transcribe -> normalize -> plan -> transform -> merge ->
verify | assemble. ``run_phase`` drives everything up to ``verify`` (the quality gate); ``assemble`` and
publishing run at finalize. The intent model is ``TranscriptParams``, the domain states are in
``states``, the domain actions in ``actions``; the work_dir files are the models in
``PERSISTED_MODELS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import Settings, load_settings
from ..long_text.actions import transform_result
from ..long_text.agent_loop import agent_task_view, waiting_chunk
from ..long_text.chunk_files import (
    chunk_rows,
    count_chunk_statuses,
    current_plan_id,
    llm_request_summary,
    reset_running_chunks,
)
from ..long_text.contracts import ChunkState, Plan
from ..output.exports import JsonExport
from ..output.quality import QualityReport
from ..preflight import PreflightReport
from ..task_runtime.actions import ActionTable
from ..task_runtime.api import RuntimeApi
from ..task_runtime.clock import Clock
from ..task_runtime.contracts import Manifest, RunState
from ..task_runtime.lease import Lease
from ..task_runtime.phases import Phase
from ..task_runtime.pipeline_spec import DetailPage, QualityVerdict
from ..task_runtime.pipelines import PipelineSet
from ..task_runtime.store import read_json
from ..task_runtime.workdir import RunDir
from ..transcript import NormalizedDocument, RouteDecision, SourceInfo, SourceTracks, TranscriptSegments
from .actions import ACTION_TABLE
from .intent import TranscriptParams, parse_params
from .output_phases import AssemblePhase, VerifyPhase, publish_outputs
from .source_phases import AcquirePhase, DiscoverPhase, NormalizePhase, PreflightPhase, RoutePhase, TranscribePhase
from .states import STATES
from .text_phases import MergePhase, PlanPhase, TransformPhase

PIPELINE_NAME = "yt-transcript"
GATE_PHASE = "verify"

PERSISTED_MODELS: tuple[type[BaseModel], ...] = (
    SourceInfo, SourceTracks, RouteDecision, TranscriptSegments, NormalizedDocument, Plan, ChunkState,
    QualityReport, PreflightReport, JsonExport,
)
QUALITY_SUMMARY_KEYS = ("reasons", "llm_used", "degraded_chunks", "fallback_chunks", "notes")


def chunk_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int) -> dict[str, Any]:
    """inspect detail ``chunks``: the current plan's chunk states, one page."""
    return chunk_rows(run_dir.path, current_plan_id(manifest.domain), cursor=cursor, limit=limit)


class TranscriptPipeline:
    name = PIPELINE_NAME

    def __init__(self) -> None:
        self._phases: list[Phase] = [
            PreflightPhase(), DiscoverPhase(), RoutePhase(), AcquirePhase(), TranscribePhase(), NormalizePhase(),
            PlanPhase(), TransformPhase(), MergePhase(), VerifyPhase(), AssemblePhase(),
        ]
        self._details: dict[str, DetailPage] = {"chunks": chunk_page}

    @property
    def phases(self) -> Sequence[Phase]:
        return self._phases

    @property
    def gate_phase(self) -> str:
        return GATE_PHASE

    @property
    def states(self) -> Sequence[str]:
        return STATES

    @property
    def actions(self) -> ActionTable:
        return ACTION_TABLE

    @property
    def intent_model(self) -> type[BaseModel]:
        return TranscriptParams

    @property
    def details(self) -> Mapping[str, DetailPage]:
        return self._details

    @property
    def persisted_models(self) -> Sequence[type[BaseModel]]:
        return PERSISTED_MODELS

    def parse_params(self, raw: Mapping[str, Any], settings: Settings) -> TranscriptParams:
        return parse_params(raw, settings)

    def load_params(self, raw: Mapping[str, Any]) -> TranscriptParams:
        return TranscriptParams.model_validate(dict(raw))

    def quality(self, run_dir: RunDir, manifest: Manifest) -> QualityVerdict | None:
        ref = manifest.artifacts.get("quality.report")
        if ref is None or not (run_dir.path / ref.path).is_file():
            return None
        report = read_json(run_dir.path / ref.path)
        status = report.get("status") if isinstance(report, dict) else None
        if status not in ("pass", "degraded", "fail"):
            return None
        assert isinstance(report, dict)
        return QualityVerdict(status=status, summary={key: report.get(key) for key in QUALITY_SUMMARY_KEYS})

    def observe_domain(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        tracks_ref = manifest.artifacts.get("source.tracks")
        if tracks_ref is not None and (run_dir.path / tracks_ref.path).is_file():
            tracks = read_json(run_dir.path / tracks_ref.path)
            facts["has_audio"] = bool(isinstance(tracks, dict) and tracks.get("has_audio"))
        route_ref = manifest.artifacts.get("route.decision")
        if route_ref is not None and (run_dir.path / route_ref.path).is_file():
            decision = RouteDecision.model_validate(read_json(run_dir.path / route_ref.path))
            facts["route"] = {"route": decision.route, "language": decision.language,
                              "backend": decision.asr_backend, "reasons": decision.reasons}
        if manifest.domain.get("rejected_tracks"):
            facts["rejected_tracks"] = len(manifest.domain["rejected_tracks"])
        plan_id = current_plan_id(manifest.domain)
        if plan_id:
            facts["chunks"] = count_chunk_statuses(run_dir.path, plan_id)
            if manifest.state == RunState.AWAITING_INPUT:
                waiting = waiting_chunk(run_dir.path, plan_id)
                facts["awaiting_chunk"] = waiting.chunk_id if waiting else None
        result = transform_result(run_dir, manifest)
        if result is not None:
            facts["llm_used"] = bool(result.get("llm_used"))
            facts["fallback_chunks"] = int((result.get("counts") or {}).get("fallback", 0))
        return facts

    def progress_counts(self, facts: Mapping[str, Any]) -> dict[str, int]:
        chunks = facts.get("chunks")
        return {f"chunks_{status}": int(n) for status, n in chunks.items()} if isinstance(chunks, dict) else {}

    def awaiting_input(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
        plan_id = current_plan_id(manifest.domain)
        waiting = waiting_chunk(run_dir.path, plan_id) if plan_id and manifest.state == RunState.AWAITING_INPUT else None
        if waiting is None:
            return None
        task = agent_task_view(waiting)
        counts = count_chunk_statuses(run_dir.path, plan_id) if plan_id else {}
        task["chunks_done"] = counts.get("succeeded", 0) + counts.get("fallback", 0)
        return task

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease) -> dict[str, Any]:
        plan_id = current_plan_id(manifest.domain)
        reset = reset_running_chunks(run_dir.path, plan_id, lease) if plan_id else []
        return {"chunks_reset": reset} if reset else {}

    def summarize_telemetry(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        return llm_request_summary(events)

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> dict[str, str]:
        return publish_outputs(run_dir.path, manifest, params.output_path(settings))

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        base: Path = params.output_path(settings)
        return {name: str(base / filename) for name, filename in manifest.outputs.items()}


def build_runtime_api(settings: Settings | None = None, *, clock: Clock | None = None) -> RuntimeApi:
    """The runtime every entry point uses (MCP server, CLI, scripts): yt-transcript runs, and batches of them
    (``kernel.pipeline.batch``: a create request with several sources, a folder, a list or a playlist)."""
    from .batch.spec import BatchPipeline, select_pipeline

    settings = settings or load_settings()
    pipelines = PipelineSet(TranscriptPipeline(), [BatchPipeline(settings)], select=select_pipeline)
    return RuntimeApi(
        pipelines, settings, runs_root=settings.runs_dir, allowed_roots=settings.allowed_roots, clock=clock,
        allowed_roots_hint="add the folder to YTT_ALLOWED_ROOTS, or use a folder under YTT_HOME or the current directory",
    )
