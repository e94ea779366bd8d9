"""Routing: choose the text source for a transcript (a subtitle track or speech recognition).

``decide_route`` is a pure function of what discovery found, the caller's preferred languages and the
tracks already rejected. The default order, best first:

1. manual subtitles in the video's own language;
2. manual subtitles in another preferred language, in preference order;
3. the original-language automatic captions (YouTube's ``xx-orig`` track);
4. a manual track whose language is unknown (a sidecar ``movie.srt``, an ``und`` embedded stream);
5. speech recognition of the audio.

Invariants:
- A machine translation (``is_translation``) is never chosen: it is not what was said.
- A rejected track (its text was found unusable, or the site would not hand it over) is never chosen
  again; that is how the runtime's ``reroute_to_asr`` works, and the failure that rejected it (code and
  message, kept by ``rejected_track_record``) is part of the next decision's reasons. Tracks are
  compared by identity (origin, kind, language, name, path, stream), not by URL, because remote
  subtitle URLs carry expiring signatures.
- Local tracks (sidecar, embedded) are ``kind="manual"``, so they take part like manual remote tracks.
- Tracks in a language that is neither the video's nor preferred are used only when speech recognition
  is impossible (no audio) or subtitles were forced.
- Every decision carries human-readable ``reasons``: the chosen path and why better options were passed
  over.

Language codes are compared by ``language_key``: case, ``_`` vs ``-``, YouTube's ``-orig`` suffix, ISO
639-2 codes from media containers (``eng``, ``ger``) and Chinese script variants (``zh-CN`` is
``zh-Hans``, ``zh-TW`` is ``zh-Hant``) are normalized; ``languages_match`` then accepts a region
variant for its base language (``en`` matches ``en-US`` and ``en-GB``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..language_tags import primary_subtag
from ..transcript import AsrBackend, RouteDecision, SourceInfo, SourceTracks, SubtitleTrack
from .errors import SourceError

ForceRoute = Literal["auto", "subtitles", "asr"]  # "auto" routes by the rules above; the others force a path

# A subtitle file the site will not hand over (rate limit, refusal, a PO token it wants, an empty body)
# while the rest of the video may still be fetched; ``kernel.source.ytdlp_errors`` raises these.
SUBTITLE_BLOCK_CODES: frozenset[str] = frozenset(
    {"subtitles_rate_limited", "subtitles_forbidden", "subtitles_po_token_required", "subtitles_empty"})
# Failure codes of the subtitle route after which transcribing the audio is the way out: the track turned
# out not to be a usable transcript, or it cannot be fetched or read. The pipeline offers (and takes by
# itself) ``reroute_to_asr`` for these when the source has audio; the failure becomes the route's reason.
# Besides the blocks of a remote track (SUBTITLE_BLOCK_CODES). Not here: ``subtitle_decode_failed`` (the encoding the user gave is wrong: the way out is another
# ``--subtitle-encoding``, not a transcription the user did not ask for) and ``invalid_encoding``.
REROUTABLE_SUBTITLE_FAILURES: frozenset[str] = frozenset({
    "subtitles_unusable",  # parsed, but mostly [Music] or far too few words
    "subtitle_empty",  # no cue with text
    "subtitle_garbled",  # no parsable cue
    "subtitle_not_text",  # binary data, not text
    "subtitle_undecodable",  # not UTF-8 and no encoding detected
}) | SUBTITLE_BLOCK_CODES

_UNDETERMINED = {"", "und", "unk", "unknown", "zxx", "mis", "mul", "none", "n/a"}

_SIMPLIFIED_REGIONS = {"cn", "sg", "my", "hans"}
_TRADITIONAL_REGIONS = {"tw", "hk", "mo", "hant"}


class RoutingError(SourceError):
    """No route can produce a transcript. Codes: ``no_usable_source`` (no audio and no usable track),
    ``no_subtitles`` (subtitles were forced but no usable track exists), ``no_audio`` (speech recognition
    was forced but the source has no audio)."""

    code = "no_usable_source"


def language_key(code: str | None) -> str | None:
    """A comparable form of a language code: lower case, ``-`` separated, ``None`` when undetermined.

    >>> language_key("en_US"), language_key("en-orig"), language_key("ger"), language_key("zh-CN")
    ('en-us', 'en', 'de', 'zh-hans')
    """
    if code is None:
        return None
    parts = [p for p in code.strip().lower().replace("_", "-").split("-") if p]
    if parts and parts[-1] == "orig":
        parts = parts[:-1]
    if not parts or parts[0] in _UNDETERMINED:
        return None
    primary = primary_subtag(parts[0])  # ISO 639-2/3 and legacy codes from containers and sites
    rest = parts[1:]
    if primary == "zh" and rest:
        if rest[0] in _SIMPLIFIED_REGIONS:
            return "zh-hans"
        if rest[0] in _TRADITIONAL_REGIONS:
            return "zh-hant"
    return "-".join([primary, *rest])


def base_language(code: str | None) -> str | None:
    """The primary language subtag of ``language_key(code)`` (``en-us`` -> ``en``)."""
    key = language_key(code)
    return key.split("-", 1)[0] if key else None


def languages_match(a: str | None, b: str | None) -> bool:
    """True when two codes name the same language, treating regions of one language as that language.

    Chinese scripts differ in writing, so ``zh-Hans`` does not match ``zh-Hant`` (but plain ``zh`` matches
    either). Undetermined codes match nothing.
    """
    key_a, key_b = language_key(a), language_key(b)
    if key_a is None or key_b is None:
        return False
    if key_a == key_b:
        return True
    if key_a.split("-")[0] != key_b.split("-")[0]:
        return False
    scripts = {k.split("-")[1] for k in (key_a, key_b) if k.startswith("zh-") and k.split("-")[1] in ("hans", "hant")}
    return len(scripts) < 2


def _match_quality(track_language: str | None, wanted: str | None) -> int:
    """0 for an exact match, 1 for a region/base match, -1 for no match (lower is better)."""
    if not languages_match(track_language, wanted):
        return -1
    return 0 if language_key(track_language) == language_key(wanted) else 1


def track_identity(track: SubtitleTrack) -> tuple[object, ...]:
    """What makes a track the same track across rediscovery (remote URLs expire, so they are left out)."""
    return (track.origin, track.kind, language_key(track.language), track.name, track.path, track.stream_index)


def describe_track(track: SubtitleTrack) -> str:
    """A short human label such as ``manual English (en) subtitles [remote vtt]``."""
    language = track.language or "unknown-language"
    label = f"{track.name} ({language})" if track.name and track.name != track.language else language
    where = {"remote": "remote", "sidecar": f"sidecar file {track.path}", "embedded": f"embedded stream "
             f"#{track.stream_index}"}[track.origin]
    return f"{track.kind} {label} subtitles [{where}, {track.ext}]"


@dataclass(frozen=True)
class RejectedTrack:
    """A subtitle track the run gave up on, with the code and message of the failure that rejected it
    (both None for a track rejected before reasons were kept)."""

    track: SubtitleTrack
    code: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.code is None:
            return "rejected earlier as not a usable transcript"
        return f"rejected earlier ({self.code}): {self.reason}" if self.reason else f"rejected earlier ({self.code})"


_REASON_LIMIT = 400


def rejected_track_record(track: SubtitleTrack, failure: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON a run keeps for a rejected track: the track and, when known, the failure that rejected it
    (its ``code`` and ``message``, as a phase failure records them). ``read_rejected_tracks`` reads it."""
    record: dict[str, Any] = {"track": track.model_dump(mode="json")}
    if failure and failure.get("code"):
        record["code"] = str(failure["code"])
        if failure.get("message"):
            record["reason"] = " ".join(str(failure["message"]).split())[:_REASON_LIMIT]
    return record


