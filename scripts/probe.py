"""Probe a local media file: ``python -m scripts.probe FILE``.

Prints one JSON document on stdout: ``{"ok": true, "probe": MediaProbe, "info": SourceInfo,
"tracks": SourceTracks}``, or ``{"ok": false, "error": {...}}`` (see scripts/_common.py). URLs are refused
with ``use_discover_for_urls``: remote sources are described by ``python -m scripts.discover URL``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from kernel.source.local import describe_local
from kernel.source.probe import probe_media
from kernel.task_runtime.errors import InvalidInputError
from scripts._common import run_json_command

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def probe_source(source: str) -> dict[str, Any]:
    """The probe, source info and tracks of a local file, as JSON-ready data.

    Raises:
        InvalidInputError: code ``use_discover_for_urls`` when ``source`` is a URL.
        MediaError: the codes of ``kernel.source.local.discover_local``.
    """
    if _URL.match(source):
        raise InvalidInputError(
            "scripts.probe reads local media files only; this source is a URL",
            code="use_discover_for_urls",
            hint=f"Run: python -m scripts.discover {source}",
        )
    path = Path(source).expanduser()
    probe = probe_media(path)
    info, tracks = describe_local(path, probe)
    return {
        "probe": probe.model_dump(mode="json"),
        "info": info.model_dump(mode="json"),
        "tracks": tracks.model_dump(mode="json"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.probe",
        description="Describe a local audio/video file (streams, tags, chapters, subtitle tracks) as JSON.",
    )
    parser.add_argument("source", help="path of a local media file")
    args = parser.parse_args(argv)
    return run_json_command(lambda: probe_source(args.source))


if __name__ == "__main__":
    sys.exit(main())
