"""Deterministic formatting: sentences -> readable Markdown paragraphs, with no LLM.

This is the whole transformation when no LLM is configured, and the per-chunk fallback when a chunk's
LLM output cannot be made to pass verification. It never drops, reorders or rewrites words: it only
groups sentences into paragraphs, capitalizes a sentence's first word, adds missing final punctuation
(auto-captions have none) and adds chapter headings and speaker labels.

Invariants:
- Every sentence given appears exactly once, in order, in the output.
- A paragraph breaks on a pause of at least ``PARAGRAPH_PAUSE_SECONDS``, a speaker change, a chapter
  change, or before it would exceed ``MAX_PARAGRAPH_WORDS`` words (one word per two CJK characters,
  so about 180 CJK characters) or ``MAX_PARAGRAPH_SENTENCES`` sentences.
- Chinese and Japanese sentences are joined without spaces (``kernel.text.join_text_pieces``).
- Speaker labels depend only on the raw label (``SPEAKER_00`` / ``0`` -> "Speaker 1"), never on the
  position in the document, so chunks formatted separately agree with the whole document.
- Pure functions: the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import contains_cjk, is_cjk_char, join_text_pieces, measure_text
from ..transcript import NormalizedDocument, Sentence
from .languages import is_cjk_language

PARAGRAPH_PAUSE_SECONDS = 1.2
MAX_PARAGRAPH_WORDS = 90.0
MAX_PARAGRAPH_SENTENCES = 6
MAX_HEADING_CHARS = 80

_SENTENCE_END = frozenset(".!?…。！？．｡‼⁇⁈⁉؟।")
_CLOSERS = "\"'”’)]}」』）】》〉»"
_TRAILING_CLAUSE = ",;:、，；：-–—"
_FIRST_WORD = re.compile(r"^([\"'“‘(\[¿¡«]*)([^\W\d_][\w'’\-.]*)")
_ZERO_BASED_SPEAKER = re.compile(r"^(?:speaker_)?(\d+)$", re.IGNORECASE)
_HEADING_TRAILING = ".,;:!?。，；：！？、 "


def speaker_label(speaker: str) -> str:
    """A readable label: ``0`` / ``SPEAKER_00`` / ``speaker_1`` -> ``Speaker 1`` / ``Speaker 2``.

    Any other label (a name) is kept as written.
    """
    match = _ZERO_BASED_SPEAKER.match(speaker.strip())
    if match:
        # Diarization labels count from 0 (Deepgram's 0, pyannote's SPEAKER_00); people count from 1.
        return f"Speaker {int(match.group(1)) + 1}"
    return speaker.strip()


def group_paragraphs(sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    """Split sentences into paragraphs (see the module invariants for the rules)."""
    paragraphs: list[list[Sentence]] = []
    current: list[Sentence] = []
    current_words = 0.0
    for sentence in sentences:
        words = measure_text(sentence.text).word_units
        if current and _starts_new_paragraph(current, current_words, sentence, words):
            paragraphs.append(current)
            current, current_words = [], 0.0
        current.append(sentence)
        current_words += words
    if current:
        paragraphs.append(current)
    return paragraphs


def _starts_new_paragraph(
    current: list[Sentence], current_words: float, sentence: Sentence, words: float
) -> bool:
    previous = current[-1]
    return (
        sentence.pause_before >= PARAGRAPH_PAUSE_SECONDS
        or sentence.speaker != previous.speaker
        or sentence.chapter_index != previous.chapter_index
        or len(current) >= MAX_PARAGRAPH_SENTENCES
        or current_words + words > MAX_PARAGRAPH_WORDS
    )


def polish_sentence(text: str, language: str | None) -> str:
    """Capitalize the first word when it is all lower case and add final punctuation when missing."""
    text = " ".join(text.split())
    if not text:
        return text
    match = _FIRST_WORD.match(text)
    if match:
        word = match.group(2)
        # Only a plainly lower-case first word is capitalized: "iPhone", "eBay" or "e.g." stay as written.
        if word.islower() and "." not in word:
            start = match.start(2)
            text = text[:start] + text[start].upper() + text[start + 1 :]
    core = text.rstrip(_CLOSERS)
    if core and core[-1] in _SENTENCE_END:
        return text
    stripped = text.rstrip(_TRAILING_CLAUSE + " ")
    if not stripped:
        return text
    last_letter = next((c for c in reversed(stripped) if c.isalpha()), "")
    cjk = is_cjk_char(last_letter) if last_letter else is_cjk_language(language)
    if not cjk and is_cjk_language(language) and contains_cjk(stripped):
        cjk = True  # a Chinese sentence ending in a Latin word ("...用 iPhone") still takes "。"
    return stripped + ("。" if cjk else ".")


def render_paragraph(sentences: Sequence[Sentence], language: str | None, *, show_speakers: bool) -> str:
    """A paragraph, prefixed with ``**Speaker N:** `` when ``show_speakers`` and a speaker is known."""
    body = join_text_pieces(polish_sentence(s.text, language) for s in sentences)
    speaker = sentences[0].speaker if sentences else None
    if show_speakers and speaker:
        return f"**{speaker_label(speaker)}:** {body}"
    return body


def format_sentences(
    sentences: Sequence[Sentence], language: str | None, *, show_speakers: bool = False
) -> str:
    """Sentences as paragraphs separated by blank lines (no headings)."""
    paragraphs = (
        render_paragraph(p, language, show_speakers=show_speakers) for p in group_paragraphs(sentences)
    )
    return "\n\n".join(p for p in paragraphs if p)


def has_multiple_speakers(doc: NormalizedDocument) -> bool:
    return len({s.speaker for s in doc.sentences if s.speaker}) > 1


def format_range(doc: NormalizedDocument, start: int, end: int) -> str:
    """Sentences ``start..end-1`` of the document as paragraphs, with speakers when the doc has several.

    This is a chunk's deterministic text: the prompt's source, the verification reference and the
    fallback output all use it, so they agree.
    """
    return format_sentences(doc.sentences[start:end], doc.language, show_speakers=has_multiple_speakers(doc))


def heading_text(title: str) -> str:
    """A chapter title cleaned for a ``## `` heading: one line, no trailing punctuation, bounded length."""
    text = " ".join(title.replace("#", " ").split()).strip(_HEADING_TRAILING)
    if len(text) > MAX_HEADING_CHARS:
        cut = text[:MAX_HEADING_CHARS].rsplit(" ", 1)[0] or text[:MAX_HEADING_CHARS]
        text = cut.rstrip(_HEADING_TRAILING) + "…"
    return text


