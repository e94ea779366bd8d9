"""The output formats a run can publish, and the output name each is published under.

The article (``md``) is always produced; the others are optional exports. The published outputs of a
run (``Manifest.outputs``) are keyed by output name (``markdown``, ``srt``, ``vtt``, ``json``).
"""

from __future__ import annotations

from typing import Literal

OutputFormat = Literal["md", "srt", "vtt", "json"]
ALL_FORMATS: tuple[OutputFormat, ...] = ("md", "srt", "vtt", "json")
OUTPUT_NAMES: dict[OutputFormat, str] = {"md": "markdown", "srt": "srt", "vtt": "vtt", "json": "json"}
