from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from kernel.output.filenames import (
    MAX_FILENAME_BYTES,
    MAX_SUFFIX_BYTES,
    article_filename,
    export_filename,
    normalize_upload_date,
    output_stem,
    sanitize_title,
)

_WINDOWS_FORBIDDEN = set('/\\:*?"<>|')


def _assert_portable(name: str) -> None:
    assert not (_WINDOWS_FORBIDDEN & set(name)), name
    assert all(unicodedata.category(char) != "Cc" for char in name), name
    assert "  " not in name
    assert not name.endswith((" ", "."))
    assert len(name.encode("utf-8")) <= MAX_FILENAME_BYTES


def test_dated_title_gives_the_documented_article_name() -> None:
    assert article_filename("2024-05-01", "How CPUs Work") == "2024-05-01. How CPUs Work.md"


def test_yt_dlp_compact_date_is_written_with_dashes() -> None:
    assert article_filename("20240501", "How CPUs Work") == "2024-05-01. How CPUs Work.md"


def test_missing_or_invalid_date_gives_an_undated_name() -> None:
    assert article_filename(None, "Talk") == "undated. Talk.md"
    assert article_filename("2024-13-45", "Talk") == "undated. Talk.md"
    assert normalize_upload_date("May 2024") is None


def test_cjk_title_stays_readable() -> None:
    name = article_filename("2023-11-02", "CPU 是如何工作的？第一部分：指令")
    assert (
        name == "2023-11-02. CPU 是如何工作的？第一部分：指令.md"
    )  # full-width ？ and ： are legal everywhere
    _assert_portable(name)


def test_slashes_colons_and_quotes_become_readable_separators() -> None:
    assert sanitize_title("AC/DC: Live at River Plate") == "AC-DC - Live at River Plate"
    assert sanitize_title("Input / Output | Part 2") == "Input - Output - Part 2"
    assert sanitize_title('He said "why?" <again> *now*') == "He said 'why' again now"
    assert sanitize_title("Meeting at 12:30") == "Meeting at 12-30"


def test_control_characters_and_whitespace_runs_are_collapsed() -> None:
    name = article_filename(None, "Line one\nline\ttwo\x00 \u202eevil\u2028end   ")
    assert name == "undated. Line one line two evil end.md"
    _assert_portable(name)


def test_trailing_dots_and_spaces_are_stripped() -> None:
    assert sanitize_title("Wait for it... ") == "Wait for it"


@pytest.mark.parametrize("reserved", ["CON", "nul", "Com1", "LPT9", "aux.txt"])
def test_windows_reserved_names_are_avoided(reserved: str) -> None:
    sanitized = sanitize_title(reserved)
    assert sanitized.split(".")[0].upper() not in {"CON", "NUL", "COM1", "LPT9", "AUX"}
    assert sanitized.lower().startswith(reserved.split(".")[0].lower())


def test_title_made_only_of_forbidden_characters_falls_back_to_untitled() -> None:
    assert article_filename("2024-01-01", "???***///") == "2024-01-01. untitled.md"
    assert article_filename(None, "") == "undated. untitled.md"
    assert article_filename(None, "...") == "undated. untitled.md"


def test_long_cjk_title_is_capped_without_cutting_a_character() -> None:
    title = "非常长的标题" * 60
    name = article_filename("2024-05-01", title)
    _assert_portable(name)
    stem = name.removesuffix(".md").removeprefix("2024-05-01. ")
    assert title.startswith(stem)
    assert MAX_FILENAME_BYTES - MAX_SUFFIX_BYTES - 3 < len(name.encode("utf-8")) <= MAX_FILENAME_BYTES


def test_long_title_is_not_cut_between_a_letter_and_its_accent() -> None:
    # "x" + combining dot below has no precomposed form, so it stays two code points (1 + 2 bytes).
    title = "x\u0323" * 20
    cut = sanitize_title(title, max_bytes=49)  # 16 whole pairs are 48 bytes; 49 would split the 17th
    assert cut == "x\u0323" * 16


def test_a_long_title_gives_every_file_the_same_stem() -> None:
    title = "A very long title about compilers, linkers and loaders " * 6
    stems = {export_filename(None, title, ext).rsplit(".", 1)[0] for ext in ("md", "srt", "vtt", "json")}
    assert len(stems) == 1
    tagged = output_stem(None, title, tag="dQw4w9WgXcQ")
    assert tagged.endswith(" [dQw4w9WgXcQ]") and len((tagged + ".zh-Hant.bi.vtt").encode()) <= MAX_FILENAME_BYTES


def test_exports_share_the_article_stem() -> None:
    article = article_filename("2024-05-01", "How CPUs Work")
    for extension in ("srt", "vtt", "json"):
        export = export_filename("2024-05-01", "How CPUs Work", extension)
        assert export == article.removesuffix(".md") + f".{extension}"


def test_invalid_extension_is_refused() -> None:
    with pytest.raises(ValueError):
        export_filename(None, "Talk", "../x")


def test_sanitized_names_can_be_created_on_this_file_system(tmp_path: Path) -> None:
    titles = ["AC/DC: Live", "什么是CPU？", "a\\b", "Résumé — notes", "🎉 Party 🎉", "x" * 400]
    for title in titles:
        path = tmp_path / article_filename("2024-05-01", title)
        path.write_text("ok", encoding="utf-8")
        assert path.parent == tmp_path
        assert path.read_text(encoding="utf-8") == "ok"
