"""Semantic anchors: the facts a faithful transformation must carry over (numbers, dates, times, versions,
percents, URLs).

Invariants:
- ``extract_anchors`` reads digits, not words: a number spelled out in the source ("three") is not an
  anchor. Bare single-digit integers are not anchors either: style rules legitimately turn "3" into
  "three" (and "drei"), and they carry little risk.
- Each piece of text yields at most one anchor, taken by the most specific kind first
  (URL > date > time > version > percent > number), and anchors are deduplicated by ``normalized``.
- ``missing_anchors`` is tolerant of formatting and of faithful translation: 1,000 = 1000 = 1.000
  (German), 1.5 = 1,5, 45% = 45 percent = 45 Prozent = 百分之四十五, 1.5 million = 150万,
  May 1, 2024 = 2024-05-01 = 1. Mai 2024 = 2024年5月1日, 10:30 = 10.30 Uhr = 10点30分.
  A separator followed by exactly three digits is read as a thousands separator on both sides, so the
  same rule applied to source and output keeps them comparable.
- Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

AnchorKind = Literal["number", "date", "time", "version", "percent", "url"]


class Anchor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AnchorKind
    text: str  # as written in the text
    normalized: str  # the comparable form: "1000", "45%", "2024-05-01", "10:30", "3.11.2", "example.com/a"


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan januar janvier enero gennaio janeiro januari",
        "february feb februar février fevrier febrero febbraio fevereiro februari",
        "march mar märz maerz mars marzo março maart",
        "april apr avril abril aprile",
        "may mai mayo maggio maio mei",
        "june jun juni juin junio giugno junho",
        "july jul juli juillet julio luglio julho",
        "august aug août aout agosto augustus",
        "september sep sept septembre septiembre settembre setembro",
        "october oct oktober octobre octubre ottobre outubro",
        "november nov novembre noviembre novembro",
        "december dec dezember décembre decembre diciembre dicembre dezembro",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

_SCALES: dict[str, int] = {
    "thousand": 10**3, "thousands": 10**3, "tausend": 10**3, "mil": 10**3, "mille": 10**3, "千": 10**3,
    "million": 10**6, "millions": 10**6, "millionen": 10**6, "mio": 10**6, "millón": 10**6,
    "millones": 10**6, "milioni": 10**6, "milhões": 10**6, "百万": 10**6,
    "billion": 10**9, "billions": 10**9, "milliarden": 10**9, "milliarde": 10**9, "mrd": 10**9,
    "milliard": 10**9, "milliards": 10**9, "miliardi": 10**9, "bilhões": 10**9,
    "trillion": 10**12, "trillions": 10**12, "billionen": 10**12,
    "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8,
}  # fmt: skip
_SCALE = "(" + "|".join(sorted((re.escape(s) for s in _SCALES), key=len, reverse=True)) + ")"

_NUM = r"\d{1,3}(?:[,.\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
# Not glued to a Latin word ("H100", "GPT-4") or to another number; CJK text may touch digits ("有1000人").
_BEFORE = r"(?<![A-Za-z0-9\u00c0-\u024f_.,/:-])"
_AFTER = r"(?![\d])"

_URL = re.compile(
    r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev|ai|app|co|edu|gov|info|tv|me|de|fr|uk|cn|jp)"
    r"\b(?:/[A-Za-z0-9\-._~:/?#@!$&*+,;=%]*)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b")
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?\s+(?:of\s+|de\s+)?{_MONTH}\s+(?:de\s+)?(\d{{4}})\b",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?:\s*([ap])\.?m\b\.?)?", re.IGNORECASE)
_LOOSE_TIME = re.compile(
    r"(?<!\d)([01]?\d|2[0-3])\s*(?:[:h]|点|時|时|\.(?=\d{2}\s*(?:uhr|h)\b))\s*([0-5]\d)(?!\d)", re.IGNORECASE
)
_VERSION = re.compile(rf"{_BEFORE}(?:[vV](\d+(?:\.\d+)*)|(\d+\.\d+\.\d+(?:\.\d+)*))(?![\w])")
_PERCENT = re.compile(
    rf"{_BEFORE}({_NUM})\s?(?:%|％|percent\b|per\s+cent\b|prozent\b|pour\s+cent\b|por\s+ciento\b|per\s+cento\b"
    r"|por\s+cento\b|procent\w*|процент\w*)"
    r"|百分之\s*(\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    rf"{_BEFORE}({_NUM})(?:st|nd|rd|th)?{_AFTER}(?:\s?{_SCALE}(?![A-Za-z\u00c0-\u024f]))?", re.IGNORECASE
)
_RAW_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f]\d+)*")
_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")


@dataclass(frozen=True, slots=True)
class _Found:
    anchor: Anchor
    start: int
    end: int
    # The anchor counts as present when every item of any one alternative is in the output's evidence.
    alternatives: tuple[frozenset[str], ...]


def number_value(text: str) -> Decimal | None:
    """The value of a written number: "1,000" / "1.000" / "1 000" -> 1000, "1,5" / "1.5" -> 1.5."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    separators = [c for c in cleaned if c in ",."]
    if not separators:
        digits = cleaned
    else:
        last = max(cleaned.rfind(","), cleaned.rfind("."))
        tail = cleaned[last + 1 :]
        if len(set(separators)) == 2:  # "1,500.25" / "1.500,25": the last separator is the decimal one
            digits = re.sub(r"[,.]", "", cleaned[:last]) + "." + tail
        elif len(separators) > 1 or (len(tail) == 3 and cleaned[:last] != "0"):
            digits = re.sub(r"[,.]", "", cleaned)  # thousands separators
        else:
            digits = cleaned[:last] + "." + tail
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def _canonical(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _chinese_numeral_value(text: str) -> int | None:
    digits = {
        "零": 0,
        "〇": 0,
        "一": 1,
        "二": 2,
        "两": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
    }
    units = {"十": 10, "百": 100, "千": 1000}
    big = {"万": 10**4, "亿": 10**8}
    total, section, number = 0, 0, 0
    seen_digit = False
    for char in text:
        if char in digits:
            number = digits[char]
            seen_digit = True
        elif char in units:
            section += (number or 1) * units[char]
            number = 0
            seen_digit = True
        elif char in big:
            total += (section + number) * big[char]
            section, number = 0, 0
    if not seen_digit:
        return None
    return total + section + number


def _date_alternatives(year: int, month: int, day: int) -> list[frozenset[str]]:
    return [frozenset({f"d:{year:04d}-{month:02d}-{day:02d}"}), frozenset({f"n:{year}", f"n:{day}"})]


@lru_cache(maxsize=256)
def _scan(text: str) -> tuple[_Found, ...]:
    # Cached: a chunk's source is scanned for its prompt and again for every verification of an answer.
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(
        kind: AnchorKind,
        match: re.Match[str],
        normalized: str,
        alternatives: list[frozenset[str]],
        written: str | None = None,
    ) -> None:
        taken.append(match.span())
        anchor = Anchor(kind=kind, text=(written or match.group(0)).strip(), normalized=normalized)
        found.append(_Found(anchor, match.start(), match.end(), tuple(alternatives)))

    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        normalized = _normalize_url(url)
        if free(*match.span()) and "." in normalized:
            add("url", match, normalized, [frozenset({f"u:{normalized}"})], written=url)

    for pattern, order in (
        (_ISO_DATE, "ymd"),
        (_CJK_DATE, "ymd"),
        (_MONTH_DAY_YEAR, "mdy"),
        (_DAY_MONTH_YEAR, "dmy"),
    ):
        for match in pattern.finditer(text):
            if not free(*match.span()):
                continue
            parts = dict(zip(order, match.groups(), strict=True))
            month = (
                _MONTHS.get(parts["m"].lower().rstrip(".")) if not parts["m"].isdigit() else int(parts["m"])
            )
            year, day = int(parts["y"]), int(parts["d"])
            if month and 1 <= month <= 12 and 1 <= day <= 31:
                add("date", match, f"{year:04d}-{month:02d}-{day:02d}", _date_alternatives(year, month, day))
    for match in _NUMERIC_DATE.finditer(text):
        first, second, year = (int(g) for g in match.groups())
        if not free(*match.span()):
            continue
        readings = [(m, d) for m, d in ((first, second), (second, first)) if 1 <= m <= 12 and 1 <= d <= 31]
        if readings:
            month, day = readings[0]
            alternatives = [alt for m, d in readings for alt in _date_alternatives(year, m, d)]
            add("date", match, f"{year:04d}-{month:02d}-{day:02d}", alternatives)

    for match in _TIME.finditer(text):
        if not free(*match.span()):
            continue
        hour, minute, meridiem = int(match.group(1)), match.group(2), (match.group(3) or "").lower()
        hours = {hour}
        if meridiem == "p" and hour < 12:
            hours = {hour + 12}
        elif meridiem == "a" and hour == 12:
            hours = {0}
        alternatives = [frozenset({f"t:{h}:{minute}"}) for h in hours | {hour}]
        alternatives += [frozenset({f"n:{h}", f"n:{int(minute)}"}) for h in hours | {hour}]
        add("time", match, f"{min(hours):02d}:{minute}", alternatives)

    for match in _VERSION.finditer(text):
        if free(*match.span()):
            version = match.group(1) or match.group(2)
            add("version", match, version, [frozenset({f"v:{version}"})])

    for match in _PERCENT.finditer(text):
        if not free(*match.span()):
            continue
        value = number_value(match.group(1) or match.group(2))
        if value is not None:
            add("percent", match, f"{_canonical(value)}%", [frozenset({f"n:{_canonical(value)}"})])

    for match in _NUMBER.finditer(text):
        if not free(*match.span()):
            continue
        value = number_value(match.group(1))
        if value is None:
            continue
        scale = _SCALES.get((match.group(2) or "").lower())
        if scale is None and value == value.to_integral_value() and value < 10 and "." not in match.group(1):
            continue  # a bare single digit: not an anchor (see module docstring)
        alternatives = [frozenset({f"n:{_canonical(value)}"})]
        normalized = _canonical(value)
        if scale:
            normalized = _canonical(value * scale)
            alternatives.append(frozenset({f"n:{normalized}"}))
        add("number", match, normalized, alternatives)
    found.sort(key=lambda f: f.start)
    return tuple(found)


def _normalize_url(url: str) -> str:
    lowered = url.lower()
    lowered = re.sub(r"^https?://", "", lowered)
    lowered = re.sub(r"^www\.", "", lowered)
    return lowered.rstrip("/")


def extract_anchors(text: str) -> list[Anchor]:
    """Anchors in ``text`` in order of appearance, deduplicated by (kind, normalized)."""
    seen: set[tuple[str, str]] = set()
    anchors: list[Anchor] = []
    for item in _scan(text):
        key = (item.anchor.kind, item.anchor.normalized)
        if key not in seen:
            seen.add(key)
            anchors.append(item.anchor)
    return anchors


def _evidence(text: str) -> set[str]:
    """Everything in ``text`` an anchor may be matched against: anchors' keys plus every raw number."""
    evidence: set[str] = set()
    for item in _scan(text):
        for alternative in item.alternatives:
            if len(alternative) == 1:
                evidence |= alternative
    for match in _RAW_NUMBER.finditer(text):
        raw = match.group(0)
        evidence.add(f"v:{raw}")
        value = number_value(raw)
        if value is not None:
            evidence.add(f"n:{_canonical(value)}")
            following = text[match.end() : match.end() + 12].lstrip().lower()
            for word, scale in _SCALES.items():
                if following.startswith(word):
                    evidence.add(f"n:{_canonical(value * scale)}")
    for match in _LOOSE_TIME.finditer(text):
        evidence.add(f"t:{int(match.group(1))}:{match.group(2)}")
    for match in _CHINESE_NUMERAL.finditer(text):
        value_int = _chinese_numeral_value(match.group(0))
        if value_int is not None:
            evidence.add(f"n:{value_int}")
    return evidence


def missing_anchors(source_text: str, output_text: str) -> list[Anchor]:
    """Source anchors not found in the output, tolerant of formatting (see the module docstring)."""
    evidence = _evidence(output_text)
    missing: list[Anchor] = []
    seen: set[tuple[str, str]] = set()
    for item in _scan(source_text):
        key = (item.anchor.kind, item.anchor.normalized)
        if key in seen:
            continue
        seen.add(key)
        if not any(alternative <= evidence for alternative in item.alternatives):
            missing.append(item.anchor)
    return missing
