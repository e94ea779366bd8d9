"""The batch states: what a batch is doing while its phases run (the item phase uses the runtime's
``processing``)."""

from __future__ import annotations

from enum import StrEnum


class BatchState(StrEnum):
    EXPANDING = "expanding"  # sources -> items (folder scans, playlist listings)
    INDEXING = "indexing"  # the outputs index and the batch's quality gate


STATES: tuple[str, ...] = tuple(state.value for state in BatchState)
