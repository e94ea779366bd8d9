"""Prompt templates (``prompts/*.md``) and the chat messages sent for each chunk.

Template file format (one narrow, single-purpose prompt per file)::

    ---
    name: clean
    description: one line, shown to MCP clients
    placeholders: source, glossary, ...
    ---

    ## system
    <system message text>

    ## user
    <user message text with {placeholders}>

Invariants:
- A template's declared placeholders are exactly the ``{name}`` fields used in its body (checked on
  load), and rendering needs every one of them: a missing or unknown value raises ``PromptError``.
- Substitution is one pass, so a value that itself contains ``{source}`` is never expanded again.
- The prompt contract: the text to transform is inside ``<source>...</source>``; reference-only
  neighbour text inside ``<context>...</context>``; glossary terms and anchors inside
  ``<glossary>...</glossary>``; the user message has ``Mode: <mode>`` and ``Target language: <name> (<code>)``
  lines and asks for the transformed text only.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..task_runtime.errors import YTTError
from ..transcript import NormalizedDocument
from .anchors import extract_anchors
from .contracts import ChunkSpec, Plan, Violation
from .deterministic import format_range
from .glossary import terms_in
from .languages import language_label

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_SECTION = re.compile(r"^## (system|user)[ \t]*$", re.MULTILINE)
NONE_TEXT = "(none)"

_TASKS = {
    "clean": "clean the transcript text in <source> in its own language, keeping every statement",
    "translate": "translate the transcript text in <source> into {target} completely and faithfully",
    "bilingual": (
        "for each paragraph of <source>: the cleaned paragraph in {source}, a blank line, its complete "
        "translation into {target}, a blank line"
    ),
}
NO_HEADINGS_RULE = "Do not add headings or titles."
HEADINGS_RULE = (
    'Where the topic clearly changes, you may start a new section with a heading line "## Title" '
    "(2 to 8 words, no punctuation at the end). Add no other kind of heading."
)


class PromptError(YTTError):
    """A prompt template is missing or malformed, or was rendered without a required value."""

    code = "prompt_error"


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    placeholders: list[str]
    system: str
    user: str

    def render(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with every placeholder filled.

        Raises:
            PromptError: code ``prompt_value_missing`` or ``prompt_value_unknown``, naming the placeholder.
        """
        missing = [name for name in self.placeholders if name not in values]
        if missing:
            raise PromptError(
                f"prompt {self.name} needs a value for {', '.join(missing)}",
                code="prompt_value_missing",
                hint=f"pass every placeholder: {', '.join(self.placeholders)}",
                details={"template": self.name, "missing": missing},
            )
        unknown = sorted(set(values) - set(self.placeholders))
        if unknown:
            raise PromptError(
                f"prompt {self.name} has no placeholder {', '.join(unknown)}",
                code="prompt_value_unknown",
                hint=f"its placeholders are: {', '.join(self.placeholders)}",
                details={"template": self.name, "unknown": unknown},
            )

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return [
            {"role": "system", "content": fill(self.system)},
            {"role": "user", "content": fill(self.user)},
        ]


def parse_template(text: str, *, origin: str) -> PromptTemplate:
    """Parse one template file's text (``origin`` names it in errors).

    Raises:
        PromptError: code ``prompt_template_invalid``.
    """

    def invalid(problem: str) -> PromptError:
        return PromptError(
            f"prompt template {origin} is invalid: {problem}",
            code="prompt_template_invalid",
            hint="see the format in kernel/long_text/prompting.py",
        )

    parts = text.split("---", 2)
    if len(parts) != 3 or parts[0].strip():
        raise invalid("it must start with a '---' header block")
    header: dict[str, str] = {}
    for line in parts[1].strip().splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            raise invalid(f"header line {line!r} is not 'key: value'")
        header[key.strip()] = value.strip()
    for key in ("name", "description", "placeholders"):
        if not header.get(key):
            raise invalid(f"header has no {key}")
    sections = _SECTION.split(parts[2])
    # split() with one group gives: [preamble, "system", body, "user", body]
    if len(sections) != 5 or sections[1] != "system" or sections[3] != "user" or sections[0].strip():
        raise invalid("body must be a '## system' section followed by a '## user' section")
    system, user = sections[2].strip(), sections[4].strip()
    declared = [p.strip() for p in header["placeholders"].split(",") if p.strip()]
    used = set(_PLACEHOLDER.findall(system + "\n" + user))
    if set(declared) != used:
        raise invalid(f"declared placeholders {sorted(declared)} differ from those used {sorted(used)}")
    return PromptTemplate(
        name=header["name"],
        description=header["description"],
        placeholders=declared,
        system=system,
        user=user,
    )


