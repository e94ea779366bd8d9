"""Whole articles from long generated talks: sections, source times, table of contents, speakers.

Each run goes through the real pipeline (local media with sidecar subtitles, chapters in the container
when asked), deterministically or through the fake OpenAI-compatible server, well-behaved or faulty.
Every check compares the article with the talk's ground truth (``long_talks.GeneratedTalk``), not with
what the code under test computed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from kernel.output.toc import Slugger
from tests.fakes.openai_server import FakeOpenAIServer
from tests.long_text.article_runs import LONG_LLM, article_body, runtime_api, write_talk
from tests.long_text.long_talks import GeneratedTalk, generate_talk, rolling_captions
from tests.long_text.test_chunk_loop import Finished, chunk_states, run_to_end

_HEADING = re.compile(r"^(#{1,6}) (.*)$")
_TIMED_HEADING = re.compile(r"^## (.+?) \[(\d{1,2}:\d{2}(?::\d{2})?)\](?:\(([^)\s]+)\))?$")
_TIME_LABEL = re.compile(r"\[(\d{1,2}:\d{2}(?::\d{2})?)\](?:\(([^)\s]+)\))?")
_SPEAKER = re.compile(r"^\*\*([^*\n]{1,40}):\*\* ")
_TOC_LINE = re.compile(r"^- \[(.+?)\]\(#([^)]+)\)")


def seconds(label: str) -> int:
    total = 0
    for part in label.split(":"):
        total = total * 60 + int(part)
    return total


def words_of(text: str, cjk: bool) -> list[str]:
    """Comparable units: lower-case Latin words, or single CJK characters."""
    if cjk:
        return re.findall(r"[\u4e00-\u9fff]|[a-z0-9]+", text.lower())
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def talk_words(talk: GeneratedTalk) -> list[tuple[str, float]]:
    """Every unit of the talk with the time it is spoken (spread evenly over its sentence)."""
    cjk = talk.language.startswith("zh")
    timed: list[tuple[str, float]] = []
    for sentence in talk.sentences:
        units = words_of(sentence.text, cjk)
        step = (sentence.end - sentence.start) / len(units)
        timed += [(unit, sentence.start + i * step) for i, unit in enumerate(units)]
    return timed


def body_paragraphs(article: str) -> list[str]:
    """The body's blocks after the title, without the table of contents."""
    body = article_body(article)
    blocks = [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]
    return [b for b in blocks if not b.startswith("# ") and not _TOC_LINE.match(b)]


def plain_text(block: str) -> str:
    return _SPEAKER.sub("", _TIME_LABEL.sub("", block).strip()).strip()


def assert_headings_are_within_3_seconds_of_the_words_they_introduce(article: str, talk: GeneratedTalk) -> int:
    cjk = talk.language.startswith("zh")
    stream = talk_words(talk)
    units = [unit for unit, _ in stream]
    blocks = body_paragraphs(article)
    checked, position = 0, 0
    for index, block in enumerate(blocks):
        match = _TIMED_HEADING.match(block)
        if not match:
            continue
        following = next(plain_text(b) for b in blocks[index + 1 :] if not b.startswith("## "))
        probe = words_of(following, cjk)[: 24 if cjk else 14]
        found = next(i for i in range(position, len(units)) if units[i : i + len(probe)] == probe)
        assert abs(seconds(match.group(2)) - stream[found][1]) <= 3.0, (block, stream[found])
        position = found
        checked += 1
    return checked


def assert_the_table_of_contents_resolves(article: str) -> None:
    lines = article_body(article).splitlines()
    slugger = Slugger()
    anchors: list[str] = []
    sections: list[str] = []
    for line in lines:
        match = _HEADING.match(line)
        if match:
            slug = slugger.slug(match.group(2))
            if len(match.group(1)) == 2:
                anchors.append(slug)
                sections.append(match.group(2))
    linked = [m.group(2) for m in map(_TOC_LINE.match, lines) if m]
    assert len(sections) >= 3
    assert linked == anchors  # every section is listed once, in order, and each link names a heading
    assert len(set(anchors)) == len(anchors)


