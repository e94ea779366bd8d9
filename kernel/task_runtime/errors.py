"""The error hierarchy every layer raises.

Every error carries a stable ``code`` (clients branch on it, tests assert it), a message that says what
happened and to which run or file, and an optional ``hint`` that says what to do next. The MCP facade
turns these into tool errors (``isError``) with the code, message, hint and the run's allowed actions;
the CLI prints ``error[code]: message`` plus the hint and exits non-zero; script-first commands print
``{"ok": false, "error": {...}}``. Domain layers define their own subclasses next to their code.
"""

from __future__ import annotations

from typing import Any


class YTTError(Exception):
    """Base class. Subclasses set ``code``; instances may override it."""

    code: str = "error"
    exit_code: int = 1
    # True when retrying the same step with the same input cannot succeed (an unusable input, not a
    # passing fault). A phase failure records it, and the policy then offers no retry.
    permanent: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        permanent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        if permanent is not None:
            self.permanent = permanent
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.details:
            data["details"] = self.details
        if self.permanent:
            data["permanent"] = True
        return data

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InvalidInputError(YTTError):
    """Bad input from the caller: a path, option value or argument. Fix the input and call again."""

    code = "invalid_input"
    exit_code = 2


class PathNotAllowedError(InvalidInputError):
    """A path outside the allowed roots was given."""

    code = "path_not_allowed"


class CorruptStateError(YTTError):
    """A work_dir file fails to parse or validate. ``details`` holds ``file`` and ``pointer``."""

    code = "corrupt_state"


class RunNotFoundError(YTTError):
    """No run with that id (or work_dir) exists."""

    code = "unknown_run"


class LeaseHeldError(YTTError):
    """Another live process owns the run. ``details`` names the owner (pid, host, generation)."""

    code = "run_owned"


class LeaseLostError(YTTError):
    """This process's lease was taken over (a newer generation exists); it must stop writing."""

    code = "lease_lost"


class ActionNotAllowedError(YTTError):
    """The requested action is not in the run's allowed_actions. ``details['allowed_actions']`` lists them."""

    code = "action_not_allowed"


class PhaseFailedError(YTTError):
    """A phase raised; the run is marked failed for that phase and can be resumed or retried."""

    code = "phase_failed"


class StopRequested(YTTError):
    """Raised at a safe point when a pause or cancel was requested; finished work is already persisted."""

    code = "stop_requested"


class InputRequired(YTTError):
    """Raised by a phase that cannot go on until the caller gives it input; the phase has persisted
    what it waits for (the pipeline shows it as ``awaiting_input``). Not a failure: the phase is recorded
    as ``waiting`` and the run as ``awaiting_input``; it runs again once the input is given."""

    code = "input_required"
