"""The output formats a run can publish, the output name each is published under, and the modes it needs.

The article (``md``) is always produced; the others are optional exports. The published outputs of a
run (``Manifest.outputs``) are keyed by output name (``markdown``, ``srt``, ``vtt``, ``json``,
``translated_srt``, ...).

``srt``, ``vtt`` and ``json`` hold the transcript in its own language. The subtitle files in the target
language are named for what they hold rather than for one language, so the same names work for any
``target_language``: ``translated_srt`` / ``translated_vtt`` (``<base>.<lang>.srt``: every cue translated,
with the source timings; modes ``translate`` and ``bilingual``) and ``bilingual_srt`` / ``bilingual_vtt``
(``<base>.bi.srt``: each cue's source line above its translation; mode ``bilingual``).
"""

from __future__ import annotations

from typing import Literal

OutputFormat = Literal["md", "srt", "vtt", "json", "translated_srt", "translated_vtt", "bilingual_srt",
                       "bilingual_vtt"]
ALL_FORMATS: tuple[OutputFormat, ...] = ("md", "srt", "vtt", "json", "translated_srt", "translated_vtt",
                                         "bilingual_srt", "bilingual_vtt")
OUTPUT_NAMES: dict[OutputFormat, str] = {fmt: "markdown" if fmt == "md" else fmt for fmt in ALL_FORMATS}
# The modes a format needs; formats not listed are made in every mode.
FORMAT_MODES: dict[OutputFormat, frozenset[str]] = {
    "translated_srt": frozenset({"translate", "bilingual"}),
    "translated_vtt": frozenset({"translate", "bilingual"}),
    "bilingual_srt": frozenset({"bilingual"}),
    "bilingual_vtt": frozenset({"bilingual"}),
}
CUE_FORMATS: frozenset[OutputFormat] = frozenset(FORMAT_MODES)


def applies(fmt: OutputFormat, mode: str) -> bool:
    """Whether ``fmt`` is made in ``mode``."""
    return mode in FORMAT_MODES.get(fmt, frozenset({mode}))


def formats_for_mode(formats: list[OutputFormat], mode: str) -> list[OutputFormat]:
    return [fmt for fmt in formats if applies(fmt, mode)]
