"""Benchmark: batch throughput and politeness.

``python -m benchmarks.batch [--items N] [--rate R]`` runs the real CLI (``yt-transcript run FOLDER``) on a
folder of N small media files (a 1 s tone with an English sidecar each: no speech recognition) at concurrency
1 and 2, each in a fresh YTT_HOME, and reports items per minute (wall time of the whole command, pool start-up
included). Then it serves a feed of 6 videos (the bundled sample talk) on a local site limited to R requests per
second, answering 429 with ``Retry-After: 1`` to two requests, runs the feed as a batch at concurrency 2 and
reports the measured request rate: overall, and the most requests seen in any one-second window, against R.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts._common import run_json_command
from tests.conftest import EXAMPLES, FIXTURES, REPO_ROOT
from tests.e2e.conftest import environment
from tests.source.site import PageTrack, serve_site, write_page


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def throughput(items: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        media = root / "media"
        media.mkdir()
        for n in range(1, items + 1):
            shutil.copyfile(FIXTURES / "media" / "tone.m4a", media / f"clip{n:02d}.m4a")
            shutil.copyfile(FIXTURES / "subtitles" / "manual.en.vtt", media / f"clip{n:02d}.en.vtt")
        started = time.perf_counter()
        done = _cli("run", str(media), "--output-dir", str(root / "out"), "--concurrency", str(concurrency),
                    "--json", cwd=root, env=environment(root / "home"))
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
    return {"items": items, "concurrency": concurrency, "seconds": round(seconds, 2),
            "items_per_minute": round(items / seconds * 60, 1)}


def request_rate(rate: float, videos: int = 6) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        site_root = root / "site"
        site_root.mkdir()
        shutil.copyfile(EXAMPLES / "sample-sidecar" / "sample.mp4", site_root / "talk.mp4")
        shutil.copyfile(EXAMPLES / "sample-sidecar" / "sample.en.vtt", site_root / "talk.en.vtt")
        home = root / "home"
        home.mkdir()
        (home / "config.toml").write_text(f'[network]\nhost_rate_limits = {{ "127.0.0.1" = {rate} }}\n',
                                          encoding="utf-8")
        with serve_site(site_root) as site:
            links = []
            for n in range(1, videos + 1):
                write_page(site_root, f"v{n}.html", media="talk.mp4", title=f"Video {n}",
                           tracks=[PageTrack("talk.en.vtt", "en", "English")])
                links.append(f"<item><title>Video {n}</title><link>{site.url(f'v{n}.html')}</link></item>")
            (site_root / "feed.rss").write_text("<?xml version='1.0'?><rss version='2.0'><channel><title>Feed"
                                                "</title>" + "".join(links) + "</channel></rss>", encoding="utf-8")
            for path in ("/v2.html", "/v5.html"):
                site.fail(path, 429, times=1, headers={"Retry-After": "1"})
            started = time.perf_counter()
            done = _cli("run", site.url("feed.rss"), "--output-dir", str(root / "out"), "--concurrency", "2",
                        "--json", cwd=root, env=environment(home))
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            arrivals = [t for t, _, _ in site.request_times]
    per_window = 0
    for index, start in enumerate(arrivals):
        per_window = max(per_window, sum(1 for t in arrivals[index:] if t - start < 1.0))
    span = arrivals[-1] - arrivals[0]
    return {"limit_per_second": rate, "requests": len(arrivals), "answered_429": 2,
            "mean_per_second": round((len(arrivals) - 1) / span, 2), "max_in_any_second": per_window,
            "batch_seconds": round(seconds, 2), "videos": videos}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--rate", type=float, default=4.0)
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        assert REPO_ROOT.is_dir()
        return {"throughput": [throughput(args.items, 1), throughput(args.items, 2)],
                "politeness": request_rate(args.rate)}

    return run_json_command(body)


if __name__ == "__main__":
    sys.exit(main())
