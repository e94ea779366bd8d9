"""The finished article reaches the agent through MCP itself, in both connection modes: finalize-run
delivers its facts and a resource link per published file (and a short article's text), inspect-run pages
every published file byte for byte, and the run's files are resources with their own MIME types that
read in full, page by page. Every result stays under the clients' 25,000-token cap.

The long runs are made once per module through the runtime (a deterministic run: a long sidecar
subtitle, no LLM), and each test reads them over MCP.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ResourceLink, TextContent

from kernel.config import load_settings
from kernel.long_text.tokens import count_tokens
from kernel.output.pages import PAGE_MAX_CHARS, PAGE_MAX_TOKENS
from kernel.pipeline import build_runtime_api
from kernel.task_runtime.api import RuntimeApi
from kernel.task_runtime.contracts import RunState
from kernel.task_runtime.store import iter_jsonl
from server.app import build_server
from server.schemas import MAX_RESULT_BYTES, RunView, view_size
from tests.conftest import EXAMPLES
from tests.server.helpers import (
    MAX_RESULT_TOKENS,
    MeasuredClient,
    error_text,
    finish,
    read_pages,
    structured,
    tool_error,
)
from tests.server.media import chinese_sentences, english_sentences, long_talk

pytestmark = pytest.mark.anyio
MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])
CHAPTERS = ("Opening", "The middle part", "What we learned")
MIME_TYPES = {"markdown": "text/markdown", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class FinishedRun:
    api: RuntimeApi
    run_id: str
    outputs: dict[str, str]


def finished_run(root: Path, sentences: list[str], language: str) -> FinishedRun:
    media = long_talk(root / "media", sentences, language=language, chapters=CHAPTERS)
    api = build_runtime_api(load_settings({"YTT_HOME": str(root / "home")}, cwd=root))
    run_id = api.create_run({"source": str(media), "output_dir": str(root / "out")}).run_id
    for _ in range(30):
        envelope = api.advance_run(run_id, wait_seconds=50)
        if "finalize" in envelope.allowed_actions:
            break
    envelope = api.finalize_run(run_id, wait_seconds=50)
    while envelope.state != RunState.COMPLETED:
        envelope = api.advance_run(run_id, wait_seconds=50)
    assert envelope.outputs is not None
    return FinishedRun(api, run_id, dict(envelope.outputs))


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedRun]:
    yield finished_run(tmp_path_factory.mktemp("english"), english_sentences(1200), "en")


@pytest.fixture(scope="module")
def chinese(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedRun]:
    yield finished_run(tmp_path_factory.mktemp("chinese"), chinese_sentences(2500), "zh")


def assert_under_the_cap(client: MeasuredClient) -> None:
    assert client.sizes.largest_tokens < MAX_RESULT_TOKENS, client.sizes.per_call


@MODES
async def test_finalize_run_delivers_the_articles_facts_and_a_resource_link_per_published_file(
    english: FinishedRun, mode: str
) -> None:
    async with Client(build_server(english.api), mode=mode) as raw:
        client = MeasuredClient(raw)
        result = await client.call("finalize-run", {"run_id": english.run_id})
    view = structured(result)
    article = view["article"]
    assert article["name"] == "markdown" and article["title"] == "talk" and article["words"] > 10_000
    assert [c["title"] for c in article["chapters"]] == list(CHAPTERS)
    markdown = Path(english.outputs["markdown"]).read_text(encoding="utf-8")
    assert all(markdown[c["cursor"]:].startswith(f"## {c['title']} [{c['at']}]") for c in article["chapters"])
    # Too long to inline: the first page's cursor says where reading starts.
    assert article["text"] is None and article["next_cursor"] == 0 and article["total_chars"] == len(markdown)
    links = [block for block in result.content if isinstance(block, ResourceLink)]
    assert {link.name: link.mime_type for link in links} == MIME_TYPES
    for link in links:
        assert " " not in link.uri and link.uri.startswith(f"run://{english.run_id}/")
        assert link.size == Path(english.outputs[link.name]).stat().st_size
    text = result.content[0]
    assert isinstance(text, TextContent) and all(path in text.text for path in english.outputs.values())
    assert "inspect-run(" in view["next_step"] and "detail='article'" in view["next_step"]
    assert_under_the_cap(client)


@MODES
async def test_the_article_read_page_by_page_is_the_published_file_byte_for_byte(
    english: FinishedRun, mode: str
) -> None:
    async with Client(build_server(english.api), mode=mode) as raw:
        client = MeasuredClient(raw)
        pages = await read_pages(client, english.run_id)
    published = Path(english.outputs["markdown"]).read_bytes()
    assert len(pages) >= 3
    assert "".join(page["text"] for page in pages).encode("utf-8") == published
    assert pages[-1]["next_cursor"] is None
    for page in pages:
        assert len(page["text"]) <= PAGE_MAX_CHARS and count_tokens(page["text"]) <= PAGE_MAX_TOKENS
        assert page["total_chars"] == len(published.decode("utf-8"))
    # Each page after the first starts at a chapter heading, since one is within reach.
    assert [page["text"].split("\n", 1)[0].rsplit(" [", 1)[0] for page in pages[1:]] == [f"## {t}" for t in CHAPTERS[1:]]
    assert_under_the_cap(client)


@MODES
async def test_each_export_pages_the_same_way_byte_for_byte(english: FinishedRun, mode: str) -> None:
    async with Client(build_server(english.api), mode=mode) as raw:
        client = MeasuredClient(raw)
        for name in ("srt", "vtt", "json"):
            pages = await read_pages(client, english.run_id, name)
            assert len(pages) > 1, name
            assert "".join(p["text"] for p in pages).encode("utf-8") == Path(english.outputs[name]).read_bytes()
            assert all(p["chapters"] == [] for p in pages)
    assert_under_the_cap(client)


@MODES
async def test_a_chinese_article_is_paged_by_tokens_and_every_result_stays_under_the_cap(
    chinese: FinishedRun, mode: str
) -> None:
    async with Client(build_server(chinese.api), mode=mode) as raw:
        client = MeasuredClient(raw)
        delivered = structured(await client.call("finalize-run", {"run_id": chinese.run_id}))
        pages = await read_pages(client, chinese.run_id)
        await client.call("inspect-run", {"run_id": chinese.run_id, "detail": "telemetry"})
    published = Path(chinese.outputs["markdown"]).read_bytes()
    assert "".join(p["text"] for p in pages).encode("utf-8") == published
    # The token bound, not the character bound, makes the pages: many more than 40,000 characters would.
    assert len(pages) > delivered["article"]["total_chars"] // PAGE_MAX_CHARS + 2
    assert all(count_tokens(p["text"]) <= PAGE_MAX_TOKENS for p in pages)
    assert_under_the_cap(client)


@MODES
async def test_a_short_article_is_inlined_when_it_is_finalized_over_mcp(tmp_path: Path, mode: str) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with Client(build_server(api), mode=mode) as raw:
        client = MeasuredClient(raw)
        created = structured(await client.call("create-run", {"source": str(tmp_path / "sample.mp4"),
                                                              "output_dir": str(tmp_path / "out")}))
        view, result = await finish(client, created["run_id"], created)
    article = view["article"]
    published = Path(view["outputs"]["markdown"]).read_text(encoding="utf-8")
    assert article["text"] == published and article["next_cursor"] is None and article["cursor"] == 0
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    assert published in texts  # the article is its own text block too, for clients that read only content
    assert {b.name for b in result.content if isinstance(b, ResourceLink)} == {"markdown", "srt", "vtt", "json"}
    assert "article.text" in view["next_step"]
    assert_under_the_cap(client)


@MODES
async def test_an_unknown_or_unpublished_file_or_a_bad_cursor_is_a_clear_error(
    english: FinishedRun, tmp_path: Path, mode: str
) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    article_only = api.create_run({"source": str(tmp_path / "sample.mp4"), "formats": ["md"]}).run_id
    async with Client(build_server(api), mode=mode) as client:
        before = await client.call_tool("inspect-run", {"run_id": article_only, "detail": "article"})
        summary_with_name = await client.call_tool("inspect-run", {"run_id": article_only, "name": "srt"})
    async with Client(build_server(english.api), mode=mode) as client:
        unknown = await client.call_tool("inspect-run", {"run_id": english.run_id, "detail": "article",
                                                         "name": "docx"})
        past_end = await client.call_tool("inspect-run", {"run_id": english.run_id, "detail": "article",
                                                          "cursor": 10_000_000})
    not_yet = tool_error(before)
    assert not_yet["error"]["code"] == "output_not_published" and not_yet["error"]["details"]["field"] == "name"
    assert f"finalize-run(run_id='{article_only}')" in not_yet["error"]["hint"]
    assert tool_error(summary_with_name)["error"]["code"] == "invalid_option"
    refused = tool_error(unknown)["error"]
    assert refused["code"] == "unknown_output" and refused["details"]["allowed"][:4] == ["markdown", "srt", "vtt", "json"]
    assert tool_error(past_end)["error"]["code"] == "invalid_cursor"
    assert "allowed: markdown, srt, vtt, json" in error_text(unknown)


async def test_an_export_the_run_did_not_publish_names_what_it_did_and_how_to_get_it(tmp_path: Path) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    async with Client(build_server(api)) as raw:
        client = MeasuredClient(raw)
        created = structured(await client.call("create-run", {"source": str(tmp_path / "sample.mp4"),
                                                              "formats": ["md"]}))
        await finish(client, created["run_id"], created)
        refused = await client.call("inspect-run", {"run_id": created["run_id"], "detail": "article", "name": "srt"})
    error = tool_error(refused)["error"]
    assert error["code"] == "output_not_published" and error["details"]["allowed"] == ["markdown"]
    assert "create-run" in error["hint"] and "formats (a create-run argument)" in error["hint"]


async def read_resource_in_full(client: Client, uri: str) -> tuple[str, list[str], list[dict[str, Any]]]:
    """Follow a resource's pages (``_meta.next_uri``) to the end: the joined text, MIME types and metas."""
    texts, mimes, metas = [], [], []
    next_uri: str | None = uri
    while next_uri is not None:
        contents = (await client.read_resource(next_uri)).contents
        page = contents[0]
        texts.append(page.text)  # type: ignore[union-attr]
        mimes.append(page.mime_type or "")
        meta = page.meta or {}
        metas.append(meta)
        next_uri = meta.get("next_uri")
        assert (len(contents) == 2) == (next_uri is not None)  # a continued page says so in a second content
        if next_uri is not None:
            assert next_uri in contents[1].text  # type: ignore[union-attr]
        assert len(texts) < 100
    return "".join(texts), mimes, metas


