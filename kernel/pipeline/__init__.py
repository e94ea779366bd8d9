"""The yt-transcript pipeline spec: its intent model, phases, actions and persisted files, wired into the
generic runtime (``kernel.task_runtime``).

``build_runtime_api()`` is the one entry every front end uses (MCP server, CLI, script-first commands).
"""

from __future__ import annotations

from .spec import PIPELINE_NAME, TranscriptPipeline, build_runtime_api

__all__ = ["PIPELINE_NAME", "TranscriptPipeline", "build_runtime_api"]