def read_rejected_tracks(records: Sequence[Mapping[str, Any]]) -> list[RejectedTrack]:
    """Rejected tracks from ``rejected_track_record`` records; a bare track record (kept by runs from before
    the reason was) reads as a track rejected as not a usable transcript."""
    rejected: list[RejectedTrack] = []
    for record in records:
        if "track" in record:
            rejected.append(RejectedTrack(SubtitleTrack.model_validate(record["track"]), record.get("code"),
                                          record.get("reason")))
        else:
            rejected.append(RejectedTrack(SubtitleTrack.model_validate(dict(record))))
    return rejected


@dataclass(frozen=True)
class _Tier:
    name: str
    accepts: Callable[[SubtitleTrack], bool]
    why: str


def _preference_rank(track: SubtitleTrack, preferred: Sequence[str]) -> tuple[int, int]:
    for index, wanted in enumerate(preferred):
        quality = _match_quality(track.language, wanted)
        if quality >= 0:
            return index, quality
    return len(preferred), 0


def _tiers(info: SourceInfo, preferred: Sequence[str]) -> list[_Tier]:
    video = info.language

    def is_original(track: SubtitleTrack) -> bool:
        return track.is_original_language or languages_match(track.language, video)

    tiers = [
        _Tier("manual_video_language",
              lambda t: t.kind == "manual" and languages_match(t.language, video),
              f"manual subtitles in the video's language ({video})"),
        _Tier("manual_preferred",
              lambda t: t.kind == "manual" and any(languages_match(t.language, p) for p in preferred),
              f"manual subtitles in a preferred language ({', '.join(preferred) or 'none'})"),
        _Tier("automatic_original",
              lambda t: t.kind == "automatic" and is_original(t),
              "automatic captions in the original language"),
        _Tier("manual_unknown_language",
              lambda t: t.kind == "manual" and language_key(t.language) is None,
              "manual subtitles of unknown language"),
    ]
    # With the video's language unknown the preferred languages decide; the first tier cannot apply.
    return tiers if language_key(video) else tiers[1:]


