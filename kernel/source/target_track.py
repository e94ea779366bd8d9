"""The subtitle track that already is the translation a run asks for: reuse, not rework.

``target_language_track`` picks, from what discovery found, a track a person made in the target language:
``kind="manual"`` (local sidecar and embedded tracks count as manual), never a machine translation
(``is_translation``), never an automatic caption track, never a rejected track, and in a language that
``languages_match`` the target (``de`` accepts ``de-DE``; ``zh-Hans`` does not accept ``zh-Hant``). An
exact language code wins over a region variant, then WebVTT over other formats, then discovery order.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..transcript import SourceTracks, SubtitleTrack
from .routing import language_key, languages_match, track_identity


def target_language_track(tracks: SourceTracks, target_language: str | None,
                          rejected: Sequence[SubtitleTrack] = ()) -> SubtitleTrack | None:
    """The manual subtitle track in ``target_language`` to use instead of translating, or None."""
    if not target_language:
        return None
    refused = {track_identity(track) for track in rejected}
    candidates = [t for t in tracks.subtitles if t.kind == "manual" and not t.is_translation
                  and track_identity(t) not in refused and languages_match(t.language, target_language)]
    if not candidates:
        return None
    exact = language_key(target_language)
    return sorted(candidates, key=lambda t: (language_key(t.language) != exact, t.ext != "vtt"))[0]
