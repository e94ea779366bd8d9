"""A subtitle file the site will not hand over, while its audio is fine, through the real CLI: the run
reroutes to speech recognition by itself and finishes, and the route says which track was refused and why.

The local site answers the English track with 403 (what YouTube does to caption requests without a PO
token) or 429 (a rate limit on subtitles, retried a bounded number of times first; ``Retry-After: 0`` so
the retries cost no waiting). The page and the media answer normally.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import (
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


@pytest.mark.parametrize(("status", "code", "track_requests"), [(429, "subtitles_rate_limited", 3),
                                                                (403, "subtitles_forbidden", 1)],
                         ids=["429", "403"])
def test_a_refused_subtitle_file_reroutes_the_run_to_speech_recognition_which_finishes(
    status: int, code: str, track_requests: int, talk_site: Site, tmp_path: Path
) -> None:
    talk_site.fail("talk.en.vtt", status, headers={"Retry-After": "0"})
    env = environment(tmp_path)

    proc = cli("run", talk_site.url("talk-with-tracks.html"), "--output-dir", "out", "--json", cwd=tmp_path, env=env)

    assert proc.returncode == 0, proc.stderr
    result = json_result(proc)
    assert result["state"] in ("completed", "completed_degraded")
    markdown = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")
    assert front_matter(markdown)["transcript_source"].startswith("whisper")
    assert word_recall(SCRIPT_TEXT, markdown.split("\n---\n", 1)[1]) >= 0.7
    assert talk_site.count("talk.en.vtt") == track_requests  # the block, retried only when waiting can help
    assert talk_site.count("talk.de.vtt") == 0  # German is not a preferred language: no second subtitle try
    assert talk_site.count("talk.mp4") >= 1

    envelope = inspect_run(result["run_id"], cwd=tmp_path, env=env)
    route = envelope["data"]["domain"]["route"]
    assert (route["route"], route["backend"]) == ("asr", "whisper")
    refused = [reason for reason in route["reasons"] if "manual en subtitles" in reason and "rejected" in reason]
    assert len(refused) == 1, route["reasons"]
    assert code in refused[0] and f"HTTP Error {status}" in refused[0]
    phases = phase_table(inspect_run(result["run_id"], cwd=tmp_path, env=env, detail="phases"))
    assert (phases["route"]["runs"], phases["acquire"]["runs"]) == (2, 2)  # subtitles, then audio
