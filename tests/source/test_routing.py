from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kernel.source.routing import (
    RoutingError,
    decide_route,
    language_key,
    languages_match,
    read_rejected_tracks,
    rejected_track_record,
)
from kernel.source.ytdlp_info import info_to_source
from kernel.transcript import RouteDecision, SourceInfo, SourceTracks, SubtitleTrack
from tests.conftest import FIXTURES

YTDLP_FIXTURES = FIXTURES / "ytdlp"


def _youtube(name: str) -> tuple[SourceInfo, SourceTracks]:
    info: dict[str, Any] = json.loads((YTDLP_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return info_to_source(info)


def _local_info(language: str | None = None) -> SourceInfo:
    return SourceInfo(id="file-0123456789abcdef", title="lecture", source="lecture.mp4", source_kind="file",
                      language=language)


def _sidecar(language: str | None, path: str | None = None) -> SubtitleTrack:
    name = path or (f"lecture.{language}.srt" if language else "lecture.srt")
    return SubtitleTrack(language=language, origin="sidecar", ext="srt", path=name)


def _embedded(language: str | None, index: int) -> SubtitleTrack:
    return SubtitleTrack(language=language, origin="embedded", ext="srt", stream_index=index)


def _remote(language: str | None, *, kind: str = "manual", original: bool = False,
            translation: bool = False) -> SubtitleTrack:
    return SubtitleTrack(language=language, kind="automatic" if kind == "automatic" else "manual", origin="remote",
                         ext="vtt", url=f"https://example.com/subs/{language}.vtt",
                         is_original_language=original, is_translation=translation)


def _route(info: SourceInfo, tracks: SourceTracks, preferred: list[str], **kwargs: Any) -> RouteDecision:
    return decide_route(info, tracks, preferred_languages=preferred, **kwargs)


# ---- default order ---------------------------------------------------------------------------------------


def test_manual_subtitles_in_the_video_language_win_even_over_a_preferred_language() -> None:
    info, tracks = _youtube("youtube_manual_subs")

    decision = _route(info, tracks, ["de"])

    assert decision.route == "subtitles"
    assert decision.track is not None
    assert (decision.track.kind, decision.track.language) == ("manual", "en")
    assert decision.language == "en"
    assert decision.reasons[0].startswith("chose manual")


def test_manual_subtitles_in_a_preferred_language_beat_original_automatic_captions() -> None:
    info, tracks = _youtube("youtube_german_was_live")

    decision = _route(info, tracks, ["en"])

    assert decision.track is not None
    assert (decision.track.kind, decision.track.language) == ("manual", "en")
    assert decision.language == "en"
    assert any("human translation" in reason for reason in decision.reasons)


def test_original_language_automatic_captions_are_used_when_no_manual_track_fits() -> None:
    info, tracks = _youtube("youtube_german_was_live")

    decision = _route(info, tracks, ["fr"])

    assert decision.track is not None
    assert decision.track.kind == "automatic"
    assert decision.track.is_original_language
    assert decision.language == "de"


def test_machine_translated_captions_are_never_chosen_even_in_the_preferred_language() -> None:
    info, tracks = _youtube("youtube_auto_captions_chapters")

    decision = _route(info, tracks, ["fr", "ja"])

    assert decision.track is not None
    assert decision.track.language == "en"
    assert not decision.track.is_translation
    assert any("machine-translated" in reason for reason in decision.reasons)


def test_only_machine_translations_and_no_audio_is_no_usable_source() -> None:
    tracks = SourceTracks(subtitles=[_remote("fr", kind="automatic", translation=True)], has_audio=False)

    with pytest.raises(RoutingError) as caught:
        _route(_local_info("en"), tracks, ["fr"])

    assert caught.value.code == "no_usable_source"


def test_speech_recognition_is_chosen_when_the_video_has_no_captions() -> None:
    info, tracks = _youtube("youtube_no_captions")

    decision = _route(info, tracks, ["en"])

    assert decision.route == "asr"
    assert decision.track is None
    assert decision.asr_backend == "whisper"
    assert decision.language == "en"
    assert decision.reasons


def test_the_chosen_speech_recognition_backend_is_recorded() -> None:
    info, tracks = _youtube("youtube_no_captions")

    assert _route(info, tracks, ["en"], asr_backend="deepgram").asr_backend == "deepgram"


def test_tracks_in_other_languages_are_passed_over_for_speech_recognition_with_a_reason() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("fr")], has_audio=True)

    decision = _route(_local_info("en"), tracks, ["en"])

    assert decision.route == "asr"
    assert any("passed over" in reason and "fr" in reason for reason in decision.reasons)


