"""The bad-input matrix: files, subtitles, URLs, options, config, run state and the file system, each
through the real CLI (in-process ``scripts.cli.main``, stdout and stderr captured).

Every case ends in one of two ways, and each case says which:
- a clear error: a non-zero exit, ``error[code]`` with the expected code, a message naming what was
  wrong (the file, option or run), a hint saying what to do, no traceback, nothing lost; or
- a correct result: exit 0 and what a user expects (a rerouted run finishes, a detected encoding is used,
  a taken name is not overwritten...).

``MATRIX`` is also the table the closing note of the bad-input issue reports (case, outcome).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from kernel.task_runtime.lease import read_lease
from scripts import cli
from tests.conftest import EXAMPLES, FIXTURES
from tests.e2e.conftest import SCRIPT
from tests.source.site import Site

SAMPLE_MP4 = EXAMPLES / "sample-sidecar" / "sample.mp4"
SAMPLE_VTT = EXAMPLES / "sample-sidecar" / "sample.en.vtt"
SPEECH = EXAMPLES / "sample-speech" / "sample.m4a"
ENCODED = FIXTURES / "subtitles" / "encodings"


@dataclass
class Env:
    """What a case's setup can use: its folder (the current directory), an outside folder, the site."""

    root: Path
    outside: Path
    site: Site
    home: Path
    monkeypatch: pytest.MonkeyPatch
    notes: dict[str, Any] = field(default_factory=dict)

    def media(self, name: str = "talk.mp4", source: Path = SAMPLE_MP4, sidecar: bytes | None = None,
              sidecar_name: str = "talk.en.vtt") -> str:
        shutil.copy(source, self.root / name)
        if sidecar is not None:
            (self.root / sidecar_name).write_bytes(sidecar)
        return name

    def config(self, text: str) -> None:
        (self.home / "config.toml").write_text(text, encoding="utf-8")

    def run(self, *argv: str) -> dict[str, Any]:
        """Run a CLI command in this case and return its JSON (for set-up steps that must succeed)."""
        code, out, err = run_cli(list(argv))
        assert code == 0, err
        return json.loads(out) if out.strip().startswith("{") else {"stdout": out}


@dataclass
class Case:
    name: str
    setup: Callable[[Env], list[str]]
    code: str | None  # the expected error code; None: a correct result
    exit: int = 1
    mentions: tuple[str, ...] = ()  # what the error (or result) must name
    check: Callable[[Env, dict[str, Any], str], None] | None = None  # for correct results: (env, json, stderr)

    @property
    def outcome(self) -> str:
        return f"error {self.code}" if self.code else "correct result"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse --help / --version
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def silent_audio(path: Path, seconds: int = 8) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    f"anullsrc=r=16000:cl=mono:d={seconds}", "-c:a", "aac", str(path)], check=True)
    return path


def video_only(path: Path) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=5",
                    "-c:v", "mpeg4", str(path)], check=True)
    return path


def made_run(env: Env, *extra: str) -> str:
    """A finished run of the sidecar sample (its run_id)."""
    result = env.run("run", env.media(sidecar=SAMPLE_VTT.read_bytes()), "--json", *extra)
    return str(result["run_id"])


def article_of(result: dict[str, Any]) -> str:
    return Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- correct-result checks
def finished(env: Env, result: dict[str, Any], stderr: str) -> None:
    assert result["state"] in ("completed", "completed_degraded"), result


def finished_through_speech(env: Env, result: dict[str, Any], stderr: str) -> None:
    finished(env, result, stderr)
    assert "transcript_source: whisper" in article_of(result)
    assert "subtitle track cannot be used" in stderr  # the reroute is said


def used_the_detected_encoding(text: str) -> Callable[[Env, dict[str, Any], str], None]:
    def check(env: Env, result: dict[str, Any], stderr: str) -> None:
        finished(env, result, stderr)
        assert text in article_of(result)
    return check


def warned_with_file_and_line(env: Env, result: dict[str, Any], stderr: str) -> None:
    finished(env, result, stderr)
    assert any(w.startswith("talk.en.srt line ") for w in result["warnings"]), result["warnings"]


