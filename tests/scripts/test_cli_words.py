"""Every hint the CLI prints names only real ``yt-transcript`` commands and flags, and no MCP tool.

Checked on: every next step the policy can produce (each action as the step and as a choice), every hint
written in the kernel (read from the source, placeholders rendered in CLI words), and the hints of real
errors the CLI and the script-first commands print.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.pipeline import TranscriptPipeline
from kernel.pipeline.intent import TranscriptParams
from kernel.task_runtime.contracts import NextStep
from kernel.task_runtime.hints import placeholders
from scripts import cli
from scripts.words import cli_next_step, cli_text
from tests.conftest import REPO_ROOT

TOOL_NAMES = ("create-run", "inspect-run", "advance-run", "apply-control", "resume-run", "finalize-run")
COMMAND = re.compile(r"yt-transcript ([a-z][a-z-]*)((?: (?:[^`;\s]+))*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def flags_of(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def assert_cli_words(text: str) -> None:
    """Each ``yt-transcript CMD ...`` names a real command with its real flags; loose flags exist on some
    command; no MCP tool is named."""
    commands = subcommands()
    for tool in TOOL_NAMES:
        assert tool not in text, f"{tool!r} in a CLI message: {text}"
    all_flags = set().union(*(flags_of(p) for p in commands.values()))
    for match in COMMAND.finditer(text):
        name, rest = match.group(1), match.group(2)
        assert name in commands, f"no command {name!r}: {text}"
        for flag in FLAG.findall(rest):
            assert flag in flags_of(commands[name]), f"`yt-transcript {name}` has no {flag}: {text}"
    for flag in FLAG.findall(COMMAND.sub("", text)):
        assert flag in all_flags, f"no command has {flag}: {text}"


def test_every_next_step_renders_as_real_commands() -> None:
    actions = TranscriptPipeline().actions.names()
    steps = [NextStep(kind=kind, reason="r") for kind in ("wait", "busy", "done")]
    steps += [NextStep(kind="act", action=action, reason="r") for action in actions]
    steps += [NextStep(kind="choose", must_choose=True, choices=[action, "cancel"], reason="r") for action in actions]
    for step in steps:
        assert_cli_words(cli_next_step(step, "r20260101-000000-abcdef"))


def kernel_hints() -> list[tuple[str, str]]:
    """(file:line, text) of every hint literal in the kernel (f-string holes become ``X``)."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO_ROOT / "kernel").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.keyword) or node.arg != "hint":
                continue
            parts = [node.value] if not isinstance(node.value, ast.JoinedStr) else node.value.values
            text = "".join(p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else "X"
                           for p in parts)
            if text.strip("X"):
                found.append((f"{path.relative_to(REPO_ROOT)}:{node.lineno}", text))
    return found


def test_kernel_hints_name_no_front_end_and_render_as_real_cli_words() -> None:
    hints = kernel_hints()
    assert len(hints) > 40
    fields = set(TranscriptParams.model_fields)
    actions = set(TranscriptPipeline().actions.names())
    for where, text in hints:
        assert "yt-transcript " not in text and not FLAG.search(text), f"{where}: front-end words in {text!r}"
        for placeholder in placeholders(text):
            if placeholder.kind == "option":
                assert placeholder.name in fields, f"{where}: no run option {placeholder.name!r}"
            if placeholder.kind == "action":
                assert placeholder.name in actions, f"{where}: no action {placeholder.name!r}"
        assert_cli_words(cli_text(text, "r1"))


@pytest.mark.parametrize("args", [
    ["run", "no-such-file.mp4"],
    ["run", "x.mp4", "--mode", "translate", "--target-language", "de"],
    ["inspect", "r20990101-000000-nosuch"],
    ["submit-chunk", "r20990101-000000-nosuch", "p1-c0000", "-"],
])
def test_hints_of_real_cli_errors_name_real_commands(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "x.mp4").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "scripts.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, input="")
    assert done.returncode != 0 and done.stderr.startswith("error["), done.stderr
    assert_cli_words(done.stderr)


def test_the_word_checker_catches_made_up_commands_and_flags() -> None:
    with pytest.raises(AssertionError):
        assert_cli_words("run `yt-transcript frobnicate RUN`")
    with pytest.raises(AssertionError):
        assert_cli_words("use `yt-transcript run SOURCE --encoding utf-16`")
    with pytest.raises(AssertionError):
        assert_cli_words("call advance-run(run_id='r1')")
    assert_cli_words("`yt-transcript finalize r1 --accept-degraded`; `yt-transcript run SOURCE --llm agent`")
