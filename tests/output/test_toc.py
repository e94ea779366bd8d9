"""GitHub-style heading anchors and the table of contents."""

from __future__ import annotations

from kernel.output.toc import Slugger, heading_slug, table_of_contents


def test_slugs_follow_githubs_algorithm() -> None:
    # Values as GitHub renders them (github-slugger).
    assert heading_slug("Hello World") == "hello-world"
    assert heading_slug("C++ & Python: a *tour*") == "c--python-a-tour"
    assert heading_slug("snake_case stays") == "snake_case-stays"
    assert heading_slug("Ünïcödé Straße") == "ünïcödé-straße"
    assert heading_slug("比特币是什么？ [03:10](https://youtu.be/abc?t=190)") == "比特币是什么-0310"
    assert heading_slug("😄 emoji") == "-emoji"


def test_repeated_headings_are_numbered_like_github() -> None:
    slugger = Slugger()
    assert [slugger.slug(h) for h in ["Intro", "Intro", "Intro-1", "Intro"]] == ["intro", "intro-1", "intro-1-1", "intro-2"]


def test_the_contents_list_sections_with_their_times_and_skip_the_title() -> None:
    found = table_of_contents([(1, "Talk"), (2, "A [00:00](https://youtu.be/x?t=0)"), (3, "Sub"), (2, "B [01:00]"),
                               (2, "C")])
    assert found.splitlines() == ["- [A](#a-0000) [00:00](https://youtu.be/x?t=0)", "- [B](#b-0100) [01:00]", "- [C](#c)"]
    assert table_of_contents([(1, "Talk"), (2, "A"), (2, "B")]) == ""
