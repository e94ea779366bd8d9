from __future__ import annotations

import random

from kernel.long_text.deterministic import (
    format_document,
    format_range,
    format_sentences,
    group_paragraphs,
    heading_text,
    polish_sentence,
    render_paragraph,
    speaker_label,
)
from kernel.transcript import Sentence
from tests.long_text.sentence_docs import make_doc, random_doc


def _indices(paragraphs: list[list[Sentence]]) -> list[list[int]]:
    return [[s.index for s in p] for p in paragraphs]


def test_a_long_pause_starts_a_new_paragraph() -> None:
    doc = make_doc(["One two.", "Three four.", "Five six.", "Seven eight."], pauses={2: 1.5})
    assert _indices(group_paragraphs(doc.sentences)) == [[0, 1], [2, 3]]


def test_a_short_pause_keeps_the_paragraph_together() -> None:
    doc = make_doc(["One two.", "Three four.", "Five six."], pauses={1: 0.9, 2: 1.0})
    assert _indices(group_paragraphs(doc.sentences)) == [[0, 1, 2]]


def test_a_speaker_change_starts_a_new_paragraph() -> None:
    doc = make_doc(["Hi there.", "How are you.", "Fine thanks."], speakers=["0", "0", "1"])
    assert _indices(group_paragraphs(doc.sentences)) == [[0, 1], [2]]


def test_paragraphs_hold_at_most_six_sentences() -> None:
    doc = make_doc([f"Short sentence {n}." for n in range(14)])
    assert [len(p) for p in group_paragraphs(doc.sentences)] == [6, 6, 2]


def test_paragraphs_stay_under_ninety_words() -> None:
    sentence = " ".join(["word"] * 40) + "."
    doc = make_doc([sentence, sentence, sentence])
    assert _indices(group_paragraphs(doc.sentences)) == [[0, 1], [2]]


def test_cjk_paragraphs_stay_under_about_180_characters() -> None:
    sentence = "我" * 70 + "。"
    doc = make_doc([sentence] * 4, language="zh")
    paragraphs = group_paragraphs(doc.sentences)
    assert _indices(paragraphs) == [[0, 1], [2, 3]]


def test_a_chapter_change_starts_a_new_paragraph() -> None:
    doc = make_doc(["Alpha one.", "Alpha two.", "Beta one."], chapters=[(0, "A"), (2, "B")])
    assert _indices(group_paragraphs(doc.sentences)) == [[0, 1], [2]]


def test_every_sentence_appears_once_in_order_in_random_documents() -> None:
    rng = random.Random(7)
    for _ in range(60):
        doc = random_doc(rng, cjk=rng.random() < 0.3)
        flattened = [s.index for p in group_paragraphs(doc.sentences) for s in p]
        assert flattened == list(range(len(doc.sentences)))


def test_auto_caption_sentences_get_a_capital_and_a_final_period() -> None:
    assert polish_sentence("so we shipped it", "en") == "So we shipped it."
    assert polish_sentence("and then,", "en") == "And then."
    assert polish_sentence("is it ready?", "en") == "Is it ready?"


def test_brand_names_at_sentence_start_keep_their_casing() -> None:
    assert polish_sentence("iPhone sales grew", "en") == "iPhone sales grew."
    assert polish_sentence("e.g. this one", "en") == "e.g. this one."


def test_chinese_sentences_get_a_chinese_full_stop() -> None:
    assert polish_sentence("我们开始吧", "zh") == "我们开始吧。"
    assert polish_sentence("我用的是 iPhone", "zh") == "我用的是 iPhone。"
    assert polish_sentence("真的吗？", "zh") == "真的吗？"


def test_chinese_sentences_are_joined_without_spaces() -> None:
    doc = make_doc(["我们开始吧", "今天讲模型。"], language="zh", pauses={1: 1.5})
    assert render_paragraph(doc.sentences, "zh", show_speakers=False) == "我们开始吧。今天讲模型。"


