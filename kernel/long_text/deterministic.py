"""Deterministic formatting: sentences -> readable Markdown paragraphs, with no LLM.

This is the whole transformation when no LLM is configured, and the per-chunk fallback when a chunk's
LLM output cannot be made to pass verification. It never drops, reorders or rewrites words: it only
groups sentences into paragraphs, capitalizes where a sentence starts (and the English pronoun "I"),
adds final punctuation where a sentence really ends (auto-captions have none) and adds chapter headings
and speaker labels.

Invariants:
- Every sentence given appears exactly once, in order, in the output.
- A sentence unit *closes* (``closes_sentence``) when it ends with sentence punctuation, is followed by a
  pause of at least ``SENTENCE_END_PAUSE_SECONDS`` or a speaker change, or ends the document. Only a
  closing unit gets a final period, and only the unit after one gets a capital: normalization also cuts
  units at shorter pauses and at length limits, and those cuts are not sentence ends, so the text runs
  on there ("somewhere between 190 and 210", not "between 190. And 210"). In CJK text such a run-on
  boundary gets a clause comma (``，``, ``、`` for Japanese) instead.
- A paragraph breaks on a pause of at least ``PARAGRAPH_PAUSE_SECONDS``, a speaker change, a chapter
  change, or, after a closing unit, before it would exceed ``MAX_PARAGRAPH_WORDS`` words (one word per
  two CJK characters, so about 180 CJK characters) or ``MAX_PARAGRAPH_SENTENCES`` sentences; a run-on
  is broken only when it reaches twice those limits.
- Chinese and Japanese sentences are joined without spaces (``kernel.text.join_text_pieces``).
- Speaker labels depend only on the raw label (``SPEAKER_00`` / ``0`` -> "Speaker 1"), never on the
  position in the document, so chunks formatted separately agree with the whole document.
- Pure functions: the same input always gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import cjk_clause_mark, contains_cjk, is_cjk_char, join_text_pieces, measure_text
from ..transcript import NormalizedDocument, Sentence
from .languages import base_language, is_cjk_language

PARAGRAPH_PAUSE_SECONDS = 1.2
SENTENCE_END_PAUSE_SECONDS = 1.2  # never above PARAGRAPH_PAUSE_SECONDS: a paragraph ends a sentence
MAX_PARAGRAPH_WORDS = 90.0
MAX_PARAGRAPH_SENTENCES = 6
MAX_HEADING_CHARS = 80

_SENTENCE_END = frozenset(".!?…。！？．｡‼⁇⁈⁉؟।")
_CLOSERS = "\"'”’)]}」』）】》〉»"
_TRAILING_CLAUSE = ",;:、，；：-–—"
_FIRST_WORD = re.compile(r"^([\"'“‘(\[¿¡«]*)([^\W\d_][\w'’\-.]*)")
_ZERO_BASED_SPEAKER = re.compile(r"^(?:speaker_)?(\d+)$", re.IGNORECASE)
_HEADING_TRAILING = ".,;:!?。，；：！？、 "
_PRONOUN_I = re.compile(r"(?<![\w'’])i((?:['’](?:m|d|ll|ve))?)(?![\w'’])")


def speaker_label(speaker: str) -> str:
    """A readable label: ``0`` / ``SPEAKER_00`` / ``speaker_1`` -> ``Speaker 1`` / ``Speaker 2``.

    Any other label (a name) is kept as written.
    """
    match = _ZERO_BASED_SPEAKER.match(speaker.strip())
    if match:
        # Diarization labels count from 0 (Deepgram's 0, pyannote's SPEAKER_00); people count from 1.
        return f"Speaker {int(match.group(1)) + 1}"
    return speaker.strip()


def closes_sentence(sentence: Sentence, following: Sentence | None) -> bool:
    """Whether ``sentence`` ends a real sentence (see the module invariants); ``following`` is the next
    sentence unit of the document, or None at its end."""
    core = sentence.text.rstrip().rstrip(_CLOSERS)
    if following is None or (core and core[-1] in _SENTENCE_END):
        return True
    return following.speaker != sentence.speaker or following.pause_before >= SENTENCE_END_PAUSE_SECONDS


def _closing(sentences: Sequence[Sentence], following: Sentence | None) -> list[bool]:
    nexts = [*sentences[1:], following]
    return [closes_sentence(sentence, after) for sentence, after in zip(sentences, nexts, strict=True)]


def group_paragraphs(
    sentences: Sequence[Sentence], closes: Sequence[bool] | None = None
) -> list[list[Sentence]]:
    """Split sentences into paragraphs (see the module invariants for the rules).

    ``closes[i]`` says whether ``sentences[i]`` closes a sentence; by default the last one does.
    """
    closing = list(closes) if closes is not None else _closing(sentences, None)
    paragraphs: list[list[Sentence]] = []
    current: list[Sentence] = []
    current_words = 0.0
    for position, sentence in enumerate(sentences):
        words = measure_text(sentence.text).word_units
        if current and _starts_new_paragraph(current, current_words, sentence, words, closing[position - 1]):
            paragraphs.append(current)
            current, current_words = [], 0.0
        current.append(sentence)
        current_words += words
    if current:
        paragraphs.append(current)
    return paragraphs


def _starts_new_paragraph(
    current: list[Sentence], current_words: float, sentence: Sentence, words: float, previous_closes: bool
) -> bool:
    previous = current[-1]
    if (
        sentence.pause_before >= PARAGRAPH_PAUSE_SECONDS
        or sentence.speaker != previous.speaker
        or sentence.chapter_index != previous.chapter_index
    ):
        return True
    limit = 1 if previous_closes else 2  # a run-on sentence is broken only when it gets far too long
    return len(current) >= MAX_PARAGRAPH_SENTENCES * limit or current_words + words > MAX_PARAGRAPH_WORDS * limit


def _capitalize_pronoun_i(text: str, language: str | None) -> str:
    if base_language(language) != "en" or "i" not in text:
        return text
    return _PRONOUN_I.sub(lambda match: "I" + match.group(1), text)


def polish_sentence(text: str, language: str | None, *, starts: bool = True, closes: bool = True) -> str:
    """One sentence unit made readable: the English pronoun "i" capitalized; when ``starts`` the first
    word capitalized (if plainly lower case); when ``closes`` final punctuation added if missing."""
    text = _capitalize_pronoun_i(" ".join(text.split()), language)
    if not text:
        return text
    match = _FIRST_WORD.match(text) if starts else None
    if match:
        word = match.group(2)
        # Only a plainly lower-case first word is capitalized: "iPhone", "eBay" or "e.g." stay as written.
        if word.islower() and "." not in word:
            start = match.start(2)
            text = text[:start] + text[start].upper() + text[start + 1 :]
    core = text.rstrip(_CLOSERS)
    if core and core[-1] in _SENTENCE_END:
        return text
    if not closes:
        return _with_cjk_comma(text, language)
    stripped = text.rstrip(_TRAILING_CLAUSE + " ")
    if not stripped:
        return text
    return stripped + ("。" if _ends_in_cjk(stripped, language) else ".")


def _ends_in_cjk(text: str, language: str | None) -> bool:
    last_letter = next((c for c in reversed(text) if c.isalpha()), "")
    cjk = is_cjk_char(last_letter) if last_letter else is_cjk_language(language)
    # A Chinese sentence ending in a Latin word ("...用 iPhone") still takes "。".
    return cjk or (is_cjk_language(language) and contains_cjk(text))


def _with_cjk_comma(text: str, language: str | None) -> str:
    """A run-on CJK unit gets a clause comma, as a reader expects between two cues; Latin text runs on."""
    core = text.rstrip(_CLOSERS)
    if not core or core[-1] in _TRAILING_CLAUSE or not is_cjk_char(core[-1]):
        return text
    return text + cjk_clause_mark(language, text)


def render_paragraph(
    sentences: Sequence[Sentence],
    language: str | None,
    *,
    show_speakers: bool,
    closes: Sequence[bool] | None = None,
    starts_sentence: bool = True,
) -> str:
    """A paragraph, prefixed with ``**Speaker N:** `` when ``show_speakers`` and a speaker is known.

    ``closes`` as in ``group_paragraphs``; ``starts_sentence`` says whether the first unit starts a
    sentence (False when the unit before it ran on).
    """
    closing = list(closes) if closes is not None else _closing(sentences, None)
    pieces: list[str] = []
    starts = starts_sentence
    for sentence, closes_here in zip(sentences, closing, strict=True):
        pieces.append(polish_sentence(sentence.text, language, starts=starts, closes=closes_here))
        starts = closes_here
    body = join_text_pieces(pieces)
    speaker = sentences[0].speaker if sentences else None
    if show_speakers and speaker:
        return f"**{speaker_label(speaker)}:** {body}"
    return body


def format_sentences(
    sentences: Sequence[Sentence],
    language: str | None,
    *,
    show_speakers: bool = False,
    following: Sentence | None = None,
    starts_sentence: bool = True,
) -> str:
    """Sentences as paragraphs separated by blank lines (no headings).

    ``following`` is the document's next sentence unit after these (None at the end of the document), so
    the last unit closes only where the document's sentence really ends.
    """
    closing = _closing(sentences, following)
    blocks: list[str] = []
    position = 0
    for paragraph in group_paragraphs(sentences, closing):
        closes = closing[position : position + len(paragraph)]
        starts = starts_sentence if position == 0 else closing[position - 1]
        blocks.append(
            render_paragraph(paragraph, language, show_speakers=show_speakers, closes=closes, starts_sentence=starts)
        )
        position += len(paragraph)
    return "\n\n".join(block for block in blocks if block)


def has_multiple_speakers(doc: NormalizedDocument) -> bool:
    return len({s.speaker for s in doc.sentences if s.speaker}) > 1


def _range_context(doc: NormalizedDocument, start: int, end: int) -> tuple[Sentence | None, bool]:
    sentences = doc.sentences
    following = sentences[end] if end < len(sentences) else None
    starts = start == 0 or closes_sentence(sentences[start - 1], sentences[start])
    return following, starts


def format_range(doc: NormalizedDocument, start: int, end: int) -> str:
    """Sentences ``start..end-1`` of the document as paragraphs, with speakers when the doc has several.

    This is a chunk's deterministic text: the prompt's source, the verification reference and the
    fallback output all use it, so they agree.
    """
    following, starts = _range_context(doc, start, end)
    return format_sentences(
        doc.sentences[start:end],
        doc.language,
        show_speakers=has_multiple_speakers(doc),
        following=following,
        starts_sentence=starts,
    )


def range_paragraph_starts(doc: NormalizedDocument, start: int, end: int) -> list[int]:
    """The document index of the first sentence of each paragraph ``format_range(doc, start, end)`` writes."""
    following, _ = _range_context(doc, start, end)
    sentences = doc.sentences[start:end]
    starts: list[int] = []
    for paragraph in group_paragraphs(sentences, _closing(sentences, following)):
        if any(sentence.text.strip() for sentence in paragraph):
            starts.append(paragraph[0].index)
    return starts


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

    Only source chapters get headings here; the article's headings (topic sections and times too) are
    written by ``merge.merge_chunks``.

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
