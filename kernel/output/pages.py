"""Pages of a published text file (the article or an export), for callers that read it in bounded pieces.

A caller such as an MCP client cannot take a whole long article in one answer, so the text is handed out
one page at a time; a page is named by its ``cursor``, a character (code point) offset into the text.

Invariants:
- A page is the slice ``text[cursor:next_cursor]``: following ``next_cursor`` from 0 until it is None and
  concatenating the pages gives the text exactly, so its UTF-8 encoding is the file byte for byte.
- Every page has at most ``max_chars`` characters and at most ``max_tokens`` tokens (``count_tokens``),
  so a page of CJK text (about one token per character) is as bounded as one of English text.
- A page ends at the best boundary that fits: before a Markdown heading, else after a paragraph (a blank
  line, which is also a cue boundary in SRT and VTT), else after a line, else (one line longer than a
  page) at a character. A boundary is only taken in the second half of the room a page has, so pages
  are never needlessly short; the last page is whatever remains.
- Deterministic: the same text and limits give the same pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..long_text.timestamps import TIME_SUFFIX
from ..long_text.tokens import count_tokens
from ..text import count_words

PAGE_MAX_CHARS = 40_000
# Sized for an agent's tool result: a page is carried twice (a text block and the structured result),
# and both copies (the structured one JSON-escaped, which costs a JSON page about a sixth more
# tokens) plus the rest of the result must stay well under 25,000 tokens.
PAGE_MAX_TOKENS = 7_000
MAX_CHAPTERS = 50  # chapters listed with a page (a window around the page when there are more)
MAX_CHAPTER_TITLE_CHARS = 120

_HEADING = re.compile(r"(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_HEADING_START = re.compile(r"#{1,6}[ \t]")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class TextPage:
    text: str
    cursor: int
    next_cursor: int | None  # None on the last page
    total_chars: int


@dataclass(frozen=True)
class Heading:
    title: str
    level: int  # 1 for "# ", 2 for "## " ...
    cursor: int  # where the heading line starts; a page starting here opens with the heading
    at: str | None = None  # the source time the heading carries (``12:34``), if any


def page_at(
    text: str,
    cursor: int = 0,
    *,
    max_chars: int = PAGE_MAX_CHARS,
    max_tokens: int = PAGE_MAX_TOKENS,
    count: Callable[[str], int] = count_tokens,
) -> TextPage:
    """The page of ``text`` that starts at ``cursor``.

    Raises:
        ValueError: ``cursor`` is outside ``0..len(text)``, or a limit is below 1.
    """
    total = len(text)
    if not 0 <= cursor <= total:
        raise ValueError(f"cursor {cursor} is outside the text (0..{total})")
    if max_chars < 1 or max_tokens < 1:
        raise ValueError("page limits must be at least 1")
    room = _room(text, cursor, min(total, cursor + max_chars), max_tokens, count)
    if room == total:
        return TextPage(text[cursor:], cursor, None, total)
    end = _boundary(text, cursor, room)
    # A prefix can (rarely) encode to one token more than the longer slice it came from.
    while end > cursor + 1 and count(text[cursor:end]) > max_tokens:
        end = _boundary(text, cursor, end - 1)
    return TextPage(text[cursor:end], cursor, end, total)


def _room(text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]) -> int:
    """The largest end (up to ``end``) whose slice from ``start`` fits ``max_tokens``; at least start + 1."""
    if end <= start or count(text[start:end]) <= max_tokens:
        return end
    low, high = start + 1, end  # count(text[start:low]) is assumed to fit; high does not
    while high - low > 1:
        middle = (low + high) // 2
        if count(text[start:middle]) <= max_tokens:
            low = middle
        else:
            high = middle
    return low


def _boundary(text: str, start: int, limit: int) -> int:
    """Where a page from ``start`` with room up to ``limit`` ends (``start < result <= limit``)."""
    half = start + (limit - start) // 2
    for finder in (_last_heading_break, _last_paragraph_break, _last_line_break):
        found = finder(text, half, limit)
        if found is not None and found > start:
            return found
    for finder in (_last_paragraph_break, _last_line_break):
        found = finder(text, start, limit)
        if found is not None and found > start:
            return found
    if limit - 1 > start and text[limit - 1] == "\r" and text[limit : limit + 1] == "\n":
        return limit - 1  # keep a CRLF pair together
    return limit


def _last_heading_break(text: str, low: int, limit: int) -> int | None:
    position = limit
    while True:
        index = text.rfind("\n\n", low, position)
        if index < 0:
            return None
        after = index + 2
        if after <= limit and _HEADING_START.match(text, after):
            return after
        position = index + 1


def _last_paragraph_break(text: str, low: int, limit: int) -> int | None:
    index = text.rfind("\n\n", low, limit)
    return index + 2 if index >= 0 else None


def _last_line_break(text: str, low: int, limit: int) -> int | None:
    index = text.rfind("\n", low, limit)
    return index + 1 if index >= 0 else None


# --------------------------------------------------------------------------- Markdown facts
def markdown_headings(text: str) -> list[Heading]:
    """The ATX headings of a Markdown text, outside its front matter and fenced code blocks."""
    headings: list[Heading] = []
    offset = 0
    in_fence = False
    lines = text.splitlines(keepends=True)
    body_start = _front_matter_lines(lines)
    for number, line in enumerate(lines):
        if number >= body_start:
            stripped = line.rstrip("\r\n")
            if _FENCE.match(stripped):
                in_fence = not in_fence
            elif not in_fence and (match := _HEADING.match(stripped)):
                title = match.group(2).strip()
                timed = TIME_SUFFIX.search(title)  # "## Title [12:34]" or "## Title [12:34](link)"
                at = timed.group(1) if timed else None
                title = title[: timed.start()].rstrip() if timed else title
                if title:
                    headings.append(Heading(title=title, level=len(match.group(1)), cursor=offset, at=at))
        offset += len(line)
    return headings


def _front_matter_lines(lines: Sequence[str]) -> int:
    """How many leading lines are YAML front matter (0 when there is none)."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return 0
    for number in range(1, len(lines)):
        if lines[number].rstrip("\r\n") in ("---", "..."):
            return number + 1
    return 0


