"""Section titles written by an LLM: the request under the prompt contract, and the checked reply.

The pair is pure, so the chunk loop (endpoint) and the agent-as-writer path can both use it:

    messages = chapter_title_messages(plan, doc)          # ask
    titles, violations = verify_chapter_titles(reply, plan, doc, finish_reason=...)   # check
    plan.chapter_titles[section.index] = titles[position]  # for each section, in order

Invariants:
- The request lists every section of ``sections.document_sections(doc)`` in order, each with its number,
  its current title (a chapter's) or key words (a topic section's key-phrase title) and its opening
  text, inside ``<source>``; the glossary terms found there inside ``<glossary>``; and the
  ``Mode: chapter_titles`` / ``Target language: <name> (<code>)`` lines.
- ``verify_chapter_titles`` always returns one title per section: a reply title that passes every check
  (present, short, one line without end punctuation, in the output language's script, distinct, not a
  bare "Part 3", not copied from the instructions), else the section's deterministic title. Each
  rejected title is one violation naming the section, with remedy ``repair`` (ask again with them), or
  ``fallback`` when the reply was cut off or empty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..transcript import NormalizedDocument
from .contracts import Plan, Remedy, Violation, ViolationCode
from .deterministic import format_range, heading_text
from .glossary import terms_in
from .languages import expected_script, language_label, script_share, weighted_length
from .prompting import NONE_TEXT, load_template
from .sections import Section, document_sections

OPENING_CHARS = 400
MAX_TITLE_WORDS = 10
MAX_TITLE_WEIGHT = 60.0  # weighted characters (a CJK character counts about three)
MIN_TITLE_SCRIPT_SHARE = 0.5  # titles are short and may hold a Latin name

_TITLE_LINE = re.compile(r"^\s*(\d+)[.)]\s*(.*?)\s*$")
_END_PUNCTUATION = ".:;,!?。：；，！？、"
_BARE_NUMBER = re.compile(
    r"^(?:part|chapter|section|topic|title|teil|kapitel|abschnitt|partie|chapitre|parte|capítulo|sección)"
    r"\s*\d+$|^第?[0-9一二三四五六七八九十]+(?:章|节|部分|部)$|^\d+$",
    re.IGNORECASE,
)
_INSTRUCTION_ECHO = re.compile(
    r"current title|key words|2 to 8 words|no punctuation|target language|mode:|<\/?\w+>|^title$",
    re.IGNORECASE,
)


def _output_language(plan: Plan) -> str | None:
    return plan.target_language if plan.mode != "clean" else plan.source_language


def _opening(doc: NormalizedDocument, section: Section) -> str:
    text = format_range(doc, section.first_sentence, section.end_sentence).replace("\n\n", " ")
    if len(text) > OPENING_CHARS:
        cut = text[:OPENING_CHARS]
        text = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + " …"
    return text or NONE_TEXT


def chapter_title_messages(
    plan: Plan, doc: NormalizedDocument, sections: Sequence[Section] | None = None
) -> list[dict[str, str]]:
    """The chat messages asking for one title per section (``sections`` defaults to the document's)."""
    chosen = list(sections) if sections is not None else document_sections(doc)
    blocks: list[str] = []
    openings: list[str] = []
    for number, section in enumerate(chosen, start=1):
        opening = _opening(doc, section)
        openings.append(opening)
        current = _fallback_title(plan, section)
        kind = "current title" if section.origin == "chapter" else "key words"
        header = f"{number}." + (f" ({kind}: {current})" if current else "")
        blocks.append(f"{header}\n{opening}")
    terms = terms_in("\n".join(openings), plan.glossary)
    glossary = ("Terms (keep this spelling): " + "; ".join(t.term for t in terms)) if terms else NONE_TEXT
    return load_template("chapter_titles").render(
        target_language=language_label(_output_language(plan)),
        chapter_count=str(len(chosen)),
        glossary=glossary,
        chapters="\n\n".join(blocks),
    )


def parse_chapter_titles(reply: str, expected_count: int) -> list[str | None]:
    """Titles from a reply's numbered lines, by position (None where a line is missing or empty)."""
    titles: list[str | None] = [None] * expected_count
    for line in reply.splitlines():
        match = _TITLE_LINE.match(line)
        if match and 1 <= int(match.group(1)) <= expected_count and titles[int(match.group(1)) - 1] is None:
            title = match.group(2).strip().strip("*#\"'“”「」 ")
            titles[int(match.group(1)) - 1] = title or None
    return titles


def deterministic_titles(plan: Plan, sections: Sequence[Section]) -> list[str]:
    """Each section's title without a writer: the source chapter's title, else its leading key phrase."""
    return [_fallback_title(plan, section) for section in sections]


def _fallback_title(plan: Plan, section: Section) -> str:
    if section.index < len(plan.chapter_titles):
        current = plan.chapter_titles[section.index]
        if current and heading_text(current):
            return heading_text(current)
    return heading_text(section.title)


def _problem(title: str, language: str | None, earlier: set[str]) -> tuple[ViolationCode, str] | None:
    if "\n" in title or len(title.split()) > MAX_TITLE_WORDS or weighted_length(title) > MAX_TITLE_WEIGHT:
        return "heading_shape", "is not a short one-line title"
    if title[-1] in _END_PUNCTUATION:
        return "heading_shape", "ends with punctuation"
    if _INSTRUCTION_ECHO.search(title):
        return "leaked_preamble", "copies the instructions"
    if _BARE_NUMBER.match(title):
        return "heading_shape", "is only a number, it does not say what the section is about"
    letters = [char for char in title if char.isalpha()]
    if letters and script_share(title, expected_script(language)) < MIN_TITLE_SCRIPT_SHARE:
        return "wrong_script", f"is not in {language_label(language)}"
    if title.casefold() in earlier:
        return "heading_shape", "repeats an earlier title"
    return None


def verify_chapter_titles(
    reply: str,
    plan: Plan,
    doc: NormalizedDocument,
    sections: Sequence[Section] | None = None,
    *,
    finish_reason: str | None = None,
) -> tuple[list[str], list[Violation]]:
    """One title per section (the reply's where it passes, else the deterministic one) and the violations."""
    chosen = list(sections) if sections is not None else document_sections(doc)
    language = _output_language(plan)
    cut_off = finish_reason == "length" or not reply.strip()
    parsed = parse_chapter_titles(reply, len(chosen))
    titles: list[str] = []
    violations: list[Violation] = []
    earlier: set[str] = set()
    for number, (section, candidate) in enumerate(zip(chosen, parsed, strict=True), start=1):
        fallback = _fallback_title(plan, section)
        remedy: Remedy = "fallback" if cut_off else "repair"
        if candidate is None:
            violations.append(Violation(code="truncated" if cut_off else "heading_shape",
                                        detail=f"section {number} has no title line", remedy=remedy))
            titles.append(fallback)
        else:
            problem = _problem(candidate, language, earlier)
            if problem is None:
                titles.append(heading_text(candidate))
            else:
                code, why = problem
                violations.append(Violation(code=code, detail=f"title {number} {candidate[:60]!r} {why}",
                                            remedy=remedy))
                titles.append(fallback)
        earlier.add(titles[-1].casefold())
    return titles, violations