@MODES
async def test_run_files_are_resources_with_their_mime_types_and_read_in_full_page_by_page(
    english: FinishedRun, mode: str
) -> None:
    async with Client(build_server(english.api), mode=mode) as raw:
        client = MeasuredClient(raw)
        links = [b for b in (await client.call("finalize-run", {"run_id": english.run_id})).content
                 if isinstance(b, ResourceLink)]
        read = {link.name: await read_resource_in_full(raw, link.uri) for link in links}
        pages = await read_pages(client, english.run_id)
        listing = (await raw.read_resource(f"run://{english.run_id}")).contents[0]
        telemetry, _, _ = await read_resource_in_full(raw, f"run://{english.run_id}/telemetry.jsonl")
    for name, (text, mimes, metas) in read.items():
        assert text.encode("utf-8") == Path(english.outputs[name]).read_bytes(), name
        assert metas[-1].get("next_cursor") is None and metas[0]["total_chars"] == len(text)
        # Each page keeps the file's MIME type, except that a part of a JSON file is no JSON document.
        assert set(mimes) == ({"text/plain"} if name == "json" and len(mimes) > 1 else {MIME_TYPES[name]}), name
    # The article's resource pages are inspect-run's pages.
    assert [m["cursor"] for m in read["markdown"][2]] == [p["cursor"] for p in pages]
    files = {row["path"]: row for row in json.loads(listing.text)["files"]}  # type: ignore[union-attr]
    assert all(" " not in row["uri"] for row in files.values())
    assert files["manifest.json"]["mime_type"] == "application/json"
    assert files["telemetry.jsonl"]["mime_type"] == "application/jsonl"
    work_dir = english.api.resolve(english.run_id).path
    assert telemetry.encode("utf-8") == (work_dir / "telemetry.jsonl").read_bytes()
    assert_under_the_cap(client)


