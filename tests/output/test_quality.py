from __future__ import annotations

from typing import Any

import pytest

from kernel.output.quality import (
    NO_LLM_NOTE,
    UNPUNCTUATED_NOTE,
    QualityReport,
    evaluate_quality,
    usage_totals,
    weighted_length,
)

SOURCE = " ".join(f"This is sentence number {n} of the talk about processors." for n in range(20))
ARTICLE = (
    "## Introduction\n\n" + SOURCE[: len(SOURCE) // 2] + "\n\n## Details\n\n" + SOURCE[len(SOURCE) // 2 :]
)


def _evaluate(**overrides: Any) -> QualityReport:
    arguments: dict[str, Any] = {
        "sentences_total": 20,
        "sentences_accounted": 20,
        "source_chars": len(SOURCE),
        "output_text": ARTICLE,
        "mode": "clean",
        "llm_used": True,
        "fallback_chunks": [],
        "degraded_chunks": [],
        "source_language": "en",
    }
    arguments.update(overrides)
    return evaluate_quality(**arguments)


def _failed(report: QualityReport) -> set[str]:
    return {check.name for check in report.checks if not check.ok}


def test_complete_clean_article_passes() -> None:
    report = _evaluate()
    assert report.status == "pass"
    assert _failed(report) == set()
    assert report.reasons and report.notes == []
    assert report.output_chars == len(ARTICLE)


def test_without_an_llm_the_deterministic_article_passes_with_a_note() -> None:
    report = _evaluate(llm_used=False, fallback_chunks=["c001"])
    assert report.status == "pass"
    assert report.llm_used is False
    assert NO_LLM_NOTE in report.notes


def test_an_unpunctuated_source_without_an_llm_gets_a_note_that_an_llm_would_improve_it() -> None:
    plain = _evaluate(llm_used=False, source_unpunctuated=True)
    edited = _evaluate(llm_used=True, source_unpunctuated=True)
    assert UNPUNCTUATED_NOTE in plain.notes and plain.status == "pass"
    assert UNPUNCTUATED_NOTE not in edited.notes


def test_missing_sentences_fail_the_gate() -> None:
    report = _evaluate(sentences_accounted=17)
    assert report.status == "fail"
    assert "sentences_accounted" in _failed(report)
    assert any("3 of 20" in reason for reason in report.reasons)


def test_empty_output_fails_the_gate() -> None:
    report = _evaluate(output_text="  \n\n")
    assert report.status == "fail"
    assert "output_not_empty" in _failed(report)


def test_chunks_that_fell_back_make_the_result_degraded_and_are_listed() -> None:
    report = _evaluate(fallback_chunks=["c002", "c005"], degraded_chunks=["c003"])
    assert report.status == "degraded"
    assert {"fallback_chunks", "degraded_chunks"} <= _failed(report)
    assert report.fallback_chunks == ["c002", "c005"] and report.degraded_chunks == ["c003"]
    assert any("c002, c005" in reason for reason in report.reasons)


def test_leftover_prompt_tags_degrade_the_result() -> None:
    report = _evaluate(output_text=ARTICLE + "\n\n</source>\n<glossary>CPU</glossary>")
    assert report.status == "degraded"
    assert "no_prompt_tags" in _failed(report)


@pytest.mark.parametrize("bad_heading", ["##Missing space", "####### Too deep", "## ", "# Second title"])
def test_malformed_headings_degrade_the_result(bad_heading: str) -> None:
    report = _evaluate(output_text=f"# Title\n\n{ARTICLE}\n\n{bad_heading}\n\nMore text.")
    assert report.status == "degraded"
    assert "headings_well_formed" in _failed(report)


def test_hashtag_at_line_start_is_ordinary_text() -> None:
    report = _evaluate(output_text=ARTICLE + "\n\n#1 priority is speed.")
    assert "headings_well_formed" not in _failed(report)


def test_a_summarized_clean_article_is_degraded_for_its_length() -> None:
    report = _evaluate(output_text=SOURCE[: len(SOURCE) // 3])
    assert report.status == "degraded"
    assert "length_ratio" in _failed(report)


def test_english_to_chinese_translation_is_not_mistaken_for_lost_text() -> None:
    # about 16 ideographs per English sentence of about 60 letters
    chinese = "这是关于处理器的演讲中的一句话。" * 20
    report = _evaluate(mode="translate", output_text=chinese, target_language="zh")
    assert "length_ratio" not in _failed(report)
    assert report.status == "pass"


def test_bilingual_output_must_hold_both_texts() -> None:
    chinese = "这是关于处理器的演讲中的一句话。" * 20
    both = _evaluate(mode="bilingual", output_text=SOURCE + "\n\n" + chinese, target_language="zh")
    only_source = _evaluate(mode="bilingual", output_text=SOURCE, target_language="zh")
    assert both.status == "pass"
    assert only_source.status == "degraded"


def test_tiny_texts_do_not_trip_the_length_ratio() -> None:
    report = _evaluate(
        source_chars=20,
        sentences_total=1,
        sentences_accounted=1,
        output_text="## Intro\n\nHello there, everyone. Welcome to the show!",
    )
    assert report.status == "pass"


def test_cjk_characters_weigh_more_than_latin_letters() -> None:
    assert weighted_length("ab c") == 4
    assert weighted_length("中文") == 6
    assert weighted_length("한국") == 5


def test_usage_totals_add_total_tokens_and_cost_only_with_a_price() -> None:
    assert usage_totals({"requests": 3, "prompt_tokens": 1000, "completion_tokens": 500}) == {
        "requests": 3,
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "total_tokens": 1500,
    }
    priced = usage_totals({"prompt_tokens": 1000, "completion_tokens": 500, "price_per_1k_tokens": 0.002})
    assert priced["cost"] == pytest.approx(0.003)
    assert "price_per_1k_tokens" not in priced
    split = usage_totals(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 1000,
            "price_per_1k_prompt_tokens": 0.5,
            "price_per_1k_completion_tokens": 1.5,
        }
    )
    assert split["cost"] == pytest.approx(2.5)


def test_report_carries_usage_and_speech_recognition_note() -> None:
    report = _evaluate(usage={"prompt_tokens": 10, "completion_tokens": 5}, transcript_origin="whisper")
    assert report.usage["total_tokens"] == 15
    assert "cost" not in report.usage
    assert any("speech recognition" in note for note in report.notes)
    assert QualityReport.model_validate(report.model_dump(mode="json")) == report