def linked_sidecar_not_read(env: Env, result: dict[str, Any], stderr: str) -> None:
    finished(env, result, stderr)
    assert "SECRET OUTSIDE TEXT" not in article_of(result)


def second_title_kept_apart(env: Env, result: dict[str, Any], stderr: str) -> None:
    finished(env, result, stderr)
    first = Path(env.notes["first"])
    assert Path(result["outputs"]["markdown"]) != first
    assert first.read_text(encoding="utf-8") == "my own edits\n"
    stem = Path(result["outputs"]["markdown"]).name.removesuffix(".md")
    assert all(Path(p).name.startswith(stem + ".") for p in result["outputs"].values()), result["outputs"]


def republished(env: Env, result: dict[str, Any], stderr: str) -> None:
    assert Path(env.notes["article"]).is_file()
    assert "published it again" in stderr or any("published it again" in w for w in result.get("warnings", []))


def lists_the_damaged_run(env: Env, result: dict[str, Any], stderr: str, pointer: str = "/state") -> None:
    damaged = [r for r in result["runs"] if r["state"] == "damaged"]
    assert damaged and damaged[0]["damaged"]["pointer"] == pointer and damaged[0]["damaged"]["file"] == "manifest.json"


def version_printed(env: Env, result: dict[str, Any], stderr: str) -> None:
    assert result["stdout"].startswith("yt-transcript ")


def tracks_listed(env: Env, result: dict[str, Any], stderr: str) -> None:
    assert [t["language"] for t in result["subtitles"]] == ["en"] and result["has_audio"]


def config_redacts_secrets(env: Env, result: dict[str, Any], stderr: str) -> None:
    rows = {r["setting"]: r for r in result["settings"]}
    assert rows["llm.api_key"]["value"] == "set" and rows["llm.api_key"]["source"] == "environment (YTT_LLM_API_KEY)"
    assert "sk-very-secret" not in json.dumps(result)


def pruned(env: Env, result: dict[str, Any], stderr: str) -> None:
    assert result["dry_run"] and result["runs"] == []  # nothing older than 30 days yet


# --------------------------------------------------------------------------- set-ups
def sidecar_link_outside(env: Env) -> list[str]:
    (env.outside / "secret.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nSECRET OUTSIDE TEXT\n",
                                            encoding="utf-8")
    name = env.media()
    (env.root / "talk.en.vtt").symlink_to(env.outside / "secret.vtt")
    return ["run", name, "--json"]


def media_link_outside(env: Env) -> list[str]:
    shutil.copy(SAMPLE_MP4, env.outside / "talk.mp4")
    (env.root / "linked.mp4").symlink_to(env.outside / "talk.mp4")
    return ["run", "linked.mp4", "--json"]


def same_title_twice(env: Env) -> list[str]:
    first = env.run("run", env.media(sidecar=SAMPLE_VTT.read_bytes()), "--json", "--output-dir", "out")
    article = Path(first["outputs"]["markdown"])
    article.write_text("my own edits\n", encoding="utf-8")
    env.notes["first"] = str(article)
    other = env.root / "other"
    other.mkdir()
    shutil.copy(SAMPLE_MP4, other / "talk.mp4")
    (other / "talk.en.vtt").write_text(SAMPLE_VTT.read_text(encoding="utf-8").replace("report", "story"),
                                       encoding="utf-8")
    return ["run", "other/talk.mp4", "--json", "--output-dir", "out"]


def deleted_article(env: Env) -> list[str]:
    run_id = made_run(env)
    article = Path(env.run("inspect", run_id, "--json")["outputs"]["markdown"])
    article.unlink()
    env.notes["article"] = str(article)
    return ["resume", run_id, "--json"]


def corrupt_state(env: Env, field_name: str, value: Any) -> str:
    run_id = made_run(env)
    manifest = env.home / "runs" / run_id / "manifest.json"
    data = json.loads(manifest.read_text())
    data[field_name] = value
    manifest.write_text(json.dumps(data))
    return run_id