# ---- languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ("en", "en-US", True),
        ("en-GB", "en", True),
        ("en-US", "en-GB", True),
        ("EN_us", "en-US", True),
        ("en-orig", "en", True),
        ("eng", "en", True),
        ("ger", "de", True),
        ("iw", "he", True),
        ("zh-Hans", "zh-CN", True),
        ("zh-TW", "zh-Hant", True),
        ("zh", "zh-Hant", True),
        ("zh-Hans", "zh-Hant", False),
        ("zh-CN", "zh-TW", False),
        ("en", "de", False),
        ("und", "en", False),
        (None, None, False),
    ],
)
def test_language_codes_match_across_regions_scripts_and_iso_forms(a: str | None, b: str | None, match: bool) -> None:
    assert languages_match(a, b) is match
    assert languages_match(b, a) is match


def test_undetermined_language_codes_have_no_key() -> None:
    assert [language_key(code) for code in (None, "", "und", "zxx")] == [None, None, None, None]


def test_a_regional_video_language_matches_plain_manual_subtitles() -> None:
    info = _local_info("en-US")
    tracks = SourceTracks(subtitles=[_remote("de"), _remote("en")], has_audio=True)

    decision = _route(info, tracks, ["de"])

    assert decision.track is not None and decision.track.language == "en"


def test_exact_language_code_beats_a_regional_variant_of_the_same_language() -> None:
    tracks = SourceTracks(subtitles=[_remote("en-GB"), _remote("en")], has_audio=True)

    decision = _route(_local_info("en"), tracks, ["en"])

    assert decision.track is not None and decision.track.language == "en"


def test_simplified_chinese_preference_picks_zh_hans_not_zh_hant() -> None:
    tracks = SourceTracks(subtitles=[_remote("zh-Hant"), _remote("zh-Hans")], has_audio=True)

    decision = _route(_local_info(None), tracks, ["zh-CN"])

    assert decision.track is not None and decision.track.language == "zh-Hans"


def test_with_the_video_language_unknown_the_preference_order_decides() -> None:
    tracks = SourceTracks(subtitles=[_remote("en"), _remote("de")], has_audio=True)

    decision = _route(_local_info(None), tracks, ["de", "en"])

    assert decision.track is not None and decision.track.language == "de"
    assert decision.language == "de"


def test_a_track_of_unknown_language_is_used_when_nothing_better_exists() -> None:
    tracks = SourceTracks(subtitles=[_embedded("fr", 2), _sidecar(None)], has_audio=True)

    decision = _route(_local_info("en"), tracks, ["en"])

    assert decision.track is not None
    assert decision.track.origin == "sidecar" and decision.track.language is None
    assert decision.language == "en"  # the video's language, since the track does not say


def test_a_preferred_language_track_beats_a_track_of_unknown_language() -> None:
    tracks = SourceTracks(subtitles=[_sidecar(None), _sidecar("en")], has_audio=True)

    decision = _route(_local_info(None), tracks, ["en"])

    assert decision.track is not None and decision.track.language == "en"


# ---- local tracks ----------------------------------------------------------------------------------------


def test_embedded_and_sidecar_tracks_count_as_manual_subtitles() -> None:
    tracks = SourceTracks(subtitles=[_embedded("eng", 2), _sidecar("de")], has_audio=True)

    decision = _route(_local_info("en"), tracks, ["de"])

    assert decision.route == "subtitles"
    assert decision.track is not None
    assert (decision.track.origin, decision.track.stream_index) == ("embedded", 2)
    assert any("also available" in reason for reason in decision.reasons)


def test_local_audio_only_file_without_subtitles_goes_to_speech_recognition_in_its_language() -> None:
    decision = _route(_local_info("ja"), SourceTracks(has_audio=True), ["en"])

    assert (decision.route, decision.language) == ("asr", "ja")


def test_unknown_language_and_no_tracks_leaves_language_detection_to_speech_recognition() -> None:
    decision = _route(_local_info(None), SourceTracks(has_audio=True), ["en"])

    assert decision.route == "asr"
    assert decision.language is None


# ---- rejected tracks (reroute_to_asr) --------------------------------------------------------------------


def test_rejected_tracks_are_skipped_until_only_speech_recognition_is_left() -> None:
    info, tracks = _youtube("youtube_german_was_live")

    first = _route(info, tracks, ["en"])
    assert first.track is not None
    second = _route(info, tracks, ["en"], rejected_tracks=[first.track])
    assert second.track is not None
    third = _route(info, tracks, ["en"], rejected_tracks=[first.track, second.track])

    assert (first.track.kind, second.track.kind) == ("manual", "automatic")
    assert third.route == "asr"
    assert sum("rejected earlier" in reason for reason in third.reasons) == 2


def test_a_rejected_remote_track_is_recognised_after_its_signed_url_changed() -> None:
    info, tracks = _youtube("youtube_no_captions")
    track = _remote("en")
    tracks = tracks.model_copy(update={"subtitles": [track]})
    rejected = track.model_copy(update={"url": "https://example.com/subs/en.vtt?expire=999&signature=new"})

    decision = _route(info, tracks, ["en"], rejected_tracks=[rejected])

    assert decision.route == "asr"


