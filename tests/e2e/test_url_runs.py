"""``yt-transcript run URL`` end to end: the real CLI, real yt-dlp against a local site, the bundled whisper.

A page with subtitle tracks gives an article made from the chosen track, without downloading the media;
a page with media and no tracks goes through speech recognition. Either way ``inspect`` shows the route
and the reasons for it.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import (
    SCRIPT,
    SCRIPT_TEXT,
    cli,
    environment,
    front_matter,
    inspect_run,
    json_result,
    phase_table,
    word_recall,
)
from tests.source.site import Site


def test_a_page_with_tracks_becomes_an_article_from_its_english_subtitles(talk_site: Site, tmp_path: Path) -> None:
    env = environment(tmp_path)
    proc = cli("run", talk_site.url("talk-with-tracks.html"), "--output-dir", "out", "--json", cwd=tmp_path, env=env)

    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr  # yt-dlp's routine warnings stay in the log, off the terminal
    result = json_result(proc)
    assert result["state"] == "completed"
    markdown = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    for cue in (SCRIPT["cues"][0], SCRIPT["cues"][3], SCRIPT["cues"][-1]):
        assert cue["text"] in markdown
    assert "Willkommen" not in markdown
    fields = front_matter(markdown)
    assert fields["transcript_source"] == "subtitles (manual, en)"
    assert fields["title"] == SCRIPT["title"]
    assert fields["source"] == talk_site.url("talk-with-tracks.html")
    assert "Maria Lopez suggested" in Path(result["outputs"]["srt"]).read_text(encoding="utf-8")
    assert talk_site.count("talk.en.vtt") >= 1
    assert talk_site.count("talk.de.vtt") == 0
    assert talk_site.count("talk.mp4") == 0  # the subtitles route never downloads the media

    envelope = inspect_run(result["run_id"], cwd=tmp_path, env=env)
    route = envelope["data"]["domain"]["route"]
    assert (route["route"], route["language"]) == ("subtitles", "en")
    assert route["reasons"] and all(isinstance(reason, str) and reason for reason in route["reasons"])
    assert phase_table(envelope)["transcribe"]["status"] == "succeeded"


def test_a_page_with_media_and_no_tracks_is_transcribed_by_the_bundled_whisper(
    talk_site: Site, tmp_path: Path
) -> None:
    env = environment(tmp_path)
    proc = cli("run", talk_site.url("talk-no-subs.html"), "--output-dir", "out", "--json", cwd=tmp_path, env=env)

    assert proc.returncode == 0, proc.stderr
    result = json_result(proc)
    assert result["state"] in ("completed", "completed_degraded")
    markdown = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    source = front_matter(markdown)["transcript_source"]
    assert source.startswith("whisper") and "base" in source, source  # e.g. "whisper-base (bundled)"
    body = markdown.split("\n---\n", 1)[1]
    assert word_recall(SCRIPT_TEXT, body) >= 0.7, body
    assert talk_site.count("talk.m4a") >= 1

    envelope = inspect_run(result["run_id"], cwd=tmp_path, env=env)
    route = envelope["data"]["domain"]["route"]
    assert (route["route"], route["backend"]) == ("asr", "whisper")
    assert route["reasons"] and all(isinstance(reason, str) and reason for reason in route["reasons"])