def test_a_chinese_run_on_unit_gets_a_comma_instead_of_a_full_stop() -> None:
    doc = make_doc(["很多人都听说过比特币", "它是一种数字货币"], language="zh")
    assert format_range(doc, 0, 2) == "很多人都听说过比特币，它是一种数字货币。"


def test_unpunctuated_units_without_a_pause_run_on_without_invented_sentence_ends() -> None:
    doc = make_doc(["somewhere between 100 90", "195 and 210 i think", "so that is it"], pauses={2: 1.5})
    assert format_range(doc, 0, 3) == "Somewhere between 100 90 195 and 210 I think.\n\nSo that is it."


def test_a_chunk_that_ends_mid_sentence_neither_closes_it_nor_capitalizes_the_continuation() -> None:
    doc = make_doc(["perhaps that is", "fitting for this first interview"])
    assert format_range(doc, 0, 1) == "Perhaps that is"
    assert format_range(doc, 1, 2) == "fitting for this first interview."


def test_the_english_pronoun_i_is_capitalized_only_in_english() -> None:
    assert polish_sentence("i think i'm right and i've said so", "en") == "I think I'm right and I've said so."
    assert polish_sentence("ich bin i", "de") == "Ich bin i."
    assert polish_sentence("the letter i is in pi", "en") == "The letter I is in pi."  # the pronoun rule is lexical


def test_latin_sentences_are_joined_with_single_spaces() -> None:
    doc = make_doc(["hello there", "General Kenobi."], pauses={1: 1.5})
    assert render_paragraph(doc.sentences, "en", show_speakers=False) == "Hello there. General Kenobi."


def test_speaker_labels_prefix_paragraphs_when_asked() -> None:
    doc = make_doc(["Hi.", "Hello."], speakers=["SPEAKER_00", "SPEAKER_01"])
    text = format_sentences(doc.sentences, "en", show_speakers=True)
    assert text == "**Speaker 1:** Hi.\n\n**Speaker 2:** Hello."


def test_speaker_labels_do_not_depend_on_position() -> None:
    assert speaker_label("0") == "Speaker 1"
    assert speaker_label("SPEAKER_03") == "Speaker 4"
    assert speaker_label("Speaker 2") == "Speaker 2"
    assert speaker_label("Alice") == "Alice"


def test_format_range_shows_speakers_only_for_multi_speaker_documents() -> None:
    solo = make_doc(["Hi.", "Again."], speakers=["0", "0"])
    duo = make_doc(["Hi.", "Hello."], speakers=["0", "1"])
    assert "**" not in format_range(solo, 0, 2)
    assert format_range(duo, 1, 2) == "**Speaker 2:** Hello."


def test_document_gets_chapter_headings_at_chapter_starts() -> None:
    doc = make_doc(
        ["welcome everyone", "today we test.", "first topic here.", "second topic."],
        pauses={1: 1.3},
        chapters=[(0, "Intro"), (2, "The first topic:")],
    )
    assert format_document(doc) == (
        "## Intro\n\nWelcome everyone.\n\nToday we test.\n\n## The first topic\n\nFirst topic here. Second topic.\n"
    )


def test_chapter_title_overrides_replace_metadata_titles() -> None:
    doc = make_doc(["one.", "two."], chapters=[(0, "Intro"), (1, "Next")])
    text = format_document(doc, ["Einleitung", None])
    assert "## Einleitung" in text and "## Next" in text and "## Intro" not in text


def test_document_without_chapters_has_no_headings() -> None:
    doc = make_doc(["one thing.", "another thing."])
    assert format_document(doc) == "One thing. Another thing.\n"


def test_headings_are_single_line_without_trailing_punctuation() -> None:
    assert heading_text("  What is new?  ") == "What is new"
    assert heading_text("# Part\n two.") == "Part two"
    assert len(heading_text("word " * 40)) <= 81
