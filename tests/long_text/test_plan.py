from __future__ import annotations

import random

import pytest

from kernel.config import LLMProfile
from kernel.long_text.contracts import GlossaryTerm, Plan, TransformRequest
from kernel.long_text.plan import (
    MIN_REPLAN_SOURCE_TOKENS,
    PlanError,
    build_plan,
    check_partition,
    expected_output_ratio,
    plan_summary,
    replan_remaining,
)
from kernel.long_text.sections import document_sections, section_of_sentences, section_start_flags
from kernel.transcript import NormalizedDocument
from tests.long_text.sentence_docs import make_doc, random_doc, word_counter

CLEAN = TransformRequest(mode="clean")
SMALL_MODEL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=2048, max_output_tokens=1024)
LARGE_MODEL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=128_000, max_output_tokens=16_384)


def _plan(
    doc: NormalizedDocument,
    llm: LLMProfile | None = SMALL_MODEL,
    request: TransformRequest = CLEAN,
    plan_id: str = "p1",
) -> Plan:
    titles: list[str | None] = [c.title for c in doc.chapters]
    return build_plan(
        doc, request, llm=llm, glossary=[], chapter_titles=titles, plan_id=plan_id, count_tokens=word_counter
    )


def _assert_invariants(plan: Plan, doc: NormalizedDocument) -> None:
    covered = [i for chunk in plan.chunks for i in range(chunk.core_start, chunk.core_end)]
    assert covered == list(range(len(doc.sentences)))
    sections = document_sections(doc)
    starts = section_start_flags(sections, len(doc.sentences))
    owners = section_of_sentences(sections, len(doc.sentences))
    chunk_starts = {chunk.core_start for chunk in plan.chunks}
    assert {i for i, is_start in enumerate(starts) if is_start} <= chunk_starts
    for position, chunk in enumerate(plan.chunks):
        assert chunk.index == position
        assert chunk.starts_chapter == starts[chunk.core_start]
        assert chunk.chapter_index == owners[chunk.core_start]
        if doc.chapters:
            assert chunk.chapter_index == doc.sentences[chunk.core_start].chapter_index
        assert chunk.core_start - chunk.context_before_start <= 2
        assert chunk.context_after_end - chunk.core_end <= 2
        if chunk.sentence_count > 1 and chunk.chunk_id not in plan.inherited:
            assert chunk.source_tokens <= plan.contract.max_source_tokens
    assert len({chunk.chunk_id for chunk in plan.chunks}) == len(plan.chunks)


def test_cores_partition_the_sentences_of_random_documents_exactly() -> None:
    rng = random.Random(20240501)
    profiles = [
        None,
        SMALL_MODEL,
        LARGE_MODEL,
        LLMProfile(base_url="http://x/v1", model="m", context_window=1024, max_output_tokens=256),
    ]
    for _ in range(150):
        doc = random_doc(rng, cjk=rng.random() < 0.3, max_sentences=300)
        plan = _plan(doc, llm=rng.choice(profiles))
        _assert_invariants(plan, doc)


def test_replanning_random_documents_keeps_the_partition_and_the_finished_cores() -> None:
    rng = random.Random(11)
    for _ in range(60):
        doc = random_doc(rng, max_sentences=400)
        plan = _plan(doc)
        finished = {c.chunk_id for c in plan.chunks if rng.random() < 0.5}
        replanned = replan_remaining(plan, doc, finished, new_plan_id="p2", count_tokens=word_counter)
        _assert_invariants(replanned, doc)
        kept = {c.chunk_id: (c.core_start, c.core_end) for c in replanned.chunks if c.chunk_id in finished}
        assert kept == {c.chunk_id: (c.core_start, c.core_end) for c in plan.chunks if c.chunk_id in finished}


def test_no_llm_gives_a_deterministic_plan_that_is_still_chunked() -> None:
    doc = make_doc([f"Sentence number {n} has some words in it." for n in range(400)])
    plan = _plan(doc, llm=None)
    assert plan.path == "deterministic"
    assert plan.operations == ["format"]
    assert len(plan.chunks) > 1
    assert any("no LLM" in reason for reason in plan.reasons)


