"""Output phases: ``verify`` (the document quality gate) and ``assemble`` (article and exports).

Assembly is deterministic: the same inputs give byte-identical files, so a resumed run equals an
uninterrupted one. Publishing the files to the output folder is done at finalize (``publish_outputs``,
which never replaces a file the run did not write: see ``kernel.output.publish``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..long_text.contracts import Plan
from ..output.formats import OUTPUT_NAMES
from ..output.publish import Publication, publish_files
from ..task_runtime.contracts import ArtifactRef, Manifest
from ..task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ..task_runtime.store import read_json
from ..transcript import NormalizedDocument, RouteDecision, SourceInfo, TranscriptSegments
from .intent import TranscriptParams
from .states import TranscriptState

GENERATOR = f"yt-transcript {__version__}"


class VerifyPhase(Phase):
    name = "verify"
    version = "1"
    state_on_start = TranscriptState.VERIFYING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.merged", "merge.summary", "doc.normalized", "plan.current", "transcript.segments"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["quality.report"]

    def config(self, params: TranscriptParams, settings: Any) -> dict[str, Any]:
        # Prices only change the report's cost line, so changing them re-runs this gate, not the LLM work.
        return {"prices": settings.llm_profile(params.llm_profile).prices() if params.writer(settings) == "endpoint" else {}}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..output.quality import evaluate_quality
        from ..source.subtitles import summarize_subtitle_issues

        params: TranscriptParams = ctx.params
        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        plan = ctx.load_model(inputs["plan.current"], Plan)
        transcript = ctx.load_model(inputs["transcript.segments"], TranscriptSegments)
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
            mode=plan.mode,
            llm_used=bool(summary.get("llm_used")),
            fallback_chunks=list(summary.get("fallback_chunks", [])),
            degraded_chunks=list(summary.get("degraded_chunks", [])),
            usage=usage,
            source_language=plan.source_language,
            target_language=plan.output_language if plan.output_language != plan.source_language else None,
            transcript_origin=doc.origin,
            source_unpunctuated=doc.stats.get("sentence_split") == "pauses",
            source_issues=summarize_subtitle_issues(transcript.issues, severity="warning"),
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
    version = "2"
    state_on_start = TranscriptState.ASSEMBLING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.merged", "doc.normalized", "source.info", "quality.report", "transcript.segments",
                "route.decision", "plan.current"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return [f"output.{OUTPUT_NAMES[fmt]}" for fmt in params.formats]

    def config(self, params: TranscriptParams, settings: Any) -> dict[str, Any]:
        return {"formats": params.formats, "generator": GENERATOR}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..output.exports import to_json_export, to_srt, to_vtt
        from ..output.filenames import article_filename, export_filename
        from ..output.markdown import assemble_article

        params: TranscriptParams = ctx.params
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        transcript = ctx.load_model(inputs["transcript.segments"], TranscriptSegments)
        decision = ctx.load_model(inputs["route.decision"], RouteDecision)
        plan = ctx.load_model(inputs["plan.current"], Plan)
        quality = read_json(ctx.path_of(inputs["quality.report"]))
        body = ctx.path_of(inputs["doc.merged"]).read_text(encoding="utf-8")
        translated = plan.output_language != plan.source_language
        article = assemble_article(
            info, body,
            # The plan decided the text's language; a bilingual article is in both (source first).
            language=plan.output_language if plan.mode == "translate" else plan.source_language,
            transcript_source=transcript_source_label(transcript, decision, ctx.settings),
            generator=GENERATOR, mode=plan.mode if translated else "clean",
            target_language=plan.output_language if translated else None,
            quality_status=str(quality.get("status")),
            speakers=int(doc.stats.get("speakers", 0)),
        )
        outputs = {"output.markdown": PhaseOutput.text(article, article_filename(info.upload_date, info.title))}
        if "srt" in params.formats:
            outputs["output.srt"] = PhaseOutput.text(to_srt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "srt"))
        if "vtt" in params.formats:
            outputs["output.vtt"] = PhaseOutput.text(to_vtt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "vtt"))
        if "json" in params.formats:
            outputs["output.json"] = PhaseOutput.json(to_json_export(info, doc),
                                                      export_filename(info.upload_date, info.title, "json"))
        return PhaseResult(outputs=outputs, summary={"files": [o.filename for o in outputs.values()]})


def output_sources(run_path: Path, manifest: Manifest) -> dict[str, Path]:
    """Output name -> the assembled artifact file, for every ``output.*`` artifact."""
    return {key.removeprefix("output."): run_path / ref.path for key, ref in sorted(manifest.artifacts.items())
            if key.startswith("output.")}


def publish_outputs(run_path: Path, manifest: Manifest, output_dir: Path, info: SourceInfo) -> Publication:
    """Publish the assembled outputs under one stem that replaces nothing this run did not write."""
    sources = output_sources(run_path, manifest)
    stem = sources["markdown"].name.removesuffix(".md")
    return publish_files(sources, stem, output_dir, tag=info.id or None, owned=manifest.output_fingerprints)
