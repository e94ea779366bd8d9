"""Hints that every front end can speak: placeholders for the things a hint may tell the caller to do.

An error's ``hint`` (and a next step's reason) is written once, in the kernel, without naming any front
end's commands or tools. Where it must name one, it uses a placeholder, and each front end renders the
placeholders in its own words (the MCP server in tools and arguments, the CLI in commands and flags):

    {option:NAME}           a run option (an intent field), e.g. {option:subtitle_encoding}
    {option:NAME=VALUE}     a run option with a value, e.g. {option:mode=translate}
    {action:NAME}           take the allowed action NAME on this run
    {inspect}               look at the run (its state, phases and failure)
    {resume}                resume the run (recover it and continue)
    {new_run}               start a new run

``{option:...}`` and ``{action:...}`` render as a bare command or argument (write "use {option:X}");
``{inspect}``, ``{resume}`` and ``{new_run}`` may render as a whole verb phrase ("start a new run with
..."), so a hint uses them where a clause can stand (after "; " or "then ").

Invariants:
- ``render`` replaces every well-formed placeholder and leaves other text untouched.
- ``placeholders`` lists them, so tests can check each names a real option or action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{(option|action):([a-z][a-z0-9_]*)(?:=([^{}]+))?\}|\{(inspect|resume|new_run)\}")


@dataclass(frozen=True)
class Placeholder:
    kind: str  # option, action, inspect, resume, new_run
    name: str | None = None
    value: str | None = None


def placeholders(text: str) -> list[Placeholder]:
    found = []
    for match in _PLACEHOLDER.finditer(text):
        if match.group(4):
            found.append(Placeholder(kind=match.group(4)))
        else:
            found.append(Placeholder(kind=match.group(1), name=match.group(2), value=match.group(3)))
    return found


def render(text: str, speak: Callable[[Placeholder], str]) -> str:
    """``text`` with every placeholder replaced by ``speak(placeholder)``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(4):
            return speak(Placeholder(kind=match.group(4)))
        return speak(Placeholder(kind=match.group(1), name=match.group(2), value=match.group(3)))

    return _PLACEHOLDER.sub(replace, text)
