from __future__ import annotations

import random

import pytest

from kernel.config import LLMProfile
from kernel.long_text.contracts import ChunkState, Plan, TransformRequest, Violation
from kernel.long_text.deterministic import format_range
from kernel.long_text.merge import MergeError, merge_chunks
from kernel.long_text.plan import build_plan, replan_remaining
from kernel.transcript import NormalizedDocument
from tests.long_text.sentence_docs import make_doc, random_doc, word_counter

SMALL = LLMProfile(base_url="http://127.0.0.1:9/v1", model="m", context_window=2048, max_output_tokens=1024)


def _plan(doc: NormalizedDocument, llm: LLMProfile | None = SMALL, titles: list[str | None] | None = None) -> Plan:
    return build_plan(
        doc,
        TransformRequest(mode="clean"),
        llm=llm,
        glossary=[],
        chapter_titles=titles if titles is not None else [c.title for c in doc.chapters],
        plan_id="p1",
        count_tokens=word_counter,
    )


def _llm_state(plan: Plan, chunk_id: str, output: str, **extra: object) -> ChunkState:
    return ChunkState.model_validate(
        {
            "plan_id": plan.state_plan_id(chunk_id),
            "chunk_id": chunk_id,
            "status": "succeeded",
            "output": output,
            "output_origin": "llm",
            **extra,
        }
    )


def _deterministic_states(plan: Plan, doc: NormalizedDocument) -> dict[str, ChunkState]:
    return {
        c.chunk_id: ChunkState(
            plan_id=plan.state_plan_id(c.chunk_id),
            chunk_id=c.chunk_id,
            status="succeeded",
            output=format_range(doc, c.core_start, c.core_end),
            output_origin="deterministic",
        )
        for c in plan.chunks
    }


def _long_doc(chapters: list[tuple[int, str]] | None = None) -> NormalizedDocument:
    texts = [f"Sentence {n} is here with a few more words." for n in range(200)]
    return make_doc(texts, chapters=chapters or [])


def test_chunks_are_merged_in_core_order_whatever_the_state_order() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    states = {c.chunk_id: _llm_state(plan, c.chunk_id, f"Output of chunk {c.index}.") for c in plan.chunks}
    shuffled = dict(random.Random(3).sample(sorted(states.items()), k=len(states)))
    merged = merge_chunks(plan, doc, shuffled)
    assert merged.markdown == "\n\n".join(f"Output of chunk {n}." for n in range(len(plan.chunks))) + "\n"
    assert merged.accounted_sentences == merged.total_sentences == 200
    assert merged.llm_chunks == [c.chunk_id for c in plan.chunks]


def test_chapter_headings_go_before_chunks_that_start_a_chapter() -> None:
    doc = _long_doc(chapters=[(0, "Intro"), (120, "Deep dive:")])
    plan = _plan(doc, titles=[None, "Der Tiefgang"])
    states = {c.chunk_id: _llm_state(plan, c.chunk_id, f"Chunk {c.index}.") for c in plan.chunks}
    merged = merge_chunks(plan, doc, states, timestamps="none")
    blocks = merged.markdown.strip().split("\n\n")
    second_chapter = next(c for c in plan.chunks if c.core_start == 120)
    assert blocks[0] == "## Intro"
    assert blocks.index("## Der Tiefgang") == blocks.index(f"Chunk {second_chapter.index}.") - 1
    assert merged.markdown.count("## ") == 2


def test_a_heading_the_model_already_wrote_is_not_doubled() -> None:
    doc = make_doc(["One.", "Two."], chapters=[(0, "Intro")])
    plan = _plan(doc)
    states = {plan.chunks[0].chunk_id: _llm_state(plan, plan.chunks[0].chunk_id, "## Intro\n\nOne. Two.")}
    assert merge_chunks(plan, doc, states, timestamps="none").markdown == "## Intro\n\nOne. Two.\n"


def test_seam_duplicates_between_chunks_are_removed_and_counted() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    first, second = plan.chunks[0], plan.chunks[1]
    states = {c.chunk_id: _llm_state(plan, c.chunk_id, f"Chunk {c.index} says something.") for c in plan.chunks}
    states[first.chunk_id] = _llm_state(plan, first.chunk_id, "Opening. The last sentence of the first chunk.")
    states[second.chunk_id] = _llm_state(
        plan, second.chunk_id, "The last sentence of the first chunk. The second chunk begins."
    )
    merged = merge_chunks(plan, doc, states)
    assert merged.seam_repairs == 1
    assert merged.markdown.count("The last sentence of the first chunk.") == 1
    assert "Opening. The last sentence of the first chunk.\n\nThe second chunk begins." in merged.markdown