def assert_every_sentence_exactly_once(article: str, talk: GeneratedTalk) -> None:
    cjk = talk.language.startswith("zh")
    text = " ".join(w for b in body_paragraphs(article) if not b.startswith("## ") for w in words_of(plain_text(b), cjk))
    text = f" {text} "
    missing_or_repeated = {}
    for sentence in talk.sentences:
        needle = " " + " ".join(words_of(sentence.text, cjk)) + " "
        count = text.count(needle)
        if count != 1:
            missing_or_repeated[sentence.text] = count
    assert not missing_or_repeated


def assert_speaker_turns_are_kept(article: str, talk: GeneratedTalk) -> None:
    expected: list[str] = []
    for sentence in talk.sentences:
        if sentence.speaker and (not expected or expected[-1] != sentence.speaker):
            expected.append(sentence.speaker)
    found: list[str] = []
    for block in body_paragraphs(article):
        match = _SPEAKER.match(_TIME_LABEL.sub("", block, count=1).lstrip() if block.startswith("[") else block)
        if match and (not found or found[-1] != match.group(1)):
            found.append(match.group(1))
    assert found == expected


def chaptered_media(folder: Path, talk: GeneratedTalk) -> Path:
    """``write_talk`` plus the talk's topics as chapters, and artist and date tags, in the container."""
    media = write_talk(folder, talk)
    lines = [";FFMETADATA1", "title=A long talk", "artist=Ada Lovelace", "date=2023-05-04", ""]
    ends = [*talk.topic_starts[1:], talk.duration]
    for title, start, end in zip(talk.topic_titles, talk.topic_starts, ends, strict=True):
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}", f"END={round(end * 1000)}",
                  f"title={title}", ""]
    meta = folder / "chapters.txt"
    meta.write_text("\n".join(lines), encoding="utf-8")
    tagged = folder / "tagged.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media), "-i", str(meta),
                    "-map_metadata", "1", "-map_chapters", "1", "-codec", "copy", str(tagged)], check=True)
    shutil.move(tagged, media)
    meta.unlink()
    return media


def run_article(tmp_path: Path, media: Path, server: FakeOpenAIServer | None, **params: Any) -> Finished:
    api = runtime_api(tmp_path, "llm" if server else "plain", server, **(LONG_LLM if server else {}))
    language = (media.parent.joinpath("talk.zh.vtt").exists() and "zh") or "en"
    return run_to_end(api, media, preferred_languages=[language], **params)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_unchaptered_talk_gets_timed_topic_sections_and_a_table_of_contents(tmp_path: Path, language: str) -> None:
    talk = generate_talk(language=language, minutes=30, seed=5)
    finished = run_article(tmp_path, write_talk(tmp_path / "media", talk), None)

    assert assert_headings_are_within_3_seconds_of_the_words_they_introduce(finished.article, talk) >= 4
    assert_the_table_of_contents_resolves(finished.article)
    assert_every_sentence_exactly_once(finished.article, talk)
    titles = [m.group(1) for b in body_paragraphs(finished.article) if (m := _TIMED_HEADING.match(b))]
    assert len(set(titles)) == len(titles) and not any(re.fullmatch(r"(Part|Section) \d+", t) for t in titles)


def test_chapters_and_speakers_survive_a_model_that_merges_paragraphs(tmp_path: Path) -> None:
    talk = generate_talk(minutes=30, speakers=True, seed=8)
    media = chaptered_media(tmp_path / "media", talk)
    with FakeOpenAIServer() as server:
        server.add_rule("**Ada:**", "merge_paragraphs", times=4)
        finished = run_article(tmp_path, media, server)

    headings = [m.group(1) for b in body_paragraphs(finished.article) if (m := _TIMED_HEADING.match(b))]
    assert headings == talk.topic_titles
    assert assert_headings_are_within_3_seconds_of_the_words_they_introduce(finished.article, talk) == len(headings)
    assert_the_table_of_contents_resolves(finished.article)
    assert_every_sentence_exactly_once(finished.article, talk)
    assert_speaker_turns_are_kept(finished.article, talk)
    violations = [v["code"] for s in chunk_states(finished) for a in s["attempts"] for v in a["violations"]]
    assert "speaker_turns" in violations  # the merged answers were caught and repaired
    front = finished.article.split("\n---\n", 1)[0]
    assert "artist: Ada Lovelace" in front and 'date: "2023-05-04"' in front and "date_source: tag" in front
    assert "speakers: 2" in front and f"sections: {len(headings)}" in front


