from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kernel.source.audio import ffmpeg_exe
from kernel.source.probe import MediaError, probe_media
from tests.conftest import EXAMPLES

SIDECAR_MP4 = EXAMPLES / "sample-sidecar" / "sample.mp4"
EMBEDDED_MKV = EXAMPLES / "sample-embedded" / "sample.mkv"
SPEECH_M4A = EXAMPLES / "sample-speech" / "sample.m4a"
SCRIPT = json.loads((EXAMPLES / "sample-script.json").read_text(encoding="utf-8"))


def _truncated_copy(source: Path, target: Path, size: int) -> Path:
    target.write_bytes(source.read_bytes()[:size])
    return target


def test_audio_only_mp4_reports_its_stream_tags_and_duration() -> None:
    probe = probe_media(SIDECAR_MP4)

    assert probe.file_name == "sample.mp4"
    assert probe.duration == pytest.approx(SCRIPT["duration"], abs=0.2)
    assert probe.size_bytes == SIDECAR_MP4.stat().st_size
    assert [(s.type, s.codec, s.language, s.channels) for s in probe.streams] == [("audio", "aac", "eng", 1)]
    assert probe.tags["title"] == SCRIPT["title"]
    assert probe.tags["date"] == "2024-07-01"
    assert "major_brand" not in probe.tags
    assert probe.chapters == []


def test_matroska_reports_its_text_subtitle_stream_and_chapters() -> None:
    probe = probe_media(EMBEDDED_MKV)

    subtitles = probe.streams_of("subtitle")
    assert len(subtitles) == 1
    assert subtitles[0].is_text_subtitle
    assert (subtitles[0].index, subtitles[0].language, subtitles[0].title) == (1, "eng", "English")
    assert [c.title for c in probe.chapters] == [c["title"] for c in SCRIPT["chapters"]]
    for found, expected in zip(probe.chapters, SCRIPT["chapters"], strict=True):
        assert found.start == pytest.approx(expected["start"], abs=0.01)
        assert found.end == pytest.approx(expected["end"], abs=0.01)


def test_undetermined_language_tag_is_reported_as_none() -> None:
    probe = probe_media(SPEECH_M4A)

    assert probe.streams_of("audio")[0].language is None
    assert probe.tags == {}


def test_video_without_audio_still_probes(tmp_path: Path) -> None:
    video = tmp_path / "black.mp4"
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    subprocess.run([*command, "-i", "color=black:s=64x64:d=1", "-c:v", "libx264", str(video)], check=True)

    probe = probe_media(video)

    assert [s.type for s in probe.streams] == ["video"]


def test_missing_file_is_media_not_found(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        probe_media(tmp_path / "missing.mp4")
    assert caught.value.code == "media_not_found"
    assert caught.value.hint


def test_directory_is_media_is_directory(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        probe_media(tmp_path)
    assert caught.value.code == "media_is_directory"


def test_text_file_renamed_to_mp4_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("These are meeting notes, not a video.\n", encoding="utf-8")

    with pytest.raises(MediaError) as caught:
        probe_media(fake)

    assert caught.value.code == "media_unreadable"
    assert str(tmp_path) not in caught.value.message


def test_subtitle_file_renamed_to_mp4_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "talk.mp4"
    fake.write_bytes((EXAMPLES / "sample-sidecar" / "sample.en.vtt").read_bytes())

    with pytest.raises(MediaError) as caught:
        probe_media(fake)

    assert caught.value.code == "media_unreadable"


@pytest.mark.parametrize("source", [SIDECAR_MP4, EMBEDDED_MKV, SPEECH_M4A], ids=["mp4", "mkv", "m4a"])
@pytest.mark.parametrize("size", [8_000, 140_000], ids=["8KB", "half"])
def test_truncated_media_is_unreadable(tmp_path: Path, source: Path, size: int) -> None:
    cut = _truncated_copy(source, tmp_path / f"cut{source.suffix}", size)

    with pytest.raises(MediaError) as caught:
        probe_media(cut)

    assert caught.value.code == "media_unreadable"
