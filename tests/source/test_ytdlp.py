from __future__ import annotations

import json
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kernel.config import Settings, load_settings
from kernel.source.routing import decide_route
from kernel.source.subtitles import read_subtitle_file
from kernel.source.ytdlp import _base_options, discover_url, download_audio, download_subtitles, ensure_finished
from kernel.source.ytdlp_errors import DownloadError, RetryPolicy, classify_ytdlp_error, retry_after_seconds
from kernel.source.ytdlp_info import info_to_source
from kernel.task_runtime.errors import InvalidInputError
from kernel.transcript import SubtitleTrack
from tests.conftest import FIXTURES
from tests.source import site as local_site
from tests.source.site import SITE_FIXTURES, PageTrack, Site, serve_site, write_page

site, site_root = local_site.site, local_site.site_root  # fixtures
YTDLP_FIXTURES = FIXTURES / "ytdlp"


def _info(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((YTDLP_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


class _Sleeps:
    """An injectable sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# ---- info_to_source (pure) -------------------------------------------------------------------------------


def test_youtube_info_maps_to_source_info_with_iso_date_and_channel() -> None:
    info, _ = info_to_source(_info("youtube_manual_subs"), source_url="https://youtu.be/kJQP7kiw5Fk")

    assert info.id == "kJQP7kiw5Fk"
    assert info.title == "Designing Data Pipelines That Survive Crashes"
    assert info.source == "https://youtu.be/kJQP7kiw5Fk"
    assert info.source_kind == "url"
    assert info.webpage_url == "https://www.youtube.com/watch?v=kJQP7kiw5Fk"
    assert info.channel == "Example Channel"
    assert info.upload_date == "2023-06-14"
    assert info.duration == 596.0
    assert info.language == "en"
    assert info.live_status == "not_live"
    assert info.description and info.description.startswith("A talk")


def test_manual_subtitles_are_listed_once_per_language_preferring_vtt() -> None:
    _, tracks = info_to_source(_info("youtube_manual_subs"))

    manual = [t for t in tracks.subtitles if t.kind == "manual"]
    assert [t.language for t in manual] == ["de", "en", "en-GB", "zh-Hans"]
    assert all(t.origin == "remote" and t.ext == "vtt" and t.url and "fmt=vtt" in t.url for t in manual)
    assert all(not t.is_translation for t in manual)
    assert [t.is_original_language for t in manual] == [False, True, False, False]
    assert tracks.has_audio


def test_only_the_original_language_automatic_track_is_not_a_translation() -> None:
    _, tracks = info_to_source(_info("youtube_manual_subs"))

    automatic = [t for t in tracks.subtitles if t.kind == "automatic"]
    originals = [t for t in automatic if not t.is_translation]
    assert [(t.language, t.is_original_language, t.name) for t in originals] == [("en", True, "English (Original)")]
    assert len(automatic) > 20  # every machine-translation language is still listed, flagged
    assert {"de-en", "fr-en", "ja-en"} <= {t.language for t in automatic if t.is_translation}
    assert [t.language for t in automatic].count("en") == 1  # the plain "en" duplicate of en-orig is dropped


def test_video_language_is_inferred_from_the_orig_caption_track_and_chapters_are_kept() -> None:
    info, tracks = info_to_source(_info("youtube_auto_captions_chapters"))

    assert info.language == "en"
    assert [(c.title, c.start, c.end) for c in info.chapters] == [
        ("Introduction", 0.0, 46.0), ("Why crashes happen", 46.0, 212.5),
        ("Atomic writes", 212.5, 431.0), ("Questions", 431.0, 596.0)]
    assert not [t for t in tracks.subtitles if t.kind == "manual"]


def test_live_chat_replay_is_not_a_subtitle_track() -> None:
    info, tracks = info_to_source(_info("youtube_german_was_live"))

    assert info.live_status == "was_live"
    assert info.language == "de"
    assert "live_chat" not in {t.language for t in tracks.subtitles}
    assert [t.language for t in tracks.subtitles if not t.is_translation] == ["en", "de"]


def test_a_video_without_captions_has_no_tracks_but_has_audio() -> None:
    _, tracks = info_to_source(_info("youtube_no_captions"))

    assert tracks.subtitles == []
    assert tracks.has_audio


def test_an_upcoming_live_stream_has_no_audio_and_is_refused_as_not_finished() -> None:
    info, tracks = info_to_source(_info("youtube_upcoming_live"))

    assert (info.live_status, info.duration, info.upload_date) == ("is_upcoming", None, None)
    assert not tracks.has_audio
    with pytest.raises(DownloadError) as caught:
        ensure_finished(info)
    assert caught.value.code == "live_not_finished"


def test_only_the_html5_extractors_entry_number_is_taken_off_a_title() -> None:
    html5 = {"id": "talk-1", "title": "Talk (1)", "extractor_key": "HTML5MediaEmbed"}
    assert info_to_source(html5)[0].title == "Talk"
    assert info_to_source({**html5, "title": "Part (2)"})[0].title == "Part (2)"  # not its number
    assert info_to_source({**html5, "extractor_key": "Youtube"})[0].title == "Talk (1)"


def test_generic_page_tracks_without_ext_or_language_are_still_listed() -> None:
    info = {"id": "clip", "title": "clip", "formats": [{"url": "http://x/clip.mp4", "ext": "mp4"}],
            "subtitles": {None: [{"url": "http://x/clip.vtt"}], "fr": [{"url": "http://x/clip.fr.ttml"}]}}

    _, tracks = info_to_source(info)

    assert [(t.language, t.ext) for t in tracks.subtitles] == [(None, "vtt")]  # ttml is not a format we parse
    assert tracks.has_audio  # unknown codec may carry audio


# ---- failure classification (real yt-dlp message shapes) -------------------------------------------------

_COOKIES = ("Use --cookies-from-browser or --cookies for the authentication. See  https://github.com/yt-dlp/"
            "yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to manually pass cookies")


@pytest.mark.parametrize(
    ("message", "code", "retryable"),
    [
        (f"ERROR: [youtube] kJQP7kiw5Fk: Sign in to confirm you’re not a bot. {_COOKIES}. Also see  https://github"
         ".com/yt-dlp/yt-dlp/wiki/Extractors#exporting-youtube-cookies  for tips on effectively exporting YouTube "
         "cookies", "bot_check", False),
        (f"ERROR: [youtube] kJQP7kiw5Fk: Sign in to confirm your age. This video may be inappropriate for some "
         f"users. {_COOKIES}", "age_restricted", False),
        (f"ERROR: [youtube] kJQP7kiw5Fk: Private video. Sign in if you've been granted access to this video. "
         f"{_COOKIES}", "video_unavailable", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Video unavailable. This video has been removed by the uploader",
         "video_unavailable", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Video unavailable. This video is no longer available because the YouTube "
         "account associated with this video has been terminated.", "video_unavailable", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Video unavailable", "video_unavailable", False),
        ("ERROR: [generic] 404: Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: "
         "Not Found>)", "video_unavailable", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: The uploader has not made this video available in your country. You might "
         "want to use a VPN or a proxy server (with --proxy) to workaround.", "geo_blocked", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Video unavailable. This video contains content from SME, who has blocked "
         "it in your country on copyright grounds", "geo_blocked", False),
        ("ERROR: [youtube] 5qap5aO4i9A: This live event will begin in 3 hours.", "live_not_finished", False),
        ("ERROR: [youtube] 5qap5aO4i9A: Premieres in 10 hours", "live_not_finished", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: This content isn't available, try again later. The current session has "
         "been rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a delay "
         "between video requests to avoid exceeding the rate limit.", "rate_limited", True),
        ("ERROR: [youtube] kJQP7kiw5Fk: Unable to download API page: HTTP Error 429: Too Many Requests (caused by "
         "<HTTPError 429: Too Many Requests>)", "rate_limited", True),
        ("ERROR: unable to download video data: HTTP Error 403: Forbidden", "forbidden", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Join this channel to get access to members-only content like this video, "
         "and other exclusive perks.", "members_only", False),
        ("ERROR: Unsupported URL: https://www.youtube.com/feed/history", "unsupported_url", False),
        ("ERROR: [youtube] kJQP7kiw5Fk: Requested format is not available. Use --list-formats for a list of "
         "available formats", "no_media", False),
        ("ERROR: [generic] clip: No video formats found!", "no_media", False),
        ("ERROR: [generic] Unable to download webpage: <urlopen error [Errno -2] Name or service not known> "
         "(caused by TransportError('<urlopen error [Errno -2] Name or service not known>'))", "network_error", True),
        ("ERROR: [youtube] kJQP7kiw5Fk: Unable to download API page: The read operation timed out (caused by "
         "TransportError('The read operation timed out'))", "network_error", True),
        ("ERROR: [download] Got error: 6795 bytes read, 6795 more expected. Giving up after 2 retries",
         "network_error", True),
        ("ERROR: [vimeo] 76979871: Unable to download JSON metadata: HTTP Error 500: Internal Server Error",
         "download_failed", True),
        ("ERROR: Postprocessing: something new and strange", "download_failed", False),
    ],
)
def test_ytdlp_error_messages_are_classified(message: str, code: str, retryable: bool) -> None:
    classified_code, classified_retryable, hint = classify_ytdlp_error(message)

    assert (classified_code, classified_retryable) == (code, retryable)
    assert hint


@pytest.mark.parametrize(
    ("code", "needle"),
    [("bot_check", "YTT_COOKIES_FILE"), ("sign_in_required", "YTT_COOKIES_FROM_BROWSER"),
     ("age_restricted", "YTT_COOKIES_FILE"), ("geo_blocked", "YTT_PROXY"), ("rate_limited", "wait")],
)
def test_hints_name_the_setting_that_fixes_the_failure(code: str, needle: str) -> None:
    messages = {"bot_check": "Sign in to confirm you’re not a bot", "sign_in_required": "Login details are needed",
                "age_restricted": "confirm your age", "geo_blocked": "not available in your country",
                "rate_limited": "HTTP Error 429"}

    _, _, hint = classify_ytdlp_error(messages[code])

    assert needle in hint


# ---- retry policy ----------------------------------------------------------------------------------------


def test_backoff_doubles_is_capped_and_stops_after_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=5.0)

    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 5.0, 5.0, None]


def test_retry_after_is_honoured_unless_it_is_too_long_to_wait() -> None:
    policy = RetryPolicy(max_retry_after=60.0)

    assert policy.delay(1, 30.0) == 30.0
    assert policy.delay(1, 3600.0) is None


def test_retry_after_headers_parse_as_seconds_or_http_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# ---- the fixed option set --------------------------------------------------------------------------------


def test_ytdlp_options_are_fixed_quiet_and_take_network_settings(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    settings = Settings(home=tmp_path, network={"proxy": "socks5://127.0.0.1:1080", "cookies_file": str(cookies),
                                                "socket_timeout": 12})

    options = _base_options(settings)

    assert options["quiet"] and options["no_warnings"] and options["noprogress"] and options["noplaylist"]
    assert options["logtostderr"] and options["logger"] is not None
    assert (options["proxy"], options["cookiefile"], options["socket_timeout"]) == (
        "socks5://127.0.0.1:1080", str(cookies), 12)
    assert options["postprocessors"] == []
    assert not {"exec_cmd", "exec", "postprocessor_args", "external_downloader"} & set(options)


def test_no_proxy_or_cookies_options_without_settings(settings: Settings) -> None:
    options = _base_options(settings)

    assert "proxy" not in options and "cookiefile" not in options


# ---- discovery through the real yt-dlp against the local site --------------------------------------------


def test_a_page_with_html5_tracks_lists_its_subtitles_and_audio(
    site: Site, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    info, tracks = discover_url(site.url("page-with-tracks.html"), settings)

    assert info.source == site.url("page-with-tracks.html")
    assert info.title == "Talk with subtitles"  # the page title, without yt-dlp's entry number " (1)"
    assert [(t.language, t.kind, t.origin, t.ext) for t in tracks.subtitles] == [
        ("en", "manual", "remote", "vtt"), ("de", "manual", "remote", "vtt")]
    assert tracks.has_audio
    assert capsys.readouterr().out == ""  # stdout is the MCP channel


def test_a_page_without_tracks_routes_to_speech_recognition(site: Site, settings: Settings) -> None:
    info, tracks = discover_url(site.url("page-no-subs.html"), settings)

    assert tracks.subtitles == [] and tracks.has_audio
    assert decide_route(info, tracks, preferred_languages=["en"]).route == "asr"


def test_a_page_without_media_fails_with_no_media(site: Site, settings: Settings) -> None:
    with pytest.raises(DownloadError) as caught:
        discover_url(site.url("page-no-media.html"), settings)

    assert caught.value.code == "no_media"
    assert not caught.value.retryable


@pytest.mark.parametrize(("status", "code"), [(404, "video_unavailable"), (403, "forbidden")])
def test_http_errors_are_classified_and_not_retried(site: Site, settings: Settings, status: int, code: str) -> None:
    sleeps = _Sleeps()

    with pytest.raises(DownloadError) as caught:
        discover_url(site.url(f"status/{status}"), settings, retry=RetryPolicy(sleep=sleeps))

    assert caught.value.code == code
    assert sleeps.calls == []
    assert site.count(f"status/{status}") == 1


def test_persistent_rate_limiting_is_retried_after_retry_after_then_reported(site: Site, settings: Settings) -> None:
    sleeps = _Sleeps()

    with pytest.raises(DownloadError) as caught:
        discover_url(site.url("status/429"), settings, retry=RetryPolicy(max_attempts=3, sleep=sleeps))

    assert caught.value.code == "rate_limited"
    assert caught.value.retryable
    assert caught.value.details["retry_after"] == 7.0
    assert sleeps.calls == [7.0, 7.0]
    assert site.count("status/429") == 3


def test_a_passing_rate_limit_is_waited_out_and_discovery_succeeds(site: Site, settings: Settings) -> None:
    site.fail("page-with-tracks.html", 429, times=1, headers={"Retry-After": "2"})
    sleeps = _Sleeps()

    _, tracks = discover_url(site.url("page-with-tracks.html"), settings, retry=RetryPolicy(sleep=sleeps))

    assert sleeps.calls == [2.0]
    assert len(tracks.subtitles) == 2


def test_an_unreachable_server_is_a_retryable_network_error_with_backoff(site_root: Path, settings: Settings) -> None:
    with serve_site(site_root) as stopped:
        url = stopped.url("page-with-tracks.html")
    sleeps = _Sleeps()

    with pytest.raises(DownloadError) as caught:
        discover_url(url, settings, retry=RetryPolicy(max_attempts=3, base_delay=2.0, sleep=sleeps))

    assert caught.value.code == "network_error"
    assert caught.value.retryable
    assert sleeps.calls == [2.0, 4.0]


@pytest.mark.parametrize(("url", "code"), [("file:///etc/passwd", "url_scheme_not_allowed"),
                                           ("http://exa mple.com/v", "url_malformed")])
def test_bad_urls_never_reach_ytdlp(site: Site, settings: Settings, url: str, code: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        discover_url(url, settings)

    assert caught.value.code == code
    assert site.requests == []


def test_a_page_with_two_videos_is_refused_as_a_playlist(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "two-videos.html").write_text(
        '<html><body><video src="a.mp4"></video><video src="b.mp4"></video></body></html>', encoding="utf-8")

    with serve_site(root) as custom, pytest.raises(DownloadError) as caught:
        discover_url(custom.url("two-videos.html"), settings)

    assert caught.value.code == "unsupported_url"


# ---- downloads -------------------------------------------------------------------------------------------


def _track(tracks: list[SubtitleTrack], language: str) -> SubtitleTrack:
    return next(t for t in tracks if t.language == language)


def test_subtitles_download_to_a_stable_name_and_are_reused_afterwards(
    site: Site, settings: Settings, tmp_path: Path
) -> None:
    _, tracks = discover_url(site.url("page-with-tracks.html"), settings)
    dest = tmp_path / "staging"

    first = download_subtitles(site.url("page-with-tracks.html"), _track(tracks.subtitles, "de"), dest, settings)
    second = download_subtitles(site.url("page-with-tracks.html"), _track(tracks.subtitles, "de"), dest, settings)

    assert first == second == dest / "subtitles.manual.de.vtt"
    assert first.read_text(encoding="utf-8") == (SITE_FIXTURES / "talk.de.vtt").read_text(encoding="utf-8")
    assert site.count("talk.de.vtt") == 1
    assert sorted(p.name for p in dest.iterdir()) == ["subtitles.manual.de.vtt"]  # no temp folders left


def test_routed_subtitles_download_and_parse_into_segments(site: Site, settings: Settings, tmp_path: Path) -> None:
    info, tracks = discover_url(site.url("page-with-tracks.html"), settings)
    decision = decide_route(info, tracks, preferred_languages=["en"])
    assert decision.track is not None

    path = download_subtitles(info.source, decision.track, tmp_path, settings)

    segments = read_subtitle_file(path).segments
    assert [s.text for s in segments] == ["Welcome to the local test site.", "This tone plays for three seconds."]


def test_a_track_no_longer_listed_fails_with_no_subtitles(site: Site, settings: Settings, tmp_path: Path) -> None:
    gone = SubtitleTrack(language="fr", origin="remote", ext="vtt", url=site.url("talk.fr.vtt"))

    dest = tmp_path / "staging"

    with pytest.raises(DownloadError) as caught:
        download_subtitles(site.url("page-with-tracks.html"), gone, dest, settings)

    assert caught.value.code == "no_subtitles"
    assert list(dest.iterdir()) == []


def test_audio_downloads_as_16khz_mono_wav_with_progress_and_is_reused(
    site: Site, settings: Settings, tmp_path: Path
) -> None:
    fractions: list[float] = []
    scratch = tmp_path / "scratch"

    wav = download_audio(site.url("page-no-subs.html"), scratch, settings, progress=fractions.append)
    again = download_audio(site.url("page-no-subs.html"), scratch, settings)

    assert wav == again == scratch / "audio.wav"
    with wave.open(str(wav)) as reader:
        assert (reader.getframerate(), reader.getnchannels()) == (16000, 1)
        assert 2.5 < reader.getnframes() / reader.getframerate() < 3.5
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert site.count("tone.mp4") == 1
    assert sorted(p.name for p in scratch.iterdir()) == ["audio.wav"]


def test_an_interrupted_download_leaves_no_complete_looking_file_and_resumes_later(
    site: Site, settings: Settings, tmp_path: Path
) -> None:
    site.truncate("tone.mp4")
    sleeps = _Sleeps()
    scratch = tmp_path / "scratch"

    with pytest.raises(DownloadError) as caught:
        download_audio(site.url("page-no-subs.html"), scratch, settings, retry=RetryPolicy(max_attempts=2, sleep=sleeps))

    assert caught.value.code == "network_error"
    assert len(sleeps.calls) == 1
    assert [p.name for p in scratch.iterdir() if not p.name.startswith(".")] == []
    assert not any(p.suffix in (".mp4", ".wav") for p in scratch.rglob("*"))  # only .part files, if any
    assert str(tmp_path) not in caught.value.message

    site.clear_faults()
    wav = download_audio(site.url("page-no-subs.html"), scratch, settings)

    assert wav.is_file()
    assert sorted(p.name for p in scratch.iterdir()) == ["audio.wav"]


def test_a_track_without_a_language_on_a_custom_page_is_listed_and_downloaded(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"not downloaded in this test")
    (root / "clip.vtt").write_bytes((SITE_FIXTURES / "talk.en.vtt").read_bytes())
    write_page(root, "clip.html", media="clip.mp4", tracks=[PageTrack("clip.vtt", None)])

    with serve_site(root) as custom:
        _, tracks = discover_url(custom.url("clip.html"), settings)
        path = download_subtitles(custom.url("clip.html"), tracks.subtitles[0], tmp_path / "staging", settings)

    assert [(t.language, t.ext) for t in tracks.subtitles] == [(None, "vtt")]
    assert path.read_bytes() == (root / "clip.vtt").read_bytes()


def test_a_subtitle_track_pointing_at_a_local_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    crafted = SubtitleTrack(language=None, origin="remote", ext="vtt", url="file:///etc/passwd")

    with pytest.raises(InvalidInputError) as caught:
        download_subtitles("https://example.com/v", crafted, tmp_path / "staging", settings)

    assert caught.value.code == "url_scheme_not_allowed"
