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
from ..long_text.cues import CueTranslation
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
        return ["doc.merged", "merge.summary", "doc.normalized", "plan.current", "transcript.segments",
                "cues.translated"]

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
        cues = ctx.load_model(inputs["cues.translated"], CueTranslation)
        usage = summary.get("usage") or {}
        if cues.usage.get("requests", 0) > usage.get("requests", 0):  # cue groups are sent after the chunks
            usage = {**usage, **cues.usage}
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
            fallback_cues=cues.fallback_cues if cues.origin == "llm" else None,
            cue_notes=cue_notes(cues),
        )
        ctx.emit("quality_gate", status=report.status, reasons=report.reasons)
        return PhaseResult(outputs={"quality.report": PhaseOutput.json(report, "quality.json")},
                           summary={"status": report.status})


def cue_notes(cues: CueTranslation) -> list[str]:
    """How the translated subtitle files were made, for the quality report's notes."""
    if not cues.requested:
        return []
    notes = [f"Translated subtitles ({cues.target_language}): {reason}." for reason in cues.reasons]
    over = int(cues.stats.get("cues_over_reading_speed", 0))
    if over:
        notes.append(f"{over} translated cue(s) read faster than {cues.stats.get('max_chars_per_second')} "
                     "characters per second (cue timings follow the source).")
    return notes


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
                "route.decision", "plan.current", "cues.translated", "merge.summary"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return [f"output.{OUTPUT_NAMES[fmt]}" for fmt in params.output_formats()]

    def config(self, params: TranscriptParams, settings: Any) -> dict[str, Any]:
        return {"formats": params.output_formats(), "generator": GENERATOR}

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
        merge = read_json(ctx.path_of(inputs["merge.summary"]))
        # The front matter states the language the text is really in: when no chunk was rewritten by a model
        # (every one fell back, e.g. the endpoint failed), the article is the source language's text.
        translated = plan.output_language != plan.source_language and bool(merge.get("llm_chunks"))
        article = assemble_article(
            info, body,
            # The plan decided the text's language; a bilingual article is in both (source first).
            language=plan.output_language if plan.mode == "translate" and translated else plan.source_language,
            transcript_source=transcript_source_label(transcript, decision, ctx.settings),
            generator=GENERATOR, mode=plan.mode if translated else "clean",
            target_language=plan.output_language if translated else None,
            quality_status=str(quality.get("status")),
            speakers=int(doc.stats.get("speakers", 0)),
        )
        outputs = {"output.markdown": PhaseOutput.text(article, article_filename(info.upload_date, info.title))}
        if "srt" in params.output_formats():
            outputs["output.srt"] = PhaseOutput.text(to_srt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "srt"))
        if "vtt" in params.output_formats():
            outputs["output.vtt"] = PhaseOutput.text(to_vtt(doc.subtitle_lines),
                                                     export_filename(info.upload_date, info.title, "vtt"))
        if "json" in params.output_formats():
            outputs["output.json"] = PhaseOutput.json(to_json_export(info, doc),
                                                      export_filename(info.upload_date, info.title, "json"))
        cues = ctx.load_model(inputs["cues.translated"], CueTranslation)
        if cues.requested:
            outputs.update(cue_exports(params, info, doc, plan, cues))
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


def cue_exports(params: TranscriptParams, info: SourceInfo, doc: NormalizedDocument, plan: Plan,
                cues: CueTranslation) -> dict[str, PhaseOutput]:
    """The translated (``<base>.<lang>.srt``) and bilingual (``<base>.bi.srt``) subtitle files asked for."""
    from ..output.cue_lines import bilingual_cues, translated_cues
    from ..output.exports import to_srt, to_vtt
    from ..output.filenames import cue_export_filename

    language = cues.target_language or params.target_language or "translated"
    label = language.strip("-") or "translated"
    files: dict[str, tuple[str, list[Any]]] = {}
    formats = params.output_formats()
    if "translated_srt" in formats or "translated_vtt" in formats:
        files["translated"] = (label, translated_cues(cues.cues, language))
    if "bilingual_srt" in formats or "bilingual_vtt" in formats:
        files["bilingual"] = ("bi", bilingual_cues(doc.subtitle_lines, cues.cues, plan.source_language, language))
    outputs: dict[str, PhaseOutput] = {}
    for kind, (file_label, lines) in files.items():
        for extension, render in (("srt", to_srt), ("vtt", to_vtt)):
            if f"{kind}_{extension}" in formats:
                name = cue_export_filename(info.upload_date, info.title, file_label, extension)
                outputs[f"output.{kind}_{extension}"] = PhaseOutput.text(render(lines), name)
    return outputs