def test_a_document_that_fits_one_request_takes_the_short_path() -> None:
    doc = make_doc([f"Sentence number {n} has some words in it." for n in range(40)])
    plan = _plan(doc, llm=LARGE_MODEL)
    assert plan.path == "short"
    assert [(c.core_start, c.core_end) for c in plan.chunks] == [(0, 40)]


def test_the_same_document_takes_the_long_path_on_a_small_context_window() -> None:
    doc = make_doc([f"Sentence number {n} has some words in it." for n in range(400)])
    assert _plan(doc, llm=LARGE_MODEL).path == "short"
    small = _plan(doc, llm=SMALL_MODEL)
    assert small.path == "long"
    assert len(small.chunks) > 5
    assert small.contract.max_source_tokens < LARGE_MODEL.context_window


def test_chunk_size_respects_the_context_window_and_the_output_limit() -> None:
    doc = make_doc(["One sentence."])
    contract = _plan(doc, llm=SMALL_MODEL).contract
    prompt_side = contract.max_source_tokens * (1 + 2 * contract.expected_output_ratio) + contract.context_tokens
    assert prompt_side < SMALL_MODEL.context_window
    assert contract.max_source_tokens * contract.expected_output_ratio <= SMALL_MODEL.max_output_tokens
    assert contract.max_output_tokens <= SMALL_MODEL.max_output_tokens


def test_bilingual_and_translation_chunks_are_smaller_than_cleaning_chunks() -> None:
    doc = make_doc(["One sentence."])
    clean = _plan(doc).contract.max_source_tokens
    translate = _plan(doc, request=TransformRequest(mode="translate", target_language="de")).contract
    bilingual = _plan(doc, request=TransformRequest(mode="bilingual", target_language="de")).contract
    assert bilingual.max_source_tokens < translate.max_source_tokens < clean
    assert bilingual.expected_output_ratio > translate.expected_output_ratio > 1.0


def test_translation_ratios_follow_the_target_language_token_cost() -> None:
    assert expected_output_ratio("translate", "en", "zh") > expected_output_ratio("translate", "en", "de")
    assert expected_output_ratio("translate", "zh", "en") < 1.0
    assert expected_output_ratio("clean", "en", "en") == pytest.approx(1.1)


def test_chapter_starts_always_begin_a_new_chunk_even_on_the_short_path() -> None:
    doc = make_doc(["Intro words.", "More intro.", "Body starts.", "Body ends."], chapters=[(0, "Intro"), (2, "Body")])
    plan = _plan(doc, llm=LARGE_MODEL)
    assert [(c.core_start, c.core_end, c.starts_chapter, c.chapter_index) for c in plan.chunks] == [
        (0, 2, True, 0),
        (2, 4, True, 1),
    ]
    assert plan.chapter_titles == ["Intro", "Body"]


def test_a_small_tail_joins_the_previous_chunk_when_it_fits() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(21)]  # 210 tokens
    doc = make_doc(texts)
    plan = _plan(doc, llm=SMALL_MODEL)
    sizes = [c.source_tokens for c in plan.chunks]
    assert min(sizes) >= 0.3 * plan.contract.max_source_tokens or len(sizes) == 1


def test_chunks_are_balanced_instead_of_leaving_a_tiny_remainder() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(130)]  # 1300 tokens
    doc = make_doc(texts)
    plan = _plan(doc)
    sizes = [c.source_tokens for c in plan.chunks]
    assert len(sizes) >= 2
    assert max(sizes) - min(sizes) <= 20


def test_context_comes_from_neighbouring_source_sentences_within_its_budget() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(300)]
    plan = _plan(make_doc(texts))
    first, second = plan.chunks[0], plan.chunks[1]
    assert first.context_before_start == 0
    assert second.context_before_start == second.core_start - 2
    assert first.context_after_end == first.core_end + 2
    assert plan.chunks[-1].context_after_end == 300


