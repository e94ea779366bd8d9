from __future__ import annotations

import pytest

from kernel.source.urls import is_url, validate_source_url
from kernel.task_runtime.errors import InvalidInputError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=kJQP7kiw5Fk", "https://www.youtube.com/watch?v=kJQP7kiw5Fk"),
        ("  https://youtu.be/kJQP7kiw5Fk\n", "https://youtu.be/kJQP7kiw5Fk"),
        ("HTTPS://WWW.Example.COM/Video?ID=AbC", "https://www.example.com/Video?ID=AbC"),
        ("http://127.0.0.1:8080/page.html#t=3", "http://127.0.0.1:8080/page.html#t=3"),
        ("http://[::1]:8000/v", "http://[::1]:8000/v"),
        ("https://localhost/v", "https://localhost/v"),
        ("https://bücher.example/v", "https://bücher.example/v"),
        ("www.example.com/watch/1", "https://www.example.com/watch/1"),
    ],
)
def test_http_urls_pass_with_scheme_and_host_normalized(url: str, expected: str) -> None:
    assert validate_source_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///C:/Users/me/video.mp4",
        "ftp://example.com/video.mp4",
        "javascript:alert(1)",
        "data:text/html,<video>",
        "ytsearch:cats",
        "rtmp://example.com/live",
        "gopher://example.com/",
    ],
)
def test_schemes_other_than_http_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_source_url(url)

    assert caught.value.code == "url_scheme_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "garbage",
        "http://",
        "https:///path-only",
        "http:example.com",
        "http://exa mple.com/",
        "https://example.com/a b",
        "https://example.com/\x00",
        "http://-bad-.example/",
        "http://example..com/",
        "http://999/",
        "http://example.com:99999/",
        "http://example.com:0/",
        "https://[not-an-ip]/",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_source_url(url)

    assert caught.value.code == "url_malformed"


def test_urls_with_credentials_are_refused_so_no_secret_reaches_the_work_dir() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_source_url("https://user:secret@example.com/video")

    assert caught.value.code == "url_credentials_not_allowed"
    assert "secret" not in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://example.com/v", True),
        ("http://127.0.0.1/x", True),
        ("file:///tmp/a.mp4", True),
        ("javascript:alert(1)", True),
        ("www.example.com/v", True),
        ("video.mp4", False),
        ("./media/talk.mp4", False),
        ("/home/me/talk.mkv", False),
        ("C:\\Videos\\talk.mp4", False),
        ("C:/Videos/talk.mp4", False),
        ("notes: a talk.mp4", False),
    ],
)
def test_urls_are_told_apart_from_local_paths(text: str, expected: bool) -> None:
    assert is_url(text) is expected