def article_title(headings: Sequence[Heading]) -> str | None:
    """The title: the first level-1 heading."""
    return next((h.title for h in headings if h.level == 1), None)


def article_chapters(headings: Sequence[Heading]) -> list[Heading]:
    """The chapters: every heading below the title (levels 2 to 6)."""
    return [h for h in headings if h.level >= 2]


def article_words(text: str) -> int:
    """Words of the article without its front matter (CJK: one word per two characters)."""
    lines = text.splitlines(keepends=True)
    return count_words("".join(lines[_front_matter_lines(lines):]))


def chapter_window(chapters: Sequence[Heading], cursor: int, size: int = MAX_CHAPTERS) -> list[Heading]:
    """At most ``size`` chapters: all of them when they fit, else a window that starts a few chapters
    before the one holding ``cursor``."""
    if len(chapters) <= size:
        return list(chapters)
    current = max((i for i, h in enumerate(chapters) if h.cursor <= cursor), default=0)
    first = min(max(0, current - size // 5), len(chapters) - size)
    return list(chapters[first : first + size])


def page_view(text: str, cursor: int, *, markdown: bool) -> dict[str, Any]:
    """One page as JSON-ready data: ``text``, ``cursor``, ``next_cursor``, ``total_chars``, ``chapters``
    (a window of at most ``MAX_CHAPTERS``, each ``{title, level, cursor}``) and ``chapters_total``; for
    Markdown also the article's ``title`` and ``words``.

    Raises:
        ValueError: ``cursor`` is outside the text.
    """
    page = page_at(text, cursor)
    view: dict[str, Any] = {"text": page.text, "cursor": page.cursor, "next_cursor": page.next_cursor,
                            "total_chars": page.total_chars, "chapters": [], "chapters_total": 0}
    if markdown:
        headings = markdown_headings(text)
        chapters = article_chapters(headings)
        view.update(
            chapters=[{"title": h.title[:MAX_CHAPTER_TITLE_CHARS], "level": h.level, "cursor": h.cursor,
                       **({"at": h.at} if h.at else {})}
                      for h in chapter_window(chapters, cursor)],
            chapters_total=len(chapters), title=article_title(headings), words=article_words(text),
        )
    return view
