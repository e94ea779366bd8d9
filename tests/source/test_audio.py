from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from kernel.source.audio import FFmpegError, extract_audio_wav, extract_subtitle_stream, ffmpeg_exe
from tests.conftest import EXAMPLES, FIXTURES

SPEECH_M4A = EXAMPLES / "sample-speech" / "sample.m4a"
EMBEDDED_MKV = EXAMPLES / "sample-embedded" / "sample.mkv"
MOVTEXT_MP4 = FIXTURES / "media" / "movtext-fr.mp4"


def _make_video_only(path: Path) -> Path:
    command = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"]
    command += ["-i", "color=black:s=64x64:d=1", "-c:v", "libx264", str(path)]
    subprocess.run(command, check=True, capture_output=True)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_extracted_audio_is_16khz_mono_pcm_of_the_full_length(tmp_path: Path) -> None:
    wav_path = extract_audio_wav(SPEECH_M4A, tmp_path / "audio.wav")

    with wave.open(str(wav_path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 == pytest.approx(51.64, abs=0.2)
    assert _leftovers(tmp_path) == []


def test_stereo_audio_is_downmixed_to_mono_at_the_requested_rate(tmp_path: Path) -> None:
    wav_path = extract_audio_wav(MOVTEXT_MP4, tmp_path / "out" / "audio.wav", sample_rate=8000)

    with wave.open(str(wav_path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        assert wav.getnframes() / 8000 == pytest.approx(2.0, abs=0.1)


def test_audio_extraction_without_an_audio_stream_fails_and_keeps_the_old_file(tmp_path: Path) -> None:
    video = _make_video_only(tmp_path / "silent-video.mp4")
    dest = tmp_path / "audio.wav"
    dest.write_bytes(b"previous result")

    with pytest.raises(FFmpegError) as caught:
        extract_audio_wav(video, dest)

    assert caught.value.code == "audio_extract_failed"
    assert caught.value.details["ffmpeg_stderr"]
    assert str(tmp_path) not in " ".join(caught.value.details["ffmpeg_stderr"])
    assert dest.read_bytes() == b"previous result"
    assert _leftovers(tmp_path) == []


def test_audio_extraction_of_a_missing_file_reports_media_not_found(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as caught:
        extract_audio_wav(tmp_path / "nothing.mp4", tmp_path / "audio.wav")

    assert caught.value.code == "media_not_found"
    assert not (tmp_path / "audio.wav").exists()


def test_embedded_subrip_track_becomes_webvtt_with_the_spoken_words(tmp_path: Path) -> None:
    vtt = extract_subtitle_stream(EMBEDDED_MKV, 1, tmp_path / "subs.vtt").read_text(encoding="utf-8")

    assert vtt.startswith("WEBVTT")
    timings = re.findall(r"(\d{2}:)?\d{2}:\d{2}\.\d{3} --> (\d{2}:)?\d{2}:\d{2}\.\d{3}", vtt)
    assert len(timings) == 10
    assert "Maria Lopez" in vtt
    assert "Python 3.11" in vtt
    assert "70%" in vtt


def test_embedded_mov_text_track_becomes_webvtt(tmp_path: Path) -> None:
    media = tmp_path / "with spaces & symbols.mp4"
    shutil.copy(MOVTEXT_MP4, media)

    vtt = extract_subtitle_stream(media, 1, tmp_path / "fr.vtt").read_text(encoding="utf-8")

    assert "Bonjour tout le monde." in vtt
    assert "Merci beaucoup." in vtt


def test_extracting_a_non_subtitle_stream_fails_with_a_code(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as caught:
        extract_subtitle_stream(EMBEDDED_MKV, 0, tmp_path / "subs.vtt")

    assert caught.value.code == "subtitle_extract_failed"
    assert not (tmp_path / "subs.vtt").exists()
    assert _leftovers(tmp_path) == []