def test_chinese_speakers_and_sections_survive_the_fake_model(tmp_path: Path) -> None:
    talk = generate_talk(language="zh", minutes=30, speakers=True, seed=2)
    with FakeOpenAIServer() as server:
        server.enqueue("drop_half")
        finished = run_article(tmp_path, write_talk(tmp_path / "media", talk), server)

    assert assert_headings_are_within_3_seconds_of_the_words_they_introduce(finished.article, talk) >= 4
    assert_the_table_of_contents_resolves(finished.article)
    assert_every_sentence_exactly_once(finished.article, talk)
    assert_speaker_turns_are_kept(finished.article, talk)


def test_paragraph_times_stay_with_their_words_when_the_model_splits_paragraphs(tmp_path: Path) -> None:
    talk = generate_talk(minutes=20, seed=4)
    with FakeOpenAIServer(behaviour="split_paragraphs") as server:
        finished = run_article(tmp_path, write_talk(tmp_path / "media", talk), server, timestamps="paragraphs")

    stream = talk_words(talk)
    units = [unit for unit, _ in stream]
    times: list[int] = []
    position = 0
    for block in body_paragraphs(finished.article):
        if block.startswith("## "):
            continue
        label = _TIME_LABEL.match(block)
        assert label, block
        probe = words_of(plain_text(block), False)[:14]
        found = next(i for i in range(position, len(units)) if units[i : i + len(probe)] == probe)
        # A paragraph the model split off mid-sentence is timed at the start of its source sentence.
        assert stream[found][1] - 30 <= seconds(label.group(1)) <= stream[found][1] + 3.0, block
        times.append(seconds(label.group(1)))
        position = found
    assert times == sorted(times) and len(times) > 40


def test_a_translation_keeps_the_section_times_of_the_source(tmp_path: Path) -> None:
    talk = generate_talk(minutes=20, speakers=True, seed=6)
    with FakeOpenAIServer() as server:
        finished = run_article(tmp_path, write_talk(tmp_path / "media", talk), server, mode="translate",
                               target_language="zh-Hans", timestamps="paragraphs")

    starts = [s.start for s in talk.sentences]
    labels = [seconds(m.group(2)) for b in body_paragraphs(finished.article) if (m := _TIMED_HEADING.match(b))]
    assert len(labels) >= 3
    assert all(min(abs(label - start) for start in starts) <= 1.0 for label in labels)
    paragraph_times = [seconds(m.group(1)) for b in body_paragraphs(finished.article)
                       if not b.startswith("## ") and (m := _TIME_LABEL.match(b))]
    assert paragraph_times == sorted(paragraph_times)
    assert_speaker_turns_are_kept(finished.article, talk)


def test_rolling_auto_captions_get_no_sentence_end_where_the_speaker_did_not_pause(tmp_path: Path) -> None:
    talk = generate_talk(minutes=25, seed=9)
    media = write_talk(tmp_path / "media", talk, rolling=True)
    _, truth = rolling_captions(talk)
    finished = run_article(tmp_path, media, None)

    tokens = " ".join(plain_text(b) for b in body_paragraphs(finished.article) if not b.startswith("## ")).split()
    assert [re.sub(r"[^\w']", "", t).lower() for t in tokens] == [w.text for w in truth]
    ends = [i for i, token in enumerate(tokens) if token.endswith((".", "?", "!"))]
    assert len(ends) > 20
    assert all(i == len(truth) - 1 or truth[i].pause_after >= 1.0 for i in ends)
    assert assert_headings_are_within_3_seconds_of_the_words_they_introduce(finished.article, talk) >= 3
    assert_the_table_of_contents_resolves(finished.article)
    assert any("no punctuation" in note for note in finished.quality["notes"])
