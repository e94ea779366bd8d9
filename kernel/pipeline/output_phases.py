"""Output phases: ``verify`` (the document quality gate) and ``assemble`` (article and exports).

Assembly is deterministic: the same inputs give byte-identical files, so a resumed run equals an
uninterrupted one. Publishing the files to the output folder is done at finalize (``publish_outputs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..task_runtime.contracts import ArtifactRef, LifecycleState, Manifest
from ..task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ..task_runtime.store import atomic_copy, read_json
from ..transcript import NormalizedDocument, RouteDecision, SourceInfo, TranscriptSegments
from .intent import TranscriptParams

GENERATOR = f"yt-transcript {__version__}"


class VerifyPhase(Phase):
    name = "verify"
    version = "1"
    state_on_start = LifecycleState.VERIFYING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.merged", "merge.summary", "doc.normalized"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["quality.report"]

    def config(self, params: TranscriptParams, settings: Any) -> dict[str, Any]:
        # Prices only change the report's cost line, so changing them re-runs this gate, not the LLM work.
        return {"prices": settings.llm_profile(params.llm_profile).prices() if params.use_llm else {}}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..output.quality import evaluate_quality

        params: TranscriptParams = ctx.params
        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        merged = ctx.path_of(inputs["doc.merged"]).read_text(encoding="utf-8")
        summary = read_json(ctx.path_of(inputs["merge.summary"]))
        usage = summary.get("usage") or {}
        if usage:
            usage = {**usage, **self.config(params, ctx.settings)["prices"]}
        report = evaluate_quality(
            sentences_total=int(summary["total_sentences"]),
            sentences_accounted=int(summary["accounted_sentences"]),
            source_chars=sum(len(s.text) for s in doc.sentences),
            output_text=merged,
            mode=params.mode,
            llm_used=bool(summary.get("llm_used")),
            fallback_chunks=list(summary.get("fallback_chunks", [])),
            degraded_chunks=list(summary.get("degraded_chunks", [])),
            usage=usage,
            source_language=doc.language,
            target_language=params.target_language,
            transcript_origin=doc.origin,
            source_unpunctuated=doc.stats.get("sentence_split") == "pauses",
        )
        ctx.emit("quality_gate", status=report.status, reasons=report.reasons)
        return PhaseResult(outputs={"quality.report": PhaseOutput.json(report, "quality.json")},
                           summary={"status": report.status})


def transcript_source_label(transcript: TranscriptSegments, decision: RouteDecision, settings: Any) -> str:
    if transcript.origin == "subtitles" and decision.track is not None:
        return f"subtitles ({decision.track.kind}, {decision.track.language or 'unknown language'})"
    if transcript.origin == "whisper":
        model = str(transcript.stats.get("model") or settings.whisper.model).removeprefix("bundled:")
        return model if model.startswith("whisper") else f"whisper ({model})"
    return f"deepgram ({transcript.stats.get('model') or settings.deepgram.model})"


class AssemblePhase(Phase):
    name = "assemble"
    version = "1"
    state_on_success = LifecycleState.ASSEMBLED

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.merged", "doc.normalized", "source.info", "quality.report", "transcript.segments",
                "route.decision"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return [f"output.{name}" for name in params.outputs]

    def config(self, params: TranscriptParams, settings: Any) -> dict[str, Any]:
        return {"outputs": params.outputs, "mode": params.mode, "target_language": params.target_language,
                "generator": GENERATOR}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..output.exports import to_json_export, to_srt, to_vtt
        from ..output.filenames import article_filename, export_filename
        from ..output.markdown import assemble_article

        params: TranscriptParams = ctx.params
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        transcript = ctx.load_model(inputs["transcript.segments"], TranscriptSegments)
        decision = ctx.load_model(inputs["route.decision"], RouteDecision)
        quality = read_json(ctx.path_of(inputs["quality.report"]))
        body = ctx.path_of(inputs["doc.merged"]).read_text(encoding="utf-8")
        article = assemble_article(
            info, body,
            language=params.target_language if params.mode == "translate" else doc.language,
            transcript_source=transcript_source_label(transcript, decision, ctx.settings),
            generator=GENERATOR, mode=params.mode, target_language=params.target_language,
            quality_status=str(quality.get("status")),
            speakers=int(doc.stats.get("speakers", 0)),
        )
        outputs = {"output.markdown": PhaseOutput.text(article, article_filename(info.upload_date, info.title))}
        if "srt" in params.outputs:
            outputs["output.srt"] = PhaseOutput.text(to_srt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "srt"))
        if "vtt" in params.outputs:
            outputs["output.vtt"] = PhaseOutput.text(to_vtt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "vtt"))
        if "json" in params.outputs:
            outputs["output.json"] = PhaseOutput.json(to_json_export(info, doc),
                                                      export_filename(info.upload_date, info.title, "json"))
        return PhaseResult(outputs=outputs, summary={"files": [o.filename for o in outputs.values()]})


def publish_outputs(run_path: Path, manifest: Manifest, output_dir: Path) -> dict[str, str]:
    """Copy each ``output.*`` artifact into ``output_dir`` atomically; returns name -> file name."""
    published: dict[str, str] = {}
    for key, ref in sorted(manifest.artifacts.items()):
        if not key.startswith("output."):
            continue
        source = run_path / ref.path
        atomic_copy(source, output_dir / source.name)
        published[key.removeprefix("output.")] = source.name
    return published
