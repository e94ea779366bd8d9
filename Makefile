# Two entry points do all set-up on a fresh machine:
#   make demo   - run the main job on the bundled sample (no network, no keys, no LLM)
#   make test   - lint, type-check and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,celery]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/yt-transcript run examples/sample-speech/sample.m4a --output-dir examples/output

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
