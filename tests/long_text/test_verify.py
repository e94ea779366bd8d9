from __future__ import annotations

import random

from kernel.config import LLMProfile
from kernel.long_text.contracts import ChunkSpec, GlossaryTerm, Plan, TransformRequest
from kernel.long_text.plan import build_plan
from kernel.long_text.verify import remove_seam_duplicate, sanitize_output, speaker_turns, verify_chunk_output
from kernel.transcript import NormalizedDocument
from tests.long_text.sentence_docs import make_doc, random_sentence, word_counter

MODEL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=8192, max_output_tokens=4096)
GLOSSARY = [
    GlossaryTerm(term="Kubernetes", source="user"),
    GlossaryTerm(term="Grafana", source="description"),
]

CAPTIONS = [
    "so today we talk about kubernetes version 1.29 and why our team moved to it",
    "it costs 1,500 dollars per month and uh it saves 45% of the time we used to spend on servers",
    "the release shipped on may 1, 2024 and the feedback has been great so far",
    "next we look at the new dashboard that the whole team has been waiting for",
    "it shows every cluster in one place and it updates every 30 seconds",
]
CLEAN = (
    "So today we talk about Kubernetes version 1.29 and why our team moved to it. "
    "It costs 1,500 dollars per month, and it saves 45% of the time we used to spend on servers. "
    "The release shipped on May 1, 2024, and the feedback has been great so far.\n\n"
    "Next, we look at the new dashboard that the whole team has been waiting for. It shows every cluster in "
    "one place, and it updates every 30 seconds."
)
GERMAN = (
    "Heute sprechen wir also über Kubernetes Version 1.29 und darüber, "
    "warum unser Team darauf umgestiegen ist. "
    "Es kostet 1.500 Dollar pro Monat und spart 45 % der Zeit, die wir früher mit Servern verbracht haben. "
    "Das Release erschien am 1. Mai 2024, und das Feedback ist bisher großartig.\n\n"
    "Als Nächstes sehen wir uns das neue Dashboard an, auf das das ganze Team gewartet hat. Es zeigt jeden "
    "Cluster an einem Ort und aktualisiert sich alle 30 Sekunden."
)
CHINESE = (
    "所以今天我们来谈谈 Kubernetes 1.29 版本，以及我们团队为什么转向它。"
    "它每月花费 1,500 美元，并且节省了我们过去花在服务器上的 45% 的时间。"
    "该版本于2024年5月1日发布，到目前为止反馈非常好。\n\n"
    "接下来，我们来看看整个团队期待已久的新仪表板。它在一个地方显示所有集群，并且每 30 秒更新一次。"
)


def _doc() -> NormalizedDocument:
    return make_doc(CAPTIONS, pauses={3: 2.0})


def _plan(
    doc: NormalizedDocument,
    mode: str = "clean",
    target: str | None = None,
    *,
    structure: bool = False,
    llm: LLMProfile = MODEL,
) -> Plan:
    request = TransformRequest.model_validate(
        {"mode": mode, "source_language": "en", "target_language": target, "structure": structure}
    )
    return build_plan(
        doc, request, llm=llm, glossary=GLOSSARY, chapter_titles=[], plan_id="p1", count_tokens=word_counter
    )


def _codes(
    plan: Plan,
    doc: NormalizedDocument,
    output: str,
    finish_reason: str | None = "stop",
    chunk: ChunkSpec | None = None,
) -> list[str]:
    result = verify_chunk_output(plan, chunk or plan.chunks[0], doc, output, finish_reason)
    assert result.ok == (not result.violations)
    return [v.code for v in result.violations]


def test_a_faithful_cleaned_text_passes() -> None:
    doc = _doc()
    result = verify_chunk_output(_plan(doc), _plan(doc).chunks[0], doc, CLEAN, "stop")
    assert result.ok, result.violations
    assert 0.9 < result.metrics["length_ratio"] < 1.1


def test_faithful_translations_to_german_and_chinese_pass() -> None:
    doc = _doc()
    assert _codes(_plan(doc, "translate", "de"), doc, GERMAN) == []
    assert _codes(_plan(doc, "translate", "zh-Hans"), doc, CHINESE) == []


