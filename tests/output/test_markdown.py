from __future__ import annotations

from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # comes with ctranslate2; used only to prove round-trips

from kernel.output.markdown import (
    assemble_article,
    format_duration,
    normalize_blank_lines,
    render_front_matter,
)
from kernel.transcript import SourceInfo

TRICKY_STRINGS = [
    "How CPUs Work",
    "Part 1: the basics",
    'She said "hi" and left',
    "It's 'quoted'",
    "# not a comment",
    "C# in depth",
    "- starts like a list",
    "[bracketed] title",
    "{braces}",
    "yes",
    "No",
    "null",
    "~",
    "123",
    "1.5",
    "0x1F",
    "1e3",
    "2024-05-01",
    "1:30",
    "12:30:45",
    "@mention",
    "`code`",
    "!tag",
    "&anchor",
    "*alias",
    "| pipe",
    "> folded",
    "%directive",
    " leading space",
    "trailing space ",
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "CPU 是如何工作的？",
    "Ünïcödé – dash — “quotes”",
    "emoji 🎉 party",
    "nbsp\u00a0inside",
    "line\u2028separator",
    "nel\x85char",
    "bell\x07",
    "",
    "https://www.youtube.com/watch?v=abc123&t=10s",
]


def _load_front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    block, separator, _ = text[4:].partition("\n---\n")
    assert separator, "front matter is not closed"
    loaded = yaml.safe_load(block)
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_every_string_value_loads_back_unchanged(value: str) -> None:
    rendered = render_front_matter({"title": value})
    assert _load_front_matter(rendered) == {"title": value}


def test_ordinary_values_stay_plain_for_people_to_read() -> None:
    rendered = render_front_matter({"title": "How CPUs Work", "language": "en", "title_zh": "如何工作"})
    assert rendered == "---\ntitle: How CPUs Work\nlanguage: en\ntitle_zh: 如何工作\n---\n"


def test_none_values_are_omitted_and_key_order_is_kept() -> None:
    rendered = render_front_matter({"zeta": "z", "skipped": None, "alpha": 1, "flag": True, "ratio": 0.5})
    loaded = _load_front_matter(rendered)
    assert list(loaded) == ["zeta", "alpha", "flag", "ratio"]
    assert loaded == {"zeta": "z", "alpha": 1, "flag": True, "ratio": 0.5}


def test_numbers_and_lists_keep_their_types() -> None:
    fields: dict[str, Any] = {"tags": ["a: b", "yes", "CPU"], "empty": [], "tiny": 1e-05, "big": 12345678901}
    assert _load_front_matter(render_front_matter(fields)) == fields


def test_invalid_keys_and_non_finite_floats_are_refused() -> None:
    with pytest.raises(ValueError):
        render_front_matter({"bad key": "x"})
    with pytest.raises(ValueError):
        render_front_matter({"n": float("nan")})


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, None),
        (0, "0:00"),
        (59.4, "0:59"),
        (59.6, "1:00"),
        (754, "12:34"),
        (3600, "1:00:00"),
        (37230.2, "10:20:30"),
        (-1, None),
    ],
)
def test_duration_is_formatted_like_a_clock(seconds: float | None, expected: str | None) -> None:
    assert format_duration(seconds) == expected


def _info(**overrides: Any) -> SourceInfo:
    data: dict[str, Any] = {
        "id": "abc123",
        "title": "How CPUs Work: Part 1",
        "source": "https://youtu.be/abc123",
        "source_kind": "url",
        "webpage_url": "https://www.youtube.com/watch?v=abc123",
        "channel": "Core Dumped",
        "upload_date": "20240501",
        "duration": 754.0,
    }
    data.update(overrides)
    return SourceInfo(**data)


def test_article_has_front_matter_title_heading_and_body() -> None:
    article = assemble_article(
        _info(),
        "First paragraph.\n\n\n\nSecond paragraph.\n\n\n",
        language="en",
        transcript_source="subtitles (manual, en)",
        generator="yt-transcript 0.1.0",
    )
    front = _load_front_matter(article)
    assert front == {
        "title": "How CPUs Work: Part 1",
        "source": "https://www.youtube.com/watch?v=abc123",
        "url": "https://www.youtube.com/watch?v=abc123",
        "video_id": "abc123",
        "channel": "Core Dumped",
        "date": "2024-05-01",
        "date_source": "upload_date",
        "duration": "12:34",
        "language": "en",
        "mode": "clean",
        "words": 4,
        "sections": 0,
        "speakers": 0,
        "reading_minutes": 1,
        "transcript_source": "subtitles (manual, en)",
        "generator": "yt-transcript 0.1.0",
    }
    body = article.split("\n---\n", 1)[1]
    assert body == "\n# How CPUs Work: Part 1\n\nFirst paragraph.\n\nSecond paragraph.\n"