def test_rejected_tracks_loaded_back_from_json_are_still_recognised() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("en")], has_audio=True)
    rejected = SubtitleTrack.model_validate(json.loads(json.dumps(tracks.subtitles[0].model_dump(mode="json"))))

    assert _route(_local_info("en"), tracks, ["en"], rejected_tracks=[rejected]).route == "asr"


def test_the_failure_that_rejected_a_track_is_the_next_decisions_reason() -> None:
    info, tracks = _youtube("youtube_no_captions")
    track = _remote("en")
    tracks = tracks.model_copy(update={"subtitles": [track]})
    failure = {"phase": "acquire", "code": "subtitles_rate_limited", "hint": "transcribe the audio instead",
               "message": "yt-dlp could not download https://youtu.be/x: Unable to download video subtitles for "
                          "'en': HTTP Error 429: Too Many Requests"}
    stored = json.loads(json.dumps([rejected_track_record(track, failure)]))  # as the run keeps it

    decision = _route(info, tracks, ["en"], rejected_tracks=read_rejected_tracks(stored))

    assert decision.route == "asr"
    skipped = [reason for reason in decision.reasons if reason.startswith("skipped manual en subtitles")]
    assert len(skipped) == 1
    assert "subtitles_rate_limited" in skipped[0] and "HTTP Error 429" in skipped[0]


def test_a_bare_rejected_track_from_an_older_run_still_reads() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("en")], has_audio=True)
    old_record = tracks.subtitles[0].model_dump(mode="json")

    decision = _route(_local_info("en"), tracks, ["en"], rejected_tracks=read_rejected_tracks([old_record]))

    assert decision.route == "asr"
    assert any("rejected earlier as not a usable transcript" in reason for reason in decision.reasons)


# ---- forced routes ---------------------------------------------------------------------------------------


def test_forced_speech_recognition_ignores_good_subtitles() -> None:
    info, tracks = _youtube("youtube_manual_subs")

    decision = _route(info, tracks, ["en"], force="asr")

    assert decision.route == "asr"
    assert any("route=asr" in reason for reason in decision.reasons)


def test_forced_speech_recognition_without_audio_fails_with_no_audio() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("en")], has_audio=False)

    with pytest.raises(RoutingError) as caught:
        _route(_local_info("en"), tracks, ["en"], force="asr")

    assert caught.value.code == "no_audio"


def test_forced_subtitles_without_any_track_fails_with_no_subtitles() -> None:
    info, tracks = _youtube("youtube_no_captions")

    with pytest.raises(RoutingError) as caught:
        _route(info, tracks, ["en"], force="subtitles")

    assert caught.value.code == "no_subtitles"


def test_forced_subtitles_accept_a_track_in_another_language_rather_than_fail() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("fr")], has_audio=True)

    decision = _route(_local_info("en"), tracks, ["en"], force="subtitles")

    assert decision.track is not None and decision.track.language == "fr"
    assert decision.language == "fr"


# ---- no audio --------------------------------------------------------------------------------------------


def test_no_audio_and_no_subtitles_is_no_usable_source() -> None:
    info, tracks = _youtube("youtube_upcoming_live")

    with pytest.raises(RoutingError) as caught:
        _route(info, tracks, ["en"])

    assert caught.value.code == "no_usable_source"
    assert caught.value.hint


def test_without_audio_any_remaining_track_is_better_than_failing() -> None:
    tracks = SourceTracks(subtitles=[_sidecar("fr")], has_audio=False)

    decision = _route(_local_info("en"), tracks, ["en"])

    assert decision.track is not None and decision.track.language == "fr"
    assert any("no audio" in reason for reason in decision.reasons)


def test_route_decisions_survive_a_json_round_trip() -> None:
    info, tracks = _youtube("youtube_auto_captions_chapters")
    decision = _route(info, tracks, ["en"])

    again = RouteDecision.model_validate_json(decision.model_dump_json())

    assert again == decision


def test_fixture_files_hold_no_local_paths() -> None:
    for path in YTDLP_FIXTURES.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert str(Path.home()) not in text and "/tmp/" not in text


# ---- what discovery says the site withheld ---------------------------------------------------------------


def test_captions_youtube_withheld_for_want_of_a_po_token_are_a_reason_of_the_route() -> None:
    from kernel.source.ytdlp import withheld_notes

    blocks = json.loads((YTDLP_FIXTURES / "youtube_blocks.json").read_text(encoding="utf-8"))["cases"]
    warnings = next(case for case in blocks if case["id"] == "po-token-subtitles-discarded")["warnings"]
    info, tracks = _youtube("youtube_no_captions")

    decision = _route(info, tracks, ["en"], source_notes=withheld_notes([*warnings, *warnings]))

    assert decision.route == "asr"
    noted = [reason for reason in decision.reasons if "subtitles_po_token_required" in reason]
    assert len(noted) == 1 and "PO token was not provided" in noted[0]
