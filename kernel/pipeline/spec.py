"""The yt-transcript pipeline spec: the phase list of the design map wired into the generic runtime.

preflight -> discover -> route -> acquire -> transcribe -> normalize -> plan -> transform -> titles -> merge ->
translate_cues -> verify | assemble. ``run_phase`` drives everything up to ``verify`` (the quality gate); ``assemble`` and
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
from ..long_text.agent_loop import awaiting_task, waiting_item
from ..long_text.chunk_files import (
    chunk_rows,
    count_chunk_statuses,
    current_plan_id,
    llm_request_summary,
    reset_running_chunks,
)
from ..long_text.contracts import ChunkState, Plan
from ..long_text.cues import CueTranslation
from ..long_text.section_titles import SectionTitles
from ..output.exports import JsonExport
from ..output.formats import OUTPUT_NAMES
from ..output.pages import page_view
from ..output.publish import restore_files
from ..output.quality import QualityReport
from ..preflight import PreflightReport
from ..source.politeness import HOST_BLOCK_CODES, HostLimiter, host_of
from ..task_runtime.actions import ActionTable
from ..task_runtime.api import RuntimeApi
from ..task_runtime.clock import Clock
from ..task_runtime.contracts import Manifest, RunState
from ..task_runtime.errors import CorruptStateError, InvalidInputError
from ..task_runtime.lease import Lease
from ..task_runtime.phases import Phase
from ..task_runtime.pipeline_spec import DetailPage, Published, QualityVerdict
from ..task_runtime.pipelines import PipelineSet
from ..task_runtime.schemas import read_model
from ..task_runtime.store import read_json
from ..task_runtime.workdir import RunDir
from ..transcript import NormalizedDocument, RouteDecision, SourceInfo, SourceTracks, TranscriptSegments
from .actions import ACTION_TABLE
from .cue_phases import CueTranslationPhase
from .draft import DraftWindow, draft_page
from .intent import TranscriptParams, parse_params
from .output_phases import AssemblePhase, VerifyPhase, output_sources, publish_outputs
from .progress_weights import phase_weights
from .source_phases import AcquirePhase, DiscoverPhase, NormalizePhase, PreflightPhase, RoutePhase, TranscribePhase
from .states import STATES
from .text_phases import MergePhase, PlanPhase, TitlesPhase, TransformPhase

PIPELINE_NAME = "yt-transcript"
GATE_PHASE = "verify"

PERSISTED_MODELS: tuple[type[BaseModel], ...] = (
    SourceInfo, SourceTracks, RouteDecision, TranscriptSegments, NormalizedDocument, Plan, ChunkState,
    QualityReport, PreflightReport, JsonExport, CueTranslation, SectionTitles, DraftWindow,
)
QUALITY_SUMMARY_KEYS = ("reasons", "llm_used", "degraded_chunks", "fallback_chunks", "notes")
ARTICLE_OUTPUT = OUTPUT_NAMES["md"]  # the output name of the article ("markdown")


def chunk_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int,
               name: str | None = None) -> dict[str, Any]:
    """inspect detail ``chunks``: the current plan's chunk states, one page."""
    if name is not None:
        raise InvalidInputError(f"detail 'chunks' takes no name (got {name!r})", code="invalid_option",
                                hint="leave name out for this detail", details={"field": "name"})
    return chunk_rows(run_dir.path, current_plan_id(manifest.domain), cursor=cursor, limit=limit)


