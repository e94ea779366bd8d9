from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.source.audio import ffmpeg_exe
from kernel.source.local import acquire_local_subtitles, discover_local
from kernel.source.probe import MediaError
from kernel.transcript import SubtitleTrack
from tests.conftest import EXAMPLES, FIXTURES

SIDECAR_MP4 = EXAMPLES / "sample-sidecar" / "sample.mp4"
EMBEDDED_MKV = EXAMPLES / "sample-embedded" / "sample.mkv"
TONE_M4A = FIXTURES / "media" / "tone.m4a"
MOVTEXT_MP4 = FIXTURES / "media" / "movtext-fr.mp4"
VTT_BODY = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nHello.\n"


def _media_in(folder: Path, name: str, source: Path = TONE_M4A) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copy(source, target)
    return target


def _touch_subtitles(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text(VTT_BODY, encoding="utf-8")


def _sidecars(media: Path) -> dict[str, str | None]:
    _, tracks = discover_local(media)
    return {t.path or "": t.language for t in tracks.subtitles if t.origin == "sidecar"}


def test_example_with_sidecar_is_described_from_tags_and_files() -> None:
    info, tracks = discover_local(SIDECAR_MP4)

    assert info.id.startswith("file-") and len(info.id) == len("file-") + 16
    assert (info.title, info.source, info.source_kind) == ("How We Cut Our Build Time", "sample.mp4", "file")
    assert (info.upload_date, info.date_source) == ("2024-07-01", "tag")
    assert info.language == "en"
    assert info.duration == pytest.approx(51.64, abs=0.2)
    assert [(t.origin, t.language, t.ext, t.path) for t in tracks.subtitles] == [
        ("sidecar", "en", "vtt", "sample.en.vtt")
    ]
    assert tracks.has_audio and [a.stream_index for a in tracks.audio] == [0]


def test_example_with_embedded_track_lists_it_with_chapters() -> None:
    info, tracks = discover_local(EMBEDDED_MKV)

    assert [(t.origin, t.language, t.stream_index, t.name) for t in tracks.subtitles] == [
        ("embedded", "en", 1, "English")
    ]
    assert [c.title for c in info.chapters] == ["Where we started", "What we changed", "The results"]


def test_source_id_is_stable_across_names_and_changes_with_content(tmp_path: Path) -> None:
    original, _ = discover_local(SIDECAR_MP4)
    renamed, _ = discover_local(_media_in(tmp_path / "elsewhere", "renamed.mp4", SIDECAR_MP4))
    other, _ = discover_local(EMBEDDED_MKV)

    assert renamed.id == original.id
    assert other.id != original.id


def test_sidecars_match_by_stem_and_language_suffix(tmp_path: Path) -> None:
    media = _media_in(tmp_path, "talk.m4a")
    _touch_subtitles(
        tmp_path,
        "talk.vtt",
        "talk.SRT",
        "talk.en.vtt",
        "talk.en-US.srt",
        "talk.zh-Hans.vtt",
        "talk.eng.srt",
        "talk.pt_BR.Vtt",
    )

    assert _sidecars(media) == {
        "talk.vtt": None,
        "talk.SRT": None,
        "talk.en.vtt": "en",
        "talk.en-US.srt": "en-US",
        "talk.zh-Hans.vtt": "zh-Hans",
        "talk.eng.srt": "en",
        "talk.pt_BR.Vtt": "pt-BR",
    }


def test_subtitles_of_other_files_are_not_matched(tmp_path: Path) -> None:
    media = _media_in(tmp_path, "talk.m4a")
    _touch_subtitles(
        tmp_path, "talk2.en.vtt", "other.en.vtt", "talkie.vtt", "talk.part-two.vtt", "talk.en.txt", "Talk.en.vtt"
    )

    assert _sidecars(media) == {}


def test_a_sidecar_named_after_another_media_file_belongs_to_that_file(tmp_path: Path) -> None:
    lecture = _media_in(tmp_path, "lecture.m4a")
    german_dub = _media_in(tmp_path, "lecture.de.m4a")
    _touch_subtitles(tmp_path, "lecture.en.vtt", "lecture.de.vtt")

    assert _sidecars(lecture) == {"lecture.en.vtt": "en"}
    assert _sidecars(german_dub) == {"lecture.de.vtt": None}


def test_untagged_media_gets_a_readable_title_and_its_modification_date(tmp_path: Path) -> None:
    media = _media_in(tmp_path, "team_update.final.m4a")
    modified = datetime(2023, 5, 17, 23, 30, tzinfo=UTC).timestamp()
    os.utime(media, (modified, modified))
    _touch_subtitles(tmp_path, "team_update.final.fr.vtt")

    info, _ = discover_local(media)

    assert info.title == "team update final"
    assert (info.upload_date, info.date_source) == ("2023-05-17", "file_time")
    assert info.language == "fr"  # no audio language tag: the subtitle's language
    assert info.source == "team_update.final.m4a"


def test_video_without_audio_or_subtitles_has_no_usable_streams(tmp_path: Path) -> None:
    video = tmp_path / "black.mp4"
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    subprocess.run([*command, "-i", "color=black:s=64x64:d=1", "-c:v", "libx264", str(video)], check=True)

    with pytest.raises(MediaError) as caught:
        discover_local(video)
    assert caught.value.code == "media_no_usable_streams"

    _touch_subtitles(tmp_path, "black.en.vtt")
    _, tracks = discover_local(video)
    assert not tracks.has_audio
    assert [t.path for t in tracks.subtitles] == ["black.en.vtt"]


def test_sidecar_is_acquired_as_an_exact_copy_with_a_lowercase_extension(tmp_path: Path) -> None:
    media = _media_in(tmp_path / "media", "talk.m4a")
    _touch_subtitles(media.parent, "talk.en.VTT")
    _, tracks = discover_local(media)

    written = acquire_local_subtitles(media, tracks.subtitles[0], tmp_path / "work")

    assert written == tmp_path / "work" / "talk.en.vtt"
    assert written.read_text(encoding="utf-8") == VTT_BODY


def test_embedded_mov_text_is_acquired_as_webvtt(tmp_path: Path) -> None:
    media = _media_in(tmp_path / "media", "clip.mp4", MOVTEXT_MP4)
    info, tracks = discover_local(media)
    assert info.language == "fr"

    written = acquire_local_subtitles(media, tracks.subtitles[0], tmp_path / "work")

    assert written.suffix == ".vtt"
    text = written.read_text(encoding="utf-8")
    assert text.startswith("WEBVTT")
    assert "Bonjour tout le monde." in text


def test_acquiring_a_sidecar_that_disappeared_fails_with_a_code(tmp_path: Path) -> None:
    media = _media_in(tmp_path, "talk.m4a")
    track = SubtitleTrack(language="en", origin="sidecar", ext="vtt", path="talk.en.vtt")

    with pytest.raises(MediaError) as caught:
        acquire_local_subtitles(media, track, tmp_path / "work")
    assert caught.value.code == "subtitle_not_found"


@pytest.mark.parametrize(
    "track",
    [
        SubtitleTrack(language="en", origin="remote", ext="vtt", url="http://127.0.0.1/subs.vtt"),
        SubtitleTrack(language="en", origin="sidecar", ext="vtt", path="../secret.vtt"),
        SubtitleTrack(language="en", origin="embedded", ext="vtt"),
    ],
    ids=["remote", "path-escape", "no-stream-index"],
)
def test_tracks_that_are_not_local_are_refused(tmp_path: Path, track: SubtitleTrack) -> None:
    media = _media_in(tmp_path / "media", "talk.m4a")
    _touch_subtitles(tmp_path, "secret.vtt")

    with pytest.raises(MediaError) as caught:
        acquire_local_subtitles(media, track, tmp_path / "work")
    assert caught.value.code == "subtitle_track_not_local"
    assert not (tmp_path / "work").exists()
