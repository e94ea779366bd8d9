"""The single-purpose prompt templates (``prompts/*.md``) exposed as MCP prompts.

Each template becomes one prompt of the same name; its placeholders become required string arguments.
Rendering is the kernel's (``kernel.long_text.prompting``): the MCP prompt returns exactly the messages
the pipeline would send, so an agent can try a prompt by hand. MCP prompts carry only user and assistant
messages, so the system message is delivered as the first user message. A rendering error (say an
argument the template does not know) reaches the client as an invalid-params error with its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import AssistantMessage, Message, Prompt, PromptArgument, UserMessage
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from kernel.long_text.prompting import list_templates
from kernel.task_runtime.errors import YTTError


class PromptTemplateLike(Protocol):
    """What ``kernel.long_text.prompting.list_templates()`` yields (``PromptTemplate``)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def placeholders(self) -> Sequence[str]: ...

    def render(self, **values: str) -> list[dict[str, str]]: ...


def to_messages(rendered: Iterable[dict[str, str]]) -> list[Message]:
    """Kernel chat messages -> MCP prompt messages (system text becomes a user message)."""
    messages: list[Message] = []
    for item in rendered:
        role, content = item.get("role", "user"), item.get("content", "")
        messages.append(AssistantMessage(content) if role == "assistant" else UserMessage(content))
    return messages


def to_prompt(template: PromptTemplateLike) -> Prompt:
    def render(**values: Any) -> list[Message]:
        try:
            return to_messages(template.render(**{k: str(v) for k, v in values.items()}))
        except YTTError as exc:
            raise MCPError(code=INVALID_PARAMS, message=f"{exc.code}: {exc.message}", data=exc.to_dict()) from exc

    return Prompt(
        name=template.name,
        title=template.name.replace("-", " ").replace("_", " "),
        description=template.description,
        arguments=[
            PromptArgument(name=name, description=f"text for the {{{name}}} placeholder", required=True)
            for name in template.placeholders
        ],
        fn=render,
    )


def register_prompts(server: MCPServer, templates: Iterable[PromptTemplateLike] | None = None) -> int:
    """Add one MCP prompt per template (default: every ``prompts/*.md``); returns how many were added.

    Raises:
        PromptError: a template file is malformed (code ``prompt_template_invalid``).
    """
    count = 0
    for template in list_templates() if templates is None else templates:
        server.add_prompt(to_prompt(template))
        count += 1
    return count