def article_page(run_dir: RunDir, manifest: Manifest, *, cursor: int, limit: int,
                 name: str | None = None) -> dict[str, Any]:
    """inspect detail ``article``: one page of a published file, the article (default) or an export by
    its output name (``srt``, ``vtt``, ``json``), read from the run's own copy, byte for byte the
    published one. Pages are bounded by size (``kernel.output.pages``), so ``limit`` is not used.

    Raises:
        InvalidInputError: an unknown output name (``unknown_output``), one the run has not published
            (``output_not_published``), or a cursor past the end (``invalid_cursor``).
    """
    wanted = name or ARTICLE_OUTPUT
    if wanted not in OUTPUT_NAMES.values():
        raise InvalidInputError(f"unknown output name {wanted!r}", code="unknown_output",
                                hint="name one of the published files", details={"field": "name",
                                                                                "allowed": list(OUTPUT_NAMES.values())})
    ref = manifest.artifacts.get(f"output.{wanted}")
    if wanted not in manifest.outputs or ref is None:
        published = sorted(manifest.outputs)
        if published:
            hint = (f"this run published {', '.join(published)}; for {wanted}, {{new_run}} and include it in "
                    "{option:formats}")
        else:
            hint = "outputs are published by {action:finalize} once the quality gate allows it; {inspect}"
        raise InvalidInputError(f"run {manifest.run_id} has not published {wanted} (state {manifest.state})",
                                code="output_not_published", hint=hint,
                                details={"field": "name", "allowed": published})
    try:
        text = (run_dir.path / ref.path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptStateError(f"{ref.path} of run {manifest.run_id} cannot be read: {exc}",
                                hint="the published copy in the output folder is unchanged; {inspect}",
                                details={"file": ref.path}) from exc
    if cursor > len(text):
        raise InvalidInputError(f"cursor {cursor} is past the end of {wanted} ({len(text)} characters)",
                                code="invalid_cursor", hint="pass 0, or the next_cursor of the page before",
                                details={"field": "cursor"})
    files = [{"name": key, "path": manifest.artifacts[f"output.{key}"].path,
              "size_bytes": manifest.artifacts[f"output.{key}"].size_bytes}
             for key in sorted(manifest.outputs, key=list(OUTPUT_NAMES.values()).index)
             if f"output.{key}" in manifest.artifacts]
    view = page_view(text, cursor, markdown=wanted == ARTICLE_OUTPUT)
    return {"article": {"name": wanted, "path": ref.path, "size_bytes": ref.size_bytes, **view}, "files": files,
            "next_cursor": view["next_cursor"]}


class TranscriptPipeline:
    name = PIPELINE_NAME

    def __init__(self) -> None:
        self._phases: list[Phase] = [
            PreflightPhase(), DiscoverPhase(), RoutePhase(), AcquirePhase(), TranscribePhase(), NormalizePhase(),
            PlanPhase(), TransformPhase(), TitlesPhase(), MergePhase(), CueTranslationPhase(), VerifyPhase(), AssemblePhase(),
        ]
        self._details: dict[str, DetailPage] = {"chunks": chunk_page, "article": article_page, "draft": draft_page}

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
            waiting = waiting_item(run_dir.path, manifest.domain)
            facts["awaiting_chunk"] = waiting[1].chunk_id if waiting else None
        result = transform_result(run_dir, manifest)
        if result is not None:
            facts["llm_used"] = bool(result.get("llm_used"))
            facts["fallback_chunks"] = int((result.get("counts") or {}).get("fallback", 0))
        return facts

    def notices(self, manifest: Manifest) -> list[str]:
        """Warnings phases recorded in their summaries (e.g. damaged subtitle cues, with file and line)."""
        found: list[str] = []
        for phase in self._phases:
            record = manifest.phases.get(phase.name)
            warnings = record.summary.get("warnings") if record is not None else None
            if isinstance(warnings, list):
                found.extend(str(w) for w in warnings)
        return found

    def progress_counts(self, facts: Mapping[str, Any]) -> dict[str, int]:
        chunks = facts.get("chunks")
        return {f"chunks_{status}": int(n) for status, n in chunks.items()} if isinstance(chunks, dict) else {}

    def phase_weights(self, params: Any, settings: Any, manifest: Manifest) -> Mapping[str, float]:
        return phase_weights(params, settings, manifest)

    def awaiting_input(self, run_dir: RunDir, manifest: Manifest) -> dict[str, Any] | None:
        if manifest.state != RunState.AWAITING_INPUT:
            return None
        return awaiting_task(run_dir.path, manifest.domain)

    def recover(self, run_dir: RunDir, manifest: Manifest, lease: Lease, settings: Any) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        plan_id = current_plan_id(manifest.domain)
        reset = reset_running_chunks(run_dir.path, plan_id, lease) if plan_id else []
        if reset:
            summary["chunks_reset"] = reset
        # Resuming a run a bot check or sign-in wall stopped is the request to try that host again.
        if (manifest.failure or {}).get("code") in HOST_BLOCK_CODES:
            host = host_of(str(run_dir.read_task().params.get("source") or ""))
            if host and HostLimiter.for_settings(settings).unblock(host):
                summary["hosts_unblocked"] = [host]
        return summary

    def summarize_telemetry(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        return llm_request_summary(events)

    def publish(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> Published:
        info = read_model(run_dir.path / manifest.artifacts["source.info"].path, SourceInfo)
        publication = publish_outputs(run_dir.path, manifest, params.output_path(settings), info)
        return Published(files=publication.files, fingerprints=publication.fingerprints, notes=publication.notes)

    def restore_outputs(self, run_dir: RunDir, manifest: Manifest, params: Any, settings: Any) -> list[str]:
        return restore_files(output_sources(run_dir.path, manifest), manifest.outputs, manifest.output_fingerprints,
                             params.output_path(settings))

    def output_paths(self, params: Any, settings: Any, manifest: Manifest) -> dict[str, str]:
        base: Path = params.output_path(settings)
        return {name: str(base / filename) for name, filename in manifest.outputs.items()}


def build_runtime_api(settings: Settings | None = None, *, clock: Clock | None = None) -> RuntimeApi:
    """The runtime every entry point uses (MCP server, CLI, scripts): yt-transcript runs, and batches of them
    (``kernel.pipeline.batch``: a create request with several sources, a folder, a list or a playlist)."""
    from .batch.spec import BatchPipeline, select_pipeline

    settings = settings or load_settings()
    pipelines = PipelineSet(TranscriptPipeline(), [BatchPipeline()], select=select_pipeline)
    return RuntimeApi(
        pipelines, settings, runs_root=settings.runs_dir, allowed_roots=settings.allowed_roots, clock=clock,
        allowed_roots_hint="add the folder to YTT_ALLOWED_ROOTS, or use a folder under YTT_HOME or the current directory",
    )