def chapter_title(
    doc: NormalizedDocument, chapter_titles: Sequence[str | None] | None, index: int
) -> str | None:
    """The title to show for chapter ``index``: the given override when set, else the metadata title."""
    if chapter_titles is not None and index < len(chapter_titles):
        override = chapter_titles[index]
        if override and heading_text(override):
            return heading_text(override)
    if index < len(doc.chapters) and heading_text(doc.chapters[index].title):
        return heading_text(doc.chapters[index].title)
    return None


def chapter_starts(sentences: Sequence[Sentence]) -> list[bool]:
    """For each sentence: is it the first sentence of its chapter? (Never true without chapters.)"""
    starts: list[bool] = []
    previous: int | None = None
    for position, sentence in enumerate(sentences):
        index = sentence.chapter_index
        starts.append(index is not None and (position == 0 or index != previous))
        previous = index
    return starts


def format_document(doc: NormalizedDocument, chapter_titles: list[str | None] | None = None) -> str:
    """The whole document: ``## <chapter title>`` headings at chapter starts, paragraphs under them.

    Ends with one newline (empty string for an empty document). Speaker labels are shown when the
    document has more than one speaker.
    """
    language = doc.language
    show_speakers = has_multiple_speakers(doc)
    starts = chapter_starts(doc.sentences)
    blocks: list[str] = []
    run: list[Sentence] = []

    def flush() -> None:
        if run:
            blocks.append(format_sentences(run, language, show_speakers=show_speakers))
            run.clear()

    for sentence, is_start in zip(doc.sentences, starts, strict=True):
        if is_start and sentence.chapter_index is not None:
            flush()
            title = chapter_title(doc, chapter_titles, sentence.chapter_index)
            if title:
                blocks.append(f"## {title}")
        run.append(sentence)
    flush()
    return "\n\n".join(b for b in blocks if b) + ("\n" if blocks else "")