def test_empty_output_is_reported_alone() -> None:
    doc = _doc()
    assert _codes(_plan(doc), doc, "  \n") == ["empty_output"]


def test_truncated_output_asks_for_a_repair_when_the_chunk_fits_the_output_limit() -> None:
    doc = _doc()
    result = verify_chunk_output(_plan(doc), _plan(doc).chunks[0], doc, CLEAN, "length")
    assert [(v.code, v.remedy) for v in result.violations] == [("truncated", "repair")]


def test_truncation_of_a_chunk_too_big_for_the_output_limit_asks_for_a_replan_or_fallback() -> None:
    doc = _doc()
    plan = _plan(doc)
    tight = plan.model_copy(update={"contract": plan.contract.model_copy(update={"max_output_tokens": 20})})
    result = verify_chunk_output(tight, tight.chunks[0], doc, CLEAN, "length")
    assert result.violations[0].remedy == "replan"
    single = tight.chunks[0].model_copy(update={"core_end": 1, "context_after_end": 2, "source_tokens": 30})
    result = verify_chunk_output(tight, single, doc, CLEAN.split(". ")[0] + ".", "length")
    assert result.violations[0].remedy == "fallback"


def test_a_summary_violates_the_length_ratio() -> None:
    doc = _doc()
    codes = _codes(_plan(doc), doc, "We talk about Kubernetes 1.29, its costs and the new dashboard.")
    assert "length_ratio" in codes


def test_added_content_violates_the_length_ratio() -> None:
    doc = _doc()
    extra = " We also think Kubernetes is the best system ever made, and everyone should use it every day."
    assert _codes(_plan(doc), doc, CLEAN + extra * 3) == ["length_ratio"]


def test_a_changed_number_is_a_missing_anchor() -> None:
    doc = _doc()
    result = verify_chunk_output(_plan(doc), _plan(doc).chunks[0], doc, CLEAN.replace("1,500", "1,600"), "stop")
    assert [v.code for v in result.violations] == ["missing_anchor"]
    assert "1,500" in result.violations[0].detail


def test_a_misspelled_glossary_term_is_reported_when_cleaning() -> None:
    doc = _doc()
    assert _codes(_plan(doc), doc, CLEAN.replace("Kubernetes", "Cubernetes")) == ["missing_glossary_term"]


def test_a_translation_must_keep_user_terms_verbatim() -> None:
    doc = _doc()
    assert _codes(_plan(doc, "translate", "zh"), doc, CHINESE.replace("Kubernetes", "库伯内特斯")) == [
        "missing_glossary_term"
    ]


def test_cleaning_that_translates_is_the_wrong_language() -> None:
    doc = _doc()
    assert "wrong_script" in _codes(_plan(doc), doc, GERMAN)


def test_an_untranslated_output_is_the_wrong_language() -> None:
    doc = _doc()
    assert "wrong_script" in _codes(_plan(doc, "translate", "de"), doc, CLEAN)
    assert "wrong_script" in _codes(_plan(doc, "translate", "zh"), doc, CLEAN)


def test_a_repetition_loop_is_reported() -> None:
    doc = _doc()
    loop = " And then we talk about the dashboard again and again." * 6
    assert "repetition_loop" in _codes(_plan(doc), doc, CLEAN + loop)


def test_repetition_that_is_in_the_source_is_not_a_loop() -> None:
    chorus = "we will we will rock you and we will never stop"
    doc = make_doc([chorus] * 6)
    output = " ".join([chorus.capitalize() + "."] * 6)
    assert _codes(_plan(doc), doc, output) == []


def test_a_preamble_or_leaked_tags_are_reported() -> None:
    doc = _doc()
    assert _codes(_plan(doc), doc, "Here is the cleaned text:\n\n" + CLEAN) == ["leaked_preamble"]
    assert _codes(_plan(doc), doc, "<source>\n" + CLEAN + "\n</source>") == ["leaked_preamble"]
    assert _codes(_plan(doc), doc, CLEAN + "\n\nI hope this helps!") == ["leaked_preamble"]
    assert _codes(_plan(doc, "translate", "zh"), doc, "以下是翻译：\n\n" + CHINESE) == ["leaked_preamble"]