def _last_resort_tier() -> _Tier:
    return _Tier("any_track", lambda t: True, "the only subtitles available (another language)")


def _pick(tier: _Tier, candidates: Sequence[SubtitleTrack], info: SourceInfo,
          preferred: Sequence[str]) -> SubtitleTrack | None:
    matching = [t for t in candidates if tier.accepts(t)]
    if not matching:
        return None

    # Exact language codes beat region variants; then preference order; then discovery order (stable sort).
    def rank(track: SubtitleTrack) -> tuple[int, int, int, int]:
        video_quality = _match_quality(track.language, info.language)
        pref_index, pref_quality = _preference_rank(track, preferred)
        return (0 if video_quality == 0 else 1, pref_index, pref_quality, 0 if track.ext == "vtt" else 1)

    return sorted(matching, key=rank)[0]


def decide_route(
    info: SourceInfo,
    tracks: SourceTracks,
    *,
    preferred_languages: list[str],
    asr_backend: AsrBackend = "whisper",
    force: ForceRoute = "auto",
    rejected_tracks: Sequence[SubtitleTrack | RejectedTrack] | None = None,
    source_notes: Sequence[str] = (),
) -> RouteDecision:
    """Choose subtitles or speech recognition for ``info``, with the reasons (a rejected track's reason
    includes the failure that rejected it; ``source_notes``, what discovery says the site withheld, such
    as captions YouTube keeps back without a PO token, are reasons too).

    Raises:
        RoutingError: ``no_usable_source`` when there is no audio and no usable track, ``no_subtitles``
            when ``force="subtitles"`` and no usable track exists, ``no_audio`` when ``force="asr"`` and
            the source has no audio.
    """
    preferred = [p for p in preferred_languages if language_key(p) is not None]
    rejected = [r if isinstance(r, RejectedTrack) else RejectedTrack(r) for r in rejected_tracks or []]
    rejected_ids = {track_identity(r.track): r for r in rejected}
    reasons: list[str] = [f"yt-dlp reported {note}" for note in source_notes]

    translations = [t for t in tracks.subtitles if t.is_translation]
    if translations:
        reasons.append(f"skipped {len(translations)} machine-translated caption track(s): they are not what was said")
    candidates: list[SubtitleTrack] = []
    for track in tracks.subtitles:
        if track.is_translation:
            continue
        if track_identity(track) in rejected_ids:
            reasons.append(f"skipped {describe_track(track)}: {rejected_ids[track_identity(track)].describe()}")
            continue
        candidates.append(track)

    if force == "asr":
        if not tracks.has_audio:
            raise RoutingError(
                f"speech recognition was requested but {info.source} has no audio",
                code="no_audio", hint="use route 'auto' or 'subtitles' for this source",
                details={"reasons": reasons},
            )
        reasons.append("speech recognition was requested (route=asr); subtitle tracks were not considered")
        return _asr_decision(info, asr_backend, reasons)

    tiers = _tiers(info, preferred)
    if force == "subtitles" or not tracks.has_audio:
        tiers.append(_last_resort_tier())
    for position, tier in enumerate(tiers):
        chosen = _pick(tier, candidates, info, preferred)
        if chosen is None:
            continue
        reasons.insert(0, f"chose {describe_track(chosen)}: {tier.why}")
        reasons.extend(_passed_over(chosen, candidates, tiers[:position]))
        if tier.name == "manual_preferred" and info.language and not languages_match(chosen.language, info.language):
            reasons.append(f"the video's language is {info.language}; these subtitles are a human translation")
        if tier.name == "any_track":
            reasons.append("speech recognition is impossible (no audio)" if not tracks.has_audio
                           else "subtitles were requested (route=subtitles)")
        language = chosen.language if language_key(chosen.language) else info.language
        return RouteDecision(route="subtitles", track=chosen, language=_clean_language(language), reasons=reasons)

    if force == "subtitles":
        raise RoutingError(
            f"subtitles were requested but {info.source} has no usable subtitle track",
            code="no_subtitles", permanent=True,
            hint="transcribe the audio instead: {new_run}, passing {option:route=auto} or {option:route=asr}",
            details={"reasons": reasons},
        )
    if not tracks.has_audio:
        raise RoutingError(
            f"{info.source} has no audio and no usable subtitle track",
            code="no_usable_source",
            hint="check that the source is a video with sound, or supply a subtitle file next to a local media file",
            details={"reasons": reasons},
        )
    if candidates:
        reasons.append(f"passed over {_list_tracks(candidates)}: not in the video's language nor a preferred language")
    elif not translations and not rejected_ids:
        reasons.append("no subtitle tracks available")
    return _asr_decision(info, asr_backend, reasons)