def test_a_missing_chunk_state_fails_the_merge_with_its_sentence_range() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    states = {c.chunk_id: _llm_state(plan, c.chunk_id, "Text.") for c in plan.chunks}
    lost = plan.chunks[1]
    del states[lost.chunk_id]
    with pytest.raises(MergeError) as error:
        merge_chunks(plan, doc, states)
    assert error.value.code == "merge_incomplete"
    assert error.value.details["missing_ranges"] == [[lost.core_start, lost.core_end]]
    assert error.value.details["unfinished_chunks"] == [lost.chunk_id]


def test_states_without_output_or_not_final_fail_the_merge() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    for broken in (
        ChunkState(plan_id="p1", chunk_id=plan.chunks[0].chunk_id, status="failed"),
        ChunkState(plan_id="p1", chunk_id=plan.chunks[0].chunk_id, status="running", output="Half."),
        ChunkState(plan_id="p1", chunk_id=plan.chunks[0].chunk_id, status="succeeded", output="  "),
    ):
        states = {c.chunk_id: _llm_state(plan, c.chunk_id, "Text.") for c in plan.chunks}
        states[broken.chunk_id] = broken
        with pytest.raises(MergeError) as error:
            merge_chunks(plan, doc, states)
        assert error.value.code == "merge_incomplete"


def test_fallback_llm_and_degraded_chunks_are_reported() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    a, b, c = plan.chunks[0], plan.chunks[1], plan.chunks[2]
    states = {x.chunk_id: _llm_state(plan, x.chunk_id, f"Chunk {x.index}.") for x in plan.chunks}
    states[a.chunk_id] = ChunkState(
        plan_id="p1",
        chunk_id=a.chunk_id,
        status="fallback",
        output=format_range(doc, a.core_start, a.core_end),
        output_origin="deterministic",
    )
    violation = Violation(code="length_ratio", detail="a bit short", remedy="repair")
    states[b.chunk_id] = _llm_state(plan, b.chunk_id, "Kept anyway.", final_violations=[violation.model_dump()])
    merged = merge_chunks(plan, doc, states)
    assert merged.fallback_chunks == [a.chunk_id]
    assert merged.degraded_chunks == [b.chunk_id]
    assert c.chunk_id in merged.llm_chunks and a.chunk_id not in merged.llm_chunks
    assert merged.markdown.startswith("Sentence 0 is here")


def test_a_replanned_document_merges_inherited_and_new_chunks() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    kept = plan.chunks[0]
    replanned = replan_remaining(plan, doc, {kept.chunk_id}, new_plan_id="p2", count_tokens=word_counter)
    states = {c.chunk_id: _llm_state(replanned, c.chunk_id, f"From {c.chunk_id}.") for c in replanned.chunks}
    merged = merge_chunks(replanned, doc, states)
    assert merged.markdown.startswith(f"From {kept.chunk_id}.")
    assert merged.markdown.count("From p2-") == len(replanned.chunks) - 1
    assert merged.accounted_sentences == 200


def test_merging_deterministic_chunks_keeps_every_sentence_in_order() -> None:
    rng = random.Random(99)
    for _ in range(25):
        doc = random_doc(rng, max_sentences=150)
        plan = _plan(doc, llm=rng.choice([None, SMALL]))
        merged = merge_chunks(plan, doc, _deterministic_states(plan, doc))
        position = 0
        for sentence in doc.sentences:
            found = merged.markdown.find(sentence.text, position)
            assert found >= 0, sentence.text
            position = found + len(sentence.text)
        assert merged.markdown.count("## ") == sum(1 for c in plan.chunks if c.starts_chapter)


def test_an_empty_document_merges_to_an_empty_body() -> None:
    doc = make_doc([])
    merged = merge_chunks(_plan(doc), doc, {})
    assert merged.markdown == "" and merged.total_sentences == 0


def test_deterministic_text_is_never_trimmed_at_a_seam() -> None:
    doc = _long_doc()
    plan = _plan(doc)
    first, second = plan.chunks[0], plan.chunks[1]
    states = _deterministic_states(plan, doc)
    repeated = "We really need to go back to the drawing board."
    states[first.chunk_id] = states[first.chunk_id].model_copy(update={"output": "Start. " + repeated})
    states[second.chunk_id] = states[second.chunk_id].model_copy(update={"output": repeated + " Then more."})
    merged = merge_chunks(plan, doc, states)
    assert merged.markdown.count(repeated) == 2 and merged.seam_repairs == 0
