"""The layers hold: imports form no cycle between packages, the generic runtime imports nothing outside
itself and knows no domain word, and nothing installed imports the tests.

Nodes of the import graph: each subpackage of ``kernel`` (``kernel.source``, ``kernel.task_runtime``...)
and each top-level ``kernel/*.py`` module (``kernel.config``, ``kernel.text``...) is one node; so are the
top-level packages ``server``, ``scripts``, ``benchmarks``, ``tools`` and ``tests``. Imports are read
from the source with ``ast`` (lazy imports inside functions count too).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO_ROOT

PROJECT_PACKAGES = ("kernel", "server", "scripts", "benchmarks", "tools", "tests")
INSTALLED = ("kernel", "server", "scripts")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def node_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "kernel" or len(parts) == 1:
        return parts[0]
    return f"kernel.{parts[1]}" if (REPO_ROOT / "kernel" / parts[1]).is_dir() or \
        (REPO_ROOT / "kernel" / f"{parts[1]}.py").is_file() else "kernel"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the project modules ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                found.update([target] if node.module else [f"{target}.{alias.name}" for alias in node.names])
            elif node.module:
                found.add(node.module)
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES}


def import_graph(roots: tuple[str, ...]) -> dict[str, dict[str, set[str]]]:
    """node -> imported node -> files that make the edge."""
    graph: dict[str, dict[str, set[str]]] = {}
    for root in roots:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            source = node_of(_module_name(path))
            for target in imported_modules(path):
                destination = node_of(target)
                if destination != source:
                    graph.setdefault(source, {}).setdefault(destination, set()).add(
                        path.relative_to(REPO_ROOT).as_posix())
    return graph


def find_cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle of the graph as a node list (first node repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_two_packages_import_each_other_directly_or_through_others() -> None:
    graph = import_graph(INSTALLED)
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or []) + "; edges: " + "; ".join(
        f"{a} -> {b} in {sorted(graph[a][b])}" for a, b in zip(cycle or [], (cycle or [])[1:], strict=False))


def test_the_cycle_finder_finds_a_cycle_through_three_nodes() -> None:
    graph = {"a": {"b": {"x"}}, "b": {"c": {"y"}}, "c": {"a": {"z"}}, "d": {"a": {"w"}}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": {"x"}}, "b": {}}) is None


def test_the_runtime_imports_nothing_outside_itself() -> None:
    outside = {target: files for target, files in import_graph(("kernel",)).get("kernel.task_runtime", {}).items()}
    assert outside == {}


def test_installed_code_never_imports_the_tests() -> None:
    graph = import_graph(INSTALLED)
    offenders = {source: sorted(edges["tests"]) for source, edges in graph.items() if "tests" in edges}
    assert offenders == {}


def test_domain_packages_never_import_the_pipeline_the_server_or_the_scripts() -> None:
    graph = import_graph(("kernel",))
    for domain in ("kernel.source", "kernel.long_text", "kernel.output", "kernel.text", "kernel.transcript"):
        assert not set(graph.get(domain, {})) & {"kernel.pipeline", "server", "scripts"}, domain


# Words of the yt-transcript domain. The runtime's code (identifiers, strings, docstrings) must use none
# of them: it is generic over any pipeline.
DOMAIN_WORDS = re.compile(
    r"\b(videos?|transcripts?|transcri(?:be|bed|bing|ption)|chunks?|plans?|replan\w*|llms?|subtitles?|captions?|"
    r"asr|whisper|audio|speech|deepgram|yt-?dlp|youtube|media|articles?|markdown|srt|vtt|glossary|prompts?)\b",
    re.IGNORECASE,
)


def test_the_runtime_knows_no_domain_word() -> None:
    hits = []
    for path in sorted((REPO_ROOT / "kernel" / "task_runtime").glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in DOMAIN_WORDS.finditer(line):
                hits.append(f"{path.name}:{number}: {match.group(0)}")
    assert hits == []
