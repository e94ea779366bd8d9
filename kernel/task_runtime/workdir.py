"""The work_dir: layout, reading state, and committing the manifest under the lease.

Layout (all writes via ``store``):
    .runtime_task.json      TaskSpec, written once by create-run
    manifest.json           Manifest, written only by the lease holder (generation-checked)
    .runtime_owner.json     the lease
    .runtime_pause.json / .runtime_cancel.json   control requests
    telemetry.jsonl         append-only history
    artifacts/<phase>/...   published phase outputs
    scratch/<phase>/...     a phase's resumable private state (e.g. checkpoints of a long phase)
    staging/<phase>/...     a running phase's outputs before they are published
A pipeline may keep more files of its own in the work_dir (its phases and actions write them).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from .clock import Clock
from .contracts import LifecycleTransition, Manifest, RunState, TaskSpec
from .errors import CorruptStateError, RunNotFoundError
from .lease import Lease
from .schemas import read_model
from .store import atomic_write_json
from .telemetry import Telemetry

TASK_FILE = ".runtime_task.json"
MANIFEST_FILE = "manifest.json"


class RunDir:
    """One run's directory. Reading needs nothing; committing needs the lease."""

    def __init__(self, path: Path, clock: Clock, states: Collection[str] | None = None) -> None:
        self.path = path
        self.clock = clock
        # Every state a manifest may hold (the runtime's and its pipeline's); None accepts any name.
        self.states = frozenset(states) if states is not None else None

    @property
    def task_path(self) -> Path:
        return self.path / TASK_FILE

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    def artifacts_dir(self, phase: str) -> Path:
        return self.path / "artifacts" / phase

    def scratch_dir(self, phase: str) -> Path:
        return self.path / "scratch" / phase

    def exists(self) -> bool:
        return self.task_path.is_file()

    def read_task(self) -> TaskSpec:
        try:
            return read_model(self.task_path, TaskSpec)
        except FileNotFoundError:
            raise RunNotFoundError(
                f"no run in {self.path}: {TASK_FILE} is missing",
                hint="check the run_id or work_dir",
            ) from None

    def read_manifest(self) -> Manifest:
        """Raises ``CorruptStateError`` (file + JSON pointer) when hand-edited into an invalid shape."""
        try:
            manifest = read_model(self.manifest_path, Manifest)
        except FileNotFoundError:
            raise CorruptStateError(
                f"{self.manifest_path} is missing although the run exists",
                hint="the run's creation was interrupted; {new_run}",
                details={"file": MANIFEST_FILE, "pointer": ""},
            ) from None
        for pointer, state in (("/state", manifest.state), ("/state_before_pause", manifest.state_before_pause)):
            if state is not None and self.states is not None and state not in self.states:
                raise CorruptStateError(
                    f"{self.manifest_path} is not valid: {MANIFEST_FILE} at JSON pointer '{pointer}': "
                    f"unknown state {state!r}",
                    hint="restore the file from its last good content or undo the hand edit; nothing else was changed",
                    details={"file": MANIFEST_FILE, "pointer": pointer, "problem": f"unknown state {state!r}",
                             "known_states": sorted(self.states)},
                )
        return manifest

    def telemetry(self, run_id: str) -> Telemetry:
        return Telemetry(self.path, run_id, self.clock)

    def commit(self, manifest: Manifest, lease: Lease) -> Manifest:
        """Write the manifest if ``lease`` is still current; bumps revision and stamps the generation.

        Raises:
            LeaseLostError: the lease was taken over; nothing is written.
        """
        lease.check()
        updated = manifest.model_copy(
            update={
                "revision": manifest.revision + 1,
                "writer_generation": lease.generation,
                "updated_at": self.clock.now().isoformat(),
            }
        )
        atomic_write_json(self.manifest_path, updated.model_dump(mode="json"))
        return updated

    def transition(
        self, manifest: Manifest, to_state: str, reason: str, lease: Lease
    ) -> tuple[Manifest, LifecycleTransition | None]:
        """Move to ``to_state`` (recorded in telemetry); a no-op when already there."""
        if manifest.state == to_state:
            return manifest, None
        transition = LifecycleTransition(
            from_state=manifest.state, to_state=to_state, reason=reason, at=self.clock.now().isoformat()
        )
        update: dict[str, object] = {"state": to_state}
        if to_state == RunState.PAUSED:
            update["state_before_pause"] = manifest.state
        elif manifest.state == RunState.PAUSED:
            update["state_before_pause"] = None
        committed = self.commit(manifest.model_copy(update=update), lease)
        self.telemetry(manifest.run_id).emit("transition", **transition.model_dump(mode="json"))
        return committed, transition
