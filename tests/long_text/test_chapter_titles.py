"""The chapter-title request and the check of its reply."""

from __future__ import annotations

from kernel.config import LLMProfile
from kernel.long_text.chapter_titles import chapter_title_messages, verify_chapter_titles
from kernel.long_text.contracts import GlossaryTerm, Plan, TransformRequest
from kernel.long_text.plan import build_plan
from kernel.transcript import NormalizedDocument
from tests.long_text.sentence_docs import make_doc, word_counter

MODEL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=8192, max_output_tokens=4096)


def _setup(mode: str = "clean", target: str | None = None) -> tuple[Plan, NormalizedDocument]:
    doc = make_doc(["Welcome to the show about Grafana.", "First we bake bread.", "Then we fix bikes."],
                   chapters=[(0, "Intro"), (1, "Bread"), (2, "Bikes")])
    request = TransformRequest(mode=mode, target_language=target)  # type: ignore[arg-type]
    plan = build_plan(doc, request, llm=MODEL, glossary=[GlossaryTerm(term="Grafana", source="user")],
                      chapter_titles=[c.title for c in doc.chapters], plan_id="p1", count_tokens=word_counter)
    return plan, doc


def test_the_request_lists_every_section_under_the_prompt_contract() -> None:
    plan, doc = _setup("translate", "de")
    system, user = (m["content"] for m in chapter_title_messages(plan, doc))
    assert "Mode: chapter_titles" in user and "Target language: German (de)" in user
    source = user.split("<source>")[-1].split("</source>")[0]
    assert "1. (current title: Intro)\nWelcome to the show about Grafana." in source
    assert "3. (current title: Bikes)\nThen we fix bikes." in source
    assert "Grafana" in user.split("<glossary>")[-1].split("</glossary>")[0]
    assert "exactly 3 line(s)" in user and "{" not in user and system


def test_a_good_reply_gives_its_titles_and_no_violations() -> None:
    plan, doc = _setup("translate", "de")
    titles, violations = verify_chapter_titles("Hier sind sie:\n1. Einleitung\n2) Brot backen\n3. Fahrräder reparieren", plan, doc)
    assert titles == ["Einleitung", "Brot backen", "Fahrräder reparieren"] and violations == []


def test_bad_titles_fall_back_to_the_deterministic_ones_with_one_violation_each() -> None:
    plan, doc = _setup("translate", "zh-Hans")
    reply = "1. 欢迎\n2. 欢迎\n3. Part 3"
    titles, violations = verify_chapter_titles(reply, plan, doc)
    assert titles == ["欢迎", "Bread", "Bikes"]
    assert [v.code for v in violations] == ["heading_shape", "heading_shape"]
    assert all(v.remedy == "repair" for v in violations)


def test_titles_in_the_wrong_language_copied_instructions_or_too_long_are_refused() -> None:
    plan, doc = _setup("translate", "zh-Hans")
    reply = "1. Introduction to everything\n2. current title: Bread\n3. " + "很长" * 40
    titles, violations = verify_chapter_titles(reply, plan, doc)
    assert titles == ["Intro", "Bread", "Bikes"]
    assert [v.code for v in violations] == ["wrong_script", "leaked_preamble", "heading_shape"]


def test_a_cut_off_reply_keeps_the_rest_and_marks_the_missing_for_fallback() -> None:
    plan, doc = _setup()
    titles, violations = verify_chapter_titles("1. Welcome to the show\n2. Baking bre", plan, doc, finish_reason="length")
    assert titles == ["Welcome to the show", "Baking bre", "Bikes"]
    assert [(v.code, v.remedy) for v in violations] == [("truncated", "fallback")]
