"""Speakers in subtitle text: WebVTT voice spans, and speaker labels at the start of a line.

Voice spans: ``<v Name>`` (or ``<v.class Name>``) opens a span that lasts until ``</v>`` or the end of
the cue, so it names the speaker of every line it covers, not only the first.

Labels are tried at the start of a cue line (after an optional dialogue dash) when no voice span applies:

- ``[Name] text`` or ``[Name]: text``: a bracketed name;
- ``NAME: text``: a name in capitals, the subtitles-for-the-deaf convention;
- ``Name: text``: a name in title case, only when the same label starts lines in at least two cues of the
  file (``parse`` confirms it afterwards), because ordinary sentences also start ``Ingredients: ...``.

A label is a name when it has one to three words (plus an optional number: ``Speaker 2``, ``MAN 1``), each
made of letters with inner ``.``/``'``/``-`` (``Dr.``, ``O'Brien``, ``Jean-Luc``), each capitalized or all
in capitals (lower-case particles such as ``de``, ``van``, ``al`` may stand between), at least two letters
in all, and none of its words is a sound or annotation word (``[Music]``, ``[APPLAUSE]``, ``[Door slams]``,
``[PHONE RINGING]``, ``[Spanish]``) or, for ``Name:``, a word that commonly starts a sentence with a colon
(``Note:``, ``Step 1:``, ``Warning:``). Scripts without letter case (Chinese, Japanese, ...) never form
labels: ``[音乐]`` and ``[张三]`` cannot be told apart by their form, so both stay annotations.

A label applies to its own line and to the cue's following lines, until a line that starts with a
dialogue dash or has its own label. A label alone on its line applies to the lines after it; alone in its
cue it is left as it is (a lone ``[Name]`` is then a non-speech annotation like any bracketed text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...text import decode_entities

DIALOGUE_DASHES = ("-", "–", "—")

_VOICE_EVENT = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>|</v\s*>")
_BRACKET_LABEL = re.compile(r"(?:[-–—]\s*)?\[([^\[\]]{1,60})\]\s*:?\s*")
_COLON_LABEL = re.compile(r"(?:[-–—]\s*)?([^\W\d_][^:\[\]()\"“”]{0,44}?)\s*:(?:\s+|$)")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?")
_LABEL_START = "[-–—"
_COLON_WINDOW = 48


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PARTICLES = frozenset({
    "al", "bin", "da", "das", "de", "del", "della", "der", "di", "do", "dos", "du", "el", "ibn", "la", "le",
    "st", "ten", "ter", "van", "von", "y",
})
# Words that make a bracketed or colon label a sound or annotation, not a name.
_NON_SPEECH_WORDS = _words("""
applause applauding audience audio background barking barks beep beeping beeps bell bells birds blank bleep
bleeps breathes breathing bridge buzzing buzzes car censored cheer cheering cheers chime chimes chirping
chorus chuckle chuckles chuckling clap clapping claps clatter clattering click clicks closes continues
continuing cough coughing coughs creak creaking creaks crash crashes crowd cries crosstalk crying dog door
doorbell dramatic engine explosion explosions fades fading footsteps foreign gasp gasps gasping groan groans
grunt grunts gunfire gunshot gunshots hiss horn hum humming hums inaudible indistinct instrumental intro
knock knocking knocks laugh laughing laughs laughter music musical mumbles mumbling murmur murmuring
murmurs mutters muttering noise noises opens outro panting pause phone plays playing rain ring ringing rings
rumbling scream screaming screams shouting shouts sigh sighing sighs silence silent singing sings siren
sirens slam slams snoring sobbing sobs song sound sounds speaking speaks static sfx sniff sniffing sniffs
stammers stutters theme thud thunder upbeat unintelligible verse video vocalizing whispering whispers
whistle whistles whistling wind yelling yells
english french german spanish italian portuguese russian japanese chinese mandarin cantonese korean arabic
hindi translation translated subtitle subtitles caption captions sic
""")
# Words that start ordinary sentences with a colon; a "Name:" label starting with one is not a speaker.
_NOT_SPEAKER_WORDS = _words("""
also and answer bonus but caution chapter conclusion credit credits date disclaimer edit example examples
fact finally first fyi here hint how important ingredients intro introduction lesson live location look
meanwhile next no note notes now ok okay part place plus problem ps psa question reason remember result
results rule second section so solution source sources spoiler step summary that the then third this time
tip tips title today tomorrow tonight translator update warning well what when where who why yes yesterday
""") | _NON_SPEECH_WORDS


@dataclass(frozen=True, slots=True)
class SpeakerLabel:
    """A label found at the start of a line; ``confirmed`` is False for title-case ``Name:`` labels,
    which count only when the same name labels lines in two or more cues."""

    name: str
    remainder: str
    confirmed: bool


def voice_speakers(raw: str, open_voice: str | None) -> tuple[str | None, str | None]:
    """The speaker of a raw cue line and the voice still open after it, given the voice open before it."""
    line_speaker = open_voice
    state = open_voice
    leading = raw.lstrip().startswith("<v")
    for index, match in enumerate(_VOICE_EVENT.finditer(raw)):
        name = match.group(1)
        if name is None:
            state = None
            continue
        state = decode_entities(name).strip() or None
        if index == 0 and (leading or open_voice is None):
            line_speaker = state
    return line_speaker, state


def may_have_label(text: str) -> bool:
    """A cheap test to skip ``find_label`` for most lines."""
    return text[:1] in _LABEL_START or ":" in text[:_COLON_WINDOW]


def find_label(text: str) -> SpeakerLabel | None:
    """The speaker label at the start of a cleaned line of text, if it has one (see the module rules)."""
    bracket = _BRACKET_LABEL.match(text)
    if bracket is not None:
        form = _name_form(bracket.group(1), _NON_SPEECH_WORDS)
        if form is None:
            return None
        return SpeakerLabel(" ".join(bracket.group(1).split()), text[bracket.end() :].strip(), True)
    colon = _COLON_LABEL.match(text)
    if colon is None:
        return None
    form = _name_form(colon.group(1), _NOT_SPEAKER_WORDS)
    if form is None:
        return None
    return SpeakerLabel(" ".join(colon.group(1).split()), text[colon.end() :].strip(), form == "capitals")


def starts_with_dash(text: str) -> bool:
    return text.startswith(DIALOGUE_DASHES)


def _name_form(label: str, excluded: frozenset[str]) -> str | None:
    """``"capitals"``, ``"title"`` or ``None`` (not a name) for a label's text."""
    words = label.split()
    if words and len(words) > 1 and words[-1].isdigit() and len(words[-1]) <= 2:
        words = words[:-1]  # "Speaker 2", "MAN 1"
    if not 1 <= len(words) <= 3 or not all(_NAME_WORD.fullmatch(word) for word in words):
        return None
    if any(word.lower().rstrip(".").replace("’", "'").removesuffix("'s") in excluded for word in words):
        return None
    letters = "".join(words)
    if sum(1 for char in letters if char.isalpha()) < 2 or not words[0][0].isupper():
        return None
    if letters.upper() == letters:
        return "capitals"
    for word in words[1:]:
        if not (word[0].isupper() or word.lower() in _PARTICLES or any(char.isupper() for char in word)):
            return None
    return "title"
