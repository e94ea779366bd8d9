"""The article's table of contents and the GitHub-style anchors its links point to.

Invariants:
- ``heading_slug`` is GitHub's algorithm (github-slugger): the heading's text content (link targets and
  emphasis marks removed) lower-cased, every character that is not a letter, mark, number, ``_``, ``-``
  or space dropped, spaces turned into ``-``. CJK letters are letters, so Chinese headings keep them.
- ``Slugger`` numbers repeats as GitHub does (``intro``, ``intro-1``, ``intro-2``), counting every heading
  of the document in order, the ``# title`` included, so each link resolves to the heading it names.
- A table of contents is written only for at least ``MIN_TOC_SECTIONS`` ``## `` headings; it lists them
  in order, each linked to its anchor and followed by its time (and the time's own link) when it has one.
- Pure functions; fenced code blocks are never read as headings.
"""

from __future__ import annotations

import re
import unicodedata

MIN_TOC_SECTIONS = 3

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TIME_SUFFIX = re.compile(r" (\[\d{1,2}:\d{2}(?::\d{2})?\](?:\([^)\s]+\))?)$")


def heading_text_content(markdown: str) -> str:
    """The text a reader sees in a heading: link texts kept, link targets and emphasis marks dropped."""
    text = _LINK.sub(lambda match: match.group(1), markdown)
    return re.sub(r"[*`]|(?<!\w)_|_(?!\w)", "", text)


def heading_slug(markdown: str) -> str:
    """The GitHub anchor of one heading (without the repeat counter)."""
    text = heading_text_content(markdown).strip().lower()
    kept = "".join(
        char for char in text if char in " -_" or unicodedata.category(char)[0] in ("L", "M", "N")
    )
    return kept.replace(" ", "-")


class Slugger:
    """Unique anchors for a document's headings, in order (GitHub numbering of repeats)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, markdown: str) -> str:
        base = heading_slug(markdown)
        slug = base
        while slug in self._seen:
            self._seen[base] += 1
            slug = f"{base}-{self._seen[base]}"
        self._seen[slug] = 0
        return slug


def headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, text)`` of every ATX heading outside code fences, in order."""
    found: list[tuple[int, str]] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def table_of_contents(article_headings: list[tuple[int, str]]) -> str:
    """The Markdown list linking every ``## `` heading, or "" for fewer than ``MIN_TOC_SECTIONS``.

    ``article_headings`` are all the article's headings in order, the ``# title`` first.
    """
    slugger = Slugger()
    entries: list[str] = []
    for level, text in article_headings:
        slug = slugger.slug(text)
        if level != 2:
            continue
        time = _TIME_SUFFIX.search(text)
        title = text[: time.start()] if time else text
        entry = f"- [{_escape_link_text(heading_text_content(title))}](#{slug})"
        entries.append(f"{entry} {time.group(1)}" if time else entry)
    return "\n".join(entries) if len(entries) >= MIN_TOC_SECTIONS else ""


def _escape_link_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
