"""The live draft file and its pages: what the transcribe phase appends window by window, and what
``inspect`` detail ``draft`` reads back (the real speech path is in tests/e2e/test_asr_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.long_text.tokens import count_tokens
from kernel.pipeline.draft import (
    DRAFT_FILE,
    DRAFT_PAGE_MAX_CHARS,
    DRAFT_PAGE_MAX_TOKENS,
    DraftWriter,
    draft_page,
    draft_text,
    read_draft,
)
from kernel.source.asr.base import TimeWindow, WindowResult
from kernel.task_runtime.clock import ManualClock
from kernel.task_runtime.contracts import Manifest
from kernel.task_runtime.errors import CorruptStateError, InvalidInputError
from kernel.task_runtime.workdir import RunDir
from kernel.transcript import Segment

WINDOW_SECONDS = 30.0


def window(index: int, total: int, texts: list[str]) -> WindowResult:
    """Window ``index`` of ``total``, its segments spread evenly over it, with no pause between them."""
    start = index * WINDOW_SECONDS
    step = WINDOW_SECONDS / len(texts)
    segments = [Segment(start=start + i * step, end=start + (i + 1) * step, text=text) for i, text in enumerate(texts)]
    return WindowResult(window=TimeWindow(index=index, start=start, end=start + WINDOW_SECONDS), windows_total=total,
                        language="en", segments=segments, from_checkpoint=False)


def page(run_dir: RunDir, cursor: int = 0, state: str = "transcribing") -> dict:
    return draft_page(run_dir, Manifest(run_id="r1", state=state), cursor=cursor, limit=20)["draft"]


def test_a_torn_last_line_is_skipped_by_the_reader_and_repaired_by_the_next_append(tmp_path: Path) -> None:
    draft = DraftWriter.start(tmp_path)
    draft.on_window(window(0, 3, ["Welcome to the update."]))
    draft.on_window(window(1, 3, ["Builds took 42 minutes."]))
    with (tmp_path / DRAFT_FILE).open("ab") as handle:  # a writer killed halfway through a line
        handle.write(b'{"schema_version":1,"window":2,"start":60.0,"end":90.0,"windows_total":3,"te')

    assert [w.window for w in read_draft(tmp_path / DRAFT_FILE)] == [0, 1]

    draft.on_window(window(2, 3, ["Now they take nine."]))
    assert [(w.window, w.text) for w in read_draft(tmp_path / DRAFT_FILE)] == [
        (0, "Welcome to the update."), (1, "Builds took 42 minutes."), (2, "Now they take nine.")]


def test_a_complete_line_that_is_not_a_window_names_the_file_and_line(tmp_path: Path) -> None:
    DraftWriter.start(tmp_path).on_window(window(0, 2, ["Hello there."]))
    with (tmp_path / DRAFT_FILE).open("a", encoding="utf-8") as handle:
        handle.write('{"schema_version":1,"window":-1}\n')
    with pytest.raises(CorruptStateError) as caught:
        read_draft(tmp_path / DRAFT_FILE)
    assert caught.value.details["file"] == DRAFT_FILE and caught.value.details["line"] == 2


def test_starting_the_draft_again_empties_it_so_a_resumed_run_regrows_it_from_the_first_window(
    tmp_path: Path,
) -> None:
    first = DraftWriter.start(tmp_path)
    first.on_window(window(0, 2, ["One."]))
    DraftWriter.start(tmp_path)
    assert read_draft(tmp_path / DRAFT_FILE) == []


def test_pages_are_bounded_follow_on_from_each_other_and_a_poll_past_the_end_waits_for_more(
    tmp_path: Path,
) -> None:
    run_dir = RunDir(tmp_path, ManualClock())
    draft = DraftWriter.start(tmp_path)
    sentence = "The cache saved about nine minutes on every build of the main project. "
    for index in range(40):
        draft.on_window(window(index, 41, [f"Window {index} part {i}. " + sentence * 3 for i in range(10)]))

    cursor, seen, pages = 0, 0, 0
    while True:
        shown = page(run_dir, cursor)
        assert len(shown["text"]) <= DRAFT_PAGE_MAX_CHARS and count_tokens(shown["text"]) <= DRAFT_PAGE_MAX_TOKENS
        assert shown["text"].startswith(f"Window {cursor // 10} part {cursor % 10}.")
        seen += shown["segments"]
        pages += 1
        if shown["next_cursor"] is None:
            break
        assert shown["poll_cursor"] == shown["next_cursor"] == cursor + shown["segments"]
        cursor = shown["next_cursor"]
    assert pages > 1 and seen == 400
    assert (shown["complete"], shown["windows_done"], shown["windows_total"]) == (False, 40, 41)
    assert shown["seconds_done"] == 40 * WINDOW_SECONDS and shown["status"].startswith("recognized 1200 s so far")

    waiting = page(run_dir, shown["poll_cursor"])  # polling: nothing new yet is an empty page, not an error
    assert (waiting["text"], waiting["segments"], waiting["poll_cursor"], waiting["next_cursor"]) == ("", 0, 400, None)

    draft.on_window(window(40, 41, ["That was the last window."]))
    new = page(run_dir, waiting["poll_cursor"])
    assert (new["text"], new["complete"]) == ("That was the last window.", True)
    assert new["status"] == "recognition finished: all 1230 s, 41 windows"
    with pytest.raises(InvalidInputError) as caught:
        page(run_dir, 402)
    assert caught.value.code == "invalid_cursor"


def test_before_recognition_starts_the_page_says_what_the_run_is_doing(tmp_path: Path) -> None:
    shown = page(RunDir(tmp_path, ManualClock()), state="sourcing")
    assert (shown["text"], shown["complete"], shown["segments_total"]) == ("", False, 0)
    assert shown["status"] == "nothing recognized yet: the run is sourcing"


def test_the_draft_text_breaks_paragraphs_at_pauses_and_speaker_turns_and_names_the_speakers() -> None:
    segments = [
        Segment(start=0.0, end=2.0, text="Welcome to this update.", speaker="0"),
        Segment(start=2.0, end=4.0, text="It is short.", speaker="0"),
        Segment(start=4.0, end=5.0, text="[music]", kind="non_speech"),
        Segment(start=4.0, end=6.0, text="How long did builds take?", speaker="1"),
        Segment(start=9.0, end=11.0, text="About 42 minutes.", speaker="1"),
    ]
    assert draft_text(segments) == ("Speaker 1: Welcome to this update. It is short.\n\n"
                                    "Speaker 2: How long did builds take?\n\nSpeaker 2: About 42 minutes.")
