"""The shared host schedule: slots 1/rate apart, one back-off for everybody after a 429, a block after a bot
check that lifts when the network identity changes or its time is up; the host's own loopback is not limited."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from kernel.config import load_settings
from kernel.source.politeness import HostBlockedError, HostLimiter, rate_for
from tests.source import site as local_site
from tests.source.site import Site

site, site_root = local_site.site, local_site.site_root


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def limiter(tmp_path: Path, fake: FakeTime, **env: str) -> HostLimiter:
    settings = load_settings({"YTT_HOME": str(tmp_path / "home"), **env}, cwd=tmp_path)
    return HostLimiter(tmp_path / "hosts", settings, clock=fake.clock, sleep=fake.sleep, rng=random.Random(7))


def test_requests_to_one_host_are_spaced_by_its_rate_and_jitter_only_stretches_the_gap(tmp_path: Path) -> None:
    fake = FakeTime()
    hosts = limiter(tmp_path, fake, YTT_REQUESTS_PER_SECOND="2")
    starts = []
    for _ in range(5):
        hosts.acquire("https://example.org/page")
        starts.append(fake.now)
    gaps = [b - a for a, b in pairwise(starts)]
    assert all(0.5 <= gap <= 0.5 * 1.3 + 1e-9 for gap in gaps), gaps
    before = fake.now
    hosts.acquire("https://other.example.net/")  # another host has its own schedule: no wait
    assert fake.now == before


def test_a_429_pushes_every_caller_past_the_retry_after_and_slows_the_host(tmp_path: Path) -> None:
    fake = FakeTime()
    first = limiter(tmp_path, fake)
    second = limiter(tmp_path, fake)  # another process, same folder
    first.acquire("https://example.org/a")
    first.back_off("https://example.org/a", 10.0)
    before = fake.now
    second.acquire("https://example.org/b")
    assert fake.now - before >= 10.0
    assert second.state("example.org")["slowdown"] == 2.0


def test_a_bot_check_blocks_the_host_until_the_cookies_change(tmp_path: Path) -> None:
    fake = FakeTime()
    hosts = limiter(tmp_path, fake)
    hosts.block("https://www.youtube.com/watch?v=x", "bot_check", "Sign in to confirm you're not a bot", "use cookies")
    with pytest.raises(HostBlockedError) as blocked:
        hosts.acquire("https://www.youtube.com/watch?v=y")
    assert blocked.value.code == "bot_check" and blocked.value.details["host_blocked"]
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n", encoding="utf-8")
    with_cookies = limiter(tmp_path, fake, YTT_COOKIES_FILE=str(cookies))
    with_cookies.acquire("https://www.youtube.com/watch?v=y")  # another identity: not blocked
    hosts.block("https://www.youtube.com/watch?v=x", "bot_check", "again", None)
    fake.now += hosts.settings.network.host_block_minutes * 60 + 1
    hosts.acquire("https://www.youtube.com/watch?v=z")  # the block's time is up


def test_youtube_is_slower_by_default_and_loopback_is_not_limited(tmp_path: Path) -> None:
    settings = load_settings({"YTT_HOME": str(tmp_path)}, cwd=tmp_path)
    assert rate_for("www.youtube.com", settings) == 0.5
    assert rate_for("rr3---sn-abc.googlevideo.com", settings) == 2.0
    assert rate_for("example.org", settings) == settings.network.requests_per_second
    assert rate_for("127.0.0.1", settings) is None


def test_yt_dlp_sends_nothing_to_a_blocked_host_and_a_429_reaches_the_shared_schedule(
        tmp_path: Path, site: Site) -> None:
    from kernel.source.ytdlp import RetryPolicy, discover

    settings = load_settings({"YTT_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    hosts = HostLimiter.for_settings(settings)
    site.fail("/page-with-tracks.html", 429, times=1, headers={"Retry-After": "0"})
    discover(site.url("page-with-tracks.html"), settings, retry=RetryPolicy(sleep=lambda seconds: None))
    assert hosts.state("127.0.0.1")["backoffs"] == 1  # the 429 slowed every process going there

    hosts.block(site.url("page-no-subs.html"), "bot_check", "confirm you are not a bot", "use cookies")
    sent = len(site.requests)
    with pytest.raises(HostBlockedError) as blocked:
        discover(site.url("page-no-subs.html"), settings)
    assert blocked.value.code == "bot_check"
    assert len(site.requests) == sent
