"""Translated and bilingual subtitle files end to end (real pipeline, real openai SDK, the fault-injecting fake
server, a scripted agent): one cue per source cue with the source timings, failures repaired, split or listed,
a manual target-language track reused, and a killed process resumed without re-sending finished groups."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kernel.output.cue_lines import display_width
from kernel.output.exports import format_timestamp
from kernel.task_runtime.errors import InvalidInputError
from kernel.task_runtime.store import read_json
from kernel.task_runtime.telemetry import read_events
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.scripted_agent import ScriptedAgent, every_third

from .test_agent_writer import agent_api, play
from .test_chunk_loop import Finished, make_api, make_sentences, run_to_end, write_source
from .test_chunk_loop_resume import cli, environment

CUE_FORMATS = ["md", "srt", "translated_srt", "translated_vtt", "bilingual_srt", "bilingual_vtt"]


def srt_cues(text: str) -> list[tuple[str, str]]:
    """(timing line, text) of every cue of an SRT file."""
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        cues.append((lines[1], "\n".join(lines[2:])))
    return cues


def output(work_dir: Path, name: str) -> str:
    manifest = read_json(work_dir / "manifest.json")
    return (work_dir / manifest["artifacts"][f"output.{name}"]["path"]).read_text(encoding="utf-8")


def cue_requests(server: FakeOpenAIServer) -> int:
    return sum(1 for r in server.requests if "Mode: subtitles" in r.messages[-1]["content"])


def assert_cue_for_cue(finished: Finished, fallback: list[int]) -> None:
    """The translated SRT has one cue per source cue with its timing, each translated unless listed; the
    bilingual SRT has every source cue above its translation."""
    source = srt_cues(output(finished.work_dir, "srt"))
    translated = srt_cues(output(finished.work_dir, "translated_srt"))
    assert [timing for timing, _ in translated] == [timing for timing, _ in source]
    assert finished.quality["fallback_cues"] == fallback
    for number, ((_, original), (_, translation)) in enumerate(zip(source, translated, strict=True), start=1):
        assert translation.strip()
        assert (" ".join(translation.split()) == " ".join(original.split())) == (number in fallback), number
    bilingual = srt_cues(output(finished.work_dir, "bilingual_srt"))
    assert [timing for timing, _ in bilingual] == [timing for timing, _ in source]
    for number, ((_, original), (_, pair)) in enumerate(zip(source, bilingual, strict=True), start=1):
        lines = pair.split("\n")
        assert " ".join(lines[:1]) == " ".join(original.split()) or pair.startswith(original.split()[0])
        assert (len(lines) == 1) == (number in fallback), number


def test_faulty_replies_on_a_long_transcript_are_repaired_split_or_listed_cue_for_cue(tmp_path: Path) -> None:
    sentences = make_sentences(300, seed=3)
    media = write_source(tmp_path / "media", sentences)
    with FakeOpenAIServer() as server:
        # Groups hold three of these cues; "1. Item N links" is the first source line of one group's prompts.
        for index, fault in ((9, "drop_half"), (18, "wrong_language"), (27, "preamble"), (36, "empty"),
                             (45, "truncate"), (54, "loop"), (63, "content_filter"), (72, "rate_limit")):
            server.add_rule(f"1. Item {index} links", fault, times=1, **({"retry_after": 0} if fault == "rate_limit"
                                                                        else {}))
        server.add_rule("1. Item 90 links", "untranslated")  # always: this cue can only keep its source line
        finished = run_to_end(make_api(tmp_path, server, concurrency=4), media, mode="bilingual",
                              target_language="de", formats=CUE_FORMATS)
    assert_cue_for_cue(finished, fallback=[91])
    assert finished.quality["status"] == "degraded"
    assert any("91" in reason for reason in finished.quality["reasons"])
    events = read_events(finished.work_dir)
    statuses = Counter(e["status"] for e in events if e["event"] == "cue_group_finished")
    assert statuses["superseded"] >= 2  # the truncated, filtered and untranslated groups were split
    assert statuses["fallback"] == 1


@pytest.mark.parametrize("target", ["zh-Hans", "de"])
def test_translating_cues_passes_verification_and_keeps_lines_within_the_script_width(tmp_path: Path,
                                                                                     target: str) -> None:
    sentences = make_sentences(60)
    media = write_source(tmp_path / "media", sentences)
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path, server), media, mode="translate", target_language=target,
                              formats=["md", "srt", "translated_srt", "translated_vtt"])
    assert finished.quality["status"] == "pass" and finished.quality["fallback_cues"] == []
    translated = output(finished.work_dir, "translated_srt")
    assert len(srt_cues(translated)) == len(sentences)
    assert output(finished.work_dir, "translated_vtt").startswith("WEBVTT")
    limit = 32 if target == "zh-Hans" else 42
    assert all(display_width(line) <= limit for _, text in srt_cues(translated) for line in text.split("\n"))
    if target == "zh-Hans":
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in translated) > 1000
    cues = read_json(finished.work_dir / read_json(finished.work_dir / "manifest.json")["artifacts"][
        "cues.translated"]["path"])
    assert cues["origin"] == "llm" and cues["counts"] == {"succeeded": len(cues["group_states"])}


def test_the_agent_translates_cue_groups_with_the_same_tasks_checks_and_fallbacks(tmp_path: Path) -> None:
    sentences = make_sentences(45)
    media = write_source(tmp_path / "media", sentences)
    api = agent_api(tmp_path)
    run_id = api.create_run({"source": str(media), "llm": "agent", "mode": "translate", "target_language": "de",
                             "formats": ["md", "srt", "translated_srt"]}).run_id
    agent = ScriptedAgent(wrong=every_third)
    tasks: list[dict[str, Any]] = []
    original = agent.answer

    def answer(task: dict[str, Any]) -> str:
        tasks.append(task)
        return original(task)

    agent.answer = answer  # type: ignore[method-assign]
    report = play(api, run_id, agent, max_turns=400)
    work_dir = api.resolve(run_id).path
    groups = [t for t in tasks if t["work_item"] == "cue_group"]
    assert groups and all(t["chunk_id"].startswith("g") and t["operation"] == "translate_cues" for t in groups)
    assert any(t["violations"] for t in groups)  # wrong answers came back as repair tasks with their violations
    source = srt_cues(output(work_dir, "srt"))
    translated = srt_cues(output(work_dir, "translated_srt"))
    assert [timing for timing, _ in translated] == [timing for timing, _ in source]
    listed = set(report["fallback_cues"])
    for number, ((_, original_text), (_, text)) in enumerate(zip(source, translated, strict=True), start=1):
        assert text.strip() and ((text == original_text) == (number in listed)), number
    submitted = Counter(e["chunk_id"] for e in read_events(work_dir, event="submit_chunk"))
    answered = Counter(chunk_id for chunk_id, _, _ in agent.answers)
    assert submitted == answered  # every task answered once, none asked again after it was final


def media_with_a_german_track(folder: Path, sentences: list[str]) -> Path:
    media = write_source(folder / "media", sentences)
    cues = ["WEBVTT", ""]
    for index in range(len(sentences)):
        start, end = index * 2.5, index * 2.5 + 2.0
        cues += [f"{format_timestamp(start)} --> {format_timestamp(end)}", f"Satz {index} von Hand übersetzt.", ""]
    (media.parent / "talk.de.vtt").write_text("\n".join(cues), encoding="utf-8")
    return media


def test_a_manual_track_in_the_target_language_is_reused_without_llm_requests(tmp_path: Path) -> None:
    sentences = make_sentences(30)
    (tmp_path / "reuse").mkdir()
    media = media_with_a_german_track(tmp_path / "reuse", sentences)
    with FakeOpenAIServer() as server:
        finished = run_to_end(make_api(tmp_path / "reuse", server), media, mode="bilingual", target_language="de",
                              formats=CUE_FORMATS)
        assert cue_requests(server) == 0
    translated = srt_cues(output(finished.work_dir, "translated_srt"))
    assert [text for _, text in translated] == [f"Satz {i} von Hand übersetzt." for i in range(len(sentences))]
    bilingual = srt_cues(output(finished.work_dir, "bilingual_srt"))
    assert bilingual[3][1].split("\n")[-1] == "Satz 3 von Hand übersetzt."
    assert any("used manual de subtitles" in note for note in finished.quality["notes"])
    assert finished.quality["status"] == "pass"

    (tmp_path / "retranslate").mkdir()
    media = media_with_a_german_track(tmp_path / "retranslate", sentences)
    with FakeOpenAIServer() as server:
        again = run_to_end(make_api(tmp_path / "retranslate", server), media, mode="translate", target_language="de",
                           formats=["md", "translated_srt"], retranslate=True)
        assert cue_requests(server) > 0
    assert "von Hand" not in output(again.work_dir, "translated_srt")
    assert any("retranslate is set" in note for note in again.quality["notes"])


def test_a_kill_during_cue_translation_resumes_without_resending_finished_groups(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", make_sentences(30))
    args = ("run", str(media), "--json", "--mode", "translate", "--target-language", "de", "--formats",
            "md,srt,translated_srt")
    with FakeOpenAIServer() as server:
        env, home = environment(tmp_path, "reference", server)
        reference = cli(*args, "--output-dir", str(home / "out"), cwd=tmp_path, env=env)
        assert reference.returncode == 0, reference.stderr
        expected = output(Path(json.loads(reference.stdout)["work_dir"]), "translated_srt")

        env, home = environment(tmp_path, "crashed", server, YTT_CRASH_AT="cues:3:committed")
        crashed = cli(*args, "--output-dir", str(home / "out"), cwd=tmp_path, env=env)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        env.pop("YTT_CRASH_AT")
        run_id = json.loads(cli("runs", "--json", cwd=tmp_path, env=env).stdout)["runs"][0]["run_id"]
        resumed = cli("resume", run_id, "--json", cwd=tmp_path, env=env)
        assert resumed.returncode == 0, resumed.stderr

    work_dir = Path(json.loads(resumed.stdout)["work_dir"])
    assert output(work_dir, "translated_srt") == expected
    events = read_events(work_dir)
    per_group = Counter(e["chunk_id"] for e in events if e["event"] == "llm_request" and str(e["chunk_id"]).startswith("g"))
    assert len(per_group) >= 5
    assert set(per_group.values()) == {1}, per_group  # no finished group was sent again
    finished_before_kill = [e["chunk_id"] for e in events if e["event"] == "cue_group_finished"][:3]
    assert len(set(finished_before_kill)) == 3


def test_a_subtitle_file_the_mode_cannot_make_is_refused_at_create_time(tmp_path: Path) -> None:
    media = write_source(tmp_path / "media", make_sentences(5))
    with FakeOpenAIServer() as server:
        api = make_api(tmp_path, server)
        for params in ({"formats": ["md", "translated_srt"]},
                       {"mode": "translate", "target_language": "de", "formats": ["bilingual_srt"]}):
            with pytest.raises(InvalidInputError) as refused:
                api.create_run({"source": str(media), **params})
            assert refused.value.code == "invalid_option"
            assert refused.value.details["field"] == "formats"
        assert api.create_run({"source": str(media), "mode": "bilingual", "target_language": "de",
                               "formats": ["bilingual_vtt"]}).run_id