def test_context_skips_a_neighbour_longer_than_the_budget() -> None:
    texts = ["short one.", " ".join(["long"] * 400) + ".", "short two."]
    plan = _plan(make_doc(texts))
    middle = plan.chunk(next(c.chunk_id for c in plan.chunks if c.core_start == 1))
    assert middle.sentence_count == 1  # a sentence longer than the chunk size is a chunk of its own
    after = plan.chunk(next(c.chunk_id for c in plan.chunks if c.core_end == 3))
    assert after.context_before_start == after.core_start


def test_replan_keeps_finished_chunks_and_shrinks_the_rest() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(300)]
    doc = make_doc(texts)
    plan = _plan(doc)
    finished = {plan.chunks[0].chunk_id, plan.chunks[2].chunk_id}
    replanned = replan_remaining(plan, doc, finished, new_plan_id="p2", count_tokens=word_counter)
    assert replanned.parent_plan_id == "p1" and replanned.plan_id == "p2"
    assert replanned.inherited == {plan.chunks[0].chunk_id: "p1", plan.chunks[2].chunk_id: "p1"}
    assert replanned.contract.max_source_tokens == plan.contract.max_source_tokens // 2
    new_chunks = replanned.own_chunks()
    assert all(c.chunk_id.startswith("p2-") for c in new_chunks)
    assert all(c.source_tokens <= replanned.contract.max_source_tokens for c in new_chunks)
    assert len(new_chunks) > len(plan.chunks) - 2
    assert replanned.path == "long"


def test_a_second_replan_carries_earlier_inherited_chunks_over() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(300)]
    doc = make_doc(texts)
    plan = _plan(doc)
    first_kept = plan.chunks[0].chunk_id
    p2 = replan_remaining(plan, doc, {first_kept}, new_plan_id="p2", count_tokens=word_counter)
    second_kept = p2.own_chunks()[0].chunk_id
    p3 = replan_remaining(p2, doc, {first_kept, second_kept}, new_plan_id="p3", count_tokens=word_counter)
    assert p3.inherited == {first_kept: "p1", second_kept: "p2"}
    assert p3.state_plan_id(first_kept) == "p1" and p3.state_plan_id(second_kept) == "p2"
    _assert_invariants(p3, doc)


def test_replan_never_shrinks_below_the_floor() -> None:
    texts = [" ".join(["word"] * 10) + "." for _ in range(300)]
    doc = make_doc(texts)
    plan = _plan(doc)
    for number in range(2, 8):
        plan = replan_remaining(plan, doc, set(), new_plan_id=f"p{number}", count_tokens=word_counter)
    assert plan.contract.max_source_tokens == MIN_REPLAN_SOURCE_TOKENS


def test_replan_refuses_unknown_chunks_and_reused_plan_ids() -> None:
    doc = make_doc(["One.", "Two."])
    plan = _plan(doc)
    with pytest.raises(PlanError) as unknown:
        replan_remaining(plan, doc, {"p9-c0000"}, new_plan_id="p2", count_tokens=word_counter)
    assert unknown.value.code == "unknown_chunk"
    with pytest.raises(PlanError) as reused:
        replan_remaining(plan, doc, set(), new_plan_id="p1", count_tokens=word_counter)
    assert reused.value.code == "plan_id_reused"


def test_a_broken_partition_is_reported() -> None:
    doc = make_doc(["One.", "Two.", "Three."])
    plan = _plan(doc)
    with pytest.raises(PlanError) as error:
        check_partition(plan.chunks, 4)
    assert error.value.code == "plan_partition_broken"


def test_plan_summary_is_small_and_readable() -> None:
    doc = make_doc(["One.", "Two."])
    glossary = [GlossaryTerm(term="Kubernetes", source="user")]
    plan = build_plan(
        doc,
        TransformRequest(mode="translate", target_language="de"),
        llm=SMALL_MODEL,
        glossary=glossary,
        chapter_titles=[],
        plan_id="p1",
        count_tokens=word_counter,
    )
    summary = plan_summary(plan)
    assert summary["path"] == "short" and summary["chunks"] == 1 and summary["glossary_terms"] == 1
    assert summary["target_language"] == "de" and summary["sentences"] == 2


def test_an_empty_document_gets_an_empty_plan() -> None:
    plan = _plan(make_doc([]))
    assert plan.chunks == []