def _passed_over(chosen: SubtitleTrack, candidates: Sequence[SubtitleTrack],
                 better_tiers: Sequence[_Tier]) -> list[str]:
    notes = [f"no {tier.why}" for tier in better_tiers]
    others = [t for t in candidates if t is not chosen]
    if others:
        notes.append("also available: " + _list_tracks(others))
    return notes


def _list_tracks(tracks: Sequence[SubtitleTrack], limit: int = 5) -> str:
    listed = ", ".join(describe_track(t) for t in tracks[:limit])
    return listed if len(tracks) <= limit else f"{listed} and {len(tracks) - limit} more"


def _asr_decision(info: SourceInfo, asr_backend: AsrBackend, reasons: list[str]) -> RouteDecision:
    language = _clean_language(info.language)
    detail = f"language {language}" if language else "language detected from the audio"
    reasons.insert(0, f"chose speech recognition with {asr_backend} ({detail})")
    return RouteDecision(route="asr", asr_backend=asr_backend, language=language, reasons=reasons)


def _clean_language(code: str | None) -> str | None:
    """The code as given, minus YouTube's ``-orig`` suffix; ``None`` when undetermined."""
    if language_key(code) is None or code is None:
        return None
    stripped = code.strip()
    return stripped[: -len("-orig")] if stripped.lower().endswith("-orig") else stripped
