from __future__ import annotations

from kernel.long_text.glossary import (
    GlossaryTerm,
    build_glossary,
    is_brand_like,
    repeated_cjk_terms,
    terms_in,
)
from tests.long_text.sentence_docs import make_doc

TRANSCRIPT = make_doc(
    [
        "Today Sam Altman from OpenAI talks about GPT-4.",
        "We met Sam Altman in San Francisco.",
        "The API is used by NASA.",
        "In San Francisco, the API costs money.",
        "So we started.",
    ]
)


def _terms(glossary: list[GlossaryTerm]) -> list[tuple[str, str]]:
    return [(g.term, g.source) for g in glossary]


def test_glossary_lists_user_terms_first_then_metadata_then_repeated_terms() -> None:
    glossary = build_glossary(
        "How OpenAI Built The Future With Sam Altman",
        "A talk recorded at Stanford University about Kubernetes and YouTube.",
        ["Intro", "Why Kubernetes Matters"],
        TRANSCRIPT,
        ["ytt-core"],
    )
    assert _terms(glossary) == [
        ("ytt-core", "user"),
        ("OpenAI", "title"),
        ("Sam Altman", "title"),
        ("YouTube", "description"),
        ("Stanford University", "description"),
        ("Kubernetes", "description"),
        ("API", "repeated"),
        ("San Francisco", "repeated"),
    ]


def test_title_case_words_only_count_when_confirmed_elsewhere() -> None:
    glossary = build_glossary("Ten Things Every Founder Should Know", None, [], TRANSCRIPT, [])
    terms = {g.term for g in glossary}
    assert not terms & {"Ten Things", "Every Founder", "Founder", "Things"}


def test_all_caps_titles_do_not_turn_every_word_into_an_acronym() -> None:
    glossary = build_glossary("THE BEST VIDEO EVER MADE", None, [], make_doc(["hello there."]), [])
    assert glossary == []


def test_sentence_start_words_are_not_names_but_names_mid_sentence_are() -> None:
    doc = make_doc(["Yesterday we met Ada Lovelace.", "Then Ada Lovelace left.", "Yesterday it rained."])
    terms = {g.term for g in build_glossary("", None, [], doc, [])}
    assert "Ada Lovelace" in terms
    assert "Yesterday" not in terms and "Then" not in terms


def test_lowercase_auto_captions_yield_no_repeated_names() -> None:
    doc = make_doc(["so we use the api", "the api is great", "we love the api"])
    assert build_glossary("", None, [], doc, []) == []


def test_repeated_chinese_terms_are_found_in_their_longest_form() -> None:
    doc = make_doc(
        [
            "今天我们聊聊人工智能的训练。",
            "人工智能需要大量数据。",
            "训练人工智能很贵。",
            "数据质量决定一切。",
        ],
        language="zh",
    )
    assert repeated_cjk_terms("\n".join(s.text for s in doc.sentences)) == ["人工智能"]
    terms = [g.term for g in build_glossary("人工智能训练指南", None, [], doc, [])]
    assert terms[0] == "人工智能"
    assert "人工" not in terms and "智能" not in terms


def test_duplicates_are_removed_case_insensitively_and_user_terms_survive_the_limit() -> None:
    user = [f"Term{n}" for n in range(5)] + ["openai"]
    glossary = build_glossary("OpenAI News", None, [], TRANSCRIPT, user, limit=3)
    assert [g.term for g in glossary] == user


def test_terms_in_matches_whole_words_and_respects_short_acronym_case() -> None:
    glossary = [GlossaryTerm(term="AI", source="user"), GlossaryTerm(term="Kubernetes", source="title")]
    assert terms_in("he said kubernetes works", glossary) == [glossary[1]]
    assert terms_in("AI and kubernetes", glossary) == glossary
    assert terms_in("ai is lowercase, said Bob", glossary) == []


def test_brand_like_terms_are_recognised() -> None:
    assert is_brand_like("YouTube") and is_brand_like("GPT-4") and is_brand_like("NASA")
    assert not is_brand_like("Sam Altman")
