"""The ``translate_cues`` phase: the target-language subtitle cues for the translated and bilingual exports.

Between ``merge`` and the quality gate. With mode ``translate`` or ``bilingual`` and a translated or bilingual
subtitle format asked for, it produces ``cues.translated`` (``kernel.long_text.cues.CueTranslation``):

1. the transcript is already in the target language: its own cues (``source_track``);
2. else, unless ``retranslate``, a manual subtitle track in the target language that is a usable transcript
   (``kernel.source.target_track``): that track's cues, shaped like the source exports, no LLM request
   (``reused_track``); why a track was not used is in ``reasons``;
3. else every speech cue translated group by group by the run's writer (``kernel.long_text.cue_translate``).

Otherwise the artifact says no translation was asked for (``requested`` false) and nothing is sent. The
config holds only what changes the result (mode, target, the subtitle formats asked for, retranslate, the
writer's LLM settings), so the six re-run rules hold: toggling ``retranslate`` re-runs this phase and the
ones after it, never the article's transform.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Settings
from ..long_text.contracts import Plan
from ..long_text.cues import CueTranslation
from ..output.formats import CUE_FORMATS
from ..source.errors import SourceError
from ..task_runtime.contracts import ArtifactRef
from ..task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ..transcript import NormalizedDocument, RouteDecision, SourceInfo, SourceTracks, SubtitleTrack
from .intent import TranscriptParams
from .text_phases import effective_llm, llm_config


def cue_formats(params: TranscriptParams) -> list[str]:
    return [fmt for fmt in params.output_formats() if fmt in CUE_FORMATS]


class CueTranslationPhase(Phase):
    name = "translate_cues"
    version = "1"

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["doc.normalized", "plan.current", "route.decision", "source.tracks", "source.info"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["cues.translated"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        formats = cue_formats(params)
        if not formats:
            return {"formats": []}
        return {"formats": formats, "mode": params.mode, "target_language": params.target_language,
                "retranslate": params.retranslate, "writer": params.writer(settings),
                "llm": llm_config(effective_llm(params, settings)), "subtitle_encoding": params.subtitle_encoding}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..long_text.cue_translate import forget_current_set
        from ..output.cue_lines import reading_speed_stats, translated_cues

        params: TranscriptParams = ctx.params
        forget_current_set(ctx)  # translate_cues names its set again when it translates
        if not cue_formats(params):
            result = CueTranslation(requested=False, reasons=["no translated or bilingual subtitle file was asked for"])
        else:
            result = self._translation(ctx, inputs, params)
            shaped = translated_cues(result.cues, result.target_language)
            result = result.model_copy(update={"stats": reading_speed_stats(shaped, result.target_language)})
        ctx.emit("cue_translation", requested=result.requested, origin=result.origin, cues=len(result.cues),
                 fallback_cues=len(result.fallback_cues), reasons=result.reasons)
        return PhaseResult(outputs={"cues.translated": PhaseOutput.json(result, "cues.json")},
                           summary={"origin": result.origin, "cues": len(result.cues),
                                    "fallback_cues": len(result.fallback_cues)})

    def _translation(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef],
                     params: TranscriptParams) -> CueTranslation:
        from ..long_text.cue_translate import translate_cues
        from ..source.routing import describe_track, languages_match
        from ..source.target_track import target_language_track

        doc = ctx.load_model(inputs["doc.normalized"], NormalizedDocument)
        decision = ctx.load_model(inputs["route.decision"], RouteDecision)
        target = params.target_language
        if languages_match(decision.language or doc.language, target):
            return CueTranslation(requested=True, origin="source_track", target_language=target,
                                  cues=list(doc.subtitle_lines),
                                  reasons=[f"the transcript is already in {target}: its own cues are used"])
        reasons: list[str] = []
        tracks = ctx.load_model(inputs["source.tracks"], SourceTracks)
        track = target_language_track(tracks, target)
        if track is not None and params.retranslate:
            reasons.append(f"retranslate is set: translated the cues although {describe_track(track)} exists")
        elif track is not None:
            info = ctx.load_model(inputs["source.info"], SourceInfo)
            reused = self._reuse(ctx, params, info, track)
            if isinstance(reused, CueTranslation):
                return reused
            reasons.append(reused)
        plan = ctx.load_model(inputs["plan.current"], Plan)
        writer = params.writer(ctx.settings)
        llm = effective_llm(params, ctx.settings)
        assert writer is not None and llm is not None  # the intent refuses translate/bilingual without a writer
        result = translate_cues(ctx, plan, list(doc.subtitle_lines), llm, writer)
        return result.model_copy(update={"reasons": [*reasons, *result.reasons]})

    def _reuse(self, ctx: PhaseContext, params: TranscriptParams, info: SourceInfo,
               track: SubtitleTrack) -> CueTranslation | str:
        """The track's cues, or why it cannot be used."""
        from ..source.routing import describe_track
        from ..source.shaping import shape_subtitle_lines
        from ..source.subtitles import assess_subtitle_usability, read_subtitle_file

        label = describe_track(track)
        try:
            if params.source_kind == "url":
                from ..source.ytdlp import download_subtitles

                path = download_subtitles(params.source, track, ctx.scratch_dir / "target_track", ctx.settings)
            else:
                from ..source.local import acquire_local_subtitles

                path = acquire_local_subtitles(Path(params.source), track, ctx.scratch_dir / "target_track")
            segments = read_subtitle_file(path, encoding=params.subtitle_encoding, display_name=label,
                                          language=track.language).segments
        except SourceError as error:
            return f"could not use {label} ({error.code}): translated the cues instead"
        usability = assess_subtitle_usability(segments, info.duration)
        if not usability.usable:
            return f"{label} is not a usable transcript ({' '.join(usability.reasons)}): translated the cues instead"
        ctx.emit("cue_track_reused", track=label)
        return CueTranslation(requested=True, origin="reused_track", target_language=params.target_language,
                              cues=shape_subtitle_lines(segments), track=track,
                              reasons=[f"used {label} instead of translating (set retranslate to translate "
                                       "the cues anyway)"])
