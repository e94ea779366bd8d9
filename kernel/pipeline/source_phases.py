"""Source phases: preflight, discover, route, acquire, transcribe, normalize.

Each phase is a thin adapter: it reads its input artifacts, calls one kernel function (the same one the
script-first commands call) and returns its outputs for the runner to publish. Routing choices and
their reasons are in ``route.decision``; a subtitle track found unusable at transcribe time fails the
phase with code ``subtitles_unusable``, and the runtime action ``reroute_to_asr`` records the track as
rejected and re-runs routing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..source.errors import SourceError
from ..task_runtime.contracts import ArtifactRef
from ..task_runtime.errors import PathNotAllowedError
from ..task_runtime.phases import Phase, PhaseContext, PhaseOutput, PhaseResult
from ..transcript import RouteDecision, SourceInfo, SourceTracks, TranscriptSegments
from .draft import DraftWriter
from .intent import TranscriptParams
from .states import TranscriptState

if TYPE_CHECKING:
    from ..source.asr.base import WindowResult
    from ..source.ytdlp_errors import RetryPolicy

_WAIT_STEP_S = 0.25


def _retry_policy(ctx: PhaseContext) -> RetryPolicy:
    """yt-dlp retries whose waits (backoff, ``Retry-After``) end early on pause or cancel.

    A wait of up to two minutes would otherwise hold a pause or cancel until it is over; a stop ends
    the phase with ``StopRequested``, and nothing it downloaded is lost (downloads go to scratch).
    """
    import time

    from ..source.ytdlp_errors import RetryPolicy  # imports yt-dlp: only when a URL is fetched

    def wait(seconds: float) -> None:
        ctx.emit("download_retry_wait", seconds=round(seconds, 3))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ctx.checkpoint()
            time.sleep(min(_WAIT_STEP_S, left))
        ctx.checkpoint()

    return RetryPolicy(sleep=wait)


class PreflightPhase(Phase):
    name = "preflight"
    version = "1"
    state_on_start = TranscriptState.CHECKING

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["preflight.report"]

    def needs(self, params: TranscriptParams, settings: Settings) -> list[str]:
        needs = ["url" if params.source_kind == "url" else "local_media"]
        if params.route != "subtitles":
            needs.append(params.asr_backend)
        if params.writer(settings) == "endpoint":
            needs.append("llm")
        return needs

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"needs": self.needs(params, settings)}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..preflight import PreflightFailed, run_preflight

        endpoint = ctx.params.writer(ctx.settings) == "endpoint"
        report = run_preflight(ctx.settings, self.needs(ctx.params, ctx.settings), require_llm=endpoint,
                               contact_llm=endpoint,
                               llm_profile=ctx.params.llm_profile)
        if not report.ok:
            failed = report.failed_required()
            raise PreflightFailed(
                "preflight failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                hint=" ".join(c.hint for c in failed if c.hint) or None,
                details={"report": report.model_dump(mode="json")},
            )
        return PhaseResult(outputs={"preflight.report": PhaseOutput.json(report, "preflight.json")},
                           summary={"checks": len(report.checks)})


def local_source_stamp(media: Path) -> list[list[object]]:
    """Name, size and modification time of a local media file and the files beside it that share its stem:
    a changed or fixed sidecar (or media) file re-runs discovery, so "fix it, then resume" works."""
    stamp: list[list[object]] = []
    folder = media.parent
    candidates = [media, *sorted(p for p in folder.glob(f"{media.stem}.*") if p != media)] if folder.is_dir() else []
    for path in candidates:
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.append([path.name, info.st_size, info.st_mtime_ns])
    return stamp


def outside_roots_sidecars(media: Path, tracks: SourceTracks, settings: Settings) -> list[str]:
    """Sidecar tracks whose file (after resolving links) lies outside the allowed roots: never read."""
    from ..config import is_within_allowed_roots

    return [track.path for track in tracks.subtitles if track.origin == "sidecar" and track.path
            and not is_within_allowed_roots(media.parent / track.path, settings)]


class DiscoverPhase(Phase):
    name = "discover"
    version = "2"
    state_on_start = TranscriptState.SOURCING

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["source.info", "source.tracks"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"local_files": local_source_stamp(Path(params.source))} if params.source_kind == "file" else {}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        params: TranscriptParams = ctx.params
        info: SourceInfo
        tracks: SourceTracks
        if params.source_kind == "url":
            from ..source.ytdlp import discover

            found = discover(params.source, ctx.settings, retry=_retry_policy(ctx))
            info, tracks = found.info, found.tracks.model_copy(update={"withheld": list(found.withheld)})
        else:
            from ..source.local import discover_local

            info, tracks = discover_local(Path(params.source))
            refused = outside_roots_sidecars(Path(params.source), tracks, ctx.settings)
            if refused:
                ctx.emit("sidecar_refused", files=refused)
                tracks = tracks.model_copy(update={
                    "subtitles": [t for t in tracks.subtitles if t.origin != "sidecar" or t.path not in refused],
                    "withheld": [*tracks.withheld, *(f"path_not_allowed: {name} points outside the allowed roots "
                                                     "(not read)" for name in refused)],
                })
        return PhaseResult(
            outputs={
                "source.info": PhaseOutput.json(info, "info.json"),
                "source.tracks": PhaseOutput.json(tracks, "tracks.json"),
            },
            summary={"title": info.title, "duration_s": info.duration, "subtitle_tracks": len(tracks.subtitles),
                     "has_audio": tracks.has_audio},
        )


class RoutePhase(Phase):
    name = "route"
    version = "1"
    state_on_start = TranscriptState.SOURCING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["source.info", "source.tracks"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["route.decision"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        return {"preferred": params.preferred(settings), "backend": params.asr_backend, "force": params.route}

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..source.routing import decide_route, read_rejected_tracks

        params: TranscriptParams = ctx.params
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        tracks = ctx.load_model(inputs["source.tracks"], SourceTracks)
        rejected = read_rejected_tracks(ctx.domain.get("rejected_tracks", []))
        decision = decide_route(
            info, tracks, preferred_languages=params.preferred(ctx.settings), asr_backend=params.asr_backend,
            force=params.route, rejected_tracks=rejected, source_notes=tracks.withheld,
        )
        ctx.emit("route_decided", route=decision.route, language=decision.language, reasons=decision.reasons)
        return PhaseResult(outputs={"route.decision": PhaseOutput.json(decision, "route.json")},
                           summary={"route": decision.route, "asr_backend": decision.asr_backend,
                                    "reasons": decision.reasons})


class AcquirePhase(Phase):
    name = "acquire"
    version = "1"
    state_on_start = TranscriptState.SOURCING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["route.decision"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["source.subtitles", "source.audio"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        params: TranscriptParams = ctx.params
        decision = ctx.load_model(inputs["route.decision"], RouteDecision)
        if decision.route == "subtitles":
            assert decision.track is not None
            if params.source_kind == "url":
                from ..source.ytdlp import download_subtitles

                path = download_subtitles(params.source, decision.track, ctx.staging_dir, ctx.settings,
                                          retry=_retry_policy(ctx))
            else:
                from ..source.local import acquire_local_subtitles

                if outside_roots_sidecars(Path(params.source), SourceTracks(subtitles=[decision.track]), ctx.settings):
                    raise PathNotAllowedError(f"{decision.track.path} points outside the allowed roots; it is not read",
                                              hint="copy the subtitle file beside the media instead of linking it")
                path = acquire_local_subtitles(Path(params.source), decision.track, ctx.staging_dir)
            output = PhaseOutput.file(path, f"subtitles{path.suffix.lower()}", language=decision.track.language,
                                      origin=decision.track.origin, kind=decision.track.kind)
            return PhaseResult(outputs={"source.subtitles": output}, summary={"acquired": "subtitles"})
        ctx.report_progress(None, "extracting audio")
        if params.source_kind == "url":
            from ..source.ytdlp import download_audio

            # Downloads land in scratch so a crash mid-download resumes from what is complete.
            audio = download_audio(params.source, ctx.scratch_dir, ctx.settings, retry=_retry_policy(ctx),
                                   progress=lambda f: ctx.report_progress(f, "downloading audio"))
            staged = ctx.staging_dir / "audio.wav"
            audio.replace(staged)
        else:
            from ..source.audio import extract_audio_wav

            staged = extract_audio_wav(Path(params.source), ctx.staging_dir / "audio.wav")
        return PhaseResult(outputs={"source.audio": PhaseOutput.file(staged, "audio.wav", sample_rate=16000)},
                           summary={"acquired": "audio"})


class TranscribePhase(Phase):
    """Produces ``transcript.segments`` on both routes: parsed subtitles or speech recognition."""

    name = "transcribe"
    version = "2"
    state_on_start = TranscriptState.TRANSCRIBING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["route.decision", "source.info"]

    def optional_inputs(self, params: TranscriptParams) -> list[str]:
        return ["source.subtitles", "source.audio"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["transcript.segments"]

    def config(self, params: TranscriptParams, settings: Settings) -> dict[str, Any]:
        whisper = settings.whisper.model_dump(mode="json")
        return {
            "backend": params.asr_backend,
            "language": params.source_language,
            "whisper": whisper if params.asr_backend == "whisper" else None,
            "deepgram_model": settings.deepgram.model if params.asr_backend == "deepgram" else None,
            "subtitle_encoding": params.subtitle_encoding,
        }

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..source.subtitles import summarize_subtitle_issues

        params: TranscriptParams = ctx.params
        decision = ctx.load_model(inputs["route.decision"], RouteDecision)
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        early: dict[str, Any] = {}  # what the endpoint did meanwhile (overlap), for the phase record only
        if decision.route == "subtitles":
            transcript = self._from_subtitles(ctx, inputs, decision, info)
        else:
            transcript, early = self._from_speech(ctx, inputs, decision, info, params)
        stats = {k: v for k, v in transcript.stats.items() if k in ("windows_total", "windows_from_checkpoint")}
        # The phase record keeps the warnings, so every command can show them without reading the segments.
        warnings = summarize_subtitle_issues(transcript.issues, severity="warning")
        return PhaseResult(outputs={"transcript.segments": PhaseOutput.json(transcript, "segments.json")},
                           summary={"origin": transcript.origin, "segments": len(transcript.segments), **stats,
                                    **early, **({"warnings": warnings} if warnings else {})})

    def _from_subtitles(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef], decision: RouteDecision,
                        info: SourceInfo) -> TranscriptSegments:
        params: TranscriptParams = ctx.params
        from ..source.subtitles import (
            assess_subtitle_usability,
            read_subtitle_file,
            subtitle_display_name,
            subtitle_stats,
        )

        ref = inputs.get("source.subtitles")
        if ref is None:
            raise SourceError("route chose subtitles but no subtitle file was acquired", code="missing_input")
        # Messages name the user's file (talk.en.srt), never the work_dir copy (subtitles.srt).
        display_name = subtitle_display_name(decision.track, info.source if info.source_kind == "file" else info.title)
        parsed = read_subtitle_file(ctx.path_of(ref), encoding=params.subtitle_encoding, display_name=display_name,
                                    language=decision.track.language if decision.track else decision.language)
        segments = parsed.segments
        usability = assess_subtitle_usability(segments, info.duration)
        if not usability.usable:
            raise SourceError(
                f"{display_name}: the subtitles are not a usable transcript: " + " ".join(usability.reasons),
                code="subtitles_unusable",
                permanent=True,  # the same track fails the same way; transcribing the audio is the way out
                details={"file": display_name, "reasons": usability.reasons,
                         "track": decision.track.model_dump(mode="json") if decision.track else None},
            )
        stats: dict[str, float | int | str] = dict(subtitle_stats(segments))
        if parsed.decoding is not None:
            stats.update(encoding=parsed.decoding.encoding, encoding_source=parsed.decoding.source)
        return TranscriptSegments(origin="subtitles", language=decision.language, segments=segments, stats=stats,
                                  issues=parsed.issues)

    def _from_speech(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef], decision: RouteDecision,
                     info: SourceInfo, params: TranscriptParams) -> tuple[TranscriptSegments, dict[str, Any]]:
        from ..source.asr import make_transcriber
        from .overlap import early_worker_for

        ref = inputs.get("source.audio")
        if ref is None:
            raise SourceError("route chose speech recognition but no audio was acquired", code="missing_input")
        transcriber = make_transcriber(params.asr_backend, ctx.settings)
        prompt_parts = [info.title, *[c.title for c in info.chapters]]
        draft = DraftWriter.start(ctx.run_dir.path)  # the text recognized so far, for inspect detail 'draft'
        early = early_worker_for(ctx, info)  # the endpoint starts on settled text meanwhile

        def on_window(window: WindowResult) -> None:
            draft.on_window(window)  # first: readers see the words even while the early worker holds recognition
            if early is not None:
                early.on_window(window)

        early_summary: dict[str, Any] = {}
        try:
            if early is not None:
                early.start()
            transcript = transcriber.transcribe(
                ctx.path_of(ref),
                language=params.source_language or None,
                initial_prompt=". ".join(p for p in prompt_parts if p)[:400] or None,
                checkpoint_dir=ctx.scratch_dir / "checkpoints",
                progress=lambda done, total: ctx.report_progress(done / total if total else None,
                                                                 f"transcribed {done:.0f}s of {total:.0f}s"),
                should_stop=ctx.should_stop,
                on_window=on_window,
            )
        finally:
            if early is not None:
                early_summary = early.finish()
        if not any(s.kind == "speech" and s.text.strip() for s in transcript.segments):
            raise SourceError(
                f"no speech was detected in {info.source}: it seems silent or music only",
                code="no_speech_detected",
                permanent=True,  # the same audio gives the same silence
                hint="check that the file has speech; if it has subtitles elsewhere, put them beside it "
                "(e.g. talk.en.srt) and {new_run}",
                details={"backend": params.asr_backend},
            )
        return transcript, early_summary


class NormalizePhase(Phase):
    name = "normalize"
    version = "2"
    state_on_start = TranscriptState.PLANNING

    def requires(self, params: TranscriptParams) -> list[str]:
        return ["transcript.segments", "source.info"]

    def provides(self, params: TranscriptParams) -> list[str]:
        return ["doc.normalized"]

    def run(self, ctx: PhaseContext, inputs: Mapping[str, ArtifactRef]) -> PhaseResult:
        from ..source.normalize import normalize_transcript

        transcript = ctx.load_model(inputs["transcript.segments"], TranscriptSegments)
        info = ctx.load_model(inputs["source.info"], SourceInfo)
        doc = normalize_transcript(transcript, info.chapters)
        return PhaseResult(outputs={"doc.normalized": PhaseOutput.json(doc, "normalized.json")},
                           summary={"sentences": len(doc.sentences), "subtitle_lines": len(doc.subtitle_lines)})
