"""One intent: the MCP ``create-run`` input schema, the CLI ``run`` options and the intent model describe
the same fields, with the same allowed values and the same defaults (plus the batch options, which both add
from ``BatchOptions``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from kernel.config import load_settings
from kernel.pipeline import build_runtime_api
from kernel.pipeline.batch.intent import BatchOptions
from kernel.pipeline.intent import TranscriptParams, allowed_values
from scripts import cli
from server.app import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def model_defaults() -> dict[str, Any]:
    return {name: info.get_default(call_default_factory=True)
            for name, info in TranscriptParams.model_fields.items() if not info.is_required()}


def schema_enum(prop: dict[str, Any]) -> list[str]:
    """The allowed values a JSON Schema property declares (through anyOf/items), or []."""
    if "enum" in prop:
        return [str(v) for v in prop["enum"]]
    if "const" in prop:
        return [str(prop["const"])]
    values: list[str] = []
    for sub in [*prop.get("anyOf", []), *([prop["items"]] if "items" in prop else [])]:
        values.extend(v for v in schema_enum(sub) if v not in values)
    return values


def run_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


async def test_create_run_takes_exactly_the_intent_fields_with_their_values_and_defaults(tmp_path: Path) -> None:
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with Client(build_server(api)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["create-run"].input_schema
    properties = schema["properties"]
    assert set(properties) - {"work_dir"} == set(TranscriptParams.model_fields) | set(BatchOptions.model_fields)
    assert schema.get("required") == ["source"]
    for name, default in model_defaults().items():
        assert properties[name].get("default") == default, name
        assert schema_enum(properties[name]) == allowed_values(name), name
        assert properties[name]["description"] == TranscriptParams.model_fields[name].description


def test_the_cli_run_options_are_the_intent_fields_with_their_values() -> None:
    parser = run_parser()
    actions = [a for a in parser._actions if a.dest not in ("help", "json", "work_dir", "accept_degraded")]
    aliases = [a for a in actions if isinstance(a, argparse._StoreConstAction) and a.option_strings != ["--force"]]
    options = {action.dest: action for action in actions if action not in aliases}
    assert set(options) == set(TranscriptParams.model_fields) | set(BatchOptions.model_fields)
    options = {name: action for name, action in options.items() if name in TranscriptParams.model_fields}
    assert [(a.option_strings, a.dest, a.const) for a in aliases] == [(["--no-llm"], "llm", "none")]
    for name, action in options.items():
        allowed = allowed_values(name)
        if action.choices is not None:
            assert list(action.choices) == allowed, name
        elif allowed:  # a comma-separated list: the help names the values and the model checks them
            assert all(value in (action.help or "") for value in allowed), name
        assert action.option_strings in ([], ["--" + name.replace("_", "-")]), name


def test_cli_options_left_out_mean_the_model_defaults(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["run", "talk.mp4"])
    given = {name: getattr(args, name) for name in TranscriptParams.model_fields if getattr(args, name) is not None}
    assert given == {"source": "talk.mp4"}
    parsed = TranscriptParams.model_validate(given)
    assert {name: getattr(parsed, name) for name in model_defaults()} == model_defaults()


def test_cli_spellings_reach_the_intent_unchanged() -> None:
    args = cli.build_parser().parse_args([
        "run", "talk.mp4", "--mode", "translate", "--target-language", "de", "--formats", "md,srt",
        "--preferred-languages", "en,de", "--glossary", "Kubernetes", "--glossary", "Jane Doe", "--no-llm",
        "--max-llm-requests", "5",
    ])
    assert (args.mode, args.target_language, args.formats, args.preferred_languages) == (
        "translate", "de", ["md", "srt"], ["en", "de"])
    assert (args.glossary, args.llm, args.max_llm_requests) == (["Kubernetes", "Jane Doe"], "none", 5)
