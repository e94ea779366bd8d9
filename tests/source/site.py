"""A local HTTP site for yt-dlp tests: real yt-dlp, real HTTP, no internet.

The site serves a folder over a threaded ``http.server`` on 127.0.0.1 (random port) plus two kinds of
programmable trouble: fixed status pages (``/status/404``, ``/status/403``, ``/status/429`` with
``Retry-After: 7``) and per-path faults (``Site.fail`` answers a status a number of times, ``Site.truncate``
sends half of a file and drops the connection). Every request path is recorded in ``Site.requests``, and with
its arrival time and the fault it got in ``Site.request_times``.

yt-dlp's generic extractor reads HTML5 ``<video src>`` / ``<track>`` pages, so ``write_page`` is all a test
needs to publish its own media and subtitles. Reuse the fixtures from another test module with::

    from tests.source import site as local_site

    site, site_root = local_site.site, local_site.site_root

The default site (``site_root``, built once per session) has ``tone.mp4`` (3 s, 440 Hz AAC, made with the
bundled ffmpeg), ``talk.en.vtt`` and ``talk.de.vtt`` (from tests/fixtures/site) and the pages
``page-with-tracks.html``, ``page-no-subs.html`` and ``page-no-media.html``.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

SITE_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "site"
_log = logging.getLogger("tests.site")


@dataclass(frozen=True)
class PageTrack:
    """One ``<track>`` element: ``src`` is a file name under the site root."""

    src: str
    srclang: str | None
    label: str | None = None
    kind: str = "subtitles"


@dataclass
class _Fault:
    status: int | None  # None: truncate the body instead of answering a status
    remaining: int | None  # None: forever
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Site:
    """A running site. ``url(path)`` makes absolute URLs; faults apply to exact paths (``/page.html``)."""

    base_url: str
    root: Path
    requests: list[str] = field(default_factory=list)
    request_times: list[tuple[float, str, int | None]] = field(default_factory=list)  # (monotonic, path, fault status)
    _faults: dict[str, _Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def fail(self, path: str, status: int, *, times: int | None = None, headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` for ``path`` the next ``times`` requests (forever when None)."""
        with self._lock:
            self._faults["/" + path.lstrip("/")] = _Fault(status, times, dict(headers or {}))

    def truncate(self, path: str, *, times: int | None = None) -> None:
        """Send a full Content-Length but only half the body of ``path``, then close the connection."""
        with self._lock:
            self._faults["/" + path.lstrip("/")] = _Fault(None, times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.count("/" + path.lstrip("/"))

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            self.requests.append(path)
            fault = self._faults.get(path)
            self.request_times.append((time.monotonic(), path, fault.status if fault else None))
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[path]
            return fault


class _Handler(SimpleHTTPRequestHandler):
    site: Site

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        self.site = site
        super().__init__(*args, directory=str(site.root), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:
        if not self._handle_trouble(send_body=False):
            super().do_HEAD()

    def do_GET(self) -> None:
        if not self._handle_trouble(send_body=True):
            super().do_GET()

    def _handle_trouble(self, *, send_body: bool) -> bool:
        path = self.path.split("?", 1)[0]
        fault = self.site._take_fault(path)
        if fault is None and path.startswith("/status/") and path[len("/status/"):].isdigit():
            status = int(path[len("/status/"):])
            fault = _Fault(status, None, {"Retry-After": "7"} if status == 429 else {})
        if fault is None:
            return False
        if fault.status is None:
            self._send_truncated(path, send_body=send_body)
            return True
        body = f"<html><body><h1>{fault.status}</h1></body></html>".encode()
        self.send_response(fault.status)
        for name, value in fault.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
        return True

    def _send_truncated(self, path: str, *, send_body: bool) -> None:
        data = (self.site.root / path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("client %s went away", client_address)  # yt-dlp drops connections on purpose


@contextmanager
def serve_site(root: Path) -> Iterator[Site]:
    """Serve ``root`` on 127.0.0.1 at a random port until the block ends."""
    site = Site(base_url="", root=root)
    server = _Server(("127.0.0.1", 0), partial(_Handler, site=site))
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_page(root: Path, name: str, *, media: str | None, tracks: Sequence[PageTrack] = (),
               title: str = "Local test video", media_tag: str = "video") -> str:
    """Write ``root/name``: an HTML5 ``<video>`` (or ``<audio>``) of ``media`` with ``tracks``, or, with no
    media, a plain page. Returns ``name`` (a path for ``Site.url``)."""
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{html.escape(title)}</title>",
             "</head><body>", f"<h1>{html.escape(title)}</h1>"]
    if media is not None:
        parts.append(f'<{media_tag} controls src="{html.escape(media)}">')
        for track in tracks:
            attributes = [f'kind="{track.kind}"', f'src="{html.escape(track.src)}"']
            if track.srclang:
                attributes.append(f'srclang="{html.escape(track.srclang)}"')
            if track.label:
                attributes.append(f'label="{html.escape(track.label)}"')
            parts.append(f"<track {' '.join(attributes)}>")
        parts.append(f"</{media_tag}>")
    else:
        parts.append("<p>This page has text and no media at all.</p>")
    parts.append("</body></html>")
    (root / name).write_text("\n".join(parts) + "\n", encoding="utf-8")
    return name


def make_tone(path: Path, *, seconds: float = 3.0, frequency: int = 440) -> Path:
    """Write a sine tone as AAC in MP4 with the bundled ffmpeg."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"sine=frequency={frequency}:duration={seconds}", "-c:a", "aac", "-b:a", "32k", str(path)],
        check=True, capture_output=True,
    )
    return path


def build_default_site(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    make_tone(root / "tone.mp4")
    for vtt in ("talk.en.vtt", "talk.de.vtt"):
        shutil.copyfile(SITE_FIXTURES / vtt, root / vtt)
    write_page(root, "page-with-tracks.html", media="tone.mp4", title="Talk with subtitles", tracks=[
        PageTrack("talk.en.vtt", "en", "English"), PageTrack("talk.de.vtt", "de", "Deutsch")])
    write_page(root, "page-no-subs.html", media="tone.mp4", title="Talk without subtitles")
    write_page(root, "page-no-media.html", media=None, title="Just text")
    return root


@pytest.fixture(scope="session")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default site's files, built once per test session (treat as read-only)."""
    return build_default_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def site(site_root: Path) -> Iterator[Site]:
    """The default site, served fresh for one test (its own request log and faults)."""
    with serve_site(site_root) as running:
        yield running
