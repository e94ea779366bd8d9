from __future__ import annotations

from kernel.long_text.anchors import extract_anchors, missing_anchors, number_value

SOURCE = (
    "We sold 1,000 units, 45% more than last year, on May 1, 2024 at 10:30. "
    "Python 3.11.2 and v3.11 shipped; details at https://example.com/notes. "
    "About 1.5 million people waited 2.5 hours."
)


def _normalized(text: str) -> list[tuple[str, str]]:
    return [(a.kind, a.normalized) for a in extract_anchors(text)]


def test_each_anchor_kind_is_extracted_once_with_its_normalized_form() -> None:
    assert _normalized(SOURCE) == [
        ("number", "1000"),
        ("percent", "45%"),
        ("date", "2024-05-01"),
        ("time", "10:30"),
        ("version", "3.11.2"),
        ("version", "3.11"),
        ("url", "example.com/notes"),
        ("number", "1500000"),
        ("number", "2.5"),
    ]


def test_spelled_out_numbers_and_single_digits_are_not_anchors() -> None:
    assert extract_anchors("three cats and 3 dogs met twenty birds") == []


def test_european_decimal_commas_and_thousands_points_are_read_as_numbers() -> None:
    assert number_value("3,5") == number_value("3.5")
    assert number_value("1.000") == number_value("1,000") == number_value("1000")
    assert number_value("1.500,25") == number_value("1,500.25")


def test_numbers_glued_to_cjk_text_are_anchors_but_model_names_are_not() -> None:
    assert _normalized("共有1000人参加") == [("number", "1000")]
    assert _normalized("the H100 and GPT-4 models") == []


def test_output_with_reformatted_numbers_misses_nothing() -> None:
    output = (
        "We sold 1000 units, 45 percent more than last year, on 2024-05-01 at 10:30. Python 3.11.2 and "
        "v3.11 shipped; details at example.com/notes/. About 1,500,000 people waited 2.5 hours."
    )
    assert missing_anchors(SOURCE, output) == []


def test_faithful_german_translation_misses_nothing() -> None:
    german = (
        "Wir haben 1.000 Einheiten verkauft, 45 Prozent mehr als im Vorjahr, am 1. Mai 2024 um 10.30 Uhr. "
        "Python 3.11.2 und v3.11 sind erschienen; Details unter https://example.com/notes. "
        "Etwa 1,5 Millionen Menschen warteten 2,5 Stunden."
    )
    assert missing_anchors(SOURCE, german) == []


def test_faithful_chinese_translation_misses_nothing() -> None:
    chinese = (
        "我们卖出了1000台，比去年多百分之四十五，时间是2024年5月1日10点30分。"
        "Python 3.11.2 和 v3.11 已发布，详情见 https://example.com/notes。约150万人等了2.5小时。"
    )
    assert missing_anchors(SOURCE, chinese) == []


def test_dropped_and_changed_values_are_reported() -> None:
    output = (
        "We sold 1,200 units, 45% more than last year, on May 2, 2023 at 10:30. "
        "Python 3.11.2 and v3.11 shipped; details at https://example.com/notes. Many people waited."
    )
    missing = {(a.kind, a.normalized) for a in missing_anchors(SOURCE, output)}
    assert missing == {("number", "1000"), ("date", "2024-05-01"), ("number", "1500000"), ("number", "2.5")}


def test_a_missing_url_and_time_are_reported() -> None:
    missing = missing_anchors("Meet at 14:45, see www.example.org/a.", "Meet in the afternoon, see the site.")
    assert [(a.kind, a.normalized) for a in missing] == [("time", "14:45"), ("url", "example.org/a")]


def test_afternoon_times_match_their_24_hour_form() -> None:
    assert missing_anchors("It starts at 3:30 pm.", "Es beginnt um 15:30 Uhr.") == []
