"""Pages of a published text: they concatenate to the text, stay within both limits, and end at the best
boundary that fits (a heading, a paragraph, a line, a character)."""

from __future__ import annotations

import json
import random

import pytest

from kernel.long_text.tokens import count_tokens
from kernel.output.pages import (
    PAGE_MAX_CHARS,
    PAGE_MAX_TOKENS,
    Heading,
    TextPage,
    article_chapters,
    article_title,
    article_words,
    chapter_window,
    markdown_headings,
    page_at,
)

WORDS = ["river", "garden", "window", "engine", "market", "silver", "paper", "camera", "planet", "orange", "ladder", "pencil", "rocket", "forest"]


def article(chapters: int, paragraphs: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    parts = ['---\ntitle: "A talk"\nmode: clean\n---\n', "# A talk\n"]
    for number in range(chapters):
        parts.append(f"## Chapter {number + 1}\n")
        for _ in range(paragraphs):
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize() + ".\n")
    return "\n".join(parts)


def all_pages(text: str, **limits: int) -> list[TextPage]:
    pages, cursor = [], 0
    while True:
        page = page_at(text, cursor, **limits)
        pages.append(page)
        if page.next_cursor is None:
            return pages
        assert page.next_cursor > cursor
        cursor = page.next_cursor


def test_the_pages_of_an_article_concatenate_to_it_byte_for_byte() -> None:
    text = article(chapters=12, paragraphs=8)
    pages = all_pages(text, max_chars=4_000)
    assert len(pages) > 5
    assert "".join(p.text for p in pages).encode("utf-8") == text.encode("utf-8")
    assert all(p.total_chars == len(text) for p in pages)
    assert [p.cursor for p in pages[1:]] == [p.next_cursor for p in pages[:-1]]


def test_every_page_stays_within_the_character_and_token_limits() -> None:
    text = article(chapters=6, paragraphs=10)
    for page in all_pages(text, max_chars=3_000, max_tokens=400):
        assert len(page.text) <= 3_000
        assert count_tokens(page.text) <= 400


def test_a_page_ends_before_a_chapter_heading_when_one_is_in_reach() -> None:
    text = article(chapters=10, paragraphs=3)
    pages = all_pages(text, max_chars=5_000)
    for page in pages[1:]:
        assert page.text.startswith("## Chapter ")


def test_without_headings_a_page_ends_after_a_paragraph() -> None:
    text = "\n\n".join(f"Paragraph {i}: " + "words and more words " * 20 for i in range(60)) + "\n"
    for page in all_pages(text, max_chars=2_000)[:-1]:
        assert page.text.endswith("\n\n")


def test_a_line_longer_than_a_page_is_cut_at_a_character_and_still_concatenates() -> None:
    text = "x" * 10_000 + "\nend\n"
    pages = all_pages(text, max_chars=3_000)
    assert [len(p.text) for p in pages[:3]] == [3_000, 3_000, 3_000]
    assert "".join(p.text for p in pages) == text


def test_cjk_text_is_paged_by_tokens_far_below_the_character_limit() -> None:
    sentence = "今天我们讨论长文本的分页方法，以及每一页应该在哪里结束。"
    text = "# 标题\n\n" + "\n\n".join(sentence * 6 for _ in range(700)) + "\n"
    pages = all_pages(text)
    assert len(pages) > 3
    assert "".join(p.text for p in pages) == text
    for page in pages:
        assert count_tokens(page.text) <= PAGE_MAX_TOKENS
        assert len(page.text) < PAGE_MAX_CHARS
    assert all(p.text.endswith("\n\n") for p in pages[:-1])


def test_subtitle_and_json_exports_break_at_cues_and_lines() -> None:
    cues = "".join(f"{i}\n00:00:{i % 60:02d},000 --> 00:00:{i % 60:02d},900\nLine number {i} of the talk.\n\n"
                   for i in range(1, 400))
    for page in all_pages(cues, max_chars=1_500)[:-1]:
        assert page.text.endswith("\n\n")
    document = json.dumps({"segments": [{"start": i, "text": f"segment {i}"} for i in range(300)]}, indent=2) + "\n"
    pages = all_pages(document, max_chars=2_000)
    assert all(p.text.endswith("\n") for p in pages)
    assert json.loads("".join(p.text for p in pages)) == json.loads(document)


def test_crlf_pairs_are_never_split() -> None:
    text = "a" * 99 + "\r\n" + "b" * 50
    assert page_at(text, 0, max_chars=100).text == "a" * 99


def test_an_empty_text_is_one_empty_last_page_and_a_cursor_outside_the_text_is_refused() -> None:
    assert page_at("", 0) == TextPage("", 0, None, 0)
    assert page_at("abc", 3) == TextPage("", 3, None, 3)
    with pytest.raises(ValueError):
        page_at("abc", 4)
    with pytest.raises(ValueError):
        page_at("abc", -1)


def test_headings_outside_front_matter_and_code_give_the_title_and_chapters() -> None:
    text = ("---\ntitle: x\n# not a heading\n---\n\n# The title\n\nIntro.\n\n## First\n\nText.\n\n```\n# comment\n```\n\n"
            "### Detail ###\n\nMore.\n")
    headings = markdown_headings(text)
    assert [(h.title, h.level) for h in headings] == [("The title", 1), ("First", 2), ("Detail", 3)]
    assert all(text[h.cursor:].startswith("#") for h in headings)
    assert article_title(headings) == "The title"
    assert [h.title for h in article_chapters(headings)] == ["First", "Detail"]
    assert article_words(text) == article_words(text.split("---\n", 2)[2])


def test_a_long_chapter_list_is_a_window_around_the_current_page() -> None:
    chapters = [Heading(f"c{i}", 2, i * 100) for i in range(200)]
    assert chapter_window(chapters[:30], 0) == chapters[:30]
    window = chapter_window(chapters, 15_050, size=50)
    assert len(window) == 50 and window[0].title == "c140"
    assert chapter_window(chapters, 19_990, size=50)[-1].title == "c199"