@MODES
async def test_telemetry_pages_reach_every_event_and_each_fits_the_result_cap(tmp_path: Path, mode: str) -> None:
    for name in ("sample.mp4", "sample.en.vtt"):
        shutil.copy(EXAMPLES / "sample-sidecar" / name, tmp_path / name)
    api = build_runtime_api(load_settings(cwd=tmp_path))
    run_id = api.create_run({"source": str(tmp_path / "sample.mp4")}).run_id
    run_dir = api.resolve(run_id)
    for number in range(45):  # events as large as a phase may emit: many fields, long values
        run_dir.telemetry(run_id).emit("phase_note", number=number,
                                       **{f"field_{k}": f"value {number}-{k} " * 40 for k in range(12)})
    total = sum(1 for _ in iter_jsonl(run_dir.path / "telemetry.jsonl"))
    numbers: list[int] = []
    async with Client(build_server(api), mode=mode) as raw:
        client = MeasuredClient(raw)
        cursor: int | None = 0
        seen = 0
        while cursor is not None:
            view = structured(await client.call("inspect-run", {"run_id": run_id, "detail": "telemetry",
                                                                "cursor": cursor}))
            assert view_size(RunView.model_validate(view)) <= MAX_RESULT_BYTES
            events = view["data"]["events"]
            assert events, view["warnings"]
            seen += len(events)
            numbers += [e["number"] for e in events if e.get("event") == "phase_note"]
            cursor = view["next_cursor"]
    assert seen == total
    assert numbers == list(range(45))  # every event, in order, none skipped
    assert_under_the_cap(client)