def test_local_file_article_names_the_file_and_omits_unknown_fields() -> None:
    info = _info(
        source="lecture.mp4",
        source_kind="file",
        webpage_url=None,
        channel=None,
        upload_date=None,
        duration=None,
    )
    article = assemble_article(
        info, "Text.", language=None, transcript_source="whisper (base)", generator="yt-transcript 0.1.0"
    )
    front = _load_front_matter(article)
    assert front["source"] == "lecture.mp4"
    assert not {"date", "date_source", "duration", "channel", "artist", "language", "quality", "target_language",
                "url", "video_id"} & set(front)


def test_local_file_article_gives_the_artist_and_where_its_date_came_from() -> None:
    info = _info(source="talk.m4a", source_kind="file", webpage_url=None, channel=None, artist="Ada Lovelace",
                 upload_date="2023-02-01", date_source="tag")
    front = _load_front_matter(assemble_article(info, "Text.", language="en", transcript_source="t", generator="g"))

    assert (front["artist"], front["date"], front["date_source"]) == ("Ada Lovelace", "2023-02-01", "tag")
    assert not {"channel", "url", "video_id"} & set(front)


def test_article_counts_words_sections_speakers_and_reading_time_of_its_body() -> None:
    body = "\n\n".join(
        [f"## Part about {topic} [0{n}:00](https://youtu.be/abc123?t={60 * n})\n\n**Ada:** [0{n}:00] " + "word " * 200
         for n, topic in enumerate(["ovens", "flour", "water"])]
    )
    front = _load_front_matter(assemble_article(_info(), body, language="en", transcript_source="t", generator="g",
                                                speakers=2))

    assert (front["words"], front["sections"], front["speakers"], front["reading_minutes"]) == (600, 3, 2, 3)


def test_three_sections_get_a_table_of_contents_whose_links_resolve() -> None:
    body = "## Intro [00:00]\n\nA.\n\n## 比特币是什么 [03:10]\n\nB.\n\n## Intro [07:00]\n\nC.\n\n## Intro\n\nD.\n"
    article = assemble_article(_info(title="Intro"), body, language="en", transcript_source="t", generator="g")

    contents = [line for line in article.splitlines() if line.startswith("- [")]
    assert contents == [
        "- [Intro](#intro-0000) [00:00]",
        "- [比特币是什么](#比特币是什么-0310) [03:10]",
        "- [Intro](#intro-0700) [07:00]",
        "- [Intro](#intro-1)",  # the plain "intro" anchor is the article title's
    ]
    assert article.index("- [Intro]") > article.index("# Intro\n")


def test_fewer_than_three_sections_get_no_table_of_contents() -> None:
    article = assemble_article(_info(), "## One\n\nA.\n\n## Two\n\nB.\n", language="en", transcript_source="t",
                               generator="g")
    assert "](#" not in article


def test_translation_records_target_language_and_a_non_passing_quality() -> None:
    article = assemble_article(
        _info(),
        "Texte.",
        language="fr",
        transcript_source="deepgram (nova-3)",
        generator="yt-transcript 0.1.0",
        mode="translate",
        target_language="fr",
        quality_status="degraded",
    )
    front = _load_front_matter(article)
    assert (front["mode"], front["target_language"], front["quality"]) == ("translate", "fr", "degraded")


def test_passing_quality_is_not_written() -> None:
    article = assemble_article(
        _info(),
        "Text.",
        language="en",
        transcript_source="whisper (base)",
        generator="g",
        quality_status="pass",
    )
    assert "quality" not in _load_front_matter(article)


def test_article_is_deterministic_and_never_doubles_the_title() -> None:
    body = "# How CPUs Work: Part 1\n\n## Intro\n\nHello.\n"
    first = assemble_article(_info(), body, language="en", transcript_source="t", generator="g")
    second = assemble_article(_info(), body, language="en", transcript_source="t", generator="g")
    assert first == second
    assert first.count("# How CPUs Work: Part 1") == 1
    assert first.endswith("## Intro\n\nHello.\n")


def test_blank_lines_are_normalized_but_code_fences_are_kept_verbatim() -> None:
    text = "\n\nA  \r\n \t\n\n\nB\n```\nx\n\n\ny\n```\n\n\n"
    assert normalize_blank_lines(text) == "A  \n\nB\n```\nx\n\n\ny\n```\n"
    assert normalize_blank_lines("\n \n") == ""
