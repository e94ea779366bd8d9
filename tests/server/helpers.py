"""Helpers shared by the MCP server tests: reading results, driving a run to the end, and measuring
every tool result as it travels (its JSON, content and structured content, counted in bytes and tokens)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from kernel.long_text.tokens import count_tokens

MAX_ADVANCES = 150
MAX_RESULT_TOKENS = 25_000


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """The JSON line that ends every tool error's text."""
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    payload: dict[str, Any] = json.loads(text.splitlines()[-1])
    return payload


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return result.content[0].text  # type: ignore[union-attr,no-any-return]


@dataclass
class Sizes:
    """The largest tool result seen, as the client received it."""

    largest_bytes: int = 0
    largest_tokens: int = 0
    largest_call: str = ""
    calls: int = 0
    per_call: list[tuple[str, int, int]] = field(default_factory=list)

    def record(self, name: str, result: CallToolResult) -> CallToolResult:
        wire = result.model_dump_json(by_alias=True, exclude_none=True)
        size, tokens = len(wire.encode("utf-8")), count_tokens(wire)
        self.calls += 1
        self.per_call.append((name, size, tokens))
        if tokens > self.largest_tokens:
            self.largest_bytes, self.largest_tokens, self.largest_call = size, tokens, name
        return result


class MeasuredClient:
    """A client whose every tool call is measured (``sizes``)."""

    def __init__(self, client: Client, sizes: Sizes | None = None) -> None:
        self.client = client
        self.sizes = sizes or Sizes()

    async def call(self, name: str, arguments: dict[str, Any], **kwargs: Any) -> CallToolResult:
        result = await self.client.call_tool(name, arguments, **kwargs)
        return self.sizes.record(name, result)


async def finish(client: MeasuredClient, run_id: str, view: dict[str, Any]) -> tuple[dict[str, Any], CallToolResult]:
    """Drive ``run_id`` through advance-run and finalize-run to ``completed``; the last view and result."""
    for _ in range(MAX_ADVANCES):
        if "finalize" in view["allowed_actions"]:
            break
        view = structured(await client.call("advance-run", {"run_id": run_id, "wait_seconds": 10}))
        assert view["result"]["status"] != "failed", view["result"]
    assert "finalize" in view["allowed_actions"], view
    result = await client.call("finalize-run", {"run_id": run_id, "wait_seconds": 20})
    view = structured(result)
    for _ in range(MAX_ADVANCES):
        if view["state"] == "completed":
            break
        result = await client.call("advance-run", {"run_id": run_id, "wait_seconds": 10})
        view = structured(result)
    assert view["state"] == "completed", view
    return view, result


async def read_pages(client: MeasuredClient, run_id: str, name: str | None = None) -> list[dict[str, Any]]:
    """Every page of a published file through inspect-run(detail='article'), following next_cursor."""
    pages: list[dict[str, Any]] = []
    cursor: int | None = 0
    while cursor is not None:
        arguments: dict[str, Any] = {"run_id": run_id, "detail": "article", "cursor": cursor}
        if name is not None:
            arguments["name"] = name
        view = structured(await client.call("inspect-run", arguments))
        page = view["article"]
        assert page["cursor"] == cursor and view["next_cursor"] == page["next_cursor"]
        pages.append(page)
        cursor = page["next_cursor"]
        assert len(pages) < 200
    return pages


# --------------------------------------------------------------------------- MCP words
_CALL = re.compile(r"\b([a-z]+(?:-[a-z]+)+)\(([^()]*)\)")
_ARGUMENT = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|[^,()\s]+)")
_OPTION = re.compile(r"\b(\w+)(?:=('(?:[^'\\]|\\.)*'|\S+))? \(a create-run argument\)")
_FLAG = re.compile(r"(?<![\w-])--[a-z]")
_PLACEHOLDER = re.compile(r"\{(?:option|action):[^{}]*\}|\{(?:inspect|resume|new_run)\}")


def schema_values(prop: dict[str, Any]) -> list[str]:
    if "enum" in prop:
        return [str(v) for v in prop["enum"]]
    values: list[str] = []
    for sub in [*prop.get("anyOf", []), *([prop["items"]] if isinstance(prop.get("items"), dict) else [])]:
        values.extend(v for v in schema_values(sub) if v not in values)
    return values


def assert_speaks_mcp(text: str, schemas: dict[str, dict[str, Any]]) -> int:
    """``text`` names only real tools, with arguments of their input schemas and allowed values (action
    names from the action table, signals, details); no CLI command or flag, no unrendered placeholder.
    Returns how many tool calls it names."""
    assert "yt-transcript " not in text, text
    assert not _FLAG.search(text), text
    assert not _PLACEHOLDER.search(text), text
    calls = _CALL.findall(text)
    for tool, arguments in calls:
        assert tool in schemas, (tool, text)
        properties = schemas[tool]["properties"]
        for name, value in _ARGUMENT.findall(arguments):
            assert name in properties, (tool, name, text)
            allowed = schema_values(properties[name])
            if allowed and value.startswith("'"):
                assert value.strip("'") in allowed, (tool, name, value, text)
    for name, value in _OPTION.findall(text):
        properties = schemas["create-run"]["properties"]
        assert name in properties, (name, text)
        allowed = schema_values(properties[name])
        if allowed and value:
            assert value.strip("'") in allowed, (name, value, text)
    return len(calls)