def test_a_spoken_okay_at_the_start_is_not_a_preamble() -> None:
    doc = make_doc(["okay so let's get started with the numbers for this week", "we sold 1,200 copies"])
    output = "Okay, so let's get started with the numbers for this week. We sold 1,200 copies."
    assert _codes(_plan(doc), doc, output) == []


def test_headings_are_refused_unless_structure_was_asked() -> None:
    doc = _doc()
    with_heading = "## Kubernetes costs\n\n" + CLEAN
    assert _codes(_plan(doc), doc, with_heading) == ["heading_shape"]
    assert _codes(_plan(doc, structure=True), doc, with_heading) == []


def test_badly_shaped_headings_are_reported() -> None:
    doc = _doc()
    plan = _plan(doc, structure=True)
    assert _codes(plan, doc, "# Kubernetes costs\n\n" + CLEAN) == ["heading_shape"]
    assert _codes(plan, doc, "## Kubernetes costs.\n\n" + CLEAN) == ["heading_shape"]


def test_context_copied_into_a_cleaned_chunk_is_a_seam_duplicate() -> None:
    rng = random.Random(5)
    texts = [random_sentence(rng) for _ in range(400)]
    doc = make_doc(texts)
    small = MODEL.model_copy(update={"context_window": 2048, "max_output_tokens": 1024})
    plan = _plan(doc, llm=small)
    chunk = plan.chunks[1]
    good = " ".join(texts[chunk.core_start : chunk.core_end])
    assert _codes(plan, doc, good, chunk=chunk) == []
    assert _codes(plan, doc, texts[chunk.core_start - 1] + " " + good, chunk=chunk) == ["seam_duplicate"]
    assert _codes(plan, doc, good + " " + texts[chunk.core_end], chunk=chunk) == ["seam_duplicate"]


def _bilingual_doc() -> NormalizedDocument:
    return _doc()


def test_bilingual_pairs_pass_in_both_script_settings() -> None:
    doc = _bilingual_doc()
    english = CLEAN.split("\n\n")
    chinese = CHINESE.split("\n\n")
    german = GERMAN.split("\n\n")
    zh_output = "\n\n".join([english[0], chinese[0], english[1], chinese[1]])
    de_output = "\n\n".join([english[0], german[0], english[1], german[1]])
    assert _codes(_plan(doc, "bilingual", "zh"), doc, zh_output) == []
    assert _codes(_plan(doc, "bilingual", "de"), doc, de_output) == []


def test_a_bilingual_output_with_a_missing_translation_breaks_the_pairing() -> None:
    doc = _bilingual_doc()
    english = CLEAN.split("\n\n")
    chinese = CHINESE.split("\n\n")
    output = "\n\n".join([english[0], chinese[0], english[1]])
    assert "bilingual_pairing" in _codes(_plan(doc, "bilingual", "zh"), doc, output)


def test_a_bilingual_output_in_the_wrong_order_breaks_the_pairing() -> None:
    doc = _bilingual_doc()
    english = CLEAN.split("\n\n")
    chinese = CHINESE.split("\n\n")
    german = GERMAN.split("\n\n")
    swapped_zh = "\n\n".join([chinese[0], english[0], chinese[1], english[1]])
    swapped_de = "\n\n".join([german[0], english[0], german[1], english[1]])
    assert "bilingual_pairing" in _codes(_plan(doc, "bilingual", "zh"), doc, swapped_zh)
    assert "bilingual_pairing" in _codes(_plan(doc, "bilingual", "de"), doc, swapped_de)


def test_anchors_are_checked_in_the_translation_half_of_a_bilingual_output() -> None:
    doc = _bilingual_doc()
    english = CLEAN.split("\n\n")
    chinese = CHINESE.replace("1,500", "1,600").split("\n\n")
    output = "\n\n".join([english[0], chinese[0], english[1], chinese[1]])
    assert _codes(_plan(doc, "bilingual", "zh"), doc, output) == ["missing_anchor"]


