"""Runs of whole articles from generated long talks (real pipeline, real openai SDK, fake endpoint).

Also a command that prints the first lines of the article of an unchaptered one-hour talk, made
deterministically and through the fake LLM server:
``python -m tests.long_text.article_runs [--lines 40]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from tests.conftest import EXAMPLES
from tests.fakes.openai_server import FakeOpenAIServer
from tests.long_text.long_talks import GeneratedTalk, generate_talk, manual_vtt, rolling_captions
from tests.long_text.test_chunk_loop import Finished, run_to_end

LONG_LLM = {"context_window": 8192, "max_output_tokens": 4096, "concurrency": 4}


def write_talk(folder: Path, talk: GeneratedTalk, *, rolling: bool = False) -> Path:
    """A local media file with the talk as its sidecar subtitles (manual WebVTT or rolling captions)."""
    folder.mkdir(parents=True, exist_ok=True)
    media = folder / "talk.mp4"
    shutil.copy(EXAMPLES / "sample-sidecar" / "sample.mp4", media)
    text = rolling_captions(talk)[0] if rolling else manual_vtt(talk)
    (folder / f"talk.{talk.language}.vtt").write_text(text, encoding="utf-8")
    return media


def runtime_api(root: Path, name: str, server: FakeOpenAIServer | None, **llm: Any) -> RuntimeApi:
    """A runtime under ``root/name`` whose settings point at ``server`` (no LLM when it is None); files
    anywhere under ``root`` are allowed sources."""
    home = root / name
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    lines: list[str] = []
    if server is not None:
        profile = {"base_url": server.base_url, "model": "fake-model", "api_key": "test-key", "context_window": 2048,
                   "max_output_tokens": 512, "timeout_seconds": 5.0, "max_retries": 3, "concurrency": 1, **llm}
        lines = ["[llm]"] + [f"{k} = {json.dumps(v)}" for k, v in profile.items()]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"YTT_HOME": str(home / "ytt"), "YTT_CONFIG": str(config)}
    return build_runtime_api(load_settings(env, cwd=root))


def article_body(article: str) -> str:
    """The article after its front matter."""
    return article.split("\n---\n", 1)[1]


def heads(lines: int = 40, *, minutes: float = 60.0) -> dict[str, str]:
    """The first ``lines`` lines of the article of an unchaptered talk, deterministic and with the fake LLM."""
    talk = generate_talk(minutes=minutes, seed=3)
    result: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        media = write_talk(root / "media", talk)
        finished: Finished = run_to_end(runtime_api(root, "plain", None), media)
        result["deterministic"] = "\n".join(finished.article.splitlines()[:lines])
        with FakeOpenAIServer() as server:
            finished = run_to_end(runtime_api(root, "llm", server, **LONG_LLM), media)
        result["fake_llm"] = "\n".join(finished.article.splitlines()[:lines])
    return result


def _without_paths(text: str) -> str:
    return re.sub(r"/tmp/\S+", "<tmp>", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the heads of the one-hour unchaptered article.")
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args(argv)
    for name, text in heads(args.lines).items():
        print(f"===== {name} =====")
        print(_without_paths(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
