"""A scripted agent that plays the writer of an ``llm="agent"`` run: it answers each ``agent_task`` the way
the fake OpenAI-compatible server would answer the same prompt (``tests.fakes.openai_server``), and can be
told to answer wrongly on a schedule (half the text, the wrong language, a chatty preamble)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_server import faulty_reply, read_instruction, transform

WRONG_ANSWERS = ("drop_half", "wrong_language", "preamble")


@dataclass
class ScriptedAgent:
    """``wrong(n)`` says whether the n-th answer (1-based, over the whole run) is a wrong one."""

    wrong: Callable[[int, dict[str, Any]], bool] = lambda n, task: False
    answers: list[tuple[str, int, str]] = field(default_factory=list)  # (chunk_id, attempt, kind of answer)

    def answer(self, task: dict[str, Any]) -> str:
        messages = [{"role": "system", "content": task["system"]}, {"role": "user", "content": task["prompt"]}]
        instruction = read_instruction(messages)
        number = len(self.answers) + 1
        if self.wrong(number, task):
            kind = WRONG_ANSWERS[(number - 1) % len(WRONG_ANSWERS)]
            text, _ = faulty_reply(kind, instruction)
        else:
            kind, text = "good", transform(instruction)
        self.answers.append((task["chunk_id"], task["attempt"], kind))
        return text


def every_third(number: int, task: dict[str, Any]) -> bool:
    """Every third answer is wrong (the 2nd, 5th, 8th...)."""
    return number % 3 == 2
