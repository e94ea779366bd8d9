"""Source times as labels and deep links."""

from __future__ import annotations

from kernel.long_text.timestamps import clock_label, time_links
from kernel.transcript import SourceInfo


def _url(page: str, video_id: str = "x") -> SourceInfo:
    return SourceInfo(id=video_id, title="t", source=page, source_kind="url", webpage_url=page)


def test_labels_are_minutes_and_seconds_under_an_hour_and_hours_after() -> None:
    assert [clock_label(t) for t in (0, 59.9, 754.2, 3600, 3723.5)] == ["00:00", "00:59", "12:34", "1:00:00", "1:02:03"]


def test_youtube_times_are_short_deep_links_with_the_video_id() -> None:
    links = time_links(_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "dQw4w9WgXcQ"))
    assert links.render(754.9) == "[12:34](https://youtu.be/dQw4w9WgXcQ?t=754)"
    assert time_links(_url("https://youtu.be/dQw4w9WgXcQ", "other")).url(5) == "https://youtu.be/dQw4w9WgXcQ?t=5"


def test_other_sites_get_their_own_time_parameter_or_no_link() -> None:
    assert time_links(_url("https://vimeo.com/76979871")).url(90) == "https://vimeo.com/76979871#t=90s"
    assert time_links(_url("https://www.twitch.tv/videos/123")).url(3723) == "https://www.twitch.tv/videos/123?t=1h2m3s"
    assert time_links(_url("https://www.bilibili.com/video/BV1xx?p=2")).url(42) == "https://www.bilibili.com/video/BV1xx?p=2&t=42"
    assert time_links(_url("http://127.0.0.1:8000/media/talk.mp4")).url(7) == "http://127.0.0.1:8000/media/talk.mp4#t=7"
    assert time_links(_url("https://example.org/talks/42")).render(61) == "[01:01]"


def test_local_files_get_plain_labels() -> None:
    info = SourceInfo(id="file-1", title="t", source="talk.mp4", source_kind="file")
    assert time_links(info).render(3723) == "[1:02:03]"
