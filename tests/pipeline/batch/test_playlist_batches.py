"""Playlist batches against the local test site: a feed of 10 videos (yt-dlp's generic extractor lists it),
requests to the site paced under the configured limit with one back-off shared by every item after a 429,
and a sign-in wall that stops requests to the host while local items go on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.conftest import cli, environment, json_result
from tests.pipeline.batch.conftest import item_states, media_folder
from tests.source.site import PageTrack, Site, serve_site, write_page

RATE = 8.0  # requests per second allowed to the site in these tests


def write_feed(root: Path, site: Site, count: int) -> str:
    items = [f"<item><title>Video {n:02d}</title><link>{site.url(f'v{n:02d}.html')}</link><guid>vid{n:02d}</guid>"
             f"<pubDate>Mon, {n:02d} Jan 2024 10:00:00 GMT</pubDate></item>" for n in range(1, count + 1)]
    (root / "channel.rss").write_text("<?xml version='1.0'?><rss version='2.0'><channel><title>Channel</title>"
                                      + "".join(items) + "</channel></rss>", encoding="utf-8")
    return site.url("channel.rss")


@pytest.fixture
def video_site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    shutil.copyfile(EXAMPLES / "sample-sidecar" / "sample.mp4", root / "talk.mp4")
    shutil.copyfile(EXAMPLES / "sample-sidecar" / "sample.en.vtt", root / "talk.en.vtt")
    for n in range(1, 11):
        write_page(root, f"v{n:02d}.html", media="talk.mp4", title=f"Video {n:02d}",
                   tracks=[PageTrack("talk.en.vtt", "en", "English")])
    with serve_site(root) as site:
        yield site


def polite_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(f'[network]\nhost_rate_limits = {{ "127.0.0.1" = {RATE} }}\n', encoding="utf-8")
    return home


def test_a_playlist_of_ten_completes_with_requests_under_the_limit_and_one_shared_back_off(
        tmp_path: Path, video_site: Site) -> None:
    feed = write_feed(video_site.root, video_site, 10)
    for path in ("/v03.html", "/v07.html", "/talk.en.vtt"):
        video_site.fail(path, 429, times=1, headers={"Retry-After": "1"})
    done = cli("run", feed, "--output-dir", str(tmp_path / "out"), "--concurrency", "2", "--json", cwd=tmp_path,
               env=environment(polite_home(tmp_path)))
    assert done.returncode == 0, done.stderr
    result = json_result(done)
    assert result["state"] == "completed" and result["items"] == {"finished": 10}
    assert len(list((tmp_path / "out").glob("*Video*.md"))) == 10

    times = video_site.request_times
    assert len([t for t in times if t[2] == 429]) == 3
    arrivals = [t[0] for t in times]
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    # Slots are reserved 1/RATE apart (plus jitter) by whichever process sends, so no second holds more than
    # RATE requests (arrival times carry a few ms of client-side noise, hence the small allowance)...
    per = int(RATE)
    windows = [arrivals[i + per] - arrivals[i] for i in range(len(arrivals) - per)]
    assert min(windows) >= 0.95, sorted(windows)[:3]
    assert (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) <= RATE
    # ...and after a 429 with Retry-After: 1, the next request to the site, from any item, waits for it.
    for index, (_, _, status) in enumerate(times[:-1]):
        if status == 429:
            assert gaps[index] >= 0.9, (index, gaps[index])


def test_a_sign_in_wall_stops_requests_to_the_host_while_local_items_go_on_and_resume_retries(
        tmp_path: Path, video_site: Site) -> None:
    local = media_folder(tmp_path / "media", 1)[0]
    listing = tmp_path / "list.txt"
    pages = [video_site.url(f"v{n:02d}.html") for n in range(1, 5)]
    listing.write_text("\n".join([pages[0], pages[1], pages[2], str(local), pages[3]]) + "\n", encoding="utf-8")
    video_site.fail("/v02.html", 401)
    home = polite_home(tmp_path)
    first = cli("run", f"@{listing}", "--output-dir", str(tmp_path / "out"), "--concurrency", "1", "--json",
                cwd=tmp_path, env=environment(home))
    assert first.returncode == 1
    error = json_result(first)["error"]
    assert error["code"] == "run_failed" or error["code"] == "batch_items_unfinished"
    batch_id = json_result(first)["run_id"]
    batch_dir = home / "runs" / batch_id
    states = item_states(batch_dir)
    assert [states[i]["status"] for i in sorted(states)] == ["finished", "waiting", "waiting", "finished", "waiting"]
    assert {states[i]["error"]["code"] for i in ("0002", "0003", "0005")} == {"sign_in_required"}
    assert "cookies" in states["0003"]["error"]["hint"].lower()
    assert video_site.count("/v03.html") == 0 and video_site.count("/v04.html") == 0  # nothing sent after the wall

    video_site.clear_faults()
    resumed = cli("resume", batch_id, "--json", cwd=tmp_path, env=environment(home))
    assert resumed.returncode == 0, resumed.stderr
    assert json_result(resumed)["state"] == "completed"
    assert {s["status"] for s in item_states(batch_dir).values()} == {"finished"}