def live_owner(env: Env) -> list[str]:
    run_id = made_run(env)
    holder = subprocess.Popen(["sleep", "60"])
    env.notes["holder"] = holder
    lease_file = env.home / "runs" / run_id / ".runtime_owner.json"
    from kernel.task_runtime.lease import process_start_time

    record = {"schema_version": 1, "owner_id": "x", "pid": holder.pid, "host": os.uname().nodename,
              "process_start": process_start_time(holder.pid), "acquired_at": "2026-01-01T00:00:00+00:00",
              "heartbeat_at": "2099-01-01T00:00:00+00:00", "generation": 7, "ttl_seconds": 30.0, "command": "test"}
    lease_file.write_text(json.dumps(record))
    assert read_lease(lease_file.parent) is not None
    return ["delete", run_id]


def failed_run(env: Env) -> str:
    result = run_cli(["run", env.media("clip.mp4", source=video_only(env.root / "v.mp4")), "--json"])
    assert result[0] != 0
    runs = env.run("runs", "--json")["runs"]
    return str(runs[-1]["run_id"])


MATRIX: list[Case] = [
    # ----- files
    Case("missing media file", lambda e: ["run", "nowhere.mp4"], "media_not_found", 2, ("nowhere.mp4",)),
    Case("a folder with no media as the source", lambda e: (e.root.joinpath("videos").mkdir(), ["run", "videos"])[1],
         "folder_has_no_media", 2, ("videos",)),
    Case("an empty media file", lambda e: (e.root.joinpath("empty.mp4").write_bytes(b""), ["run", "empty.mp4"])[1],
         "media_unreadable", 1, ("empty.mp4",)),
    Case("a text file named .mp4", lambda e: (e.root.joinpath("notes.mp4").write_text("hello"),
                                              ["run", "notes.mp4"])[1], "media_unreadable", 1, ("notes.mp4",)),
    Case("a media file cut off half way", lambda e: (e.root.joinpath("cut.mp4").write_bytes(
        SAMPLE_MP4.read_bytes()[: SAMPLE_MP4.stat().st_size // 3]), ["run", "cut.mp4"])[1], "media_unreadable", 1,
        ("cut.mp4",)),
    Case("video without audio or subtitles", lambda e: ["run", video_only(e.root / "v.mp4").name],
         "media_no_usable_streams", 1, ("v.mp4",)),
    Case("silent audio", lambda e: ["run", silent_audio(e.root / "silence.m4a").name], "no_speech_detected", 1,
         ("silence.m4a", "start a new run")),
    Case("a source outside the allowed roots", lambda e: (shutil.copy(SAMPLE_MP4, e.outside / "x.mp4"),
                                                         ["run", str(e.outside / "x.mp4")])[1],
         "path_not_allowed", 2, ("outside the allowed roots",)),
    Case("a media link pointing outside the allowed roots", media_link_outside, "path_not_allowed", 2,
         ("linked.mp4",)),
    Case("a sidecar link pointing outside the allowed roots", sidecar_link_outside, None,
         check=linked_sidecar_not_read),
    # ----- subtitles
    Case("an empty sidecar (audio available)", lambda e: ["run", e.media(sidecar=b""), "--json"], None,
         check=finished_through_speech),
    Case("a garbled sidecar", lambda e: ["run", e.media(sidecar=b"this is not a subtitle file\n" * 20), "--json"],
         None, check=finished_through_speech),
    Case("a binary sidecar", lambda e: ["run", e.media(sidecar=(ENCODED / "picture.en.srt").read_bytes()), "--json"],
         None, check=finished_through_speech),
    Case("a UTF-16 sidecar without a byte-order mark", lambda e: ["run", e.media(
        sidecar=(ENCODED / "talk_le.de.srt").read_bytes(), sidecar_name="talk.de.srt"), "--json",
        "--preferred-languages", "de"], None, check=used_the_detected_encoding("Grüß Gott")),
    Case("a cp1252 sidecar", lambda e: ["run", e.media(sidecar=(ENCODED / "talk.fr.srt").read_bytes(),
                                                       sidecar_name="talk.fr.srt"), "--json",
                                        "--preferred-languages", "fr"], None,
         check=used_the_detected_encoding("crêpes")),
    Case("a sidecar with damaged cues", lambda e: ["run", e.media(
        sidecar=(FIXTURES / "subtitles" / "damaged.en.srt").read_bytes(), sidecar_name="talk.en.srt"), "--json"],
        None, check=warned_with_file_and_line),
    Case("an unknown --subtitle-encoding", lambda e: ["run", e.media(sidecar=b""), "--subtitle-encoding", "klingon"],
         "invalid_option", 2, ("subtitle_encoding",)),
    Case("a --subtitle-encoding that does not decode the file", lambda e: ["run", e.media(
        sidecar=(ENCODED / "talk.fr.srt").read_bytes(), sidecar_name="talk.fr.srt"), "--preferred-languages", "fr",
        "--subtitle-encoding", "utf-8"], "subtitle_decode_failed", 1, ("talk.fr.srt",)),
    # ----- URLs
    Case("an ftp URL", lambda e: ["run", "ftp://example.com/talk.mp4"], "url_scheme_not_allowed", 2, ("ftp",)),
    Case("a file:// URL", lambda e: ["run", "file:///etc/passwd"], "url_scheme_not_allowed", 2, ("file",)),
    Case("a URL with spaces", lambda e: ["run", "https:// bad host/watch"], "url_malformed", 2, ("bad host",)),
    Case("a URL with a password", lambda e: ["run", "https://user:pw@example.com/v"], "url_credentials_not_allowed",
         2, ("credentials",)),
    Case("a page that is gone (404)", lambda e: ["run", e.site.url("status/404")], "video_unavailable", 1, ("404",)),
    Case("a forbidden page (403)", lambda e: ["run", e.site.url("status/403")], "forbidden", 1, ("403",)),
    Case("a page without media", lambda e: ["run", e.site.url("talk-no-media.html")], "no_media", 1,
         ("talk-no-media.html",)),
    Case("a page with two videos", lambda e: ["run", e.site.url("two-videos.html")], "unsupported_url", 1,
         ("two-videos.html",)),
    # ----- options
    Case("an unknown --mode", lambda e: ["run", e.media(), "--mode", "summarize"], "usage", 2, ("--mode",)),
    Case("translate without a target language", lambda e: ["run", e.media(), "--mode", "translate"],
         "invalid_option", 2, ("target_language",)),
    Case("an invalid target language", lambda e: ["run", e.media(), "--mode", "translate", "--target-language",
                                                  "xx-invalid", "--llm", "agent"], "invalid_option", 2,
         ("xx-invalid",)),
    Case("a language written as a name", lambda e: ["run", e.media(), "--mode", "translate", "--target-language",
                                                    "klingon-xx", "--llm", "agent"], "invalid_option", 2,
         ("tlh",)),
    Case("translate with --llm none", lambda e: ["run", e.media(), "--mode", "translate", "--target-language",
                                                 "de", "--llm", "none"], "llm_required", 2, ("--llm agent",)),
    Case("--llm endpoint with no endpoint configured", lambda e: ["run", e.media(), "--llm", "endpoint"],
         "llm_not_configured", 2, ("YTT_LLM_BASE_URL",)),
    Case("a request budget of 0", lambda e: ["run", e.media(), "--max-llm-requests", "0"], "invalid_option", 2,
         ("max_llm_requests",)),
    Case("a negative token budget", lambda e: ["run", e.media(), "--max-llm-tokens", "-5"], "invalid_option", 2,
         ("max_llm_tokens",)),
    Case("an unknown output format", lambda e: ["run", e.media(), "--formats", "md,pdf"], "invalid_option", 2,
         ("pdf",)),
    Case("a translated format in clean mode", lambda e: ["run", e.media(), "--formats", "md,translated_srt"],
         "invalid_option", 2, ("translated_srt",)),
    Case("--route subtitles for media without subtitles", lambda e: ["run", e.media("m.m4a", source=SPEECH),
                                                                     "--route", "subtitles"],
         "no_subtitles", 1, ("m.m4a", "--route asr")),
    Case("deepgram without a key", lambda e: ["run", e.media(sidecar=b""), "--asr-backend", "deepgram"],
         "preflight_failed", 1, ("DEEPGRAM_API_KEY",)),
    Case("an output folder outside the allowed roots", lambda e: ["run", e.media(), "--output-dir", str(e.outside)],
         "path_not_allowed", 2, ("output_dir",)),
    Case("an output folder that cannot be created", lambda e: (e.root.joinpath("taken").write_text("x"),
                                                               ["run", e.media(sidecar=SAMPLE_VTT.read_bytes()),
                                                                "--output-dir", "taken/out"])[1],
         "output_dir_not_writable", 1, ("taken",)),
    Case("an unknown --llm-profile", lambda e: ["run", e.media(), "--llm-profile", "cloud"], "config_error", 2,
         ("cloud",)),
    Case("a work folder that is not empty", lambda e: (e.root.joinpath("wd").mkdir(),
                                                      e.root.joinpath("wd", "x").write_text("x"),
                                                      ["run", e.media(), "--work-dir", "wd"])[2],
         "invalid_input", 2, ("wd",)),
    Case("a work folder outside the allowed roots", lambda e: ["run", e.media(), "--work-dir", str(e.outside / "w")],
         "path_not_allowed", 2, ()),
    Case("a bad preferred language", lambda e: ["run", e.media(), "--preferred-languages", "en,zz-bad-tag"],
         "invalid_option", 2, ("zz-bad-tag",)),
    Case("an unknown --timestamps", lambda e: ["run", e.media(), "--timestamps", "sometimes"], "usage", 2,
         ("--timestamps",)),
    # ----- config
    Case("a config file that is not TOML", lambda e: (e.config("llm = [broken\n"), ["runs"])[1], "config_error",
         2, ("config.toml",)),
    Case("an unknown key in the config file", lambda e: (e.config("[llm]\nmodle = 'x'\n"), ["runs"])[1],
         "config_error", 2, ("modle",)),
    Case("YTT_LLM_PROFILE naming no profile", lambda e: (e.monkeypatch.setenv("YTT_LLM_PROFILE", "nope"),
                                                         ["runs"])[1], "config_error", 2, ("nope",)),
    Case("a non-numeric concurrency", lambda e: (e.monkeypatch.setenv("YTT_LLM_CONCURRENCY", "many"),
                                                 ["runs"])[1], "config_error", 2, ("concurrency",)),
    Case("an LLM endpoint that does not answer", lambda e: (e.monkeypatch.setenv("YTT_LLM_BASE_URL",
                                                                              "http://127.0.0.1:9/v1"),
                                                         e.monkeypatch.setenv("YTT_LLM_MODEL", "m"),
                                                         ["run", e.media(sidecar=SAMPLE_VTT.read_bytes())])[2],
         "preflight_failed", 1, ("does not answer", "--llm none")),
    # ----- run state
    Case("inspect an unknown run", lambda e: ["inspect", "r20990101-000000-nosuch"], "unknown_run", 1,
         ("r20990101-000000-nosuch",)),
    Case("resume an unknown run", lambda e: ["resume", "r20990101-000000-nosuch"], "unknown_run", 1, ()),
    Case("finalize a run that has not run", lambda e: ["finalize", e.run(
        "run", e.media(), "--json", "--llm", "agent")["run_id"]], "action_not_allowed", 1, ("submit-chunk",)),
    Case("finalize a failed run", lambda e: ["finalize", failed_run(e)], "action_not_allowed", 1,
         ("yt-transcript",)),
    Case("cancel a cancelled run", lambda e: (lambda run: (e.run("cancel", run), ["cancel", run])[1])(
        e.run("run", e.media(), "--json", "--llm", "agent")["run_id"]), "action_not_allowed", 1, ()),
    Case("resume a finished run whose article was deleted", deleted_article, None, check=republished),
    Case("an action that is not allowed now", lambda e: ["advance", made_run(e), "retry_chunk"],
         "action_not_allowed", 1, ("retry_chunk",)),
    Case("submit a chunk to a run that waits for none", lambda e: (e.root.joinpath("a.txt").write_text("x"),
                                                                   ["submit-chunk", made_run(e), "p1-c0000",
                                                                    "a.txt"])[1], "action_not_allowed", 1, ()),
    Case("submit a chunk from a missing file", lambda e: ["submit-chunk", e.run(
        "run", e.media(), "--json", "--llm", "agent")["run_id"], "p1-c0000", "gone.txt"], "submission_unreadable",
        2, ("gone.txt",)),
    Case("submit the wrong chunk", lambda e: (e.root.joinpath("a.txt").write_text("x"), ["submit-chunk", e.run(
        "run", e.media(), "--json", "--llm", "agent")["run_id"], "p1-c0042", "a.txt"])[1], "chunk_not_wanted", 2,
         ("p1-c0000",)),
    Case("a negative --cursor", lambda e: ["inspect", made_run(e), "--cursor", "-1"], "invalid_input", 2,
         ("--cursor",)),
    Case("the article of a run that has not published", lambda e: ["inspect", e.run(
        "run", e.media(), "--json", "--llm", "agent")["run_id"], "--detail", "article"], "output_not_published",
        2, ()),
    Case("a hand-edited manifest", lambda e: ["inspect", corrupt_state(e, "state", "done-ish")], "corrupt_state",
         1, ("manifest.json", "/state")),
    Case("runs lists a run whose manifest does not validate", lambda e: (corrupt_state(e, "revision", "many"),
                                                                         ["runs", "--json"])[1], None,
         check=lambda e, r, s: lists_the_damaged_run(e, r, s, "/revision")),
    Case("runs shows the damaged run's file and pointer", lambda e: (corrupt_state(e, "state", "weird"),
                                                                     ["runs", "--json"])[1], None,
         check=lists_the_damaged_run),
    Case("delete a run another process drives", live_owner, "run_owned", 1, ("generation 7",)),
    Case("an unreadable prune age", lambda e: ["runs", "prune", "--older-than", "3x"], "usage", 2,
         ("--older-than",)),
    # ----- the file system and expected commands
    Case("a second video with the same title", same_title_twice, None, check=second_title_kept_apart),
    Case("--version", lambda e: ["--version"], None, check=version_printed),
    Case("tracks of a local file", lambda e: ["tracks", e.media(sidecar=SAMPLE_VTT.read_bytes()), "--json"], None,
         check=tracks_listed),
    Case("config shows where settings come from", lambda e: (e.monkeypatch.setenv("YTT_LLM_API_KEY",
                                                                                  "sk-very-secret"),
                                                             ["config", "--json"])[1], None,
         check=config_redacts_secrets),
    Case("prune with nothing old", lambda e: ["runs", "prune", "--older-than", "30d", "--dry-run", "--json"], None,
         check=pruned),
]


@pytest.fixture
def env(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path_factory: pytest.TempPathFactory, talk_site: Site) -> Env:
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    return Env(root=root, outside=tmp_path_factory.mktemp("outside"), site=talk_site, home=isolated_home,
               monkeypatch=monkeypatch)


def test_the_matrix_has_at_least_sixty_cases_of_both_kinds() -> None:
    assert len(MATRIX) >= 60
    assert len({case.name for case in MATRIX}) == len(MATRIX)
    assert {case.code is None for case in MATRIX} == {True, False}


@pytest.mark.parametrize("case", MATRIX, ids=[case.name for case in MATRIX])
def test_a_bad_input_gets_a_clear_error_or_a_correct_result(case: Case, env: Env) -> None:
    argv = case.setup(env)
    code, out, err = run_cli(argv)
    holder = env.notes.get("holder")
    if holder is not None:
        holder.kill()
    assert "Traceback" not in err and "Traceback" not in out
    if case.code is None:
        assert code == 0, err
        document = json.loads(out) if out.strip().startswith("{") else {"stdout": out}
        assert case.check is not None
        case.check(env, document, err)
        return
    assert code == case.exit, (code, err)
    if case.code == "usage":  # argparse names the option and shows the usage line
        assert "usage:" in err
    else:
        assert f"error[{case.code}]: " in err, err
        error = err[err.index(f"error[{case.code}]: "):]  # progress lines may come first
        assert error.startswith(f"error[{case.code}]: ") and "\n  hint: " in error, f"no hint: {err}"
        assert "{option" not in err and "{action" not in err, err  # placeholders are rendered
    for needle in case.mentions:
        assert needle in err, f"{needle!r} not named: {err}"
    assert SCRIPT["title"] not in out or case.code is None  # an error prints no result on stdout