@cache
def load_template(name: str) -> PromptTemplate:
    """The template ``prompts/<name>.md``.

    Raises:
        PromptError: code ``prompt_not_found`` (no such file) or ``prompt_template_invalid``.
    """
    path = PROMPTS_DIR / f"{name}.md"
    if not re.fullmatch(r"[a-z_]+", name) or not path.is_file():
        known = ", ".join(t.stem for t in sorted(PROMPTS_DIR.glob("*.md")))
        raise PromptError(
            f"no prompt template named {name!r}", code="prompt_not_found", hint=f"templates: {known}"
        )
    template = parse_template(path.read_text(encoding="utf-8"), origin=f"prompts/{path.name}")
    if template.name != name:
        raise PromptError(
            f"prompt template prompts/{path.name} declares name {template.name!r}",
            code="prompt_template_invalid",
            hint="make the header name match the file name",
        )
    return template


def list_templates() -> list[PromptTemplate]:
    """Every template in ``prompts/``, by name (the MCP server exposes them as prompts)."""
    return [load_template(path.stem) for path in sorted(PROMPTS_DIR.glob("*.md"))]


def glossary_block(plan: Plan, source_text: str) -> str:
    """The ``<glossary>`` body for one chunk: the plan's terms found in it, and its anchors."""
    lines: list[str] = []
    terms = terms_in(source_text, plan.glossary)
    if terms:
        lines.append("Terms (keep this spelling): " + "; ".join(term.term for term in terms))
    anchors = extract_anchors(source_text)
    if anchors:
        lines.append("Values (keep every one): " + "; ".join(anchor.text for anchor in anchors))
    return "\n".join(lines) or NONE_TEXT


def _headings_rule(plan: Plan) -> str:
    return HEADINGS_RULE if "structure" in plan.operations else NO_HEADINGS_RULE


def _target_label(plan: Plan) -> str:
    return language_label(plan.output_language)


def chunk_source_text(chunk: ChunkSpec, doc: NormalizedDocument) -> str:
    """The chunk's core as deterministic paragraphs: what the model transforms and verification compares."""
    return format_range(doc, chunk.core_start, chunk.core_end)


def build_chunk_messages(
    plan: Plan,
    chunk: ChunkSpec,
    doc: NormalizedDocument,
    *,
    violations: list[Violation] | None = None,
    previous_output: str | None = None,
) -> list[dict[str, str]]:
    """The chat messages for one chunk: the operation's template, or the repair template when
    ``violations`` are given.

    Raises:
        PromptError: code ``prompt_no_llm_operation`` for a deterministic plan (it sends no prompts).
    """
    if plan.contract.operation == "format":
        raise PromptError(
            f"plan {plan.plan_id} is deterministic and sends no prompts",
            code="prompt_no_llm_operation",
            hint="format the chunk with kernel.long_text.deterministic",
        )
    source = chunk_source_text(chunk, doc)
    common = {
        "target_language": _target_label(plan),
        "headings_rule": _headings_rule(plan),
        "glossary": glossary_block(plan, source),
        "source": source,
    }
    source_label = language_label(plan.source_language) if plan.source_language else "the source language"
    if violations:
        task = _TASKS[plan.mode].format(source=source_label, target=_target_label(plan))
        return load_template("repair").render(
            mode=plan.mode,
            task=task,
            source_language=source_label,
            violations="\n".join(f"- {v.code}: {v.detail}" for v in violations),
            previous_output=previous_output.strip()
            if previous_output and previous_output.strip()
            else "(empty)",
            **common,
        )
    context = {
        "context_before": _context_text(doc, chunk.context_before_start, chunk.core_start),
        "context_after": _context_text(doc, chunk.core_end, chunk.context_after_end),
    }
    if plan.mode == "clean":
        return load_template("clean").render(**common, **context)
    if plan.mode == "translate":
        return load_template("translate").render(source_language=source_label, **common, **context)
    paragraph_count = str(len([p for p in source.split("\n\n") if p.strip()]))
    return load_template("bilingual").render(
        source_language=source_label, paragraph_count=paragraph_count, **common, **context
    )


def _context_text(doc: NormalizedDocument, start: int, end: int) -> str:
    if start >= end:
        return NONE_TEXT
    return format_range(doc, start, end).replace("\n\n", " ")
