"""Every way YouTube says no, told apart: recorded yt-dlp texts (tests/fixtures/ytdlp/youtube_blocks.json,
each with its origin) classify to their own code and hint, and a subtitle file the site refuses or sends
empty is a subtitle block, exercised for real against the local site."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from kernel.config import ConfigError, Settings, load_settings
from kernel.source.routing import REROUTABLE_SUBTITLE_FAILURES, SUBTITLE_BLOCK_CODES
from kernel.source.ytdlp import discover_url, download_subtitles
from kernel.source.ytdlp_errors import (
    _HINTS,
    DOWNLOAD_ERROR_CODES,
    DownloadError,
    RetryPolicy,
    caption_needs_po_token,
    classify_failure,
    classify_ytdlp_warning,
    subtitle_failure,
)
from kernel.transcript import SubtitleTrack
from tests.conftest import FIXTURES
from tests.source import site as local_site
from tests.source.site import SITE_FIXTURES, PageTrack, Site, serve_site, write_page

site, site_root = local_site.site, local_site.site_root  # fixtures

BLOCKS: dict[str, Any] = json.loads((FIXTURES / "ytdlp" / "youtube_blocks.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = BLOCKS["cases"]
UPDATE_COMMAND = 'python -m pip install -U "yt-dlp[default]"'

# The classes of YouTube refusal and the remedies each hint must name.
REMEDIES: dict[str, list[str]] = {
    "bot_check": ["YTT_COOKIES_FROM_BROWSER", "YTT_COOKIES_FILE", "YTT_PROXY", "bgutil-ytdlp-pot-provider"],
    "sign_in_required": ["YTT_COOKIES_FROM_BROWSER", "YTT_COOKIES_FILE"],
    "age_restricted": ["YTT_COOKIES_FROM_BROWSER", "YTT_COOKIES_FILE"],
    "members_only": ["YTT_COOKIES_FROM_BROWSER", "YTT_COOKIES_FILE", "member"],
    "geo_blocked": ["YTT_PROXY"],
    "po_token_required": ["bgutil-ytdlp-pot-provider"],
    "subtitles_po_token_required": ["bgutil-ytdlp-pot-provider", "transcribe the audio instead"],
    "js_challenge_failed": ["js_runtime line of the run's preflight report", "YTT_JS_RUNTIME", UPDATE_COMMAND],
    "subtitles_rate_limited": ["transcribe the audio instead", "YTT_PROXY"],
    "subtitles_forbidden": ["transcribe the audio instead", "YTT_COOKIES_FROM_BROWSER", "bgutil-ytdlp-pot-provider"],
    "ytdlp_outdated": [UPDATE_COMMAND],
}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# ---- recorded messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_each_recorded_youtube_refusal_gets_its_own_code(case: dict[str, Any]) -> None:
    if case.get("warning_only"):
        assert {classify_ytdlp_warning(w) for w in case["warnings"]} == {case["code"]}
        return

    code, retryable, hint = classify_failure(case["error"], case.get("warnings", []), status=case.get("status"))
    if case.get("subtitle"):
        failure = subtitle_failure(DownloadError(case["error"], code=code, hint=hint, retryable=retryable,
                                                 details={"ytdlp_message": case["error"]}), case.get("track_url"))
        code, retryable, hint = failure.code, failure.retryable, failure.hint or ""

    assert code == case["code"]
    assert retryable is case.get("retryable", False)
    assert hint


def test_every_class_of_refusal_is_covered_by_a_recorded_message() -> None:
    assert set(REMEDIES) <= {case["code"] for case in CASES}


@pytest.mark.parametrize("code", sorted(REMEDIES))
def test_each_hint_names_its_concrete_remedy(code: str) -> None:
    missing = [needle for needle in REMEDIES[code] if needle not in _HINTS[code]]

    assert missing == []


def test_no_two_codes_share_a_hint() -> None:
    hints = [_HINTS[code] for code in DOWNLOAD_ERROR_CODES]

    assert len(set(hints)) == len(hints)


SAMPLE_VALUES = {"YTT_COOKIES_FROM_BROWSER": "firefox", "YTT_COOKIES_FILE": "cookies.txt",
                 "YTT_PROXY": "socks5://127.0.0.1:1080", "YTT_JS_RUNTIME": "node"}


def test_every_setting_a_hint_names_is_one_the_settings_read(tmp_path: Path) -> None:
    named = {name for hint in _HINTS.values() for name in re.findall(r"YTT_[A-Z_]+", hint)}
    default = load_settings({"YTT_HOME": str(tmp_path)}, cwd=tmp_path).public_dict()

    for name in sorted(named):
        env = {"YTT_HOME": str(tmp_path), name: SAMPLE_VALUES.get(name, "/opt/runtime/bin/node")}
        if name == "YTT_JS_RUNTIME_PATH":
            env["YTT_JS_RUNTIME"] = "node"
        assert load_settings(env, cwd=tmp_path).public_dict() != default, name


def test_the_update_command_names_an_extra_the_installed_ytdlp_declares() -> None:
    extras = metadata.metadata("yt-dlp").get_all("Provides-Extra") or []

    assert "default" in extras
    assert all(UPDATE_COMMAND in _HINTS[code] for code in ("ytdlp_outdated", "js_challenge_failed"))


def test_subtitle_blocks_are_the_codes_that_reroute_to_speech_recognition() -> None:
    assert SUBTITLE_BLOCK_CODES <= DOWNLOAD_ERROR_CODES
    assert SUBTITLE_BLOCK_CODES <= REROUTABLE_SUBTITLE_FAILURES
    assert not (DOWNLOAD_ERROR_CODES - SUBTITLE_BLOCK_CODES) & REROUTABLE_SUBTITLE_FAILURES  # page blocks do not


def test_a_warning_that_explains_nothing_leaves_the_failure_as_it_was() -> None:
    # Both warnings as yt-dlp logs them (the second from extractor/common.py _search_regex, fatal=False).
    optional_field = ("[generic] clip: unable to extract OpenGraph title; please report this issue on  "
                      "https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template. "
                      "Confirm you are on the latest version using  yt-dlp -U")
    code, _, _ = classify_failure("ERROR: [generic] clip: No video formats found!",
                                  ["[generic] Falling back on generic information extractor", optional_field])

    assert code == "no_media"


def test_a_precise_message_beats_the_http_status() -> None:
    bot = "ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies"

    assert classify_failure(bot, status=403)[0] == "bot_check"
    assert classify_failure("ERROR: HTTP Error 403: Forbidden", status=403)[0] == "forbidden"


@pytest.mark.parametrize(("url", "needs"), [
    ("https://www.youtube.com/api/timedtext?v=x&lang=en&exp=xpe&fmt=vtt", True),
    ("https://www.youtube.com/api/timedtext?v=x&lang=en&exp=xpv&fmt=vtt", True),
    ("https://www.youtube.com/api/timedtext?v=x&lang=en&exp=xpe&pot=TOKEN&potc=1&fmt=vtt", False),
    ("https://www.youtube.com/api/timedtext?v=x&lang=en&fmt=vtt", True),
    ("https://cdn.example.com/talk.en.vtt", False),
    (None, False),
])
def test_a_caption_url_without_a_po_token_is_recognised(url: str | None, needs: bool) -> None:
    assert caption_needs_po_token(url) is needs


# ---- subtitle blocks through the real yt-dlp against the local site -------------------------------------


def _track(site: Site, settings: Settings, page: str, language: str | None) -> SubtitleTrack:
    _, tracks = discover_url(site.url(page), settings)
    return next(t for t in tracks.subtitles if t.language == language)


@pytest.mark.parametrize(("status", "code", "attempts"), [(429, "subtitles_rate_limited", 3),
                                                          (403, "subtitles_forbidden", 1)])
def test_a_refused_subtitle_file_is_a_subtitle_block_not_a_page_failure(
    status: int, code: str, attempts: int, site: Site, settings: Settings, tmp_path: Path
) -> None:
    track = _track(site, settings, "page-with-tracks.html", "en")
    site.fail("talk.en.vtt", status, headers={"Retry-After": "0"})
    sleeps = _Sleeps()

    with pytest.raises(DownloadError) as caught:
        download_subtitles(site.url("page-with-tracks.html"), track, tmp_path / "staging", settings,
                           retry=RetryPolicy(max_attempts=3, sleep=sleeps))

    assert caught.value.code == code
    assert caught.value.code in REROUTABLE_SUBTITLE_FAILURES
    assert site.count("talk.en.vtt") == attempts  # a 429 is worth waiting for, a 403 is not
    assert caught.value.hint and "transcribe the audio instead" in caught.value.hint
    assert list((tmp_path / "staging").iterdir()) == []


def test_a_refused_page_while_fetching_subtitles_is_not_a_subtitle_block(
    site: Site, settings: Settings, tmp_path: Path
) -> None:
    track = _track(site, settings, "page-with-tracks.html", "en")
    site.fail("page-with-tracks.html", 429, headers={"Retry-After": "0"})

    with pytest.raises(DownloadError) as caught:
        download_subtitles(site.url("page-with-tracks.html"), track, tmp_path / "staging", settings,
                           retry=RetryPolicy(max_attempts=2, sleep=_Sleeps()))

    assert caught.value.code == "rate_limited"  # the audio would be refused as well: no reroute
    assert site.count("talk.en.vtt") == 0


@pytest.mark.parametrize(("query", "code"), [("?lang=en&exp=xpe", "subtitles_po_token_required"),
                                             ("?lang=en", "subtitles_empty")])
def test_an_empty_caption_body_is_a_po_token_block_when_the_url_says_so(
    query: str, code: str, tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"not downloaded in this test")
    (root / "captions.vtt").write_bytes(b"")
    write_page(root, "clip.html", media="clip.mp4", tracks=[PageTrack(f"captions.vtt{query}", "en")])
    sleeps = _Sleeps()

    with serve_site(root) as custom:
        track = _track(custom, settings, "clip.html", "en")
        with pytest.raises(DownloadError) as caught:
            download_subtitles(custom.url("clip.html"), track, tmp_path / "staging", settings,
                               retry=RetryPolicy(sleep=sleeps))

    assert caught.value.code == code
    assert not caught.value.retryable and sleeps.calls == []  # an empty answer does not fill up by waiting


def test_a_track_fetched_by_its_own_url_reports_its_blocks_too(tmp_path: Path, settings: Settings) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"not downloaded in this test")
    (root / "clip.vtt").write_bytes((SITE_FIXTURES / "talk.en.vtt").read_bytes())
    (root / "blank.vtt").write_bytes(b"")
    write_page(root, "clip.html", media="clip.mp4", tracks=[PageTrack("clip.vtt", None)])
    write_page(root, "blank.html", media="clip.mp4", tracks=[PageTrack("blank.vtt?exp=xpe", None)])

    with serve_site(root) as custom:
        refused = _track(custom, settings, "clip.html", None)
        custom.fail("clip.vtt", 403)
        with pytest.raises(DownloadError) as forbidden:
            download_subtitles(custom.url("clip.html"), refused, tmp_path / "a", settings)
        empty = _track(custom, settings, "blank.html", None)
        with pytest.raises(DownloadError) as po_token:
            download_subtitles(custom.url("blank.html"), empty, tmp_path / "b", settings)

    assert forbidden.value.code == "subtitles_forbidden"
    assert po_token.value.code == "subtitles_po_token_required"


# ---- cookies from a browser ------------------------------------------------------------------------------


def test_cookies_from_a_browser_reach_ytdlp_in_its_own_option_shape(tmp_path: Path) -> None:
    from kernel.source.ytdlp import _base_options

    settings = load_settings({"YTT_HOME": str(tmp_path), "YTT_COOKIES_FROM_BROWSER": "Chrome+gnomekeyring:Profile 1"},
                             cwd=tmp_path)

    assert _base_options(settings)["cookiesfrombrowser"] == ("chrome", "Profile 1", "GNOMEKEYRING", None)


def test_an_unknown_browser_is_refused_before_yt_dlp_fetches_anything(site: Site, tmp_path: Path) -> None:
    settings = load_settings({"YTT_HOME": str(tmp_path), "YTT_COOKIES_FROM_BROWSER": "netscape"}, cwd=tmp_path)

    with pytest.raises(ConfigError) as caught:
        discover_url(site.url("page-with-tracks.html"), settings)

    assert caught.value.code == "config_error"
    assert caught.value.hint and "firefox" in caught.value.hint
    assert site.requests == []


# ---- what discovery says was withheld --------------------------------------------------------------------


def test_discovery_of_an_unblocked_page_notes_nothing_withheld(site: Site, settings: Settings) -> None:
    from kernel.source.ytdlp import discover

    found = discover(site.url("page-with-tracks.html"), settings)

    assert found.withheld == ()  # the generic extractor's chatter is not a block
    assert [t.language for t in found.tracks.subtitles] == ["en", "de"]


def test_warnings_that_reveal_a_block_become_one_note_each() -> None:
    from kernel.source.ytdlp import withheld_notes

    warnings = [w for case in CASES for w in case.get("warnings", [])]

    notes = withheld_notes([*warnings, "[generic] Falling back on generic information extractor"])

    assert [note.split(":", 1)[0] for note in notes] == [
        classify_ytdlp_warning(w) for w in dict.fromkeys(warnings) if classify_ytdlp_warning(w)]
