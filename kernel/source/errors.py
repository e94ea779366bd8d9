"""The source layer's error: the media or subtitle source cannot be used."""

from __future__ import annotations

from ..task_runtime.errors import YTTError


class SourceError(YTTError):
    """The media or subtitle source cannot be used (missing, unreadable, no usable streams, download failed)."""

    code = "source_error"