def test_a_wrapping_code_fence_is_sanitized() -> None:
    assert sanitize_output("```markdown\nHello.\n```\n") == "Hello."
    assert sanitize_output("  Hello.  ") == "Hello."


def test_a_repeated_leading_sentence_is_removed_at_the_seam() -> None:
    previous = "First paragraph here.\n\nThe cluster was upgraded last night without downtime."
    following = "The cluster was upgraded last night without downtime. Then we checked the logs.\n\nMore text."
    merged, changed = remove_seam_duplicate(previous, following)
    assert changed
    assert merged == "Then we checked the logs.\n\nMore text."


def test_a_fully_repeated_paragraph_is_removed_and_labels_are_kept() -> None:
    previous = "**Speaker 1:** We shipped the new release on time."
    assert remove_seam_duplicate(previous, "We shipped the new release on time.\n\nNext part.") == (
        "Next part.",
        True,
    )
    labelled = "**Speaker 1:** We shipped the new release on time. And it worked."
    assert remove_seam_duplicate(previous, labelled) == ("**Speaker 1:** And it worked.", True)


def test_short_or_new_sentences_are_not_seam_duplicates() -> None:
    assert remove_seam_duplicate("Yes.", "Yes. We agree.") == ("Yes. We agree.", False)
    assert remove_seam_duplicate("One thing happened today.", "Another thing happened.") == (
        "Another thing happened.",
        False,
    )


def test_chinese_seam_duplicates_are_removed() -> None:
    merged, changed = remove_seam_duplicate(
        "我们昨天晚上升级了整个集群。", "我们昨天晚上升级了整个集群。然后检查了日志。"
    )
    assert changed and merged == "然后检查了日志。"


def _duo() -> tuple[Plan, ChunkSpec, NormalizedDocument]:
    doc = make_doc(["Hello and welcome.", "Thanks for having me.", "So tell us about ovens.", "Ovens are hot."],
                   speakers=["Ada", "Grace", "Ada", "Grace"])
    plan = build_plan(doc, TransformRequest(mode="clean"), llm=MODEL, glossary=[], chapter_titles=[], plan_id="p1",
                      count_tokens=word_counter)
    return plan, plan.chunks[0], doc


def test_an_answer_that_keeps_every_speaker_turn_passes_the_speaker_check() -> None:
    plan, chunk, doc = _duo()
    good = "**Ada:** Hello and welcome.\n\n**Grace:** Thanks for having me.\n\n**Ada:** So, tell us about ovens.\n\n**Grace:** Ovens are hot."
    assert "speaker_turns" not in {v.code for v in verify_chunk_output(plan, chunk, doc, good, "stop").violations}


def test_an_answer_that_merges_two_speakers_loses_a_turn_and_needs_a_repair() -> None:
    plan, chunk, doc = _duo()
    merged = "**Ada:** Hello and welcome. Thanks for having me.\n\n**Ada:** So, tell us about ovens.\n\n**Grace:** Ovens are hot."
    found = [v for v in verify_chunk_output(plan, chunk, doc, merged, "stop").violations if v.code == "speaker_turns"]
    assert len(found) == 1 and found[0].remedy == "repair" and "Grace" in found[0].detail


def test_an_answer_that_invents_or_renames_a_speaker_is_a_violation() -> None:
    plan, chunk, doc = _duo()
    renamed = "**Ada:** Hello and welcome.\n\n**Host:** Thanks for having me.\n\n**Ada:** So, tell us about ovens.\n\n**Grace:** Ovens are hot."
    codes = {v.code for v in verify_chunk_output(plan, chunk, doc, renamed, "stop").violations}
    assert "speaker_turns" in codes


def test_speaker_turns_ignore_repeated_labels_and_accept_the_colon_outside_the_bold() -> None:
    assert speaker_turns("**Ada:** Hi.\n\n**Ada:** Again.\n\nStill Ada.\n\n**Grace**: Hello.") == ["Ada", "Grace"]
