"""Verification of a cue group's translation: one numbered line out per line in, each a real translation."""

from __future__ import annotations

from kernel.long_text.contracts import ChunkContract, GlossaryTerm, Plan
from kernel.long_text.cue_verify import verify_cue_answer
from tests.fakes.openai_server import translate_cue_lines

SOURCE = [
    "Welcome back to the show, today we talk about",
    "the new release of Kubernetes 1.30 and what",
    "it means for the people who run it in production.",
]


def plan(target: str = "de") -> Plan:
    contract = ChunkContract(operation="translate", max_source_tokens=100, context_tokens=0, expected_output_ratio=1.0,
                             max_output_tokens=100, min_length_ratio=0.4, max_length_ratio=2.5)
    return Plan(plan_id="p1", path="short", mode="translate", source_language="en", target_language=target,
                output_language=target, operations=["translate"], contract=contract, chunks=[],
                glossary=[GlossaryTerm(term="Kubernetes", source="user")])


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))


def codes(answer: str, target: str = "de", finish_reason: str | None = "stop") -> list[str]:
    verification, _ = verify_cue_answer(plan(target), SOURCE, answer, finish_reason)
    return [v.code for v in verification.violations]


GERMAN = [
    "Willkommen zurück in der Sendung, heute sprechen wir über",
    "die neue Version von Kubernetes 1.30 und was",
    "sie für die Leute bedeutet, die es im Betrieb nutzen.",
]


def test_a_faithful_translation_passes_and_gives_one_line_per_cue() -> None:
    verification, lines = verify_cue_answer(plan(), SOURCE, numbered(GERMAN), "stop")
    assert verification.ok, verification.violations
    assert lines == GERMAN
    chinese = translate_cue_lines(numbered(SOURCE), "zh-Hans")
    verification, lines = verify_cue_answer(plan("zh-Hans"), SOURCE, chinese, "stop")
    assert verification.ok, verification.violations
    assert lines is not None and len(lines) == 3


def test_missing_merged_or_unnumbered_lines_break_the_line_count() -> None:
    assert codes(numbered(GERMAN[:2])) == ["line_count"]
    assert "line_count" in codes(" ".join(GERMAN))
    assert codes(numbered(GERMAN) + "\n4. Noch eine Zeile") == ["line_count"]
    assert codes(numbered([GERMAN[0]]) + "\nohne Nummer\n" + "\n".join(f"{n}. {GERMAN[n - 1]}" for n in (2, 3))) == [
        "line_count"]


def test_a_preamble_before_line_one_is_a_leak() -> None:
    assert codes("Hier ist die Übersetzung:\n" + numbered(GERMAN)) == ["leaked_preamble"]


def test_empty_copied_and_runaway_lines_are_named() -> None:
    assert "empty_line" in codes(numbered([GERMAN[0], "", GERMAN[2]]))
    assert "untranslated_line" in codes(numbered([GERMAN[0], SOURCE[1], GERMAN[2]]))
    assert "line_length" in codes(numbered([GERMAN[0], GERMAN[1] + " " + GERMAN[2] * 3, GERMAN[2]]))


def test_a_line_that_is_only_names_and_numbers_may_stay_as_it_is() -> None:
    source = ["Kubernetes 1.30", "NASA and OpenAI"]
    verification, _ = verify_cue_answer(plan(), source, numbered(["Kubernetes 1.30", "NASA und OpenAI"]), "stop")
    assert verification.ok, verification.violations


def test_values_glossary_terms_and_the_target_language_are_checked_over_the_group() -> None:
    assert "missing_anchor" in codes(numbered([GERMAN[0], GERMAN[1].replace("1.30", ""), GERMAN[2]]))
    assert "missing_glossary_term" in codes(numbered([GERMAN[0], GERMAN[1].replace("Kubernetes", "K8s"), GERMAN[2]]))
    english_again = ["Welcome back to this show, and today we talk about", "the new version of Kubernetes 1.30 and what",
                     "this is for the people that have it in production."]
    assert "wrong_script" in codes(numbered(english_again))
    assert "wrong_script" in codes(numbered(GERMAN), target="zh-Hans")


def test_a_cut_off_group_asks_to_be_split_and_a_single_cut_off_cue_falls_back() -> None:
    verification, _ = verify_cue_answer(plan(), SOURCE, numbered(GERMAN[:2]), "length")
    assert {v.code: v.remedy for v in verification.violations}["truncated"] == "replan"
    verification, _ = verify_cue_answer(plan(), SOURCE[:1], "1. Willkommen", "length")
    assert {v.code: v.remedy for v in verification.violations}["truncated"] == "fallback"
